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

/// The contents of a record stored on its own: its file, and its sidecar index (CSV).
pub(crate) struct Encoded {
    pub(crate) data: Vec<u8>,
    pub(crate) sidecar: Option<Vec<u8>>,
}

/// Checks what can be checked before writing anything (a batch fails before its first file).
pub(crate) fn check(format: FileFormat, record: &Record) -> Result<()> {
    match format {
        FileFormat::Jsonl => super::jsonl::check(record),
        FileFormat::Csv => super::csv_file::check(record),
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

/// The whole content of the file holding `record` (and of its sidecar index).
pub(crate) fn encode(format: FileFormat, record: &Record) -> Result<Encoded> {
    let whole = |data| Encoded {
        data,
        sidecar: None,
    };
    match format {
        FileFormat::Jsonl => super::jsonl::encode(record).map(whole),
        FileFormat::Csv => super::csv_file::encode(record).map(|(data, sidecar)| Encoded {
            data,
            sidecar: Some(sidecar),
        }),
        FileFormat::Parquet => {
            #[cfg(feature = "parquet")]
            {
                super::parquet_file::encode(record).map(whole)
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
    if format.has_sidecar() {
        return Ok(read_sidecar(path)?.map(|index| index.records));
    }
    let Some(file) = open(path)? else {
        return Ok(None);
    };
    match format {
        FileFormat::Jsonl => {
            super::jsonl::read_sections(file, path, &[]).map(|(index, _)| Some(index))
        }
        FileFormat::Csv => Err(sidecar_expected()),
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
    if format.has_sidecar() {
        let Some(index) = read_sidecar(path)? else {
            return Ok(Vec::new());
        };
        let Some(file) = open(path)? else {
            return Ok(Vec::new());
        };
        let data = std::io::BufReader::with_capacity(256 * 1024, file);
        return super::csv_file::read_records(data, &index, path, wanted);
    }
    let Some(file) = open(path)? else {
        return Ok(Vec::new());
    };
    match format {
        FileFormat::Jsonl => super::jsonl::read_sections(file, path, wanted).map(|(_, r)| r),
        FileFormat::Csv => Err(sidecar_expected()),
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

/// The sidecar index of the CSV file at `path`, checked to describe it; `None` when the file
/// is gone.
fn read_sidecar(path: &Path) -> Result<Option<super::csv_file::Sidecar>> {
    let data_bytes = match std::fs::metadata(path) {
        Ok(meta) => meta.len(),
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(Error::storage, "reading", path, e)),
    };
    let sidecar = super::csv_file::sidecar_path(path);
    let bytes = match std::fs::read(&sidecar) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(corrupt(path, "a CSV file without its index"));
        }
        Err(e) => return Err(io_error(Error::storage, "reading", &sidecar, e)),
    };
    super::csv_file::Sidecar::from_bytes(&bytes, path, Some(data_bytes)).map(Some)
}

/// The name of the object that holds the record index of object `name`: its sidecar (CSV),
/// or the object itself.
#[cfg(feature = "object-store")]
pub(crate) fn index_object(format: FileFormat, name: &str) -> String {
    if format.has_sidecar() {
        super::csv_file::sidecar_name(name)
    } else {
        name.to_owned()
    }
}

/// As [`read_file_index`], for an object held in memory: `index` is the bytes of its
/// [`index_object`], `data_bytes` the object's size when known (checked against a sidecar).
#[cfg(feature = "object-store")]
pub(crate) fn bytes_index(
    format: FileFormat,
    index: bytes::Bytes,
    name: &Path,
    data_bytes: Option<u64>,
) -> Result<Vec<IndexEntry>> {
    match format {
        FileFormat::Jsonl => super::jsonl::read_sections(bytes::Buf::reader(index), name, &[])
            .map(|(index, _)| index),
        FileFormat::Csv => {
            super::csv_file::Sidecar::from_bytes(&index, name, data_bytes).map(|i| i.records)
        }
        FileFormat::Parquet => super::parquet_file::read_index(index, name),
    }
}

/// As [`read_file_records`], for an object held in memory (`sidecar`: the bytes of its
/// index, for CSV).
#[cfg(feature = "object-store")]
pub(crate) fn bytes_records(
    format: FileFormat,
    bytes: bytes::Bytes,
    sidecar: Option<&[u8]>,
    name: &Path,
    wanted: &[usize],
) -> Result<Vec<(usize, Record)>> {
    match format {
        FileFormat::Jsonl => {
            super::jsonl::read_sections(bytes::Buf::reader(bytes), name, wanted).map(|(_, r)| r)
        }
        FileFormat::Csv => {
            let sidecar = sidecar.ok_or_else(|| corrupt(name, "a CSV file without its index"))?;
            let index =
                super::csv_file::Sidecar::from_bytes(sidecar, name, Some(bytes.len() as u64))?;
            super::csv_file::read_records(&bytes[..], &index, name, wanted)
        }
        FileFormat::Parquet => {
            let reopen = || Ok(bytes.clone());
            super::parquet_file::read_records(&reopen, name, wanted)
        }
    }
}

/// The item stamp of an item file, from the bytes of its [`index_object`] (Parquet, CSV;
/// `None` otherwise).
#[cfg(feature = "object-store")]
pub(crate) fn bytes_stamp(
    format: FileFormat,
    index: bytes::Bytes,
    name: &Path,
) -> Result<Option<super::item_file::ItemStamp>> {
    match format {
        FileFormat::Jsonl => Ok(None),
        FileFormat::Csv => super::csv_file::Sidecar::from_bytes(&index, name, None).map(|i| i.item),
        FileFormat::Parquet => super::parquet_file::read_stamp(index, name),
    }
}

/// The item stamp of an item file (Parquet, CSV; `None` otherwise or when it is gone).
#[cfg_attr(not(feature = "parquet"), allow(unused_variables))]
pub(crate) fn file_stamp(
    format: FileFormat,
    path: &Path,
) -> Result<Option<super::item_file::ItemStamp>> {
    match format {
        FileFormat::Jsonl => Ok(None),
        FileFormat::Csv => Ok(read_sidecar(path)?.and_then(|index| index.item)),
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

/// The positions of a file to read at once when it is rewritten: all in one pass for CSV
/// (its rows are only read in order), one at a time otherwise (one batch in memory).
pub(crate) fn read_passes(format: FileFormat, positions: &[usize]) -> Vec<&[usize]> {
    if format.has_sidecar() {
        vec![positions]
    } else {
        positions.chunks(1).collect()
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

fn sidecar_expected() -> Error {
    Error::invalid_state("a CSV file keeps its index beside it")
}

#[cfg(not(feature = "parquet"))]
fn parquet_disabled() -> Error {
    Error::configuration(
        "the Parquet format needs collectors-backends built with the `parquet` feature",
    )
}
