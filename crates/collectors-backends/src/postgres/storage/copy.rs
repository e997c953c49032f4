//! Bulk loading: the rows of many records streamed into one table with one
//! `COPY … FROM STDIN` (sqlx's [`PgConnection::copy_in_raw`]), in the binary or CSV format.

use arrow_array::RecordBatch;
use arrow_schema::Schema;
use collectors_core::{Error, Result};
use sqlx::PgConnection;

use super::columns::columns;
use super::schema::{ROW_BITS, column_list, quote_ident};
use super::{copy_binary, copy_csv};
use crate::postgres::error::from_sqlx;

/// Bytes encoded before they are sent as one `CopyData` message.
const CHUNK: usize = 1 << 20;

/// The wire format of the `COPY` that loads rows.
///
/// [`Binary`](Self::Binary), the default, was faster on the 1M-row sensor benchmark
/// (`docs/benchmarks.md`): the server parses no text (timestamps and floats are the costly
/// ones) and the client formats none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CopyFormat {
    /// PostgreSQL's binary `COPY` format: big-endian values, timestamps as microseconds
    /// since 2000-01-01.
    #[default]
    Binary,
    /// CSV: every text quoted, NULL as an empty field, floats in their shortest exact form.
    Csv,
}

impl CopyFormat {
    /// `binary` or `csv`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Binary => "binary",
            Self::Csv => "csv",
        }
    }
}

impl std::str::FromStr for CopyFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "binary" => Ok(Self::Binary),
            "csv" => Ok(Self::Csv),
            other => Err(Error::configuration(format!(
                "unknown COPY format {other:?}; known: binary, csv"
            ))),
        }
    }
}

/// The rows of one record: its id in `_collectors_records` and its batch.
pub(crate) struct RecordRows<'a> {
    pub(crate) id: i64,
    pub(crate) batch: &'a RecordBatch,
}

/// Streams every row of `records` into `table` (columns `_id` and those of `schema`) with
/// one `COPY`; returns the number of rows the server took.
///
/// Every batch is checked (value ranges) before the `COPY` starts; a failure while sending
/// aborts the `COPY`, and the caller's transaction keeps nothing of it.
pub(crate) async fn copy_rows(
    conn: &mut PgConnection,
    table: &str,
    schema: &Schema,
    records: &[RecordRows<'_>],
    format: CopyFormat,
) -> Result<u64> {
    let prepared = records
        .iter()
        .map(|r| Ok((r.id << ROW_BITS, columns(r.batch)?, r.batch.num_rows())))
        .collect::<Result<Vec<_>>>()?;
    if prepared.iter().all(|(_, _, rows)| *rows == 0) {
        return Ok(0);
    }
    let statement = format!(
        "COPY {} ({}) FROM STDIN WITH (FORMAT {})",
        quote_ident(table),
        column_list(schema),
        format.name()
    );
    let what = format!("loading rows into {table}");
    let mut copy = conn
        .copy_in_raw(&statement)
        .await
        .map_err(|e| from_sqlx(e, &what))?;
    let mut buf = Vec::with_capacity(CHUNK + CHUNK / 4);
    if format == CopyFormat::Binary {
        buf.extend_from_slice(copy_binary::HEADER);
    }
    let sent = async {
        for (first_id, columns, rows) in &prepared {
            for row in 0..*rows {
                let id = first_id | row as i64;
                match format {
                    CopyFormat::Binary => copy_binary::encode_row(&mut buf, id, columns, row),
                    CopyFormat::Csv => copy_csv::encode_row(&mut buf, id, columns, row),
                }
                if buf.len() >= CHUNK {
                    copy.send(buf.as_slice()).await?;
                    buf.clear();
                }
            }
        }
        if format == CopyFormat::Binary {
            buf.extend_from_slice(copy_binary::TRAILER);
        }
        copy.send(buf.as_slice()).await?;
        Ok::<(), sqlx::Error>(())
    }
    .await;
    match sent {
        Ok(()) => copy.finish().await.map_err(|e| from_sqlx(e, &what)),
        Err(e) => {
            // The server says why in its reply to the abort, when it had refused a row.
            let aborted = copy.abort("collectors: sending rows failed").await;
            Err(from_sqlx(aborted.err().unwrap_or(e), &what))
        }
    }
}
