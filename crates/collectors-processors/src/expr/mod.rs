//! [`Expression`]: the small expression language of [`Map`](crate::Map) and
//! [`Filter`](crate::Filter), evaluated on whole columns with Arrow kernels.

mod eval;
mod parser;

use std::fmt;

use arrow_array::{ArrayRef, RecordBatch};
use collectors_core::Result;

pub use parser::MAX_EXPR_DEPTH;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Function {
    Abs,
    Round,
    Coalesce,
    IsNull,
    IsNotNull,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Column(String),
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    Null,
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    Call(Function, Vec<Expr>),
}

impl Expr {
    fn columns<'e>(&'e self, out: &mut Vec<&'e str>) {
        match self {
            Expr::Column(name) if !out.contains(&name.as_str()) => out.push(name),
            Expr::Neg(e) | Expr::Not(e) => e.columns(out),
            Expr::Binary(_, a, b) => {
                a.columns(out);
                b.columns(out);
            }
            Expr::Call(_, args) => args.iter().for_each(|a| a.columns(out)),
            _ => {}
        }
    }
}

/// A parsed expression of the small language below.
///
/// # The language
///
/// | what | syntax |
/// |---|---|
/// | a column | `value`, `sensor_id`, or any name in backticks: `` `reading (°C)` `` |
/// | literals | `42`, `-1.5`, `2e3`, `'text'` or `"text"` (a doubled quote inside stands for itself), `true`, `false`, `null` |
/// | arithmetic | `+ - * / %`, unary `-`; `/` is true division (a float), the others keep integers integers |
/// | comparisons | `== != < <= > >=` (they do not chain: `0 < x and x < 9`) |
/// | logic | `and`, `or`, `not` (SQL's three-valued logic: `null and false` is `false`) |
/// | functions | `abs(x)`, `round(x)`, `round(x, digits)` (half to even, as NumPy and pandas), `coalesce(a, b, …)` (the first non-null), `is_null(x)`, `is_not_null(x)` |
///
/// Precedence, loosest first: `or`, `and`, `not`, comparisons, `+ -`, `* / %`, unary `-`;
/// parentheses group. Keywords and function names are case-insensitive.
///
/// # Types
///
/// Integers and floats mix as floats; a comparison of a timestamp or date column with a
/// string reads the string as that type (`ts >= '2024-05-01T00:00:00Z'`); text compares
/// with text, booleans with booleans. Any operation with a null gives null; a filter keeps
/// only the rows where its predicate is `true`. An integer overflow or an integer `%` by 0
/// is an error of the batch, a float division by 0 is ±inf or NaN (IEEE).
///
/// # Example
///
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{Array, Float64Array, RecordBatch};
/// use arrow_array::cast::AsArray;
/// use arrow_array::types::Float64Type;
/// use collectors_processors::Expression;
///
/// let expr = Expression::parse("round(abs(v) * 1.8 + 32, 1)")?;
/// assert_eq!(expr.columns(), ["v"]);
/// let batch = RecordBatch::try_from_iter([(
///     "v",
///     Arc::new(Float64Array::from(vec![Some(-20.0), None])) as _,
/// )])
/// .unwrap();
/// let out = expr.evaluate(&batch)?;
/// let out = out.as_primitive::<Float64Type>();
/// assert_eq!(out.value(0), 68.0);
/// assert!(out.is_null(1));
/// assert!(Expression::parse("v +").is_err());
/// # Ok::<(), collectors_core::Error>(())
/// ```
#[derive(Clone, PartialEq)]
pub struct Expression {
    text: String,
    expr: Expr,
}

impl fmt::Debug for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Expression").field(&self.text).finish()
    }
}

impl fmt::Display for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Expression {
    /// Parses `text`; a configuration error names the position of the mistake.
    pub fn parse(text: &str) -> Result<Self> {
        Ok(Self {
            text: text.to_owned(),
            expr: parser::parse(text)?,
        })
    }

    /// The text it was parsed from.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The columns it reads, in order of first use.
    pub fn columns(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.expr.columns(&mut out);
        out
    }

    /// Evaluates it on every row of `batch`: an array of `batch.num_rows()` values. A
    /// column that does not exist or operands that do not go together are a validation
    /// error naming the expression.
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<ArrayRef> {
        eval::evaluate(&self.expr, batch)
            .map_err(|e| collectors_core::Error::validation(format!("`{}`: {e}", self.text)))
    }
}
