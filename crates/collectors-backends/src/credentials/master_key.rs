//! [`MasterKey`]: the Fernet key of a [`CredentialManager`](super::CredentialManager), from the
//! environment or a 0600 key file.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use collectors_core::{Error, Result};
use secrecy::{ExposeSecret, SecretString};

/// The environment variable a master key is read from first.
pub const MASTER_KEY_ENV: &str = "COLLECTORS_MASTER_KEY";

/// The name of the generated key file in the data directory.
pub const KEY_FILE_NAME: &str = "master.key";

/// Where a [`MasterKey`] came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeySource {
    /// The `COLLECTORS_MASTER_KEY` environment variable.
    Environment,
    /// A key file (generated on first use).
    File(PathBuf),
    /// Given by the host application (or generated in memory).
    Given,
}

/// A Fernet key: 32 bytes, URL-safe base64 (as `Fernet.generate_key()` in Python writes it).
///
/// `Debug` shows where the key came from, never the key.
///
/// ```
/// use collectors_backends::credentials::{KeySource, MasterKey};
///
/// let dir = tempfile::tempdir().unwrap();
/// let first = MasterKey::load_or_create_file(&dir.path().join("master.key")).unwrap();
/// let again = MasterKey::load_or_create_file(&dir.path().join("master.key")).unwrap();
/// assert!(first.same_key(&again));
/// assert!(matches!(first.source(), KeySource::File(_)));
/// assert!(!format!("{first:?}").contains(first.expose_for_backup()));
///
/// assert!(MasterKey::from_secret("not a key".into()).is_err());
/// ```
#[derive(Clone)]
pub struct MasterKey {
    key: SecretString,
    source: KeySource,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("key", &"***")
            .field("source", &self.source)
            .finish()
    }
}

impl MasterKey {
    /// A new random key (not stored anywhere).
    pub fn generate() -> Self {
        Self {
            key: SecretString::from(fernet::Fernet::generate_key()),
            source: KeySource::Given,
        }
    }

    /// A key given as text.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] when the text is not a Fernet key (the message never repeats
    /// it).
    pub fn from_secret(key: SecretString) -> Result<Self> {
        Self::checked(key, KeySource::Given)
    }

    fn checked(key: SecretString, source: KeySource) -> Result<Self> {
        let trimmed = SecretString::from(key.expose_secret().trim().to_owned());
        if fernet::Fernet::new(trimmed.expose_secret()).is_none() {
            let from = match &source {
                KeySource::Environment => MASTER_KEY_ENV.to_owned(),
                KeySource::File(path) => path.display().to_string(),
                KeySource::Given => "the given key".to_owned(),
            };
            return Err(Error::configuration(format!(
                "{from} is not a Fernet key (32 bytes, URL-safe base64)"
            ))
            .with_operation("load master key"));
        }
        Ok(Self {
            key: trimmed,
            source,
        })
    }

    /// The key of `COLLECTORS_MASTER_KEY` when it is set, else that of the key file
    /// `data_dir/master.key`, created (mode 0600, atomically) when missing.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] for a malformed key or a key file that cannot be read or
    /// created.
    pub fn load(data_dir: &Path) -> Result<Self> {
        match std::env::var(MASTER_KEY_ENV) {
            Ok(value) if !value.trim().is_empty() => {
                Self::checked(SecretString::from(value), KeySource::Environment)
            }
            _ => Self::load_or_create_file(&data_dir.join(KEY_FILE_NAME)),
        }
    }

    /// The key in `path`, or a new one written there when the file does not exist.
    ///
    /// The new key is written to a temp file (mode 0600) beside `path`, synced, and linked
    /// into place only if `path` still does not exist: of two processes racing to create it,
    /// one wins and both end up with the winner's key.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] naming the file.
    pub fn load_or_create_file(path: &Path) -> Result<Self> {
        match Self::read_file(path) {
            Ok(key) => return Ok(key),
            Err(e) if e.error_type() != collectors_core::ErrorType::NotFound => return Err(e),
            Err(_) => {}
        }
        write_new_file(
            path,
            &SecretString::from(fernet::Fernet::generate_key()),
            false,
        )?;
        tracing::info!(path = %path.display(), "created a master key file");
        Self::read_file(path)
    }

    /// The key in an existing key file.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when there is no file, [`Error::Configuration`] when it cannot be
    /// read or holds no key.
    pub fn read_file(path: &Path) -> Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                warn_if_readable_by_others(path);
                Self::checked(SecretString::from(text), KeySource::File(path.to_owned()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::not_found(format!(
                "no master key file at {}",
                path.display()
            ))),
            Err(e) => Err(Error::configuration(format!(
                "cannot read the master key file {}: {e}",
                path.display()
            ))
            .with_source(e)),
        }
    }

    /// Writes this key to `path` atomically (temp file with mode 0600, then rename over
    /// whatever is there); the key's source becomes that file.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] naming the file.
    pub fn write_file(&self, path: &Path) -> Result<Self> {
        write_new_file(path, &self.key, true)?;
        Ok(Self {
            key: self.key.clone(),
            source: KeySource::File(path.to_owned()),
        })
    }

    /// Where the key came from.
    pub fn source(&self) -> &KeySource {
        &self.source
    }

    /// Whether two keys are the same key (wherever they came from).
    pub fn same_key(&self, other: &MasterKey) -> bool {
        self.key.expose_secret() == other.key.expose_secret()
    }

    /// The key itself, for a backup or for setting `COLLECTORS_MASTER_KEY` elsewhere. Never
    /// log it.
    pub fn expose_for_backup(&self) -> &str {
        self.key.expose_secret()
    }

    pub(crate) fn fernet(&self) -> fernet::Fernet {
        // Checked at construction: a MasterKey always holds a valid Fernet key.
        fernet::Fernet::new(self.key.expose_secret()).unwrap_or_else(|| {
            unreachable!("a MasterKey is checked to be a Fernet key when it is made")
        })
    }
}

/// Writes `key` to a 0600 temp file beside `path`, then moves it into place: over an existing
/// file when `replace`, else only when `path` does not exist (losing a race is not an error).
fn write_new_file(path: &Path, key: &SecretString, replace: bool) -> Result<()> {
    let failed = |what: &str, e: std::io::Error| {
        Error::configuration(format!(
            "cannot {what} the master key file {}: {e}",
            path.display()
        ))
        .with_source(e)
        .with_operation("write master key")
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| failed("create the directory of", e))?;
    // tempfile creates the file with mode 0600 on Unix.
    let mut temp = tempfile::Builder::new()
        .prefix(".master.key.")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| failed("create", e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o600))
            .map_err(|e| failed("set the mode of", e))?;
    }
    temp.write_all(key.expose_secret().as_bytes())
        .and_then(|()| temp.write_all(b"\n"))
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| failed("write", e))?;
    if replace {
        temp.persist(path).map_err(|e| failed("replace", e.error))?;
    } else {
        match temp.persist_noclobber(path) {
            Ok(_) => {}
            // Another process created it first: its key wins.
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(failed("create", e.error)),
        }
    }
    if let Ok(dir) = std::fs::File::open(&dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                path = %path.display(),
                mode = format!("{:o}", meta.permissions().mode() & 0o777),
                "the master key file is readable by other users; chmod 600 it"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_key_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/master.key");
        MasterKey::load_or_create_file(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // No temp file is left beside it.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["master.key"]);
    }

    #[test]
    fn racing_creators_end_with_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(16));
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    MasterKey::load_or_create_file(&path).unwrap()
                })
            })
            .collect();
        let keys: Vec<MasterKey> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let on_disk = MasterKey::read_file(&path).unwrap();
        assert!(keys.iter().all(|k| k.same_key(&on_disk)));
    }

    #[test]
    fn a_bad_key_file_is_a_configuration_error_without_its_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        std::fs::write(&path, "hunter2-not-a-key").unwrap();
        let err = MasterKey::load_or_create_file(&path).unwrap_err();
        assert_eq!(err.error_type(), collectors_core::ErrorType::Configuration);
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(err.to_string().contains("master.key"), "{err}");
    }
}
