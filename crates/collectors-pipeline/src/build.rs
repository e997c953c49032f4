//! Turns a [`PipelineSpec`] into its components, checked in full before anything is touched,
//! and then into an [`Engine`].

use std::path::PathBuf;
use std::sync::Arc;

use collectors_backends::{JsonlDeadLetterSink, SqliteCheckpointStore, SqliteQualityHistory};
use collectors_core::{
    CheckpointStore, DataSource, DeadLetterStore, Decoder, Engine, EngineBuilder, Error,
    ErrorPolicy, EventBus, InMemoryCheckpointStore, InMemoryDeadLetterSink, Pipeline,
    QualityHistory, Result, RetryingErrorHandler, SequentialPipeline,
};

use crate::locate::{Segment, display_key, key_in_message, parse_path};
use crate::outputs::{self, Input, Output};
use crate::registry::{
    BuildContext, BuiltSource, BuiltStore, Columns, Kind, ParamError, ParamResult, Registry,
};
use crate::spec::{Params, PipelineSpec, sibling};
use crate::standard::{ensure_parent, sqlite_files};

/// A source with the decoder of its items.
#[derive(Clone)]
pub struct BoundSource {
    /// The source.
    pub source: Arc<dyn DataSource>,
    /// The decoder of its items.
    pub decoder: Arc<dyn Decoder>,
    built: Arc<BuiltSource>,
}

impl std::fmt::Debug for BoundSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundSource")
            .field("source", &self.source.source_id())
            .field("decoder", &self.decoder.name())
            .finish()
    }
}

/// Every component of a spec, built and checked, with nothing written yet.
///
/// [`PipelineSpec::components`] makes it; [`engine_builder`](Self::engine_builder) opens
/// the checkpoints and wires the engine.
pub struct Components {
    spec: PipelineSpec,
    /// The sources, each with its decoder, in spec order.
    pub sources: Vec<BoundSource>,
    /// The processors as one pipeline, if there are any.
    pub pipeline: Option<Arc<dyn Pipeline>>,
    store: BuiltStore,
    replicas: Vec<BuiltStore>,
    /// The SQLite file of the checkpoints (the store's own database when they are in it);
    /// empty when they are in PostgreSQL.
    checkpoint_db: PathBuf,
    /// `[checkpoints] url`: PostgreSQL, shared by runs on several machines.
    checkpoint_url: Option<String>,
    /// The checkpoints are the store's ledger, committed with its records.
    checkpoints_in_store: bool,
    /// The dead-letter file; `None`: the letters are in the store's database.
    dead_letter_file: Option<PathBuf>,
    policy: ErrorPolicy,
    events: Arc<EventBus>,
    /// Where data-quality reports are kept (beside SQLite checkpoints).
    quality_history: Option<Arc<dyn QualityHistory>>,
}

impl std::fmt::Debug for Components {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Components")
            .field("pipeline", &self.spec.name)
            .field("sources", &self.sources)
            .field("store", &self.store.store.backend_id())
            .field("checkpoint_db", &self.checkpoint_db)
            .field("checkpoints_in_store", &self.checkpoints_in_store)
            .field("dead_letter_file", &self.dead_letter_file)
            .finish()
    }
}

impl PipelineSpec {
    /// Builds every component the spec names from `registry` and checks the whole: unknown
    /// kinds, bad parameters, processor columns against explicit schemas, outputs that
    /// coincide with each other or with an input. Nothing is written.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] naming the file, the line and the key.
    pub fn components(&self, registry: &Registry) -> Result<Components> {
        let events = Arc::new(EventBus::new());
        let ctx = BuildContext::new(self, events.clone());
        let mut sources = Vec::new();
        let mut known_columns: Option<Vec<String>> = None;
        let mut all_known = true;
        for (i, s) in self.sources.iter().enumerate() {
            let at = [Segment::Key("source"), Segment::Index(i)];
            let mut params = s.params.clone();
            if !registry.has_decoder(&s.format) {
                return Err(self.error_at(
                    &[at[0], at[1], Segment::Key("format")],
                    &format!(
                        "unknown format `{}`; known: {}",
                        s.format,
                        registry.kinds(Kind::Decoder)
                    ),
                ));
            }
            if let Some(other) = params
                .keys()
                .find(|k| *k != &s.format && registry.has_decoder(k))
            {
                return Err(self.error_at(
                    &[at[0], at[1], Segment::Key(other)],
                    &format!("is set but the format is {}", s.format),
                ));
            }
            let options = match params.remove(&s.format) {
                Some(serde_json::Value::Object(options)) => options,
                Some(_) => {
                    return Err(self.error_at(
                        &[at[0], at[1], Segment::Key(&s.format)],
                        "must be a table of decoder options",
                    ));
                }
                None => Params::new(),
            };
            let decoder = self.built(
                &[at[0], at[1], Segment::Key(&s.format)],
                registry.build_decoder(&s.format, options, &ctx),
                || unreachable_kind(&s.format),
            )?;
            let source = self.built(
                &at,
                registry.build_source(&s.kind, &s.id, params, &ctx),
                || {
                    self.error_at(
                        &[at[0], at[1], Segment::Key("kind")],
                        &format!(
                            "unknown source kind `{}`; known: {}",
                            s.kind,
                            registry.kinds(Kind::Source)
                        ),
                    )
                },
            )?;
            match (&decoder.columns, &mut known_columns) {
                (Some(columns), None) if all_known => known_columns = Some(columns.clone()),
                // Only the columns every source has are known to be there.
                (Some(columns), Some(known)) => known.retain(|c| columns.contains(c)),
                (None, _) => {
                    all_known = false;
                    known_columns = None;
                }
                _ => {}
            }
            sources.push(BoundSource {
                source: source.source.clone(),
                decoder: decoder.decoder,
                built: Arc::new(source),
            });
        }
        let store = self.store(registry, &ctx, &self.store, Segment::Key("store"), "store")?;
        let replicas = self
            .replicas
            .iter()
            .enumerate()
            .map(|(i, r)| {
                self.store(
                    registry,
                    &ctx,
                    r,
                    Segment::Index(i),
                    &format!("replica-{i}"),
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let checkpoint_url = self.checkpoints.as_ref().and_then(|c| c.url.clone());
        // A lone store with a ledger keeps what is not configured elsewhere: in its local
        // database file (SQLite), or in its server's database (PostgreSQL: no file).
        let lone_ledger = replicas.is_empty() && store.store.ledger().is_some();
        let server_ledger = lone_ledger && store.ledger_db.is_none();
        let checkpoint_db = match (&self.checkpoints, &store.ledger_db) {
            (Some(c), _) => match &c.path {
                Some(path) => self.resolve(path),
                // Checkpoints in PostgreSQL: no local file (checked in `check_settings`).
                None => PathBuf::new(),
            },
            (None, Some(db)) => db.clone(),
            (None, None) if server_ledger => PathBuf::new(),
            (None, None) => sibling(&self.store_path()?, ".checkpoints.db"),
        };
        // Quality reports are kept where the checkpoints are: in the PostgreSQL database of
        // `[checkpoints] url`, in a lone PostgreSQL store's, or beside SQLite checkpoints.
        let history: Option<Arc<dyn QualityHistory>> = match &checkpoint_url {
            #[cfg(feature = "postgres")]
            Some(url) => Some(Arc::new(
                collectors_backends::postgres::PostgresQualityHistory::new(url)?,
            )),
            #[cfg(not(feature = "postgres"))]
            Some(_) => None,
            None if server_ledger => store.quality_history.clone(),
            None if !checkpoint_db.as_os_str().is_empty() => {
                Some(Arc::new(SqliteQualityHistory::new(checkpoint_db.clone())))
            }
            None => None,
        };
        let ctx = match history {
            Some(history) => ctx.with_quality_history(history),
            None => ctx,
        };
        let pipeline = self.pipeline(registry, &ctx, known_columns)?;
        let ledger_db = store.ledger_db.as_ref().filter(|_| lone_ledger);
        let checkpoints_in_store = (server_ledger && self.checkpoints.is_none())
            || ledger_db
                .is_some_and(|db| outputs::normalize(db) == outputs::normalize(&checkpoint_db));
        let dead_letter_file = match (&self.dead_letter, ledger_db) {
            (Some(d), _) => Some(self.resolve(&d.path)),
            (None, Some(_)) => None,
            (None, None) if server_ledger => None,
            (None, None) => Some(sibling(&self.store_path()?, ".dead_letters.jsonl")),
        };
        let components = Components {
            spec: self.clone(),
            sources,
            pipeline,
            store,
            replicas,
            checkpoint_db,
            checkpoint_url,
            checkpoints_in_store,
            dead_letter_file,
            policy: self.retry.policy()?,
            events,
            quality_history: ctx.quality_history(),
        };
        components.check_outputs()?;
        Ok(components)
    }

    /// Builds the components and wires the engine (see [`Components::engine_builder`]): add
    /// `.events(..)`, `.resume(..)` or `.tasks(..)`, then `.build()`.
    ///
    /// # Errors
    ///
    /// As [`components`](Self::components), and when the checkpoint database cannot be
    /// opened.
    pub async fn engine_builder(&self, registry: &Registry) -> Result<EngineBuilder> {
        self.components(registry)?.engine_builder().await
    }

    /// Builds the engine with the defaults: resume from checkpoints, a private event bus.
    ///
    /// ```no_run
    /// use collectors_core::CancellationToken;
    /// use collectors_pipeline::{PipelineSpec, Registry};
    ///
    /// # async fn demo() -> collectors_core::Result<()> {
    /// let spec = PipelineSpec::from_path("examples/sensors/pipeline.toml")?;
    /// let engine = spec.build(&Registry::standard()).await?;
    /// let summary = engine.run(CancellationToken::new()).await?;
    /// assert!(summary.counts.adds_up());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`engine_builder`](Self::engine_builder).
    pub async fn build(&self, registry: &Registry) -> Result<Engine> {
        self.engine_builder(registry).await?.build()
    }

    /// Maps a factory's result to the spec's error at `at`; `unknown` when not registered.
    fn built<T>(
        &self,
        at: &[Segment<'_>],
        result: Option<ParamResult<T>>,
        unknown: impl FnOnce() -> Error,
    ) -> Result<T> {
        match result {
            None => Err(unknown()),
            Some(Ok(built)) => Ok(built),
            Some(Err(ParamError::Invalid { path, message })) => {
                let mut full = at.to_vec();
                full.extend(parse_path(&path));
                Err(self.error_at(&full, &message))
            }
            Some(Err(ParamError::Build(e))) => {
                let message = e.message();
                let mut full = at.to_vec();
                let message = match key_in_message(message) {
                    Some(key) => {
                        full.push(Segment::Key(key));
                        message
                            .trim_start_matches(&format!("`{key}`"))
                            .trim_start_matches(':')
                            .trim_start()
                    }
                    None => message,
                };
                Err(self.error_at(&full, message))
            }
        }
    }

    fn pipeline(
        &self,
        registry: &Registry,
        ctx: &BuildContext<'_>,
        known_columns: Option<Vec<String>>,
    ) -> Result<Option<Arc<dyn Pipeline>>> {
        if self.processors.is_empty() {
            return Ok(None);
        }
        let mut columns = Columns::new(known_columns);
        let mut builder = SequentialPipeline::builder(&self.name);
        for (i, p) in self.processors.iter().enumerate() {
            let at = [Segment::Key("processor"), Segment::Index(i)];
            let processor = self.built(
                &at,
                registry.build_processor(&p.kind, p.params.clone(), ctx, &mut columns),
                || {
                    self.error_at(
                        &[at[0], at[1], Segment::Key("type")],
                        &format!(
                            "unknown processor `{}`; known: {}",
                            p.kind,
                            registry.kinds(Kind::Processor)
                        ),
                    )
                },
            )?;
            if let Some((key, message)) = columns.take_failure() {
                return Err(self.error_at(&[at[0], at[1], Segment::Key(&key)], &message));
            }
            builder = builder.processor(processor);
        }
        Ok(Some(Arc::new(builder.build()?)))
    }

    fn store(
        &self,
        registry: &Registry,
        ctx: &BuildContext<'_>,
        spec: &crate::spec::StoreSpec,
        at: Segment<'_>,
        id: &str,
    ) -> Result<BuiltStore> {
        let at: Vec<Segment<'_>> = match at {
            Segment::Index(_) => vec![Segment::Key("replica"), at],
            key => vec![key],
        };
        self.built(
            &at,
            registry.build_store(&spec.kind, id, spec.params.clone(), ctx),
            || {
                let mut key = at.clone();
                key.push(Segment::Key("kind"));
                self.error_at(
                    &key,
                    &format!(
                        "unknown store kind `{}`; known: {}",
                        spec.kind,
                        registry.kinds(Kind::Store)
                    ),
                )
            },
        )
    }
}

/// The PostgreSQL checkpoint store of `[checkpoints] url`, with its `pool`.
#[cfg(feature = "postgres")]
async fn postgres_checkpoints(spec: &PipelineSpec, url: &str) -> Result<Arc<dyn CheckpointStore>> {
    let pool = spec.checkpoints.as_ref().and_then(|c| c.pool.clone());
    let store = match pool {
        Some(pool) => {
            collectors_backends::PostgresCheckpointStore::connect_with_pool(url, pool).await?
        }
        None => collectors_backends::PostgresCheckpointStore::connect(url).await?,
    };
    Ok(Arc::new(store))
}

/// Without the `postgres` feature, `[checkpoints] url` is refused when the engine is wired.
#[cfg(not(feature = "postgres"))]
async fn postgres_checkpoints(_: &PipelineSpec, _url: &str) -> Result<Arc<dyn CheckpointStore>> {
    Err(Error::configuration(
        "[checkpoints] url needs PostgreSQL support: build with the `postgres` feature",
    ))
}

fn unreachable_kind(format: &str) -> Error {
    Error::configuration(format!("unknown format `{format}`"))
}

impl Components {
    /// The spec these components were built from.
    pub fn spec(&self) -> &PipelineSpec {
        &self.spec
    }

    /// Where dead letters go, for people: the file, or the store's database and table.
    pub fn dead_letter_location(&self) -> String {
        match (&self.dead_letter_file, &self.store.ledger_db) {
            (Some(file), _) => file.display().to_string(),
            (None, Some(db)) => format!("{} (table _collectors_dead_letters)", db.display()),
            (None, None) => format!(
                "store `{}` (table _collectors_dead_letters)",
                self.store.store.backend_id()
            ),
        }
    }

    /// The pipeline's dead letters, to list or replay: the configured file, or the store's
    /// database (the store is connected; a database that does not exist yet has none, and
    /// is not created).
    ///
    /// # Errors
    ///
    /// When the store cannot be connected.
    pub async fn dead_letters(&self) -> Result<Arc<dyn DeadLetterStore>> {
        if let Some(file) = &self.dead_letter_file {
            return Ok(Arc::new(JsonlDeadLetterSink::new(file)));
        }
        let store = &self.store.store;
        let exists = self.store.ledger_db.as_ref().is_none_or(|db| db.is_file());
        match store.ledger() {
            Some(ledger) if exists => {
                store.connect().await?;
                Ok(ledger.dead_letters)
            }
            _ => Ok(Arc::new(InMemoryDeadLetterSink::new())),
        }
    }

    /// The event bus the engine emits on (set by [`engine_builder`](Self::engine_builder)),
    /// and the processors too (data quality reports): subscribe here. A bus given later
    /// with `.events(..)` gets the engine's events, not the processors'.
    pub fn events(&self) -> Arc<EventBus> {
        self.events.clone()
    }

    /// The SQLite checkpoint database (empty when `[checkpoints] url` puts them in
    /// PostgreSQL).
    pub fn checkpoint_db(&self) -> &std::path::Path {
        &self.checkpoint_db
    }

    /// Where the data-quality reports of this pipeline are kept (see
    /// [`BuildContext::quality_history`](crate::BuildContext::quality_history)).
    pub fn quality_history(&self) -> Option<Arc<dyn QualityHistory>> {
        self.quality_history.clone()
    }

    /// The primary store (replicas not included).
    pub fn store(&self) -> Arc<dyn collectors_core::StorageBackend> {
        self.store.store.clone()
    }

    /// The primary store, then the replicas (`[[replica]]`).
    pub fn stores(&self) -> Vec<Arc<dyn collectors_core::StorageBackend>> {
        std::iter::once(&self.store)
            .chain(&self.replicas)
            .map(|s| s.store.clone())
            .collect()
    }

    /// The error policy of `[retry]`.
    pub fn policy(&self) -> &ErrorPolicy {
        &self.policy
    }

    fn check_outputs(&self) -> Result<()> {
        let mut outputs = Vec::new();
        let mut add = |what: &str, paths: &[PathBuf]| {
            for path in paths {
                outputs.push(Output {
                    what: what.to_owned(),
                    path: path.clone(),
                });
            }
        };
        add("store", &self.store.outputs);
        for (i, r) in self.replicas.iter().enumerate() {
            add(
                &display_key(&[Segment::Key("replica"), Segment::Index(i)]),
                &r.outputs,
            );
        }
        // Checkpoints may share the primary store's database; anywhere else they are a file
        // of their own.
        let shares_store =
            self.store.ledger_db.as_ref().is_some_and(|db| {
                outputs::normalize(db) == outputs::normalize(&self.checkpoint_db)
            });
        if !shares_store && !self.checkpoints_in_store && self.checkpoint_url.is_none() {
            add("checkpoint database", &sqlite_files(&self.checkpoint_db));
        }
        if let Some(file) = &self.dead_letter_file {
            add("dead-letter file", std::slice::from_ref(file));
        }
        // SQLite's side files of one database are one output, not a collision.
        let mut deduped: Vec<Output> = Vec::new();
        for o in outputs {
            if !deduped.iter().any(|d| d.what == o.what && d.path == o.path) {
                deduped.push(o);
            }
        }
        let inputs: Vec<Input<'_>> = self
            .sources
            .iter()
            .filter_map(|s| {
                s.built.reads.as_ref().map(|inputs| Input {
                    source_id: s.source.source_id(),
                    inputs,
                })
            })
            .collect();
        let name = self.spec.origin.name().to_owned();
        outputs::check(&name, &deduped, &inputs)
    }

    /// Creates the output directories, opens the checkpoint database and wires the engine:
    /// sources, pipeline, store, replicas, checkpoints, dead letters, the retry policy,
    /// `[engine]` and the fingerprint. A lone SQLite store keeps the checkpoints and dead
    /// letters not configured elsewhere in its own database, each item's checkpoint
    /// committed with its last records.
    ///
    /// # Errors
    ///
    /// When a directory cannot be created or the checkpoint database cannot be opened.
    pub async fn engine_builder(&self) -> Result<EngineBuilder> {
        for path in self
            .store
            .outputs
            .iter()
            .chain(self.replicas.iter().flat_map(|r| &r.outputs))
            .chain(
                (self.checkpoint_url.is_none() && !self.checkpoint_db.as_os_str().is_empty())
                    .then_some(&self.checkpoint_db),
            )
            .chain(&self.dead_letter_file)
        {
            ensure_parent(path)?;
        }
        if self.checkpoints_in_store {
            return Ok(self.wire(None));
        }
        let checkpoints = match &self.checkpoint_url {
            Some(url) => postgres_checkpoints(&self.spec, url).await?,
            None => Arc::new(SqliteCheckpointStore::open(&self.checkpoint_db).await?),
        };
        Ok(self.wire(Some(checkpoints)))
    }

    /// The engine wired with `checkpoints` (an in-memory store for a dry run, say), writing
    /// nothing until it runs.
    pub fn engine_builder_with(&self, checkpoints: Arc<dyn CheckpointStore>) -> EngineBuilder {
        self.wire(Some(checkpoints))
    }

    /// A dry run's view: the checkpoints if their database exists, else none (every item is
    /// pending), without creating anything.
    pub async fn existing_checkpoints(&self) -> Result<Arc<dyn CheckpointStore>> {
        if let Some(url) = &self.checkpoint_url {
            return postgres_checkpoints(&self.spec, url).await;
        }
        // In a server's database (a PostgreSQL store): reading them creates no file.
        if self.checkpoints_in_store
            && self.store.ledger_db.is_none()
            && let Some(ledger) = self.store.store.ledger()
        {
            self.store.store.connect().await?;
            return Ok(ledger.checkpoints);
        }
        if self.checkpoint_db.is_file() {
            Ok(Arc::new(
                SqliteCheckpointStore::open(&self.checkpoint_db).await?,
            ))
        } else {
            Ok(Arc::new(InMemoryCheckpointStore::new()))
        }
    }

    /// `checkpoints`: `None` when they are the store's own.
    fn wire(&self, checkpoints: Option<Arc<dyn CheckpointStore>>) -> EngineBuilder {
        let spec = &self.spec;
        let mut builder = Engine::builder(&spec.name).store(self.store.store.clone());
        for replica in &self.replicas {
            builder = builder.store(replica.store.clone());
        }
        for s in &self.sources {
            builder = builder.source(s.source.clone(), s.decoder.clone());
        }
        if let Some(pipeline) = &self.pipeline {
            builder = builder.pipeline(pipeline.clone());
        }
        if let Some(checkpoints) = checkpoints {
            builder = builder.checkpoints(checkpoints);
        }
        if let Some(file) = &self.dead_letter_file {
            builder = builder.dead_letters(Arc::new(JsonlDeadLetterSink::new(file)));
        }
        builder
            .error_handler(Arc::new(RetryingErrorHandler::new(self.policy.clone())))
            .config(spec.engine.config())
            .fingerprint(spec.fingerprint())
            .events(self.events.clone())
    }
}
