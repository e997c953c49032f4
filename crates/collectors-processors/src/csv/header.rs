//! Reading a CSV header line and matching it with an explicit schema, by name.

use arrow_schema::Schema;
use collectors_core::{Error, Result};

use super::fields::split_fields;
use crate::lines::bare_cr_hint;

/// The longest list of names quoted in one message, in bytes (about; a name is never cut).
const MAX_LIST_BYTES: usize = 360;

/// The whole-item error for input that is not CSV.
pub(super) fn not_csv(message: impl Into<String>) -> Error {
    Error::validation(format!("not CSV: {}", message.into())).with_operation("decode csv")
}

/// The whole-item error for a header that does not match the schema.
fn mismatch(message: String) -> Error {
    Error::validation(message).with_operation("decode csv")
}

/// The names of a header line (line `number`), as written: not trimmed, empty ones kept.
pub(super) fn read_names(number: u64, bytes: &[u8], delimiter: u8) -> Result<Vec<String>> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        not_csv(format!("the header (line {number}) is not UTF-8: {e}")).with_source(e)
    })?;
    if bytes.contains(&b'\r') {
        return Err(not_csv(format!(
            "the header (line {number}) holds a carriage return{}",
            bare_cr_hint(bytes)
        )));
    }
    if let Some(c) = text
        .chars()
        .find(|c| c.is_control() && *c != '\t' && *c as u32 != u32::from(delimiter))
    {
        return Err(not_csv(format!(
            "the header (line {number}) holds the control character {c:?}"
        )));
    }
    let fields = split_fields(bytes, delimiter).map_err(|_| {
        not_csv(format!(
            "the header (line {number}) has a quoted name that is not closed"
        ))
    })?;
    let mut names = Vec::with_capacity(fields.len());
    for field in fields {
        names.push(
            String::from_utf8(field)
                .map_err(|e| not_csv("a header name is not UTF-8").with_source(e))?,
        );
    }
    Ok(names)
}

/// A whole-item error when a name repeats (the header of an item without explicit schema).
pub(super) fn check_unique(number: u64, names: &[String]) -> Result<()> {
    match first_duplicate(names) {
        Some((first, second)) => Err(not_csv(format!(
            "the header (line {number}) names column `{}` twice (columns {} and {})",
            cut(&names[first]),
            first + 1,
            second + 1
        ))),
        None => Ok(()),
    }
}

/// The 0-based positions of the first name that repeats: its first and second occurrence.
fn first_duplicate(names: &[String]) -> Option<(usize, usize)> {
    let mut seen = std::collections::HashMap::with_capacity(names.len());
    for (index, name) in names.iter().enumerate() {
        if let Some(&first) = seen.get(name.as_str()) {
            return Some((first, index));
        }
        seen.insert(name.as_str(), index);
    }
    None
}

/// Matches header `names` with `schema` by name, exactly (no case folding, no trimming).
///
/// Returns, for each column of the file (header order), the index of its schema column. Every
/// header name must be a schema column and every schema column must be in the header; the
/// error says which name differs, and how, when the difference is only case or spaces.
pub(super) fn match_schema(names: &[String], schema: &Schema) -> Result<Vec<usize>> {
    let expected: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let by_name: std::collections::HashMap<&str, usize> = expected
        .iter()
        .enumerate()
        .map(|(position, name)| (*name, position))
        .collect();
    let mut positions = Vec::with_capacity(names.len());
    let mut present = vec![false; expected.len()];
    for (index, name) in names.iter().enumerate() {
        match by_name.get(name.as_str()) {
            Some(&position) if present[position] => {
                let first = positions.iter().position(|&p| p == position).unwrap_or(0);
                return Err(mismatch(format!(
                    "the header names column `{}` twice (columns {} and {})",
                    cut(name),
                    first + 1,
                    index + 1
                )));
            }
            Some(&position) => {
                positions.push(position);
                present[position] = true;
            }
            None => {
                return Err(mismatch(format!(
                    "header column {} `{}` does not match any schema column{}; expected: {}",
                    index + 1,
                    cut(name),
                    near_miss(name, &expected),
                    list(&expected)
                )));
            }
        }
    }
    let missing: Vec<&str> = expected
        .iter()
        .zip(&present)
        .filter(|(_, present)| !**present)
        .map(|(name, _)| *name)
        .collect();
    if !missing.is_empty() {
        let found: Vec<&str> = names.iter().map(String::as_str).collect();
        return Err(mismatch(format!(
            "the header has no column {}, which the schema requires; header: {}",
            list_quoted(&missing),
            list(&found)
        )));
    }
    Ok(positions)
}

/// Why `name` almost matched a schema column (case or spaces), for the message.
fn near_miss(name: &str, expected: &[&str]) -> String {
    let trimmed = name.trim();
    if let Some(wanted) = expected.iter().find(|e| **e == trimmed) {
        return format!(" (it has spaces around it; matching is exact, the schema has `{wanted}`)");
    }
    if let Some(wanted) = expected
        .iter()
        .find(|e| e.eq_ignore_ascii_case(trimmed) || e.to_lowercase() == trimmed.to_lowercase())
    {
        return format!(
            " (it differs in case; matching is exact, the schema has `{}`)",
            cut(wanted)
        );
    }
    if name.is_empty() {
        return " (the name is empty)".to_owned();
    }
    String::new()
}

/// `name`, cut to at most 200 bytes (on a character boundary) with `…`.
fn cut(name: &str) -> String {
    const MAX: usize = 200;
    if name.len() <= MAX {
        return name.to_owned();
    }
    let mut end = MAX;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &name[..end])
}

/// `a, b, c`, cut to about [`MAX_LIST_BYTES`] with `… and N more`.
pub(super) fn list(names: &[&str]) -> String {
    join_bounded(names, |name| (*name).to_owned())
}

/// `` `a`, `b` ``, cut like [`list`].
fn list_quoted(names: &[&str]) -> String {
    join_bounded(names, |name| format!("`{name}`"))
}

fn join_bounded(names: &[&str], show: impl Fn(&&str) -> String) -> String {
    let mut out = String::new();
    for (index, name) in names.iter().enumerate() {
        let shown = show(name);
        if !out.is_empty() && out.len() + shown.len() > MAX_LIST_BYTES {
            out.push_str(&format!(", … and {} more", names.len() - index));
            return out;
        }
        if !out.is_empty() {
            out.push_str(", ");
        }
        // A single huge name is cut too (on a character boundary).
        let mut cut = shown.len().min(MAX_LIST_BYTES);
        while !shown.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&shown[..cut]);
        if cut < shown.len() {
            out.push('…');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_are_cut() {
        let names: Vec<String> = (0..10_000).map(|i| format!("column_{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let text = list(&names);
        assert!(text.len() <= MAX_LIST_BYTES + 40, "{}", text.len());
        assert!(text.ends_with("more"), "{text}");
        assert_eq!(list(&["a", "b"]), "a, b");
        let huge = "é".repeat(2000);
        assert!(list(&[&huge]).len() <= MAX_LIST_BYTES + 3);
    }
}
