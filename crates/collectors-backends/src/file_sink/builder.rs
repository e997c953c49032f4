//! [`FileSinkBuilder`]: checks the settings; the directory is created by `connect`.

use std::path::PathBuf;

use collectors_core::{Error, Result};

use super::format::FileFormat;
use super::sink::FileSink;

/// Builds a [`FileSink`]; see [`FileSink::builder`].
///
/// ```
/// use collectors_backends::{FileFormat, FileSink};
///
/// let sink = FileSink::builder("archive", "out/records")
///     .format(FileFormat::Jsonl)
///     .build()
///     .unwrap();
/// assert_eq!(sink.format(), FileFormat::Jsonl);
///
/// // Settings are checked at build time; nothing is created yet.
/// assert!(FileSink::builder("", "out/records").build().is_err());
/// assert!(FileSink::builder("archive", "").build().is_err());
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct FileSinkBuilder {
    backend_id: String,
    dir: PathBuf,
    format: FileFormat,
}

impl FileSinkBuilder {
    pub(crate) fn new(backend_id: String, dir: PathBuf) -> Self {
        Self {
            backend_id,
            dir,
            format: FileFormat::default(),
        }
    }

    /// The layout of the files (default [`FileFormat::Jsonl`]).
    pub fn format(mut self, format: FileFormat) -> Self {
        self.format = format;
        self
    }

    /// Checks the settings and builds the sink, not yet connected.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] when the backend id or the directory is empty, or the format
    /// is [`FileFormat::Parquet`] and the crate was built without the `parquet` feature.
    pub fn build(self) -> Result<FileSink> {
        let configuration = |message: &str| {
            Error::configuration(message)
                .with_component(self.backend_id.clone())
                .with_operation("build")
        };
        if self.backend_id.trim().is_empty() {
            return Err(configuration("the backend id must not be empty"));
        }
        if self.dir.as_os_str().is_empty() {
            return Err(configuration("the directory must not be empty"));
        }
        if self.format == FileFormat::Parquet && !cfg!(feature = "parquet") {
            return Err(configuration(
                "the Parquet format needs collectors-backends built with the `parquet` feature",
            ));
        }
        Ok(FileSink::new(self.backend_id, self.dir, self.format))
    }
}
