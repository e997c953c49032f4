//! [`NamePattern`]: which listed objects a glob selects.

use collectors_core::{Error, Result};
use globset::{GlobBuilder, GlobMatcher};

/// A glob over listed objects.
///
/// - Without a `/` (`*.csv`, `sample_*.csv`) it matches an object's **name** (its last path
///   segment), at any depth.
/// - With a `/` (`**/*.parquet`, `2024/*.csv`) it matches the object's path relative to the
///   listed prefix, and `*` does not cross a `/`; `**/` matches any number of folders,
///   none included.
///
/// ```
/// use collectors_backends::object_store::NamePattern;
///
/// let by_name = NamePattern::new("*.csv").unwrap();
/// assert!(by_name.matches("2024/01/a.csv"));
/// let by_path = NamePattern::new("2024/*.csv").unwrap();
/// assert!(by_path.matches("2024/a.csv") && !by_path.matches("2024/01/a.csv"));
/// assert!(NamePattern::new("**/*.parquet").unwrap().matches("a.parquet"));
/// assert!(NamePattern::new("[oops").is_err());
/// ```
#[derive(Debug, Clone)]
pub struct NamePattern {
    glob: String,
    matcher: GlobMatcher,
    whole_path: bool,
}

impl NamePattern {
    /// Compiles `glob`.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] naming the glob when it is not valid.
    pub fn new(glob: &str) -> Result<Self> {
        let whole_path = glob.contains('/');
        let matcher = GlobBuilder::new(glob)
            .literal_separator(whole_path)
            .build()
            .map_err(|e| {
                Error::validation(format!("invalid pattern {glob:?}: {e}")).with_source(e)
            })?
            .compile_matcher();
        Ok(Self {
            glob: glob.to_owned(),
            matcher,
            whole_path,
        })
    }

    /// The glob as given.
    pub fn as_str(&self) -> &str {
        &self.glob
    }

    /// Whether the object at `relative` (relative to the listed prefix) is selected.
    pub fn matches(&self, relative: &str) -> bool {
        if self.whole_path {
            self.matcher.is_match(relative)
        } else {
            self.matcher
                .is_match(relative.rsplit('/').next().unwrap_or(relative))
        }
    }
}
