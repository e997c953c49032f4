//! [`ItemKey`]: an item within a run, as the worker, the run context and the store stage
//! name it.

/// Identifies an item within a run.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ItemKey {
    pub(crate) source_id: String,
    pub(crate) item_id: String,
    /// The version being read (one per item within a run).
    pub(crate) version: String,
}
