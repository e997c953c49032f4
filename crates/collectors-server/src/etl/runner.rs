//! [`EtlRunner`]: runs one job. A processor (or a script) over a data file is an inline
//! pipeline — the file fetched into a scratch directory, the `local` source and the file's
//! decoder, the processor, a JSON-lines file store — built by the same registry and engine
//! as `collectors run`, so a job has the engine's guarantees (typed terminal state of every
//! record, dead letters, retries). Its output is then uploaded to the object store under
//! `results/{job id}/`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use collectors_backends::ObjectStoreConnector;
use collectors_backends::object_store::WriteOptions;
use collectors_backends::registry::DataSourceRegistry;
use collectors_core::{
    CancellationToken, Connector, DataItem, Error, ErrorType, ListOptions, Result, RunOutcome,
    RunSummary,
};
use collectors_pipeline::{PipelineSpec, Registry};
use futures::StreamExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use uuid::Uuid;

use super::request::{EtlPayload, INGEST};
use crate::files::{DataFile, FileCatalog};
use crate::jobs::Job;

/// The object a job's output rows are uploaded to (JSON lines).
pub(crate) fn output_object(job: uuid::Uuid) -> String {
    format!("results/{job}/output.jsonl")
}

/// The id of the data file an ingest job stores item `path` as: the same for every attempt
/// of the job (a UUID of the custom version 8, from a SHA-256 of the job id and the path).
fn ingested_file_id(job: Uuid, path: &str) -> Uuid {
    let digest = Sha256::new()
        .chain_update(job.as_bytes())
        .chain_update(path.as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// Runs jobs' payloads.
#[derive(Clone)]
pub struct EtlRunner {
    files: FileCatalog,
    store: Arc<ObjectStoreConnector>,
    registry: Arc<Registry>,
    data_sources: Arc<DataSourceRegistry>,
    max_file_bytes: u64,
    work_dir: PathBuf,
    pipelines_dir: PathBuf,
    scripts_dir: Option<PathBuf>,
}

impl std::fmt::Debug for EtlRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtlRunner")
            .field("work_dir", &self.work_dir)
            .finish_non_exhaustive()
    }
}

/// How a run ended, for the worker.
#[derive(Debug)]
pub enum RunEnd {
    /// Done: the job's `result_data`.
    Completed(Value),
    /// Stopped by its cancellation token.
    Cancelled,
}

impl EtlRunner {
    /// A runner reading files from `files`/`store`, building with `registry`, ingesting
    /// from `data_sources` (files of at most `max_file_bytes`), working in `data_dir/work`,
    /// resolving relative paths of pipeline specs against `data_dir/pipelines/{name}`, and
    /// reading scripts from `scripts_dir`.
    pub fn new(
        files: FileCatalog,
        store: Arc<ObjectStoreConnector>,
        registry: Arc<Registry>,
        data_sources: Arc<DataSourceRegistry>,
        max_file_bytes: u64,
        data_dir: &Path,
        scripts_dir: Option<PathBuf>,
    ) -> Self {
        Self {
            files,
            store,
            registry,
            data_sources,
            max_file_bytes,
            work_dir: data_dir.join("work"),
            pipelines_dir: data_dir.join("pipelines"),
            scripts_dir,
        }
    }

    /// Runs `job`, sending its progress (percent, message) to `progress`, until done or
    /// `cancel` fires.
    ///
    /// # Errors
    ///
    /// The engine's or the file's errors; [`Error::Validation`] for a file whose format
    /// cannot be told from its name, or a payload this runner does not know.
    pub async fn run(
        &self,
        job: &Job,
        progress: watch::Sender<(f64, Option<String>)>,
        cancel: CancellationToken,
    ) -> Result<RunEnd> {
        let payload: EtlPayload = serde_json::from_value(job.payload.clone())
            .map_err(|e| Error::validation(format!("job {}: a bad payload: {e}", job.id)))?;
        let (spec_json, base_dir) = match payload {
            EtlPayload::Noop { delay_ms } => {
                if delay_ms > 0 {
                    tokio::select! {
                        () = cancel.cancelled() => return Ok(RunEnd::Cancelled),
                        () = tokio::time::sleep(Duration::from_millis(delay_ms)) => {}
                    }
                }
                return Ok(RunEnd::Completed(
                    json!({"processing_type": "noop", "delay_ms": delay_ms}),
                ));
            }
            EtlPayload::Ingest {
                source,
                prefix,
                pattern,
                limit,
            } => {
                let mut listing = ListOptions::new();
                listing.path = prefix;
                listing.pattern = pattern;
                return self
                    .ingest(job, &source, &listing, limit, &progress, &cancel)
                    .await;
            }
            EtlPayload::Pipeline { name, spec } => {
                let base = self
                    .pipelines_dir
                    .join(crate::files::checked_file_name(&name)?);
                (spec, base)
            }
            EtlPayload::Processor {
                kind,
                parameters,
                decoder,
            } => {
                let mut step = parameters;
                step.insert("type".into(), Value::String(kind));
                self.file_pipeline(job, Value::Object(step), decoder)
                    .await?
            }
            EtlPayload::Custom {
                script,
                params,
                decoder,
            } => {
                let dir = self.scripts_dir.clone().ok_or_else(|| {
                    Error::configuration(
                        "processing_type `custom`: this service has no scripts directory",
                    )
                })?;
                let step = json!({
                    "type": "script", "name": script, "params": params,
                    "scripts_dir": dir,
                });
                self.file_pipeline(job, step, decoder).await?
            }
        };
        let spec = PipelineSpec::from_json_str(&spec_json.to_string(), &base_dir)?;
        let engine = spec.build(&self.registry).await?;
        let counters = engine.counters();
        let ticker = {
            let done = CancellationToken::new();
            let stop = done.clone();
            let task = tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(250));
                loop {
                    tokio::select! {
                        () = stop.cancelled() => break,
                        _ = tick.tick() => {}
                    }
                    let c = counters.snapshot();
                    // Bytes read give the percent; the last 1% is the upload of the output.
                    let percent = if c.bytes_total > 0 {
                        99.0 * c.bytes_read.min(c.bytes_total) as f64 / c.bytes_total as f64
                    } else {
                        0.0
                    };
                    let message = format!(
                        "items {}/{}, {} records stored",
                        c.items_done,
                        c.items_listed.saturating_sub(c.items_already_done),
                        c.stored
                    );
                    progress.send_replace((percent, Some(message)));
                }
            });
            (done, task)
        };
        let summary = engine.run(cancel).await;
        ticker.0.cancel();
        ticker.1.await.ok();
        let summary = summary?;
        record_counts(&summary);
        match summary.outcome {
            RunOutcome::Cancelled => Ok(RunEnd::Cancelled),
            RunOutcome::Aborted => Err(Error::processing(format!(
                "the run was aborted: {}",
                summary
                    .abort_reason
                    .as_deref()
                    .unwrap_or("by the error policy")
            ))),
            RunOutcome::Completed => {
                let output = self.upload_output(job, &base_dir, &spec_json).await?;
                Ok(RunEnd::Completed(result_data(job, &summary, output)))
            }
        }
    }

    /// Stores the items of data source `source` that `listing` matches (at most `limit`) as
    /// data files. Each file's id is derived from the job and the item, so a retried job
    /// finds the files an earlier attempt stored instead of storing them twice.
    async fn ingest(
        &self,
        job: &Job,
        source: &str,
        listing: &ListOptions,
        limit: usize,
        progress: &watch::Sender<(f64, Option<String>)>,
        cancel: &CancellationToken,
    ) -> Result<RunEnd> {
        let connector = self.data_sources.get_connector(source).await?;
        let mut items = connector.list_items(listing).await?;
        items.truncate(limit);
        let workspace = self.scratch(job);
        tokio::fs::create_dir_all(&workspace)
            .await
            .map_err(|e| Error::storage(format!("creating {}: {e}", workspace.display())))?;
        let mut files = Vec::with_capacity(items.len());
        for (done, item) in items.iter().enumerate() {
            if cancel.is_cancelled() {
                return Ok(RunEnd::Cancelled);
            }
            let id = ingested_file_id(job.id, &item.path);
            let file = match self.files.get(id).await {
                Ok(file) => file,
                Err(e) if e.error_type() == ErrorType::NotFound => {
                    self.ingest_item(&*connector, item, id, &workspace).await?
                }
                Err(e) => return Err(e),
            };
            files.push(file);
            let percent = 100.0 * (done + 1) as f64 / items.len() as f64;
            progress.send_replace((
                percent,
                Some(format!("{} of {} items", done + 1, items.len())),
            ));
        }
        Ok(RunEnd::Completed(json!({
            "processing_type": INGEST,
            "data_source": source,
            "files": files,
        })))
    }

    /// Fetches one item into `workspace` and stores it as data file `id`.
    async fn ingest_item(
        &self,
        connector: &dyn Connector,
        item: &DataItem,
        id: Uuid,
        workspace: &Path,
    ) -> Result<DataFile> {
        let name = item.name.rsplit('/').next().unwrap_or(&item.name);
        crate::files::checked_file_name(name).map_err(|e| e.with_component(item.path.clone()))?;
        let content_type = item
            .metadata
            .get("content_type")
            .and_then(Value::as_str)
            .unwrap_or("application/octet-stream");
        let local = connector.fetch_data(&item.path, workspace).await?;
        let opened = tokio::fs::File::open(&local)
            .await
            .map_err(|e| Error::storage(format!("opening {}: {e}", local.display())))?;
        let chunks = tokio_util::io::ReaderStream::new(opened)
            .map(|c| c.map_err(|e| Error::storage(format!("reading a fetched item: {e}"))));
        let stored = crate::files::store_stream(
            &self.files,
            &self.store,
            self.max_file_bytes,
            id,
            name,
            content_type,
            chunks,
        )
        .await;
        tokio::fs::remove_file(&local).await.ok();
        Ok(stored?)
    }

    /// Removes the scratch directory of `job`'s attempt (best effort).
    pub async fn clear_scratch(&self, job: &Job) {
        let scratch = self.scratch(job);
        if scratch.exists()
            && let Err(e) = tokio::fs::remove_dir_all(&scratch).await
        {
            tracing::warn!(dir = %scratch.display(), error = %e, "cannot remove a job's scratch directory");
        }
    }

    fn scratch(&self, job: &Job) -> PathBuf {
        self.work_dir
            .join(format!("{}-{}", job.id, job.attempts.max(1)))
    }

    /// The spec of one `step` over the job's data file, fetched into a fresh scratch
    /// directory (its base directory).
    async fn file_pipeline(
        &self,
        job: &Job,
        step: Value,
        decoder: serde_json::Map<String, Value>,
    ) -> Result<(Value, PathBuf)> {
        let file_id = job
            .data_file_id
            .ok_or_else(|| Error::validation(format!("job {}: no data file", job.id)))?;
        let file = self.files.get(file_id).await?;
        let format = format_of(&file.name)?;
        let scratch = self.scratch(job);
        if scratch.exists() {
            tokio::fs::remove_dir_all(&scratch)
                .await
                .map_err(|e| Error::storage(format!("clearing {}: {e}", scratch.display())))?;
        }
        let input = scratch.join("input");
        tokio::fs::create_dir_all(&input)
            .await
            .map_err(|e| Error::storage(format!("creating {}: {e}", input.display())))?;
        self.store
            .fetch_data(&crate::files::object_name(&file), &input)
            .await?;
        let mut source = json!({
            "id": "data", "kind": "local", "path": "input", "pattern": "**/*", "format": format,
        });
        if !decoder.is_empty() {
            source[format] = Value::Object(decoder);
        }
        let spec = json!({
            "name": format!("etl-{}", job.id),
            "source": [source],
            "processor": [step],
            "store": {"kind": "file", "path": "output", "format": "jsonl"},
            "checkpoints": {"path": "checkpoints.db"},
            "dead_letter": {"path": "dead_letters.jsonl"},
        });
        Ok((spec, scratch))
    }

    /// Uploads the rows a file pipeline wrote (`output/**`, item by item) as one JSON-lines
    /// object; `None` for a pipeline with stores of its own.
    async fn upload_output(
        &self,
        job: &Job,
        base_dir: &Path,
        spec: &Value,
    ) -> Result<Option<(String, String)>> {
        let is_file_pipeline = spec["store"]["path"] == "output" && spec["store"]["kind"] == "file";
        if !is_file_pipeline {
            return Ok(None);
        }
        let mut files = Vec::new();
        collect_files(&base_dir.join("output"), &mut files)?;
        files.sort();
        // Each item file starts with the file sink's header line (its schema): the object
        // holds the rows only, plain JSON lines.
        let chunks = futures::stream::iter(files)
            .then(|path| async move {
                let fail =
                    |e: std::io::Error| Error::storage(format!("reading {}: {e}", path.display()));
                let file = tokio::fs::File::open(&path).await.map_err(fail)?;
                let mut reader = tokio::io::BufReader::new(file);
                let mut header = String::new();
                tokio::io::AsyncBufReadExt::read_line(&mut reader, &mut header)
                    .await
                    .map_err(fail)?;
                let rows = tokio_util::io::ReaderStream::new(reader).map(move |chunk| {
                    chunk.map_err(|e| Error::storage(format!("reading rows: {e}")))
                });
                Ok::<_, Error>(rows)
            })
            .map(|opened| match opened {
                Ok(rows) => rows.boxed(),
                Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
            })
            .flatten();
        let object = output_object(job.id);
        let written = self
            .store
            .write_stream(&object, chunks, &WriteOptions::default())
            .await?;
        Ok(Some((object, written.uri)))
    }
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::storage(format!("listing {}: {e}", dir.display()))),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::storage(format!("listing {}: {e}", dir.display())))?;
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "jsonl") {
            out.push(path);
        }
    }
    Ok(())
}

/// The engine's counters of a run, added to the process's metrics.
fn record_counts(summary: &RunSummary) {
    let c = &summary.counts;
    for (state, n) in [
        ("collected", c.collected),
        ("stored", c.stored),
        ("skipped", c.skipped),
        ("dead_lettered", c.dead_lettered),
        ("failed", c.failed),
        ("retried", c.retried),
    ] {
        metrics::counter!("collectors_records_total", "state" => state).increment(n);
    }
}

/// The decoder of a file, by its name.
fn format_of(name: &str) -> Result<&'static str> {
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map_or("", |(_, e)| e);
    match ext {
        "csv" => Ok("csv"),
        "jsonl" | "ndjson" | "json" => Ok("jsonl"),
        "parquet" => Ok("parquet"),
        _ => Err(Error::validation(format!(
            "cannot tell the format of {name:?} from its name (.csv, .jsonl, .ndjson, .parquet)"
        ))),
    }
}

fn result_data(job: &Job, summary: &RunSummary, output: Option<(String, String)>) -> Value {
    let mut data = json!({
        "processing_type": job.kind,
        "summary": summary,
        "rows": summary.counts.stored,
        "dead_lettered": summary.counts.dead_lettered,
    });
    if let Some((object, uri)) = output {
        data["output_object"] = Value::String(object);
        data["output_uri"] = Value::String(uri);
    }
    data
}

#[cfg(test)]
mod tests {

    #[test]
    fn an_ingested_item_has_the_same_file_id_in_every_attempt_of_its_job() {
        let job = uuid::Uuid::new_v4();
        let id = super::ingested_file_id(job, "raw/a.csv");
        assert_eq!(id, super::ingested_file_id(job, "raw/a.csv"));
        assert_ne!(id, super::ingested_file_id(job, "raw/b.csv"));
        assert_ne!(
            id,
            super::ingested_file_id(uuid::Uuid::new_v4(), "raw/a.csv")
        );
        assert_eq!(id.get_version_num(), 8);
    }

    use super::*;

    #[test]
    fn formats_come_from_names() {
        assert_eq!(format_of("a.CSV").unwrap(), "csv");
        assert_eq!(format_of("a.ndjson").unwrap(), "jsonl");
        assert_eq!(format_of("a.parquet").unwrap(), "parquet");
        assert!(format_of("a.xlsx").is_err());
        assert!(format_of("noext").is_err());
    }
}
