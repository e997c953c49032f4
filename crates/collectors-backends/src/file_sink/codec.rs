//! Records to file contents and back, per [`FileFormat`]; synchronous (run on a blocking
//! thread by the sink).

use std::fs::File;
use std::io::ErrorKind;
use std::path::Path;

use chrono::{DateTime, Utc};
use collectors_core::{Error, Metadata, PayloadKind, Record, Result};

use super::format::FileFormat;
use super::item_file::IndexEntry;
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

/// The records a file holds (one for a single-record file, each of an item's batches for an
/// item file), without their payloads; `None` when it is gone (deleted meanwhile).
pub(crate) fn read_file_index(format: FileFormat, path: &Path) -> Result<Option<Vec<IndexEntry>>> {
    let Some(file) = open(path)? else {
        return Ok(None);
    };
    match format {
        FileFormat::Jsonl => {
            super::jsonl::read_sections(file, path, &[]).map(|(index, _)| Some(index))
        }
        FileFormat::Parquet => {
            #[cfg(feature = "parquet")]
            {
                super::parquet_file::read_index(file, path).map(Some)
            }
            #[cfg(not(feature = "parquet"))]
            {
                drop(file);
                Err(parquet_disabled())
            }
        }
    }
}

/// The records at `wanted` (index positions, ascending) of the file at `path`.
pub(crate) fn read_file_records(
    format: FileFormat,
    path: &Path,
    wanted: &[usize],
) -> Result<Vec<(usize, Record)>> {
    let Some(file) = open(path)? else {
        return Ok(Vec::new());
    };
    match format {
        FileFormat::Jsonl => super::jsonl::read_sections(file, path, wanted).map(|(_, r)| r),
        FileFormat::Parquet => {
            #[cfg(feature = "parquet")]
            {
                drop(file);
                let reopen =
                    || File::open(path).map_err(|e| io_error(Error::storage, "opening", path, e));
                super::parquet_file::read_records(&reopen, path, wanted)
            }
            #[cfg(not(feature = "parquet"))]
            {
                let _ = (file, wanted);
                Err(parquet_disabled())
            }
        }
    }
}

/// As [`read_file_index`], for an object held in memory.
#[cfg(feature = "object-store")]
pub(crate) fn bytes_index(
    format: FileFormat,
    bytes: bytes::Bytes,
    name: &Path,
) -> Result<Vec<IndexEntry>> {
    match format {
        FileFormat::Jsonl => super::jsonl::read_sections(bytes::Buf::reader(bytes), name, &[])
            .map(|(index, _)| index),
        FileFormat::Parquet => super::parquet_file::read_index(bytes, name),
    }
}

/// As [`read_file_records`], for an object held in memory.
#[cfg(feature = "object-store")]
pub(crate) fn bytes_records(
    format: FileFormat,
    bytes: bytes::Bytes,
    name: &Path,
    wanted: &[usize],
) -> Result<Vec<(usize, Record)>> {
    match format {
        FileFormat::Jsonl => {
            super::jsonl::read_sections(bytes::Buf::reader(bytes), name, wanted).map(|(_, r)| r)
        }
        FileFormat::Parquet => {
            let reopen = || Ok(bytes.clone());
            super::parquet_file::read_records(&reopen, name, wanted)
        }
    }
}

/// The item stamp of an item file held in memory (Parquet only; `None` otherwise).
#[cfg(feature = "object-store")]
pub(crate) fn bytes_stamp(
    format: FileFormat,
    bytes: bytes::Bytes,
    name: &Path,
) -> Result<Option<super::item_file::ItemStamp>> {
    match format {
        FileFormat::Jsonl => Ok(None),
        FileFormat::Parquet => super::parquet_file::read_stamp(bytes, name),
    }
}

/// The item stamp of an item file (Parquet only; `None` otherwise or when it is gone).
#[cfg_attr(not(feature = "parquet"), allow(unused_variables))]
pub(crate) fn file_stamp(
    format: FileFormat,
    path: &Path,
) -> Result<Option<super::item_file::ItemStamp>> {
    match format {
        FileFormat::Jsonl => Ok(None),
        FileFormat::Parquet => {
            #[cfg(feature = "parquet")]
            {
                match open(path)? {
                    Some(file) => super::parquet_file::read_stamp(file, path),
                    None => Ok(None),
                }
            }
            #[cfg(not(feature = "parquet"))]
            {
                Err(parquet_disabled())
            }
        }
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
