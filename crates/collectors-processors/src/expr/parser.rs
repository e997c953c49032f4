//! Text → [`Expr`]: a tokenizer and a recursive-descent parser with the usual precedence
//! (`or` < `and` < `not` < comparisons < `+ -` < `* / %` < unary minus).

use collectors_core::{Error, Result};

use super::{BinaryOp, Expr, Function};

/// The deepest nesting accepted (so a hostile expression cannot exhaust the stack when it is
/// parsed, evaluated or dropped). Parentheses, function calls, `not`, unary minus and each
/// operator of a chain count one level: `a + b + c` is two deep, as its tree is.
pub const MAX_EXPR_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(String),
    Str(String),
    Ident(String),
    Quoted(String),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
}

fn error(text: &str, at: usize, message: &str) -> Error {
    Error::configuration(format!(
        "`expr`: {message} at character {} of {text:?}",
        at + 1
    ))
}

fn tokenize(text: &str) -> Result<Vec<(usize, Token)>> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&(at, c)) = chars.get(i) {
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let next = chars.get(i + 1).map(|&(_, c)| c);
        let two = |op: &'static str| (at, Token::Op(op));
        let token = match (c, next) {
            ('(', _) => (at, Token::LParen),
            (')', _) => (at, Token::RParen),
            (',', _) => (at, Token::Comma),
            ('=', Some('=')) | ('!', Some('=')) | ('<', Some('=')) | ('>', Some('=')) => {
                i += 1;
                two(match c {
                    '=' => "==",
                    '!' => "!=",
                    '<' => "<=",
                    _ => ">=",
                })
            }
            ('<', _) => two("<"),
            ('>', _) => two(">"),
            ('+', _) => two("+"),
            ('-', _) => two("-"),
            ('*', _) => two("*"),
            ('/', _) => two("/"),
            ('%', _) => two("%"),
            ('\'' | '"' | '`', _) => {
                let mut value = String::new();
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => return Err(error(text, at, "unterminated quote")),
                        Some(&(_, q)) if q == c => {
                            // A doubled quote stands for itself.
                            if chars.get(j + 1).map(|&(_, n)| n) == Some(c) {
                                value.push(c);
                                j += 2;
                                continue;
                            }
                            break;
                        }
                        Some(&(_, other)) => {
                            value.push(other);
                            j += 1;
                        }
                    }
                }
                i = j;
                if c == '`' {
                    (at, Token::Quoted(value))
                } else {
                    (at, Token::Str(value))
                }
            }
            (c, _) if c.is_ascii_digit() || c == '.' => {
                let mut j = i;
                let mut seen_exp = false;
                while let Some(&(_, d)) = chars.get(j) {
                    let prev = j.checked_sub(1).and_then(|p| chars.get(p)).map(|&(_, p)| p);
                    let sign_of_exp = (d == '+' || d == '-') && matches!(prev, Some('e' | 'E'));
                    if d.is_ascii_digit() || d == '.' || sign_of_exp {
                        j += 1;
                    } else if (d == 'e' || d == 'E') && !seen_exp {
                        seen_exp = true;
                        j += 1;
                    } else {
                        break;
                    }
                }
                let end = chars.get(j).map_or(text.len(), |&(e, _)| e);
                i = j - 1;
                (at, Token::Number(text[at..end].to_owned()))
            }
            (c, _) if c.is_alphabetic() || c == '_' => {
                let mut j = i;
                while let Some(&(_, d)) = chars.get(j) {
                    if d.is_alphanumeric() || d == '_' {
                        j += 1;
                    } else {
                        break;
                    }
                }
                let end = chars.get(j).map_or(text.len(), |&(e, _)| e);
                i = j - 1;
                (at, Token::Ident(text[at..end].to_owned()))
            }
            _ => return Err(error(text, at, &format!("unexpected {c:?}"))),
        };
        tokens.push(token);
        i += 1;
    }
    Ok(tokens)
}

struct Parser<'t> {
    text: &'t str,
    tokens: Vec<(usize, Token)>,
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|(_, t)| t)
    }

    fn position(&self) -> usize {
        self.tokens
            .get(self.at)
            .map_or(self.text.len(), |(p, _)| *p)
    }

    fn fail<T>(&self, message: &str) -> Result<T> {
        Err(error(self.text, self.position(), message))
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Ident(w)) if w.eq_ignore_ascii_case(word))
    }

    fn op(&self, ops: &[&'static str]) -> Option<&'static str> {
        match self.peek() {
            Some(Token::Op(op)) => ops.iter().find(|o| *o == op).copied(),
            _ => None,
        }
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_EXPR_DEPTH {
            return self.fail(&format!("nested deeper than {MAX_EXPR_DEPTH}"));
        }
        Ok(())
    }

    /// Enters one level more for an operator of a chain: the chain's tree is as deep as
    /// the chain is long.
    fn chain(&mut self, links: &mut usize) -> Result<()> {
        *links += 1;
        self.enter()
    }

    fn or(&mut self) -> Result<Expr> {
        self.enter()?;
        let mut links = 0;
        let mut left = self.and()?;
        while self.keyword("or") {
            self.at += 1;
            self.chain(&mut links)?;
            let right = self.and()?;
            left = Expr::Binary(BinaryOp::Or, Box::new(left), Box::new(right));
        }
        self.depth -= 1 + links;
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr> {
        let mut links = 0;
        let mut left = self.not()?;
        while self.keyword("and") {
            self.at += 1;
            self.chain(&mut links)?;
            let right = self.not()?;
            left = Expr::Binary(BinaryOp::And, Box::new(left), Box::new(right));
        }
        self.depth -= links;
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr> {
        if self.keyword("not") {
            self.at += 1;
            self.enter()?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr> {
        let left = self.sum()?;
        let Some(op) = self.op(&["==", "!=", "<", "<=", ">", ">="]) else {
            return Ok(left);
        };
        self.at += 1;
        let right = self.sum()?;
        let op = match op {
            "==" => BinaryOp::Eq,
            "!=" => BinaryOp::Ne,
            "<" => BinaryOp::Lt,
            "<=" => BinaryOp::Le,
            ">" => BinaryOp::Gt,
            _ => BinaryOp::Ge,
        };
        if self.op(&["==", "!=", "<", "<=", ">", ">="]).is_some() {
            return self.fail("comparisons do not chain; use `and`");
        }
        Ok(Expr::Binary(op, Box::new(left), Box::new(right)))
    }

    fn sum(&mut self) -> Result<Expr> {
        let mut links = 0;
        let mut left = self.product()?;
        while let Some(op) = self.op(&["+", "-"]) {
            self.at += 1;
            self.chain(&mut links)?;
            let right = self.product()?;
            let op = if op == "+" {
                BinaryOp::Add
            } else {
                BinaryOp::Sub
            };
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
        self.depth -= links;
        Ok(left)
    }

    fn product(&mut self) -> Result<Expr> {
        let mut links = 0;
        let mut left = self.unary()?;
        while let Some(op) = self.op(&["*", "/", "%"]) {
            self.at += 1;
            self.chain(&mut links)?;
            let right = self.unary()?;
            let op = match op {
                "*" => BinaryOp::Mul,
                "/" => BinaryOp::Div,
                _ => BinaryOp::Rem,
            };
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
        self.depth -= links;
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr> {
        if self.op(&["-"]).is_some() {
            self.at += 1;
            self.enter()?;
            let inner = self.unary()?;
            self.depth -= 1;
            // A negative literal is a literal (so `round(x, -1)` has literal digits).
            return Ok(match inner {
                Expr::Int(v) if v != i64::MIN => Expr::Int(-v),
                Expr::Float(v) => Expr::Float(-v),
                other => Expr::Neg(Box::new(other)),
            });
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr> {
        let Some(token) = self.peek().cloned() else {
            return self.fail("unexpected end");
        };
        self.at += 1;
        match token {
            Token::Number(text) => {
                if let Ok(int) = text.parse::<i64>() {
                    return Ok(Expr::Int(int));
                }
                match text.parse::<f64>() {
                    Ok(float) if float.is_finite() => Ok(Expr::Float(float)),
                    _ => {
                        self.at -= 1;
                        self.fail(&format!("{text:?} is not a number"))
                    }
                }
            }
            Token::Str(text) => Ok(Expr::Str(text)),
            Token::Quoted(name) => Ok(Expr::Column(name)),
            Token::LParen => {
                let inner = self.or()?;
                if self.peek() != Some(&Token::RParen) {
                    return self.fail("expected `)`");
                }
                self.at += 1;
                Ok(inner)
            }
            Token::Ident(word) => {
                let lower = word.to_ascii_lowercase();
                match lower.as_str() {
                    "true" => return Ok(Expr::Bool(true)),
                    "false" => return Ok(Expr::Bool(false)),
                    "null" => return Ok(Expr::Null),
                    "and" | "or" | "not" => {
                        self.at -= 1;
                        return self.fail(&format!("unexpected `{word}`"));
                    }
                    _ => {}
                }
                if self.peek() != Some(&Token::LParen) {
                    return Ok(Expr::Column(word));
                }
                let function = match lower.as_str() {
                    "abs" => Function::Abs,
                    "round" => Function::Round,
                    "coalesce" => Function::Coalesce,
                    "is_null" => Function::IsNull,
                    "is_not_null" => Function::IsNotNull,
                    _ => {
                        self.at -= 1;
                        return self.fail(&format!(
                            "unknown function `{word}` (known: abs, round, coalesce, is_null, is_not_null)"
                        ));
                    }
                };
                self.at += 1;
                self.enter()?;
                let mut args = Vec::new();
                if self.peek() != Some(&Token::RParen) {
                    loop {
                        args.push(self.or()?);
                        match self.peek() {
                            Some(Token::Comma) => self.at += 1,
                            Some(Token::RParen) => break,
                            _ => return self.fail("expected `,` or `)`"),
                        }
                    }
                }
                self.at += 1;
                self.depth -= 1;
                let arity_ok = match function {
                    Function::Abs | Function::IsNull | Function::IsNotNull => args.len() == 1,
                    Function::Round => matches!(args.len(), 1 | 2),
                    Function::Coalesce => !args.is_empty(),
                };
                if !arity_ok {
                    return self.fail(&format!("wrong number of arguments to `{lower}`"));
                }
                if function == Function::Round
                    && let Some(digits) = args.get(1)
                    && !matches!(digits, Expr::Int(d) if (-15..=15).contains(d))
                {
                    return self.fail("`round`'s digits must be an integer from -15 to 15");
                }
                Ok(Expr::Call(function, args))
            }
            Token::Op(op) => {
                self.at -= 1;
                self.fail(&format!("unexpected `{op}`"))
            }
            Token::RParen | Token::Comma => {
                self.at -= 1;
                self.fail("unexpected punctuation")
            }
        }
    }
}

/// Parses `text`, or a configuration error naming the position.
pub(super) fn parse(text: &str) -> Result<Expr> {
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        text,
        tokens,
        at: 0,
        depth: 0,
    };
    let expr = parser.or()?;
    if parser.at < parser.tokens.len() {
        return parser.fail("unexpected text after the expression");
    }
    Ok(expr)
}
