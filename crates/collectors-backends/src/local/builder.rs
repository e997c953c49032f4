//! [`LocalDirectorySourceBuilder`]: checks the directory and the glob before any file is read.

use std::path::PathBuf;
use std::sync::Arc;

use collectors_core::{Error, Result};
use globset::{GlobBuilder, GlobMatcher};
use object_store::local::LocalFileSystem;

use super::source::LocalDirectorySource;

/// The default size of the chunks [`DataSource::open`](collectors_core::DataSource::open)
/// yields: 256 KiB.
pub(crate) const DEFAULT_CHUNK_SIZE: usize = 256 * 1024;
/// The largest chunk size accepted: 64 MiB. Each chunk is allocated up front, so the setting
/// is bounded like every other.
pub(crate) const MAX_CHUNK_SIZE: usize = 64 * 1024 * 1024;

/// Builds a [`LocalDirectorySource`]; see [`LocalDirectorySource::builder`].
///
/// ```
/// use collectors_backends::LocalDirectorySource;
///
/// let dir = tempfile::tempdir().unwrap();
/// let source = LocalDirectorySource::builder("sensors", dir.path())
///     .pattern("**/*.csv")
///     .chunk_size(64 * 1024)
///     .build()
///     .unwrap();
/// assert_eq!(source.pattern(), Some("**/*.csv"));
///
/// // Errors are found at build time, not at the first read.
/// assert!(LocalDirectorySource::builder("sensors", dir.path()).pattern("[oops").build().is_err());
/// assert!(LocalDirectorySource::builder("sensors", dir.path().join("missing")).build().is_err());
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct LocalDirectorySourceBuilder {
    source_id: String,
    root: PathBuf,
    pattern: Option<String>,
    chunk_size: usize,
}

impl LocalDirectorySourceBuilder {
    pub(crate) fn new(source_id: String, root: PathBuf) -> Self {
        Self {
            source_id,
            root,
            pattern: None,
            chunk_size: DEFAULT_CHUNK_SIZE,
        }
    }

    /// Only files whose path **relative to the root**, with `/` separators, matches this glob.
    ///
    /// `*` and `?` do not cross a `/`: `*.csv` selects the CSV files directly in the root,
    /// `**/*.csv` those at any depth (the root included), `2024/*.csv` those in `2024/`.
    /// Without a pattern every file is an item.
    ///
    /// Some valid globs can never match a path inside the directory: an empty one, an
    /// absolute one (`/etc/*`), and one with a `.` or `..` segment (`../*.csv`), an empty
    /// segment (`a//b`) or a trailing `/`. [`build`](Self::build) accepts them but logs a
    /// warning; [`pattern_issue`](Self::pattern_issue) tells callers beforehand.
    pub fn pattern(mut self, glob: impl Into<String>) -> Self {
        self.pattern = Some(glob.into());
        self
    }

    /// Why the [pattern](Self::pattern) can never match a file inside the directory, if it
    /// cannot: `None` when it may match (or no pattern is set).
    ///
    /// ```
    /// use collectors_backends::LocalDirectorySource;
    ///
    /// let builder = LocalDirectorySource::builder("sensors", "data").pattern("../*.csv");
    /// assert!(builder.pattern_issue().unwrap().contains("`..`"));
    /// let builder = LocalDirectorySource::builder("sensors", "data").pattern("**/*.csv");
    /// assert_eq!(builder.pattern_issue(), None);
    /// ```
    pub fn pattern_issue(&self) -> Option<String> {
        self.pattern.as_deref().and_then(pattern_issue)
    }

    /// The size in bytes of the chunks an opened file is streamed in (default 256 KiB, from
    /// 1 byte to 64 MiB); it bounds the memory one open file holds.
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = bytes;
        self
    }

    /// Checks the settings and builds the source.
    ///
    /// # Errors
    ///
    /// - [`Error::NotFound`] when the directory does not exist;
    /// - [`Error::Configuration`] when the source id is empty, the path is not a directory or
    ///   cannot be read, the glob is invalid, or the chunk size is zero or above 64 MiB.
    ///
    /// Each message names the offending path or value.
    pub fn build(self) -> Result<LocalDirectorySource> {
        let configuration = |message: String| {
            Error::configuration(message)
                .with_component(self.source_id.clone())
                .with_operation("build")
        };
        if self.source_id.trim().is_empty() {
            return Err(configuration("the source id must not be empty".into()));
        }
        if !(1..=MAX_CHUNK_SIZE).contains(&self.chunk_size) {
            return Err(configuration(format!(
                "chunk_size must be from 1 to {MAX_CHUNK_SIZE} bytes, not {}",
                self.chunk_size
            )));
        }
        match std::fs::metadata(&self.root) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(configuration(format!(
                    "{} is not a directory",
                    self.root.display()
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::not_found(format!(
                    "directory {} does not exist",
                    self.root.display()
                ))
                .with_component(self.source_id.clone())
                .with_operation("build")
                .with_source(e));
            }
            Err(e) => {
                return Err(configuration(format!(
                    "cannot read directory {}: {e}",
                    self.root.display()
                ))
                .with_source(e));
            }
        }
        let matcher = self
            .pattern
            .as_deref()
            .map(|p| compile_glob(p, true))
            .transpose()
            .map_err(|e| configuration(format!("invalid pattern: {e}")))?;
        if let (Some(pattern), Some(issue)) = (&self.pattern, self.pattern_issue()) {
            tracing::warn!(
                source = %self.source_id,
                root = %self.root.display(),
                pattern = %pattern,
                "the pattern will select no file: {issue}"
            );
        }
        let store = LocalFileSystem::new_with_prefix(&self.root).map_err(|e| {
            configuration(format!(
                "cannot open directory {}: {e}",
                self.root.display()
            ))
            .with_source(e)
        })?;
        let root = std::fs::canonicalize(&self.root).unwrap_or_else(|_| self.root.clone());
        Ok(LocalDirectorySource {
            source_id: self.source_id,
            root,
            store: Arc::new(store),
            pattern: self.pattern,
            matcher,
            chunk_size: self.chunk_size,
        })
    }
}

/// Compiles a glob; with `literal_separator`, `*` does not match `/`.
pub(crate) fn compile_glob(
    pattern: &str,
    literal_separator: bool,
) -> std::result::Result<GlobMatcher, globset::Error> {
    GlobBuilder::new(pattern)
        .literal_separator(literal_separator)
        .build()
        .map(|glob| glob.compile_matcher())
}

/// Why `pattern` can never match the relative path of a file, if it cannot. Relative paths
/// are `/`-separated, never absolute, never empty, with no empty, `.` or `..` segment.
pub(crate) fn pattern_issue(pattern: &str) -> Option<String> {
    if pattern.is_empty() {
        return Some("it is empty, and every file has a non-empty path".into());
    }
    if pattern.starts_with('/') || std::path::Path::new(pattern).is_absolute() {
        return Some(format!(
            "{pattern:?} is absolute, but it is matched against paths relative to the \
             directory (`2024/a.csv`, never `/…`)"
        ));
    }
    if pattern.ends_with('/') {
        return Some(format!(
            "{pattern:?} ends with `/`, but it is matched against file paths, which never do \
             (use `{pattern}**` for the files below)"
        ));
    }
    for segment in pattern.split('/') {
        let issue = match segment {
            ".." => "a `..` segment, but paths inside the directory never go up",
            "." => "a `.` segment, but paths inside the directory never contain one",
            "" => "an empty segment (`//`), but paths inside the directory never contain one",
            _ => continue,
        };
        return Some(format!("{pattern:?} has {issue}"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_that_can_never_match_are_recognised() {
        for pattern in [
            "",
            "/etc/*",
            "../*.csv",
            "a/../b.csv",
            "./a.csv",
            "a//b",
            "2024/",
        ] {
            assert!(pattern_issue(pattern).is_some(), "{pattern:?}");
        }
        for pattern in [
            "*.csv",
            "**/*.csv",
            "2024/*.csv",
            "a/**",
            "..csv",
            "a..b/*",
            "{a,b}/*",
        ] {
            assert_eq!(pattern_issue(pattern), None, "{pattern:?}");
        }
    }
}
