//! Custom scripts: [`ScriptProcessor`] runs a user's Rhai script on each batch, in a sandbox.
//!
//! One concept per file: `sandbox` (the raw engine and its [`ScriptLimits`]), `convert`
//! (Arrow tables ↔ Rhai maps), `cache` (compiled scripts by content hash), `processor` (the
//! processor and its [`ScriptConfig`]). The script API is documented on
//! [`ScriptProcessor`].

mod cache;
mod convert;
mod processor;
mod sandbox;

pub use processor::{SCRIPT_RESULT_METADATA_KEY, ScriptConfig, ScriptProcessor};
pub use sandbox::{MAX_CALL_LEVELS, ScriptLimits};
