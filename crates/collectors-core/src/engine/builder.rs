//! [`EngineBuilder`]: the parts of an [`Engine`], checked once in [`EngineBuilder::build`].

use std::sync::Arc;

use crate::data_source::DataSource;
use crate::engine::checkpoint_store::CheckpointStore;
use crate::engine::config::EngineConfig;
use crate::engine::counters::EngineCounters;
use crate::engine::dead_letter::DeadLetterSink;
use crate::engine::decoder::Decoder;
use crate::engine::engine::{Engine, ResumeMode, SourceBinding};
use crate::error::{Error, Result};
use crate::error_handler::ErrorHandler;
use crate::event_emitter::EventEmitter;
use crate::metadata_parser::MetadataParser;
use crate::pipeline::Pipeline;
use crate::runtime::{EventBus, InMemoryTaskTracker, ReplicatedStorage, RetryingErrorHandler};
use crate::storage_backend::StorageBackend;
use crate::task_tracker::TaskTracker;

/// Builds an [`Engine`]; see [`Engine::builder`].
#[must_use]
pub struct EngineBuilder {
    pub(crate) name: String,
    pub(crate) sources: Vec<SourceBinding>,
    pub(crate) pipeline: Option<Arc<dyn Pipeline>>,
    pub(crate) stores: Vec<Arc<dyn StorageBackend>>,
    pub(crate) parser: Option<Arc<dyn MetadataParser>>,
    pub(crate) checkpoints: Option<Arc<dyn CheckpointStore>>,
    pub(crate) dead_letters: Option<Arc<dyn DeadLetterSink>>,
    pub(crate) errors: Option<Arc<dyn ErrorHandler>>,
    pub(crate) events: Option<Arc<dyn EventEmitter>>,
    pub(crate) tasks: Option<Arc<dyn TaskTracker>>,
    pub(crate) config: EngineConfig,
    pub(crate) resume: ResumeMode,
    pub(crate) fingerprint: Option<String>,
}

impl Engine {
    /// Starts building the engine of the pipeline called `name` (the checkpoint namespace).
    pub fn builder(name: impl Into<String>) -> EngineBuilder {
        EngineBuilder {
            name: name.into(),
            sources: Vec::new(),
            pipeline: None,
            stores: Vec::new(),
            parser: None,
            checkpoints: None,
            dead_letters: None,
            errors: None,
            events: None,
            tasks: None,
            config: EngineConfig::default(),
            resume: ResumeMode::Resume,
            fingerprint: None,
        }
    }
}

impl EngineBuilder {
    /// Adds a source and the decoder of its items: a listed source (files, objects) or a
    /// live one (a socket, a queue), or one whose listing mixes both. Each item is delivered
    /// as it says (see [delivery](crate::DataSource#delivery)): a listed item is
    /// leased, read through [`DataSource::open`] and checkpointed; a live item is read once
    /// from its content and acknowledged through [`DataSource::commit`] alone. The engine
    /// connects every source before it lists, and disconnects them at the end of the run.
    pub fn source(mut self, source: Arc<dyn DataSource>, decoder: Arc<dyn Decoder>) -> Self {
        self.sources.push(SourceBinding { source, decoder });
        self
    }

    /// The pipeline every batch runs through (none: batches are stored as decoded).
    pub fn pipeline(mut self, pipeline: Arc<dyn Pipeline>) -> Self {
        self.pipeline = Some(pipeline);
        self
    }

    /// Where records are stored (at least one). Called several times, every record is
    /// written to each store ([`ReplicatedStorage`]); queries read the first.
    ///
    /// A store that keeps a [`ledger`](StorageBackend::ledger) (SQLite does) and is
    /// the only one is used transactionally by itself: each item's checkpoint commits with
    /// its last records, and its checkpoints and dead letters are the ledger's, unless
    /// [`checkpoints`](Self::checkpoints) or [`dead_letters`](Self::dead_letters) name
    /// others (then that part is kept there instead, at least once).
    pub fn store(mut self, store: Arc<dyn StorageBackend>) -> Self {
        self.stores.push(store);
        self
    }

    /// Parses and validates each item before it is decoded: the parser gets a
    /// [`CollectedData`](crate::CollectedData) with the item's listing metadata (`item_id`,
    /// `version`, `size`, and the source's own) and its first chunk of bytes as `raw_data`.
    /// An item whose metadata is invalid goes to the error handler (by default:
    /// dead-lettered whole) without being decoded. The parsed fields travel with the item's
    /// records as `item_metadata`.
    pub fn metadata_parser(mut self, parser: Arc<dyn MetadataParser>) -> Self {
        self.parser = Some(parser);
        self
    }

    /// Where item acknowledgements are kept (required unless the store keeps a ledger).
    pub fn checkpoints(mut self, checkpoints: Arc<dyn CheckpointStore>) -> Self {
        self.checkpoints = Some(checkpoints);
        self
    }

    /// Where rejected and exhausted records go (required unless the store keeps a ledger).
    pub fn dead_letters(mut self, dead_letters: Arc<dyn DeadLetterSink>) -> Self {
        self.dead_letters = Some(dead_letters);
        self
    }

    /// The error policy (default: [`RetryingErrorHandler::default`]).
    pub fn error_handler(mut self, errors: Arc<dyn ErrorHandler>) -> Self {
        self.errors = Some(errors);
        self
    }

    /// Where events go (default: a private [`EventBus`]).
    pub fn events(mut self, events: Arc<dyn EventEmitter>) -> Self {
        self.events = Some(events);
        self
    }

    /// Where the run is tracked (default: a private [`InMemoryTaskTracker`]).
    pub fn tasks(mut self, tasks: Arc<dyn TaskTracker>) -> Self {
        self.tasks = Some(tasks);
        self
    }

    /// Bounds, batching and concurrency.
    pub fn config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    /// Resume from checkpoints (default) or restart.
    pub fn resume(mut self, mode: ResumeMode) -> Self {
        self.resume = mode;
        self
    }

    /// A digest of the settings that shape storage keys (decoder batch size, processors).
    /// Resuming with a different fingerprint is refused: the keys would not match.
    pub fn fingerprint(mut self, fingerprint: impl Into<String>) -> Self {
        self.fingerprint = Some(fingerprint.into());
        self
    }

    /// Checks the parts and the configuration.
    pub fn build(self) -> Result<Engine> {
        let missing = |what: &str| {
            Error::configuration(format!("the engine needs {what}")).with_component(&self.name)
        };
        if self.name.trim().is_empty() {
            return Err(
                Error::configuration("a pipeline name must not be empty").with_component("engine")
            );
        }
        self.config.validate()?;
        if self.sources.is_empty() {
            return Err(missing("at least one source"));
        }
        let mut ids: Vec<&str> = self.sources.iter().map(|s| s.source.source_id()).collect();
        ids.sort_unstable();
        if let Some(pair) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(
                Error::configuration(format!("two sources are named `{}`", pair[0]))
                    .with_component(&self.name),
            );
        }
        // Several stores cannot share one transaction: their checkpoints are kept apart.
        let ledger = match self.stores.as_slice() {
            [only] => only.ledger(),
            _ => None,
        };
        let store: Arc<dyn StorageBackend> = match self.stores.len() {
            0 => return Err(missing("a store")),
            1 => self.stores[0].clone(),
            _ => Arc::new(ReplicatedStorage::new(
                format!("{}-stores", self.name),
                self.stores,
            )?),
        };
        Ok(Engine {
            store,
            transactional: match (&self.checkpoints, &ledger) {
                (None, Some(l)) => Some(l.commit.clone()),
                _ => None,
            },
            checkpoints_in_store: self.checkpoints.is_none() && ledger.is_some(),
            parser: self.parser,
            checkpoints: match (self.checkpoints, &ledger) {
                (Some(c), _) => c,
                (None, Some(l)) => l.checkpoints.clone(),
                (None, None) => {
                    return Err(missing(
                        "a checkpoint store (or a store that keeps its own ledger)",
                    ));
                }
            },
            dead_letters: match (self.dead_letters, &ledger) {
                (Some(d), _) => d,
                (None, Some(l)) => l.dead_letters.clone(),
                (None, None) => {
                    return Err(missing(
                        "a dead-letter sink (or a store that keeps its own ledger)",
                    ));
                }
            },
            errors: self
                .errors
                .unwrap_or_else(|| Arc::new(RetryingErrorHandler::default())),
            events: self.events.unwrap_or_else(|| Arc::new(EventBus::new())),
            tasks: self
                .tasks
                .unwrap_or_else(|| Arc::new(InMemoryTaskTracker::new())),
            name: self.name,
            sources: self.sources,
            pipeline: self.pipeline,
            config: self.config,
            resume: self.resume,
            fingerprint: self.fingerprint,
            counters: Arc::new(EngineCounters::default()),
        })
    }
}
