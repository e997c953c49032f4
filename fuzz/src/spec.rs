//! The pipeline spec loader's side of the fuzzing: a registry whose factories touch nothing
//! outside the process.

use std::path::PathBuf;
use std::sync::Arc;

use collectors_core::{Error, InMemorySource};
use collectors_pipeline::{BuiltSource, LocalInputs, Registry};
use schemars::JsonSchema;
use serde::Deserialize;

/// The parameters of the standard `local` source.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct LocalParams {
    path: PathBuf,
    #[serde(default)]
    pattern: Option<String>,
}

/// [`Registry::standard`] with its `local` source replaced by one that checks the same
/// parameters (the glob included) but does not look at the directory: an empty in-memory
/// source. Every other factory is the standard one; none of them opens a file or a
/// connection while a spec is checked ([`PipelineSpec::components`]).
///
/// [`PipelineSpec::components`]: collectors_pipeline::PipelineSpec::components
pub fn offline_registry() -> Registry {
    let mut registry = Registry::standard();
    registry.source("local", |id, p: LocalParams, ctx| {
        let pattern = p.pattern.unwrap_or_else(|| "**/*".to_owned());
        let glob = globset::Glob::new(&pattern)
            .map_err(|e| Error::configuration(format!("`pattern` is not a valid glob: {e}")))?;
        let patterns = globset::GlobSet::builder()
            .add(glob)
            .build()
            .map_err(|e| Error::configuration(format!("`pattern`: {e}")))?;
        Ok(BuiltSource {
            source: Arc::new(InMemorySource::new(id)),
            reads: Some(LocalInputs {
                dir: ctx.resolve(&p.path),
                patterns,
            }),
        })
    });
    registry
}
