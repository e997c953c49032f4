//! Listing the files under a directory: a depth-first walk that follows symbolic links and
//! skips, with a warning, what cannot be listed, instead of giving up on the whole listing.
//!
//! `object_store`'s own listing ends at the first entry it cannot read, so one symlink loop
//! or one unreadable directory anywhere under the root used to abort every listing, even
//! when no file the pattern selects was involved. Here:
//!
//! - a link to one of its own parent directories (a loop), a link that cannot be resolved
//!   (`a → b → a`: "too many levels of symbolic links"), a directory that cannot be read
//!   and a name that is not UTF-8 (it cannot be an item id) are skipped with a
//!   `tracing::warn!` naming the path;
//! - a dangling link, or an entry removed while listing, is skipped silently (as before);
//! - an entry whose type cannot even be read (a directory that can be listed but not
//!   searched) is skipped with a warning unless its path matches the pattern: then it may
//!   be a file the caller asked for, and the listing fails naming it;
//! - the directory being listed itself must be readable: if not, the listing fails.

use std::fs::Metadata;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use collectors_core::{Error, Result};
use object_store::ObjectMeta;
use object_store::path::Path as ObjectPath;

/// What identifies a directory, to recognise it when a link leads back to it.
#[cfg(unix)]
type DirId = (u64, u64);
#[cfg(not(unix))]
type DirId = PathBuf;

#[cfg(unix)]
fn dir_id(meta: &Metadata, _path: &Path) -> Option<DirId> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn dir_id(_meta: &Metadata, path: &Path) -> Option<DirId> {
    std::fs::canonicalize(path).ok()
}

/// One walk: where it started, what it keeps, what it found.
pub(crate) struct Walk<'a> {
    /// For log lines: the source listing.
    pub(crate) source_id: &'a str,
    /// Whether a file's relative path (with `/`) is kept.
    pub(crate) keep: &'a (dyn Fn(&str) -> bool + Sync),
    files: Vec<ObjectMeta>,
}

impl<'a> Walk<'a> {
    pub(crate) fn new(source_id: &'a str, keep: &'a (dyn Fn(&str) -> bool + Sync)) -> Self {
        Self {
            source_id,
            keep,
            files: Vec::new(),
        }
    }

    /// Every kept file under `dir`, whose path relative to the root is `prefix` (empty for
    /// the root), in no particular order. A missing `dir` has no files.
    pub(crate) fn run(mut self, dir: &Path, prefix: &str) -> Result<Vec<ObjectMeta>> {
        let meta = match std::fs::metadata(dir) {
            Ok(meta) => meta,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(unreadable(dir, e)),
        };
        if !meta.is_dir() {
            return Ok(Vec::new());
        }
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(unreadable(dir, e)),
        };
        let mut parents: Vec<DirId> = dir_id(&meta, dir).into_iter().collect();
        self.visit(dir, entries, prefix, &mut parents)?;
        Ok(self.files)
    }

    fn visit(
        &mut self,
        dir: &Path,
        entries: std::fs::ReadDir,
        prefix: &str,
        parents: &mut Vec<DirId>,
    ) -> Result<()> {
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    self.skip(dir, &e, "an entry of this directory cannot be read");
                    continue;
                }
            };
            let path = entry.path();
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                self.skip_because(&path, "its name is not UTF-8, so it cannot be an item id");
                continue;
            };
            let relative = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            // Links are followed: what counts is what they point to.
            let meta = match std::fs::metadata(&path) {
                Ok(meta) => meta,
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    tracing::debug!(source = %self.source_id, path = %path.display(), "skipping a dangling link");
                    continue;
                }
                Err(e) => {
                    let is_link = std::fs::symlink_metadata(&path).map(|m| m.is_symlink());
                    match is_link {
                        Ok(true) => self.skip(
                            &path,
                            &e,
                            "a symbolic link that cannot be resolved (a loop of links?)",
                        ),
                        Ok(false) => self.skip(&path, &e, "its metadata cannot be read"),
                        Err(_) if (self.keep)(&relative) => return Err(unreadable(&path, e)),
                        Err(_) => self.skip(&path, &e, "its type cannot be read"),
                    }
                    continue;
                }
            };
            if meta.is_dir() {
                let Some(id) = dir_id(&meta, &path) else {
                    self.skip_because(&path, "the directory cannot be identified");
                    continue;
                };
                if parents.contains(&id) {
                    tracing::warn!(
                        source = %self.source_id,
                        path = %path.display(),
                        "skipping a symlink loop: this directory is one of its own parents"
                    );
                    continue;
                }
                let entries = match std::fs::read_dir(&path) {
                    Ok(entries) => entries,
                    Err(e) if e.kind() == ErrorKind::NotFound => continue,
                    Err(e) => {
                        self.skip(&path, &e, "the directory cannot be read");
                        continue;
                    }
                };
                parents.push(id);
                let visited = self.visit(&path, entries, &relative, parents);
                parents.pop();
                visited?;
            } else if meta.is_file() {
                if is_temp_upload(&relative) || !(self.keep)(&relative) {
                    continue;
                }
                match ObjectPath::parse(&relative) {
                    Ok(location) => self.files.push(object_meta(location, &meta)),
                    Err(e) => {
                        self.skip_because(&path, &format!("its name cannot be an item id: {e}"))
                    }
                }
            }
            // Sockets, FIFOs, devices: not files, not listed (as before).
        }
        Ok(())
    }

    fn skip(&self, path: &Path, error: &std::io::Error, what: &str) {
        tracing::warn!(
            source = %self.source_id,
            path = %path.display(),
            error = %error,
            "skipping {what}"
        );
    }

    fn skip_because(&self, path: &Path, why: &str) {
        tracing::warn!(source = %self.source_id, path = %path.display(), "skipping: {why}");
    }
}

/// The directory being listed cannot be read: the listing fails, naming it.
fn unreadable(path: &Path, e: std::io::Error) -> Error {
    Error::data_fetch(format!("listing {}: {e}", path.display())).with_source(e)
}

/// `object_store` writes uploads to `name#N` before renaming them; those are not files yet.
fn is_temp_upload(relative: &str) -> bool {
    let name = relative.rsplit('/').next().unwrap_or(relative);
    match name.split_once('#') {
        Some((_, suffix)) => !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

/// The listing entry of a file, as `object_store` would have made it (same e-tag scheme).
fn object_meta(location: ObjectPath, meta: &Metadata) -> ObjectMeta {
    let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    let micros = modified
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros();
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    let inode = 0u64;
    ObjectMeta {
        location,
        last_modified: DateTime::<Utc>::from(modified),
        size: meta.len(),
        e_tag: Some(format!("\"{inode:x}-{micros:x}-{:x}\"", meta.len())),
        version: None,
    }
}

/// The directory of the relative path `prefix` under `root`.
pub(crate) fn dir_of(root: &Path, prefix: Option<&ObjectPath>) -> PathBuf {
    let mut dir = root.to_path_buf();
    if let Some(prefix) = prefix {
        for part in prefix.parts() {
            dir.push(part.as_ref());
        }
    }
    dir
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_uploads_are_recognised() {
        assert!(is_temp_upload("a/b.csv#1"));
        assert!(is_temp_upload("b#42"));
        assert!(!is_temp_upload("b#x1"));
        assert!(!is_temp_upload("b#"));
        assert!(!is_temp_upload("2024#1/b.csv"));
    }
}
