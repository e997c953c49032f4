//! Records to file contents and back, per [`FileFormat`]; synchronous (run on a blocking
//! thread by the sink).

use std::fs::File;
use std::io::ErrorKind;
use std::path::Path;

use chrono::{DateTime, Utc};
use collectors_core::{Error, Metadata, PayloadKind, Record, Result};

use super::format::FileFormat;
use crate::fs_util::io_error;

/// What a query filters on, read without decoding the payload.
#[derive(Debug)]
pub(crate) struct Header {
    pub(crate) key: String,
    pub(crate) kind: PayloadKind,
    pub(crate) metadata: Metadata,
    pub(crate) created_at: DateTime<Utc>,
}

/// Checks what can be checked before writing anything (a batch fails before its first file).
pub(crate) fn check(format: FileFormat, record: &Record) -> Result<()> {
    match format {
        FileFormat::Jsonl => super::jsonl::check(record),
        FileFormat::Parquet => {
            #[cfg(feature = "parquet")]
            {
                super::parquet_file::check(record)
            }
            #[cfg(not(feature = "parquet"))]
            {
                let _ = record;
                Err(parquet_disabled())
            }
        }
    }
}

/// The whole content of the file holding `record`.
pub(crate) fn encode(format: FileFormat, record: &Record) -> Result<Vec<u8>> {
    match format {
        FileFormat::Jsonl => super::jsonl::encode(record),
        FileFormat::Parquet => {
            #[cfg(feature = "parquet")]
            {
                super::parquet_file::encode(record)
            }
            #[cfg(not(feature = "parquet"))]
            {
                Err(parquet_disabled())
            }
        }
    }
}

/// The header of the file at `path`; `None` when it is gone (deleted meanwhile).
pub(crate) fn read_header(format: FileFormat, path: &Path) -> Result<Option<Header>> {
    let Some(file) = open(path)? else {
        return Ok(None);
    };
    match format {
        FileFormat::Jsonl => super::jsonl::read_header(file, path).map(Some),
        FileFormat::Parquet => {
            #[cfg(feature = "parquet")]
            {
                super::parquet_file::read_header(file, path).map(Some)
            }
            #[cfg(not(feature = "parquet"))]
            {
                drop(file);
                Err(parquet_disabled())
            }
        }
    }
}

/// The record in the file at `path`; `None` when it is gone (deleted meanwhile).
pub(crate) fn read_record(format: FileFormat, path: &Path) -> Result<Option<Record>> {
    let Some(file) = open(path)? else {
        return Ok(None);
    };
    let len = file
        .metadata()
        .map_err(|e| io_error(Error::storage, "reading", path, e))?
        .len();
    match format {
        FileFormat::Jsonl => super::jsonl::read_record(file, len, path).map(Some),
        FileFormat::Parquet => {
            #[cfg(feature = "parquet")]
            {
                super::parquet_file::read_record(file, path).map(Some)
            }
            #[cfg(not(feature = "parquet"))]
            {
                drop(file);
                Err(parquet_disabled())
            }
        }
    }
}

/// A record held in memory (an object read from a store), named `name` in errors.
#[cfg(feature = "object-store")]
pub(crate) fn record_from_bytes(
    format: FileFormat,
    bytes: bytes::Bytes,
    name: &Path,
) -> Result<Record> {
    match format {
        FileFormat::Jsonl => {
            let len = bytes.len() as u64;
            super::jsonl::read_record(bytes::Buf::reader(bytes), len, name)
        }
        FileFormat::Parquet => super::parquet_file::read_record(bytes, name),
    }
}

fn open(path: &Path) -> Result<Option<File>> {
    match File::open(path) {
        Ok(file) => Ok(Some(file)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(Error::storage, "opening", path, e)),
    }
}

/// A file this sink wrote that does not read back: someone changed it behind our back.
pub(crate) fn corrupt(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::invalid_state(format!("{}: {what}", path.display()))
}

/// The name stored for a payload kind (`table`, `json` …), as serde writes it.
pub(crate) fn kind_name(kind: PayloadKind) -> &'static str {
    match kind {
        PayloadKind::Empty => "empty",
        PayloadKind::Bytes => "bytes",
        PayloadKind::Json => "json",
        PayloadKind::Table => "table",
    }
}

#[cfg(not(feature = "parquet"))]
fn parquet_disabled() -> Error {
    Error::configuration(
        "the Parquet format needs collectors-backends built with the `parquet` feature",
    )
}
