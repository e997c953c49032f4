//! Where the registry keeps its database and key file.

use std::path::{Path, PathBuf};

use collectors_core::{Error, Result};

/// The environment variable naming the data directory.
pub const DATA_DIR_ENV: &str = "COLLECTORS_DATA_DIR";

/// The registry database's file name in the data directory.
pub const REGISTRY_DB_FILE: &str = "registry.db";

/// The data directory: `explicit` (`--data-dir`) when given, else `COLLECTORS_DATA_DIR`, else
/// the platform's data directory for `collectors` (`$XDG_DATA_HOME/collectors` or
/// `~/.local/share/collectors` on Linux, `~/Library/Application Support/collectors` on macOS,
/// `%APPDATA%\collectors\data` on Windows, through the `directories` crate).
///
/// ```
/// use std::path::Path;
/// use collectors_backends::registry::resolve_data_dir;
///
/// assert_eq!(resolve_data_dir(Some(Path::new("/srv/state"))).unwrap(), Path::new("/srv/state"));
/// ```
///
/// # Errors
///
/// [`Error::Configuration`] when none of them gives a directory (no home directory).
pub fn resolve_data_dir(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir.to_path_buf());
    }
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "collectors")
        .map(|dirs| dirs.data_dir().to_path_buf())
        .ok_or_else(|| {
            Error::configuration(format!(
                "no data directory: pass --data-dir or set {DATA_DIR_ENV} (there is no home \
                 directory to default to)"
            ))
        })
}

/// Creates `dir` (mode 0700 on Unix when it is new).
pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| {
        Error::configuration(format!(
            "cannot create the data directory {}: {e}",
            dir.display()
        ))
        .with_source(e)
    })
}
