//! Atomic file replacement shared by the backends: write a temp file beside the target, fsync
//! it, rename it over the target, fsync the directory.

use std::path::{Path, PathBuf};

use collectors_core::{Error, Result};
use tokio::io::{AsyncWriteExt, BufWriter};

/// Bytes gathered before one write to the temp file. Streams hand over small chunks (8 KiB
/// from a local file, a few KiB from HTTP), and each write of a `tokio::fs::File` is a trip
/// to the blocking pool.
const WRITE_BUFFER: usize = 1 << 20;

/// A temp file beside `target` (same directory, so the rename is atomic), with a unique name
/// that no listing mistakes for data: `.{name}.{uuid}.tmp`.
pub(crate) fn temp_path_beside(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple());
    match target.parent() {
        Some(parent) => parent.join(temp),
        None => PathBuf::from(temp),
    }
}

/// An open temp file that is removed on drop unless [`AtomicFile::commit`] renamed it into
/// place: a failed or cancelled write leaves no debris.
pub(crate) struct AtomicFile {
    kind: ErrorKind,
    target: PathBuf,
    temp: PathBuf,
    file: Option<BufWriter<tokio::fs::File>>,
}

impl AtomicFile {
    /// Creates the temp file for `target` (and `target`'s parent directories); failures are
    /// errors of `kind`.
    pub(crate) async fn create(target: &Path, kind: ErrorKind) -> Result<Self> {
        if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| io_error(kind, "creating directory", parent, e))?;
        }
        let temp = temp_path_beside(target);
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .await
            .map_err(|e| io_error(kind, "creating", &temp, e))?;
        Ok(Self {
            kind,
            target: target.to_path_buf(),
            temp,
            file: Some(BufWriter::with_capacity(WRITE_BUFFER, file)),
        })
    }

    /// Appends bytes.
    pub(crate) async fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        let (kind, temp) = (self.kind, &self.temp);
        match self.file.as_mut() {
            Some(file) => file
                .write_all(bytes)
                .await
                .map_err(|e| io_error(kind, "writing", temp, e)),
            None => Err(Error::invalid_state(format!(
                "{} was already committed",
                temp.display()
            ))),
        }
    }

    /// Appends the rest of `source` on a blocking thread, in the kernel where it can
    /// (`std::io::copy` between two files is `copy_file_range` on Linux: the bytes never
    /// enter user space). Returns the bytes copied and `source`.
    #[cfg(feature = "object-store")]
    pub(crate) async fn copy_from(
        &mut self,
        mut source: std::fs::File,
    ) -> Result<(u64, std::fs::File)> {
        let (kind, temp) = (self.kind, self.temp.clone());
        let Some(mut file) = self.file.take() else {
            return Err(Error::invalid_state(format!(
                "{} was already committed",
                temp.display()
            )));
        };
        file.flush()
            .await
            .map_err(|e| io_error(kind, "writing", &temp, e))?;
        let mut target = file.into_inner().into_std().await;
        let (copied, target) = tokio::task::spawn_blocking(move || {
            let copied = std::io::copy(&mut source, &mut target).map(|n| (n, source));
            (copied, target)
        })
        .await
        .map_err(|e| {
            Error::invalid_state(format!("the copy into {} panicked: {e}", temp.display()))
        })?;
        self.file = Some(BufWriter::with_capacity(
            WRITE_BUFFER,
            tokio::fs::File::from_std(target),
        ));
        let (n, source) = copied.map_err(|e| io_error(kind, "copying into", &self.temp, e))?;
        Ok((n, source))
    }

    /// Flushes and fsyncs the temp file, renames it over the target and fsyncs the directory.
    pub(crate) async fn commit(mut self) -> Result<PathBuf> {
        let Some(mut file) = self.file.take() else {
            return Err(Error::invalid_state(format!(
                "{} was already committed",
                self.temp.display()
            )));
        };
        file.flush()
            .await
            .map_err(|e| io_error(self.kind, "flushing", &self.temp, e))?;
        file.get_ref()
            .sync_all()
            .await
            .map_err(|e| io_error(self.kind, "syncing", &self.temp, e))?;
        drop(file);
        tokio::fs::rename(&self.temp, &self.target)
            .await
            .map_err(|e| io_error(self.kind, "renaming into place", &self.target, e))?;
        sync_parent_dir(&self.target).await;
        // Renamed: nothing left to clean up.
        self.temp = PathBuf::new();
        Ok(std::mem::take(&mut self.target))
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.temp.as_os_str().is_empty() {
            // Best effort: the temp file is hidden and uniquely named, a leftover is harmless.
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Fsyncs the directory holding `path`, so a rename into it survives a crash. Best effort:
/// some platforms cannot open a directory for syncing.
pub(crate) async fn sync_parent_dir(path: &Path) {
    let Some(parent) = path.parent() else {
        return;
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    #[cfg(unix)]
    match tokio::fs::File::open(parent).await {
        Ok(dir) => {
            if let Err(e) = dir.sync_all().await {
                tracing::debug!(dir = %parent.display(), error = %e, "cannot fsync directory");
            }
        }
        Err(e) => {
            tracing::debug!(dir = %parent.display(), error = %e, "cannot open directory to fsync")
        }
    }
}

/// Which [`Error`] an I/O failure becomes: `Error::storage`, `Error::data_fetch` …
pub(crate) type ErrorKind = fn(String) -> Error;

/// An I/O failure on `path` as an error of `kind` naming the path, with the cause attached.
pub(crate) fn io_error(kind: ErrorKind, what: &str, path: &Path, e: std::io::Error) -> Error {
    kind(format!("{what} {}: {e}", path.display())).with_source(e)
}
