//! A checkpoint as the SQL checkpoint stores (SQLite, PostgreSQL) keep it in a row: the
//! checks between the row and [`ItemCheckpoint`], shared.

use chrono::{DateTime, Utc};
use collectors_core::{Error, ItemCheckpoint, Result};

/// The columns of one checkpoint row, decoded but not yet checked.
pub(crate) struct CheckpointRow {
    pub(crate) source_id: String,
    pub(crate) item_id: String,
    pub(crate) version: String,
    pub(crate) stored: i64,
    pub(crate) skipped: i64,
    pub(crate) dead_lettered: i64,
    pub(crate) completed_at: DateTime<Utc>,
    /// The processor state, as JSON text.
    pub(crate) state: Option<String>,
}

impl CheckpointRow {
    /// The checkpoint; an [`Error::InvalidState`] naming the item when a count is negative or
    /// the state is not JSON.
    pub(crate) fn check(self) -> Result<ItemCheckpoint> {
        let corrupt = |what: String| {
            Error::invalid_state(format!(
                "checkpoint {}/{}: {what}",
                self.source_id, self.item_id
            ))
        };
        let unsigned = |name: &str, value: i64| {
            u64::try_from(value).map_err(|_| corrupt(format!("negative {name} {value}")))
        };
        let state = self
            .state
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| corrupt(format!("unreadable processor state: {e}")))?;
        Ok(ItemCheckpoint {
            stored: unsigned("stored", self.stored)?,
            skipped: unsigned("skipped", self.skipped)?,
            dead_lettered: unsigned("dead_lettered", self.dead_lettered)?,
            state,
            completed_at: self.completed_at,
            version: self.version,
            source_id: self.source_id,
            item_id: self.item_id,
        })
    }
}

/// A count of `item` as a signed 64-bit column value.
pub(crate) fn signed(value: u64, what: &str, item: &ItemCheckpoint) -> Result<i64> {
    i64::try_from(value).map_err(|_| {
        Error::validation(format!(
            "checkpoint of {}/{}: {what} = {value} does not fit a 64-bit signed integer",
            item.source_id, item.item_id
        ))
    })
}
