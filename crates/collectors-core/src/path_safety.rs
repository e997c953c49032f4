//! Keeping item identifiers inside a workspace.

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// Joins an item identifier (`data/2024/sales.csv`) to a workspace directory, refusing any
/// identifier that could write outside it.
///
/// Refused, as an [`Error::Validation`]: empty identifiers, absolute paths, `..` segments,
/// Windows drive or UNC prefixes, NUL bytes. Leading `/` is not stripped: an absolute
/// identifier is an error, not silently rebased.
///
/// ```
/// use std::path::Path;
/// use collectors_core::resolve_in_workspace;
///
/// let ws = Path::new("/tmp/ws");
/// assert_eq!(resolve_in_workspace(ws, "a/b.csv").unwrap(), Path::new("/tmp/ws/a/b.csv"));
/// assert!(resolve_in_workspace(ws, "../../etc/passwd").is_err());
/// assert!(resolve_in_workspace(ws, "/etc/passwd").is_err());
/// ```
pub fn resolve_in_workspace(workspace: &Path, identifier: &str) -> Result<PathBuf> {
    let refuse = |why: &str| {
        Err(
            Error::validation(format!("identifier {identifier:?} {why}"))
                .with_operation("resolve_in_workspace"),
        )
    };
    if identifier.trim().is_empty() {
        return refuse("is empty");
    }
    if identifier.contains('\0') {
        return refuse("contains a NUL byte");
    }
    let relative = Path::new(identifier);
    let mut out = workspace.to_path_buf();
    for component in relative.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => return refuse("leaves the workspace with `..`"),
            Component::RootDir | Component::Prefix(_) => return refuse("is an absolute path"),
        }
    }
    if out == workspace {
        return refuse("names no file");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_identifiers_are_refused() {
        let ws = Path::new("/srv/ws");
        for bad in [
            "",
            "  ",
            "..",
            "../x",
            "a/../../x",
            "/etc/passwd",
            "a\0b",
            ".",
            "./",
        ] {
            let err = resolve_in_workspace(ws, bad).unwrap_err();
            assert_eq!(err.error_type(), crate::ErrorType::Validation, "{bad:?}");
        }
    }

    #[test]
    fn nested_identifiers_stay_inside() {
        let ws = Path::new("/srv/ws");
        assert_eq!(
            resolve_in_workspace(ws, "./a/./b.csv").unwrap(),
            Path::new("/srv/ws/a/b.csv")
        );
    }
}
