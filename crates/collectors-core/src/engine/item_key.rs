//! [`ItemKey`]: an item within a run, as the worker, the run context and the store stage
//! name it.

use std::ops::Deref;
use std::sync::Arc;

/// Identifies an item within a run. Cheap to clone: every record of the item carries it to
/// the store stage, which keys its bookkeeping by it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ItemKey(Arc<ItemName>);

/// What an [`ItemKey`] names.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct ItemName {
    pub(crate) source_id: String,
    pub(crate) item_id: String,
    /// The version being read (one per item within a run).
    pub(crate) version: String,
}

impl ItemKey {
    pub(crate) fn new(source_id: String, item_id: String, version: String) -> Self {
        Self(Arc::new(ItemName {
            source_id,
            item_id,
            version,
        }))
    }
}

impl Deref for ItemKey {
    type Target = ItemName;

    fn deref(&self) -> &ItemName {
        &self.0
    }
}
