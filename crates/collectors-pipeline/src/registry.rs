//! [`Registry`]: the component factories a spec's `kind`s and `type`s name, each with the
//! JSON Schema of its parameters.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use collectors_core::{
    DataSource, Decoder, Error, EventBus, EventEmitter, Processor, QualityHistory, Result,
    StorageBackend,
};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use crate::schema::bounded_schema_for;
use crate::spec::{Params, PipelineSpec};

/// What a component factory may ask of the spec it is built from.
pub struct BuildContext<'a> {
    spec: &'a PipelineSpec,
    events: Arc<EventBus>,
    quality_history: Option<Arc<dyn QualityHistory>>,
}

impl std::fmt::Debug for BuildContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuildContext")
            .field("pipeline", &self.spec.name)
            .field("quality_history", &self.quality_history.is_some())
            .finish_non_exhaustive()
    }
}

impl<'a> BuildContext<'a> {
    pub(crate) fn new(spec: &'a PipelineSpec, events: Arc<EventBus>) -> Self {
        Self {
            spec,
            events,
            quality_history: None,
        }
    }

    pub(crate) fn with_quality_history(mut self, history: Arc<dyn QualityHistory>) -> Self {
        self.quality_history = Some(history);
        self
    }

    /// Where data-quality reports are kept over time: the pipeline's checkpoint database
    /// (`None` when the checkpoints are in PostgreSQL, `[checkpoints] url` or a PostgreSQL
    /// store's own, which keep no reports yet).
    /// `collectors quality history` reads them back.
    pub fn quality_history(&self) -> Option<Arc<dyn QualityHistory>> {
        self.quality_history.clone()
    }

    /// The event bus of the engine the components go into (see
    /// [`Components::events`](crate::Components::events)): components that report (a data
    /// quality profile) emit on it.
    pub fn events(&self) -> Arc<dyn EventEmitter> {
        self.events.clone()
    }

    /// Resolves a path of the spec against the spec's directory.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        self.spec.resolve(path)
    }

    /// The spec's pipeline name.
    pub fn pipeline_name(&self) -> &str {
        &self.spec.name
    }

    /// The `format` (decoder name) of the spec's source `id`, so a source that encodes its
    /// own items (a database table) can encode them for that decoder.
    pub fn source_format(&self, id: &str) -> Option<&str> {
        self.spec
            .sources
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.format.as_str())
    }
}

/// A built source, and what it reads (so the spec can refuse outputs that are inputs).
pub struct BuiltSource {
    /// The source.
    pub source: Arc<dyn DataSource>,
    /// The directory it lists and the patterns of the files it reads, when it reads local
    /// files.
    pub reads: Option<LocalInputs>,
}

/// The local files a source reads: `dir` and the relative paths `patterns` matches.
#[derive(Debug, Clone)]
pub struct LocalInputs {
    /// The directory listed.
    pub dir: PathBuf,
    /// Which relative paths are read.
    pub patterns: globset::GlobSet,
}

/// A built decoder, and the columns it produces when they are known before reading (an
/// explicit schema), so processors can be checked against them at load.
pub struct BuiltDecoder {
    /// The decoder.
    pub decoder: Arc<dyn Decoder>,
    /// Its output columns, when fixed by configuration.
    pub columns: Option<Vec<String>>,
}

/// A built store, with the local files it writes.
pub struct BuiltStore {
    /// The store.
    pub store: Arc<dyn StorageBackend>,
    /// Local files or directories it writes.
    pub outputs: Vec<PathBuf>,
    /// The SQLite database where the store keeps its
    /// [`ledger`](collectors_core::StorageBackend::ledger) (checkpoints and dead letters),
    /// when it has one: a dry run reads the checkpoints there without connecting the store.
    /// `None` for a store whose ledger is in a server's database (PostgreSQL): a lone store
    /// with a ledger keeps the checkpoints and dead letters there, like a SQLite store.
    pub ledger_db: Option<PathBuf>,
    /// Where a lone store whose ledger is in a server's database keeps data-quality reports
    /// too (PostgreSQL); `None` otherwise (reports then go beside SQLite checkpoints).
    pub quality_history: Option<Arc<dyn QualityHistory>>,
}

/// The columns flowing into a processor, so a factory can check the columns it needs before
/// any data is read, and declare the ones it adds.
#[derive(Debug, Clone, Default)]
pub struct Columns {
    known: Option<Vec<String>>,
    failure: Option<(String, String)>,
}

impl Columns {
    pub(crate) fn new(known: Option<Vec<String>>) -> Self {
        Self {
            known,
            failure: None,
        }
    }

    /// The columns known so far (`None`: decided by each item, e.g. an inferred schema).
    pub fn known(&self) -> Option<&[String]> {
        self.known.as_deref()
    }

    /// Requires `column`, named by the parameter `key`. When the columns are known and it is
    /// not among them, the build fails with an error on that parameter's line.
    pub fn require(&mut self, key: &str, column: &str) {
        if self.failure.is_some() {
            return;
        }
        if let Some(known) = &self.known
            && !known.iter().any(|c| c == column)
        {
            self.failure = Some((
                key.to_owned(),
                format!(
                    "column `{column}` is not among the columns at this step: {}",
                    known.join(", ")
                ),
            ));
        }
    }

    /// Declares a column this step adds (or replaces).
    pub fn add(&mut self, column: &str) {
        if let Some(known) = &mut self.known
            && !known.iter().any(|c| c == column)
        {
            known.push(column.to_owned());
        }
    }

    /// Declares a column this step removes.
    pub fn remove(&mut self, column: &str) {
        if let Some(known) = &mut self.known {
            known.retain(|c| c != column);
        }
    }

    /// Declares that this step's output has exactly `columns` (`None`: unknown until the
    /// data is read, e.g. a table decoded from bytes with an inferred schema, or what a
    /// script returns): later steps are then not checked against them.
    pub fn replace(&mut self, columns: Option<Vec<String>>) {
        self.known = columns;
    }

    pub(crate) fn take_failure(&mut self) -> Option<(String, String)> {
        self.failure.take()
    }
}

type SourceFn = dyn Fn(&str, Params, &BuildContext<'_>) -> ParamResult<BuiltSource> + Send + Sync;
type DecoderFn = dyn Fn(Params, &BuildContext<'_>) -> ParamResult<BuiltDecoder> + Send + Sync;
type ProcessorFn = dyn Fn(Params, &BuildContext<'_>, &mut Columns) -> ParamResult<Arc<dyn Processor>>
    + Send
    + Sync;
type StoreFn = dyn Fn(&str, Params, &BuildContext<'_>) -> ParamResult<BuiltStore> + Send + Sync;

/// A factory's failure: bad parameters (with the key path when serde knows it), or an error
/// of the component itself.
pub(crate) enum ParamError {
    /// The parameters do not fit the factory's type; `path` is the serde path of the key.
    Invalid { path: String, message: String },
    /// The component refused to build.
    Build(Error),
}

pub(crate) type ParamResult<T> = std::result::Result<T, ParamError>;

impl From<Error> for ParamError {
    fn from(e: Error) -> Self {
        Self::Build(e)
    }
}

struct Entry<F: ?Sized> {
    schema: serde_json::Value,
    build: Box<F>,
}

/// The factories of sources, decoders, processors and stores, by the name a spec gives them
/// (`kind`, `format`, `type`). Each factory carries the JSON Schema of its parameters, so
/// docs, an OpenAPI description and forms are generated from one source.
///
/// [`Registry::standard`] holds the components this workspace ships; a host app adds its own:
///
/// ```
/// use std::sync::Arc;
/// use collectors_core::{Processor, Result};
/// use collectors_pipeline::Registry;
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// #[serde(deny_unknown_fields)]
/// struct Scale {
///     /// The column to scale.
///     column: String,
///     /// The factor.
///     factor: f64,
/// }
///
/// # fn make(_: Scale) -> Result<Arc<dyn Processor>> { unimplemented!() }
/// let mut registry = Registry::standard();
/// registry.processor("scale", |params: Scale, columns| {
///     columns.require("column", &params.column);
///     make(params)
/// });
/// assert!(registry.schemas()["processors"]["scale"]["properties"]["factor"].is_object());
/// ```
#[derive(Default)]
pub struct Registry {
    sources: BTreeMap<String, Entry<SourceFn>>,
    decoders: BTreeMap<String, Entry<DecoderFn>>,
    processors: BTreeMap<String, Entry<ProcessorFn>>,
    stores: BTreeMap<String, Entry<StoreFn>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("sources", &self.sources.keys().collect::<Vec<_>>())
            .field("decoders", &self.decoders.keys().collect::<Vec<_>>())
            .field("processors", &self.processors.keys().collect::<Vec<_>>())
            .field("stores", &self.stores.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Deserializes a factory's parameters, keeping the path of a bad key.
fn params<P: DeserializeOwned>(params: Params) -> ParamResult<P> {
    serde_path_to_error::deserialize(serde_json::Value::Object(params)).map_err(|e| {
        ParamError::Invalid {
            path: e.path().to_string(),
            message: e.into_inner().to_string(),
        }
    })
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The components of this workspace: source `local`; decoders `csv`, `jsonl` and, with the
    /// `parquet` feature, `parquet`; processors `filter`, `map`, `rolling_mean`,
    /// `peak_detection`, `data_quality`, `validate` and `infer_schema`; stores `sqlite` and
    /// `file`; with the `object-store` feature, source and store `object_store` (`path` = a
    /// URI or a directory).
    pub fn standard() -> Self {
        let mut registry = Self::new();
        crate::standard::register(&mut registry);
        registry
    }

    /// Lets `path =` of `kind = "object_store"` sources and stores name a data source
    /// registered in `sources` (`collectors data-source configure … --name NAME`) instead of
    /// a URI: its URI and settings (credentials decrypted in memory) are used, and the
    /// pipeline file then gives no `config` or `options`. A registered name wins over a
    /// directory of the same name (write `./name` for the directory).
    ///
    /// ```no_run
    /// # async fn run() -> collectors_core::Result<()> {
    /// use std::sync::Arc;
    /// use collectors_backends::registry::{ConnectorFactories, DataSourceRegistry};
    /// use collectors_pipeline::{PipelineSpec, Registry};
    ///
    /// let sources = DataSourceRegistry::open("state".as_ref(), ConnectorFactories::standard()).await?;
    /// let mut registry = Registry::standard();
    /// registry.with_data_sources(Arc::new(sources));
    /// let engine = PipelineSpec::from_path("pipeline.toml")?.build(&registry).await?;
    /// # let _ = engine;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "object-store")]
    pub fn with_data_sources(
        &mut self,
        sources: Arc<collectors_backends::registry::DataSourceRegistry>,
    ) -> &mut Self {
        crate::standard_object_store::register_with(self, Some(sources));
        self
    }

    /// Registers (or replaces) the source kind `kind`. `build` gets the source's id, its
    /// parameters and the build context.
    pub fn source<P, F>(&mut self, kind: &str, build: F) -> &mut Self
    where
        P: DeserializeOwned + JsonSchema + 'static,
        F: Fn(&str, P, &BuildContext<'_>) -> Result<BuiltSource> + Send + Sync + 'static,
    {
        self.sources.insert(
            kind.to_owned(),
            Entry {
                schema: bounded_schema_for::<P>(),
                build: Box::new(move |id, p, ctx| Ok(build(id, params(p)?, ctx)?)),
            },
        );
        self
    }

    /// Registers (or replaces) the item format `format`.
    pub fn decoder<P, F>(&mut self, format: &str, build: F) -> &mut Self
    where
        P: DeserializeOwned + JsonSchema + 'static,
        F: Fn(P) -> Result<BuiltDecoder> + Send + Sync + 'static,
    {
        self.decoders.insert(
            format.to_owned(),
            Entry {
                schema: bounded_schema_for::<P>(),
                build: Box::new(move |p, _| Ok(build(params(p)?)?)),
            },
        );
        self
    }

    /// Registers (or replaces) the processor type `kind`. `build` gets the parameters and the
    /// columns flowing in, to check the columns it needs and declare the ones it adds.
    pub fn processor<P, F>(&mut self, kind: &str, build: F) -> &mut Self
    where
        P: DeserializeOwned + JsonSchema + 'static,
        F: Fn(P, &mut Columns) -> Result<Arc<dyn Processor>> + Send + Sync + 'static,
    {
        self.processors.insert(
            kind.to_owned(),
            Entry {
                schema: bounded_schema_for::<P>(),
                build: Box::new(move |p, _, columns| Ok(build(params(p)?, columns)?)),
            },
        );
        self
    }

    /// As [`processor`](Self::processor), for a factory that also needs the
    /// [`BuildContext`] (a path of the spec, the event bus).
    pub fn processor_with_context<P, F>(&mut self, kind: &str, build: F) -> &mut Self
    where
        P: DeserializeOwned + JsonSchema + 'static,
        F: Fn(P, &BuildContext<'_>, &mut Columns) -> Result<Arc<dyn Processor>>
            + Send
            + Sync
            + 'static,
    {
        self.processors.insert(
            kind.to_owned(),
            Entry {
                schema: bounded_schema_for::<P>(),
                build: Box::new(move |p, ctx, columns| Ok(build(params(p)?, ctx, columns)?)),
            },
        );
        self
    }

    /// Registers (or replaces) the store kind `kind`. `build` gets the store's id, its
    /// parameters and the build context.
    pub fn store<P, F>(&mut self, kind: &str, build: F) -> &mut Self
    where
        P: DeserializeOwned + JsonSchema + 'static,
        F: Fn(&str, P, &BuildContext<'_>) -> Result<BuiltStore> + Send + Sync + 'static,
    {
        self.stores.insert(
            kind.to_owned(),
            Entry {
                schema: bounded_schema_for::<P>(),
                build: Box::new(move |id, p, ctx| Ok(build(id, params(p)?, ctx)?)),
            },
        );
        self
    }

    /// The JSON Schema of every component's parameters:
    /// `{"sources": {kind: schema}, "decoders": …, "processors": …, "stores": …}`.
    pub fn schemas(&self) -> serde_json::Value {
        fn all<F: ?Sized>(m: &BTreeMap<String, Entry<F>>) -> serde_json::Value {
            m.iter()
                .map(|(k, e)| (k.clone(), e.schema.clone()))
                .collect::<serde_json::Map<_, _>>()
                .into()
        }
        serde_json::json!({
            "sources": all(&self.sources),
            "decoders": all(&self.decoders),
            "processors": all(&self.processors),
            "stores": all(&self.stores),
        })
    }

    /// The JSON Schema of a whole [`PipelineSpec`](crate::PipelineSpec) for this registry:
    /// each `source` is one of the registered source kinds with one of the decoders (its
    /// options table included), each `processor` one of the processor types, the `store`
    /// and each `replica` one of the store kinds, each with exactly its own parameters.
    /// Component definitions sit in `$defs` as `source.{kind}.{format}`, `decoder.{format}`,
    /// `processor.{type}` and `store.{kind}`. A document valid under it passes the spec's
    /// own checks but for what a schema cannot say (unique source ids, a component's checks
    /// across keys); a form or a test generator can work from it alone.
    ///
    /// ```
    /// let schema = collectors_pipeline::Registry::standard().pipeline_schema();
    /// let rolling = &schema["$defs"]["processor.rolling_mean"];
    /// assert_eq!(rolling["properties"]["type"]["const"], "rolling_mean");
    /// assert_eq!(rolling["additionalProperties"], false);
    /// ```
    pub fn pipeline_schema(&self) -> serde_json::Value {
        crate::schema::pipeline_schema(self)
    }

    /// The JSON Schema of the parameters of processor type `kind`, if registered.
    pub fn processor_schema(&self, kind: &str) -> Option<&serde_json::Value> {
        self.processors.get(kind).map(|e| &e.schema)
    }

    /// The processor types, sorted.
    pub fn processor_kinds(&self) -> Vec<&str> {
        self.processors.keys().map(String::as_str).collect()
    }

    pub(crate) fn build_source(
        &self,
        kind: &str,
        id: &str,
        p: Params,
        ctx: &BuildContext<'_>,
    ) -> Option<ParamResult<BuiltSource>> {
        self.sources.get(kind).map(|e| (e.build)(id, p, ctx))
    }

    pub(crate) fn build_decoder(
        &self,
        format: &str,
        p: Params,
        ctx: &BuildContext<'_>,
    ) -> Option<ParamResult<BuiltDecoder>> {
        self.decoders.get(format).map(|e| (e.build)(p, ctx))
    }

    pub(crate) fn has_decoder(&self, format: &str) -> bool {
        self.decoders.contains_key(format)
    }

    pub(crate) fn build_processor(
        &self,
        kind: &str,
        p: Params,
        ctx: &BuildContext<'_>,
        columns: &mut Columns,
    ) -> Option<ParamResult<Arc<dyn Processor>>> {
        self.processors
            .get(kind)
            .map(|e| (e.build)(p, ctx, columns))
    }

    pub(crate) fn build_store(
        &self,
        kind: &str,
        id: &str,
        p: Params,
        ctx: &BuildContext<'_>,
    ) -> Option<ParamResult<BuiltStore>> {
        self.stores.get(kind).map(|e| (e.build)(id, p, ctx))
    }

    pub(crate) fn kinds(&self, what: Kind) -> String {
        let names: Vec<&str> = match what {
            Kind::Source => self.sources.keys().map(String::as_str).collect(),
            Kind::Decoder => self.decoders.keys().map(String::as_str).collect(),
            Kind::Processor => self.processors.keys().map(String::as_str).collect(),
            Kind::Store => self.stores.keys().map(String::as_str).collect(),
        };
        names.join(", ")
    }
}

/// The four kinds of components.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Source,
    Decoder,
    Processor,
    Store,
}
