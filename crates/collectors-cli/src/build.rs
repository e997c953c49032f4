//! Turns a checked pipeline file into an [`Engine`] and its parts.

use std::path::PathBuf;
use std::sync::Arc;

use collectors_backends::{
    FileFormat, FileSink, JsonlDeadLetterSink, LocalDirectorySource, SqliteCheckpointStore,
    SqliteStorage,
};
use collectors_core::{
    CheckpointStore, DeadLetterSink, Decoder, Engine, EventEmitter, ItemSource, Pipeline,
    Processor, Result, ResumeMode, RetryingErrorHandler, SequentialPipeline, StorageBackend,
};
use collectors_processors::{CsvDecoder, Filter, JsonLinesDecoder, RollingMean};

use crate::pipeline_config::{
    Format, LoadedPipeline, ProcessorConfig, SourceKind, StoreConfig, StoreKind,
};

/// A source and the decoder of its items.
pub(crate) struct BoundSource {
    pub(crate) source: Arc<dyn ItemSource>,
    pub(crate) decoder: Arc<dyn Decoder>,
}

/// Builds each source of the file with its decoder.
pub(crate) fn sources(p: &LoadedPipeline) -> Result<Vec<BoundSource>> {
    p.config
        .sources
        .iter()
        .map(|s| {
            let source: Arc<dyn ItemSource> = match s.kind {
                SourceKind::Local => Arc::new(
                    LocalDirectorySource::builder(&s.id, p.resolve(s.path.get_ref()))
                        .pattern(&s.pattern)
                        .build()?,
                ),
            };
            let decoder: Arc<dyn Decoder> = match s.format {
                Format::Csv => Arc::new(CsvDecoder::new(s.csv.clone().unwrap_or_default())?),
                Format::Jsonl => {
                    Arc::new(JsonLinesDecoder::new(s.jsonl.clone().unwrap_or_default())?)
                }
            };
            Ok(BoundSource { source, decoder })
        })
        .collect()
}

/// The pipeline of the file's processors, if it has any.
pub(crate) fn pipeline(p: &LoadedPipeline) -> Result<Option<Arc<dyn Pipeline>>> {
    if p.processors.is_empty() {
        return Ok(None);
    }
    let mut builder = SequentialPipeline::builder(&p.config.name);
    for processor in &p.processors {
        let processor: Arc<dyn Processor> = match processor {
            ProcessorConfig::Filter(config) => Arc::new(Filter::new(config.clone())?),
            ProcessorConfig::RollingMean(config) => Arc::new(RollingMean::new(config.clone())?),
        };
        builder = builder.processor(processor);
    }
    Ok(Some(Arc::new(builder.build()?)))
}

/// The store of the file.
pub(crate) fn store(p: &LoadedPipeline) -> Result<Arc<dyn StorageBackend>> {
    store_of(p, &p.config.store, "store")
}

/// The replica stores of the file (`[[replica]]`).
pub(crate) fn replicas(p: &LoadedPipeline) -> Result<Vec<Arc<dyn StorageBackend>>> {
    p.config
        .replicas
        .iter()
        .enumerate()
        .map(|(i, r)| store_of(p, r, &format!("replica-{i}")))
        .collect()
}

fn sqlite_store(p: &LoadedPipeline, s: &StoreConfig, id: &str) -> Result<SqliteStorage> {
    let path = p.resolve(s.path.get_ref());
    ensure_parent(&path)?;
    let table = s.table.clone().unwrap_or_default();
    SqliteStorage::builder(id, path.to_string_lossy())
        .table(table)
        .build()
}

fn store_of(p: &LoadedPipeline, s: &StoreConfig, id: &str) -> Result<Arc<dyn StorageBackend>> {
    let path = p.resolve(s.path.get_ref());
    match s.kind {
        StoreKind::Sqlite => Ok(Arc::new(sqlite_store(p, s, id)?)),
        StoreKind::File => {
            let format = s.format.unwrap_or(FileFormat::Jsonl);
            Ok(Arc::new(
                FileSink::builder(id, path).format(format).build()?,
            ))
        }
    }
}

/// Where checkpoints go: `[checkpoints] path`, else the SQLite store's database, else a
/// `<dir>.checkpoints.db` beside a file store.
fn checkpoint_path(p: &LoadedPipeline) -> PathBuf {
    if let Some(c) = &p.config.checkpoints {
        return p.resolve(c.path.get_ref());
    }
    let store = p.resolve(p.config.store.path.get_ref());
    match p.config.store.kind {
        StoreKind::Sqlite => store,
        StoreKind::File => {
            let mut name = store
                .file_name()
                .map(|n| n.to_os_string())
                .unwrap_or_default();
            name.push(".checkpoints.db");
            store.with_file_name(name)
        }
    }
}

/// The dead-letter file of the pipeline.
pub(crate) fn dead_letter_path(p: &LoadedPipeline) -> PathBuf {
    p.resolve(p.config.dead_letter.path.get_ref())
}

fn ensure_parent(path: &std::path::Path) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| {
            collectors_core::Error::configuration(format!("cannot create {}", parent.display()))
                .with_source(e)
        })?;
    }
    Ok(())
}

/// The whole engine of the file.
pub(crate) async fn engine(
    p: &LoadedPipeline,
    resume: ResumeMode,
    events: Arc<dyn EventEmitter>,
) -> Result<Engine> {
    // Everything that can be checked without touching the disk comes first.
    let bound = sources(p)?;
    let processors = pipeline(p)?;
    let policy = p.config.retry.policy()?;
    let replicas = replicas(p)?;
    let checkpoint_path = checkpoint_path(p);
    // Records and checkpoints in one SQLite database commit in one transaction.
    let same_database = p.config.store.kind == StoreKind::Sqlite
        && checkpoint_path == p.resolve(p.config.store.path.get_ref())
        && replicas.is_empty();
    let mut builder = if same_database {
        Engine::builder(&p.config.name).transactional_store(Arc::new(sqlite_store(
            p,
            &p.config.store,
            "store",
        )?))
    } else {
        Engine::builder(&p.config.name).store(store(p)?)
    };
    ensure_parent(&checkpoint_path)?;
    let checkpoints: Arc<dyn CheckpointStore> =
        Arc::new(SqliteCheckpointStore::open(&checkpoint_path).await?);
    let dead_path = dead_letter_path(p);
    ensure_parent(&dead_path)?;
    let dead_letters: Arc<dyn DeadLetterSink> = Arc::new(JsonlDeadLetterSink::new(&dead_path));
    builder = builder
        .checkpoints(checkpoints)
        .dead_letters(dead_letters)
        .error_handler(Arc::new(RetryingErrorHandler::new(policy)))
        .events(events)
        .config(p.config.engine.clone())
        .resume(resume)
        .fingerprint(p.fingerprint());
    for replica in replicas {
        builder = builder.store(replica);
    }
    for b in bound {
        builder = builder.source(b.source, b.decoder);
    }
    if let Some(pipeline) = processors {
        builder = builder.pipeline(pipeline);
    }
    builder.build()
}
