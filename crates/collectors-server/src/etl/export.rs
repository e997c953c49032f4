//! `GET /api/etl/results/{id}/export?format=json|csv`: a job's output rows, streamed from a
//! scratch copy so that memory stays bounded whatever the size.

use std::io::{BufRead, BufReader, Seek};
use std::path::Path;

use bytes::Bytes;
use collectors_backends::ObjectStoreConnector;
use collectors_core::{Connector, Error, Result};
use futures::stream::BoxStream;
use serde::Deserialize;
use utoipa::ToSchema;

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// One JSON array of row objects.
    #[default]
    Json,
    /// CSV with a header line (columns inferred from the rows).
    Csv,
}

impl ExportFormat {
    /// The media type of the body.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Csv => "text/csv",
        }
    }
}

/// Rows are read this many at a time when turned into CSV.
const BATCH_ROWS: usize = 8192;

/// The rows of `object` (JSON lines in `store`) in `format`, as a stream of chunks. The
/// object is copied into `scratch` first; the copy is gone when the stream ends.
///
/// # Errors
///
/// The store's errors; [`Error::Processing`] when the rows cannot be turned into CSV.
pub async fn export_output(
    store: &ObjectStoreConnector,
    object: &str,
    scratch: &Path,
    format: ExportFormat,
) -> Result<BoxStream<'static, std::io::Result<Bytes>>> {
    let dir = tempfile::tempdir_in(scratch_dir(scratch).await?)
        .map_err(|e| Error::storage(format!("creating a scratch directory: {e}")))?;
    let local = store.fetch_data(object, dir.path()).await?;
    let body = match format {
        ExportFormat::Json => tokio::task::spawn_blocking(move || json_array(&local, dir)),
        ExportFormat::Csv => tokio::task::spawn_blocking(move || csv_file(&local, dir)),
    }
    .await
    .map_err(|e| Error::processing(format!("export: {e}")))??;
    Ok(body)
}

async fn scratch_dir(scratch: &Path) -> Result<&Path> {
    tokio::fs::create_dir_all(scratch)
        .await
        .map_err(|e| Error::storage(format!("creating {}: {e}", scratch.display())))?;
    Ok(scratch)
}

/// `[` row `,` row … `]` from JSON lines, line by line (blank lines skipped).
fn json_array(
    local: &Path,
    dir: tempfile::TempDir,
) -> Result<BoxStream<'static, std::io::Result<Bytes>>> {
    let file = std::fs::File::open(local)
        .map_err(|e| Error::storage(format!("opening the export: {e}")))?;
    let mut lines = BufReader::new(file).lines();
    let mut first = true;
    let mut finished = false;
    let rows = std::iter::from_fn(move || {
        if finished {
            return None;
        }
        loop {
            match lines.next() {
                Some(Ok(line)) if line.trim().is_empty() => continue,
                Some(Ok(line)) => {
                    let lead = if first { "[" } else { "," };
                    first = false;
                    return Some(Ok(Bytes::from(format!("{lead}{line}\n"))));
                }
                Some(Err(e)) => {
                    finished = true;
                    return Some(Err(e));
                }
                None => {
                    finished = true;
                    // The scratch copy is removed once everything is read.
                    let _keep = &dir;
                    return Some(Ok(Bytes::from_static(if first { b"[]" } else { b"]" })));
                }
            }
        }
    });
    Ok(Box::pin(futures::stream::iter(rows)))
}

/// The rows as CSV, written to a file of `dir` and streamed from it.
fn csv_file(
    local: &Path,
    dir: tempfile::TempDir,
) -> Result<BoxStream<'static, std::io::Result<Bytes>>> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        Error::processing(format!("export as CSV: {what}: {e}"))
    };
    let mut input =
        BufReader::new(std::fs::File::open(local).map_err(|e| fail("opening the rows", &e))?);
    let out_path = dir.path().join("export.csv");
    let out = std::fs::File::create(&out_path).map_err(|e| fail("creating the file", &e))?;
    let empty = input
        .fill_buf()
        .map_err(|e| fail("reading", &e))?
        .is_empty();
    if !empty {
        // Every row is read for the columns: a column that appears late is not lost.
        let (schema, _) = arrow_json::reader::infer_json_schema_from_seekable(&mut input, None)
            .map_err(|e| fail("inferring the columns", &e))?;
        input
            .rewind()
            .map_err(|e| fail("reading the rows again", &e))?;
        let reader = arrow_json::ReaderBuilder::new(std::sync::Arc::new(schema))
            .with_batch_size(BATCH_ROWS)
            .build(input)
            .map_err(|e| fail("reading the rows", &e))?;
        let mut writer = arrow_csv::WriterBuilder::new()
            .with_header(true)
            .build(std::io::BufWriter::new(out));
        for batch in reader {
            let batch = batch.map_err(|e| fail("reading the rows", &e))?;
            writer
                .write(&batch)
                .map_err(|e| fail("writing the rows", &e))?;
        }
        drop(writer);
    }
    let file = std::fs::File::open(&out_path).map_err(|e| fail("reopening the file", &e))?;
    let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
    // The directory (and both files) go when the stream is dropped.
    Ok(Box::pin(futures::StreamExt::map(stream, move |chunk| {
        let _keep = &dir;
        chunk
    })))
}
