//! The names clients give uploads: kept as metadata only (objects are stored under the file's
//! id), and refused when they could name another place (`../../etc/passwd`) or break a header.

use collectors_core::{Error, Result};

/// `name` when it is a plain file name: not empty, at most 255 bytes, no `/` or `\`, not `.`
/// or `..`, no control character.
///
/// ```
/// use collectors_server::files::checked_file_name;
///
/// assert_eq!(checked_file_name("sensors.csv").unwrap(), "sensors.csv");
/// assert!(checked_file_name("../../etc/passwd").is_err());
/// ```
///
/// # Errors
///
/// [`Error::Validation`] naming what is wrong.
pub fn checked_file_name(name: &str) -> Result<&str> {
    let refuse = |why: &str| Err(Error::validation(format!("file name {name:?} {why}")));
    if name.trim().is_empty() {
        return refuse("is empty");
    }
    if name.len() > 255 {
        return refuse("is longer than 255 bytes");
    }
    if name.contains(['/', '\\']) {
        return refuse("contains a path separator (give a plain file name)");
    }
    if name == "." || name == ".." {
        return refuse("is not a file name");
    }
    if name.chars().any(char::is_control) {
        return refuse("contains a control character");
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_are_refused() {
        for name in [
            "",
            " ",
            "../../etc/passwd",
            "/etc/passwd",
            "..\\..\\boot.ini",
            "..",
            ".",
            "a\nb",
            "a\0b",
            &"x".repeat(256),
        ] {
            assert!(checked_file_name(name).is_err(), "{name:?} was accepted");
        }
        for name in [
            "data.csv",
            "part-00.csv.parquet",
            "résumé 2026.jsonl",
            ".hidden",
        ] {
            assert_eq!(checked_file_name(name).unwrap(), name);
        }
    }
}
