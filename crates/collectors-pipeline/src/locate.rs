//! Where a spec came from, and how an error about one of its values finds its line.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use collectors_core::Error;
use toml::de::{DeTable, DeValue};

/// One step of a path into the document: a table key or an array index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Syntax {
    #[default]
    Toml,
    Json,
}

/// The text of a spec, its name for messages, and the directory its paths are relative to.
#[derive(Clone, Default)]
pub(crate) struct Origin {
    name: String,
    base: PathBuf,
    text: String,
    syntax: Syntax,
}

/// The text may hold a secret (a URL with a password): `Debug` shows its size only.
impl std::fmt::Debug for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Origin")
            .field("name", &self.name)
            .field("base", &self.base)
            .field("text_bytes", &self.text.len())
            .field("syntax", &self.syntax)
            .finish()
    }
}

impl Origin {
    pub(crate) fn file(path: &Path, base: PathBuf, text: String) -> Self {
        let syntax = if path.extension().is_some_and(|e| e == "json") {
            Syntax::Json
        } else {
            Syntax::Toml
        };
        Self {
            name: path.display().to_string(),
            base,
            text,
            syntax,
        }
    }

    pub(crate) fn text_named(name: &str, base: PathBuf, text: String, json: bool) -> Self {
        Self {
            name: name.to_owned(),
            base,
            text,
            syntax: if json { Syntax::Json } else { Syntax::Toml },
        }
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn base(&self) -> &Path {
        &self.base
    }

    pub(crate) fn set_base(&mut self, base: PathBuf) {
        self.base = base;
    }

    /// `FILE:LINE: `KEY`: MESSAGE` (no line when it cannot be found).
    pub(crate) fn error_at(&self, path: &[Segment<'_>], message: &str) -> Error {
        let key = display_key(path);
        match self.line_of(path) {
            Some(line) => Error::configuration(format!("{}:{line}: `{key}`: {message}", self.name)),
            None => Error::configuration(format!("{}: `{key}`: {message}", self.name)),
        }
    }

    /// The 1-based line of the deepest part of `path` found in the TOML text.
    fn line_of(&self, path: &[Segment<'_>]) -> Option<usize> {
        if self.syntax != Syntax::Toml || self.text.is_empty() {
            return None;
        }
        let root = DeTable::parse(&self.text).ok()?;
        let mut start = None;
        let mut table: Option<&DeTable<'_>> = Some(root.get_ref());
        let mut array: Option<&[toml::Spanned<DeValue<'_>>]> = None;
        for segment in path {
            let value = match (*segment, table, array) {
                (Segment::Key(k), Some(t), _) => {
                    let (key, value) = t.iter().find(|(key, _)| key.get_ref().as_ref() == k)?;
                    start = Some(key.span().start);
                    value
                }
                (Segment::Index(i), _, Some(a)) => {
                    let value = a.get(i)?;
                    start = Some(value.span().start);
                    value
                }
                _ => break,
            };
            (table, array) = match value.get_ref() {
                DeValue::Table(t) => (Some(t), None),
                DeValue::Array(a) => (None, Some(a.as_ref())),
                _ => (None, None),
            };
        }
        let start = start?.min(self.text.len());
        Some(self.text[..start].matches('\n').count() + 1)
    }
}

/// `processor[1].window`.
pub(crate) fn display_key(path: &[Segment<'_>]) -> String {
    let mut key = String::new();
    for segment in path {
        match segment {
            Segment::Key(k) if key.is_empty() => key.push_str(k),
            Segment::Key(k) => {
                let _ = write!(key, ".{k}");
            }
            Segment::Index(i) => {
                let _ = write!(key, "[{i}]");
            }
        }
    }
    key
}

/// Splits a serde path (`schema[2].type`, `csv.batch_size`) into segments.
pub(crate) fn parse_path(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        if let Some(open) = rest.find('[') {
            if open > 0 {
                out.push(Segment::Key(&rest[..open]));
            }
            rest = &rest[open..];
            while let Some(stripped) = rest.strip_prefix('[') {
                let Some(close) = stripped.find(']') else {
                    break;
                };
                if let Ok(i) = stripped[..close].parse() {
                    out.push(Segment::Index(i));
                }
                rest = &stripped[close + 1..];
            }
        } else if !rest.is_empty() && rest != "?" {
            out.push(Segment::Key(rest));
        }
    }
    out
}

/// The first `backticked` word of an error message: the key it is about.
pub(crate) fn key_in_message(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    let key = &message[start..start + len];
    key.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
        .then_some(key)
        .filter(|k| !k.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_lines_of_nested_keys() {
        let text = "name = \"x\"\n\n[[processor]]\ntype = \"a\"\n\n[[processor]]\ntype = \"b\"\nwindow = 0\n";
        let origin = Origin::text_named("p.toml", PathBuf::new(), text.into(), false);
        let path = [
            Segment::Key("processor"),
            Segment::Index(1),
            Segment::Key("window"),
        ];
        assert_eq!(origin.line_of(&path), Some(8));
        let e = origin.error_at(&path, "must be at least 1");
        assert_eq!(
            e.message(),
            "p.toml:8: `processor[1].window`: must be at least 1"
        );
    }

    #[test]
    fn parses_serde_paths() {
        assert_eq!(
            parse_path("csv.schema[2].type"),
            vec![
                Segment::Key("csv"),
                Segment::Key("schema"),
                Segment::Index(2),
                Segment::Key("type")
            ]
        );
        assert_eq!(
            key_in_message("`window` must be at least 1"),
            Some("window")
        );
        assert_eq!(key_in_message("no key here"), None);
    }
}
