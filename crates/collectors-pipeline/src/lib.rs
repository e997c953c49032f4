//! Pipelines as data: a [`PipelineSpec`] read from TOML or JSON, the component [`Registry`]
//! it is built from (every factory with the JSON Schema of its parameters), the wiring of an
//! [`Engine`](collectors_core::Engine), and dead-letter replay.
//!
//! The `collectors` CLI, the REST service and host apps all build their engines here:
//!
//! ```no_run
//! use collectors_core::CancellationToken;
//! use collectors_pipeline::{PipelineSpec, Registry};
//!
//! # async fn demo() -> collectors_core::Result<()> {
//! let spec = PipelineSpec::from_path("examples/sensors/pipeline.toml")?;
//! let engine = spec.build(&Registry::standard()).await?;
//! let summary = engine.run(CancellationToken::new()).await?;
//! println!("{} records stored", summary.counts.stored);
//! # Ok(()) }
//! ```

mod build;
mod defaults;
mod locate;
mod outputs;
mod redact;
mod registry;
mod replay;
pub mod schema;
mod spec;
mod standard;
#[cfg(feature = "object-store")]
mod standard_object_store;
#[cfg(feature = "postgres")]
mod standard_postgres;
#[cfg(feature = "scripts")]
mod standard_script;

pub use build::{BoundSource, Components};
pub use defaults::{EngineSpec, RetrySpec};
pub use registry::{
    BuildContext, BuiltDecoder, BuiltSource, BuiltStore, Columns, LocalInputs, Registry,
};
pub use replay::{ReplayReport, replay_dead_letters};
pub use spec::{
    CheckpointsSpec, DeadLetterSpec, Params, PipelineSpec, ProcessorSpec, SourceSpec, StoreSpec,
};
