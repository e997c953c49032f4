//! [`StoreLedger`]: what a database store keeps in its own transaction besides records.

use std::sync::Arc;

use crate::engine::checkpoint_store::{CheckpointStore, TransactionalCheckpoints};
use crate::engine::dead_letter::DeadLetterStore;

/// The checkpoints and dead letters a store keeps in its own database, handed to the engine
/// through [`StorageBackend::ledger`](crate::StorageBackend::ledger).
///
/// An engine whose only store has a ledger uses it by itself: each item's checkpoint commits
/// in the same transaction as its last records (through `commit`), `checkpoints` reads them
/// back, and dead letters go to `dead_letters`, in the same database, keyed by
/// [`DeadLetter::key`](crate::DeadLetter::key) so that a redone item or two overlapping
/// runs never write a letter twice. Nothing has to be wired by hand, so the checkpoints
/// cannot end up in a database other than the one the records commit to.
#[derive(Clone)]
#[non_exhaustive]
pub struct StoreLedger {
    /// Commits records with the checkpoints they complete.
    pub commit: Arc<dyn TransactionalCheckpoints>,
    /// Reads (and, outside a batch, writes) the checkpoints `commit` writes.
    pub checkpoints: Arc<dyn CheckpointStore>,
    /// The store's dead letters.
    pub dead_letters: Arc<dyn DeadLetterStore>,
}

impl StoreLedger {
    /// A ledger of three views on one database.
    pub fn new(
        commit: Arc<dyn TransactionalCheckpoints>,
        checkpoints: Arc<dyn CheckpointStore>,
        dead_letters: Arc<dyn DeadLetterStore>,
    ) -> Self {
        Self {
            commit,
            checkpoints,
            dead_letters,
        }
    }
}

impl std::fmt::Debug for StoreLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreLedger").finish_non_exhaustive()
    }
}
