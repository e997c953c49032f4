//! [`EngineBuilder`]: the parts of an [`Engine`], checked once in [`EngineBuilder::build`].

use std::sync::Arc;

use crate::data_source::DataSource;
use crate::engine::checkpoint_store::{CheckpointStore, TransactionalCheckpoints};
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
    pub(crate) transactional: Option<Arc<dyn TransactionalCheckpoints>>,
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
            transactional: None,
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
    pub fn store(mut self, store: Arc<dyn StorageBackend>) -> Self {
        self.stores.push(store);
        self
    }

    /// The store, when it can also write checkpoints in the same transaction as the records
    /// (SQLite): an item's checkpoint then commits with its last records. Checkpoints still
    /// need [`checkpoints`](Self::checkpoints), reading the same place.
    pub fn transactional_store<S>(mut self, store: Arc<S>) -> Self
    where
        S: StorageBackend + TransactionalCheckpoints + 'static,
    {
        self.transactional = Some(store.clone());
        self.stores.push(store);
        self
    }

    /// [`transactional_store`](Self::transactional_store) for a store known only as trait
    /// objects: `store` and `checkpoints` must be the same object (a component registry
    /// hands them out that way).
    pub fn transactional_parts(
        mut self,
        store: Arc<dyn StorageBackend>,
        checkpoints: Arc<dyn TransactionalCheckpoints>,
    ) -> Self {
        self.transactional = Some(checkpoints);
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

    /// Where item acknowledgements are kept (required).
    pub fn checkpoints(mut self, checkpoints: Arc<dyn CheckpointStore>) -> Self {
        self.checkpoints = Some(checkpoints);
        self
    }

    /// Where rejected and exhausted records go (required).
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
        if self.transactional.is_some() && self.stores.len() > 1 {
            return Err(Error::configuration(
                "a transactional store cannot be combined with other stores (their writes would not be in its transaction)",
            )
            .with_component(&self.name));
        }
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
            transactional: self.transactional,
            parser: self.parser,
            checkpoints: self
                .checkpoints
                .ok_or_else(|| missing("a checkpoint store"))?,
            dead_letters: self
                .dead_letters
                .ok_or_else(|| missing("a dead-letter sink"))?,
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
