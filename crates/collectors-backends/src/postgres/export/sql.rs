//! The SQL text of an export: quoted identifiers and what is read (a table or a query).

use collectors_core::{Error, Result};

pub(crate) use crate::sql_table::quote_ident;

/// What an export reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A table or view found in the catalog.
    Relation {
        /// Its schema.
        schema: String,
        /// Its name.
        name: String,
    },
    /// A `SELECT` (or `WITH … SELECT`, `VALUES`, `TABLE`) given by the user, run in a
    /// read-only transaction.
    Query(String),
}

impl Target {
    /// `schema.name` of a relation, `the query` otherwise: for messages.
    pub(crate) fn shown(&self) -> String {
        match self {
            Self::Relation { schema, name } => format!("{schema}.{name}"),
            Self::Query(_) => "the query".to_owned(),
        }
    }

    /// The `FROM` item: `"schema"."name"`, or `(query)`.
    pub(crate) fn sql_from(&self) -> String {
        match self {
            Self::Relation { schema, name } => {
                format!("{}.{}", quote_ident(schema), quote_ident(name))
            }
            Self::Query(sql) => format!("({sql})"),
        }
    }
}

/// Whether `identifier` is a query rather than a table name: it starts with the keyword
/// `SELECT`, `WITH`, `VALUES` or `TABLE` followed by white space.
pub(crate) fn is_query(identifier: &str) -> bool {
    let text = identifier.trim_start();
    let word: String = text
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect::<String>()
        .to_ascii_lowercase();
    let rest = &text[word.len()..];
    matches!(word.as_str(), "select" | "with" | "values" | "table")
        && rest.starts_with(|c: char| c.is_whitespace() || c == '(' || c == '*')
}

/// A query, checked and with trailing semicolons removed, ready to be a subquery.
///
/// # Errors
///
/// [`Error::Validation`] for an empty query or one with a NUL byte.
pub(crate) fn query_text(sql: &str) -> Result<String> {
    let text = sql
        .trim()
        .trim_end_matches(|c: char| c == ';' || c.is_whitespace());
    if text.is_empty() {
        return Err(Error::validation("the query is empty"));
    }
    if text.contains('\0') {
        return Err(Error::validation("the query contains a NUL byte"));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_whole() {
        assert_eq!(quote_ident("t"), "\"t\"");
        assert_eq!(
            quote_ident("x\"; DROP TABLE t; --"),
            "\"x\"\"; DROP TABLE t; --\""
        );
    }

    #[test]
    fn queries_are_told_from_table_names() {
        assert!(is_query("SELECT 1"));
        assert!(is_query("  select * from t"));
        assert!(is_query("WITH a AS (SELECT 1) SELECT * FROM a"));
        assert!(is_query("select*from t"));
        assert!(!is_query("public.readings"));
        assert!(!is_query("selection"));
        assert!(!is_query("select"));
        assert_eq!(query_text(" SELECT 1 ;; ").unwrap(), "SELECT 1");
        assert!(query_text(" ; ").is_err());
    }
}
