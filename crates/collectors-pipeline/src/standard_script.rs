//! `[[processor]] type = "script"`: a user's sandboxed Rhai script (feature `scripts`).

use std::sync::Arc;

use collectors_core::Processor;
use collectors_processors::{ScriptConfig, ScriptProcessor};

use crate::registry::Registry;

/// Registers `script`: the parameters are [`ScriptConfig`]'s (`name`, `params`,
/// `scripts_dir` resolved against the pipeline file, `limits`). The script is read and
/// compiled at build, so a missing file or a syntax error fails the build; its output
/// columns are decided by the script, so later steps are not checked against them.
pub(crate) fn register(registry: &mut Registry) {
    registry.processor_with_context("script", |mut config: ScriptConfig, ctx, columns| {
        config.scripts_dir = ctx.resolve(&config.scripts_dir);
        let script = ScriptProcessor::new(config)?;
        columns.replace(None);
        Ok(Arc::new(script) as Arc<dyn Processor>)
    });
}
