//! Refuses, at load, outputs that are the same file as each other or as an input: a
//! dead-letter file appended into the SQLite database, or into an input file that then grows
//! on every run.

use std::path::{Component, Path, PathBuf};

use collectors_core::{Error, Result};

use crate::registry::LocalInputs;

/// A file or directory the pipeline writes, and what writes it (for the message).
#[derive(Debug, Clone)]
pub(crate) struct Output {
    pub(crate) what: String,
    pub(crate) path: PathBuf,
}

/// An input area and the source that reads it.
pub(crate) struct Input<'a> {
    pub(crate) source_id: &'a str,
    pub(crate) inputs: &'a LocalInputs,
}

/// Refuses two outputs at the same place (one inside the other counts), and an output a
/// source would read.
pub(crate) fn check(file: &str, outputs: &[Output], inputs: &[Input<'_>]) -> Result<()> {
    let normalized: Vec<PathBuf> = outputs.iter().map(|o| normalize(&o.path)).collect();
    for (i, a) in normalized.iter().enumerate() {
        for (j, b) in normalized.iter().enumerate().skip(i + 1) {
            if a.starts_with(b) || b.starts_with(a) {
                return Err(Error::configuration(format!(
                    "{file}: the {} ({}) and the {} ({}) are the same place; give each its own path",
                    outputs[i].what,
                    outputs[i].path.display(),
                    outputs[j].what,
                    outputs[j].path.display()
                )));
            }
        }
        for input in inputs {
            let dir = normalize(&input.inputs.dir);
            if dir.starts_with(a) {
                return Err(Error::configuration(format!(
                    "{file}: the {} ({}) contains the directory of source `{}`",
                    outputs[i].what,
                    outputs[i].path.display(),
                    input.source_id
                )));
            }
            let Ok(relative) = a.strip_prefix(&dir) else {
                continue;
            };
            // A directory output is read when a file the store writes inside it would be.
            let probes = [
                relative.to_path_buf(),
                relative.join("part.jsonl"),
                relative.join("part.parquet"),
                relative.join("a").join("part.jsonl"),
            ];
            if probes.iter().any(|p| input.inputs.patterns.is_match(p)) {
                return Err(Error::configuration(format!(
                    "{file}: the {} ({}) is an input of source `{}` (its pattern matches it): \
                     it would be read back on the next run; write it outside the source's directory",
                    outputs[i].what,
                    outputs[i].path.display(),
                    input.source_id
                )));
            }
        }
    }
    Ok(())
}

/// An absolute path without `.`/`..`, with symlinks of its existing part resolved, so two
/// spellings of one file compare equal before the file exists.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut lexical = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::ParentDir => {
                lexical.pop();
            }
            Component::CurDir => {}
            other => lexical.push(other),
        }
    }
    // Resolve the longest prefix that exists, then put the rest back.
    let mut existing = lexical.clone();
    let mut rest = Vec::new();
    while !existing.exists() {
        match existing.file_name() {
            Some(name) => rest.push(name.to_os_string()),
            None => return lexical,
        }
        if !existing.pop() {
            return lexical;
        }
    }
    let mut resolved = existing.canonicalize().unwrap_or(existing);
    for name in rest.into_iter().rev() {
        resolved.push(name);
    }
    resolved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_path_are_equal() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("out/x.db");
        let b = dir.path().join("out/../out/./x.db");
        assert_eq!(normalize(&a), normalize(&b));
    }
}
