//! [`KeyedState`]: the state a processor keeps across the items of a source (or, per item,
//! from an item's first batch to its last), and its checkpoint.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use collectors_core::{Error, ItemContext, Result, StateScope};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// One `T` per source id (or per item id, when the state restarts with each item), shared by
/// the batches that work on it, saved into and restored from the item checkpoints.
#[derive(Debug)]
pub(crate) struct KeyedState<T> {
    per_item: bool,
    /// What the state is, for errors: "rolling mean state".
    what: &'static str,
    states: Mutex<HashMap<String, Arc<Mutex<T>>>>,
}

impl<T: Default + Serialize + DeserializeOwned> KeyedState<T> {
    pub(crate) fn new(per_item: bool, what: &'static str) -> Self {
        Self {
            per_item,
            what,
            states: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Mutex<T>>>> {
        self.states.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The state a batch of `context` works on: its source's, or with per-item state its
    /// item's, fresh at the item's first batch. Items may run in parallel; the batches of
    /// one item take turns on it.
    pub(crate) fn for_batch(&self, context: &ItemContext) -> Arc<Mutex<T>> {
        if self.per_item {
            self.entry(&context.item_id, context.batch_index == 0)
        } else {
            self.entry(&context.source_id, false)
        }
    }

    /// The state the batches of `context` worked on, if one is held (never creates one).
    pub(crate) fn current(&self, context: &ItemContext) -> Option<Arc<Mutex<T>>> {
        let id = if self.per_item {
            &context.item_id
        } else {
            &context.source_id
        };
        self.get(id)
    }

    /// The state of `id`, started afresh when `fresh` or when there is none.
    pub(crate) fn entry(&self, id: &str, fresh: bool) -> Arc<Mutex<T>> {
        let mut states = self.lock();
        if fresh {
            states.remove(id);
        }
        states.entry(id.to_owned()).or_default().clone()
    }

    /// The state of `id`, if one is held.
    pub(crate) fn get(&self, id: &str) -> Option<Arc<Mutex<T>>> {
        self.lock().get(id).cloned()
    }

    /// Forgets the state of `id`, returning it.
    pub(crate) fn remove(&self, id: &str) -> Option<Arc<Mutex<T>>> {
        self.lock().remove(id)
    }

    /// How many states are held.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// Per-item state ends with its item.
    pub(crate) fn finish_item(&self, item_id: &str) {
        if self.per_item {
            self.remove(item_id);
        }
    }

    pub(crate) fn scope(&self) -> StateScope {
        if self.per_item {
            StateScope::Item
        } else {
            StateScope::Source
        }
    }

    /// The state of source `source_id` as JSON, for its item checkpoint (none per item).
    pub(crate) fn save(&self, source_id: &str) -> Result<Option<serde_json::Value>> {
        if self.per_item {
            return Ok(None);
        }
        let Some(state) = self.get(source_id) else {
            return Ok(None);
        };
        let state = state.lock().unwrap_or_else(PoisonError::into_inner);
        serde_json::to_value(&*state)
            .map(Some)
            .map_err(|e| Error::processing(format!("{}: {e}", self.what)).with_source(e))
    }

    /// Puts back the state of source `source_id` from its checkpoint (`None`: a fresh
    /// start); `rebuild` restores what the JSON does not carry (indexes).
    pub(crate) fn restore(
        &self,
        source_id: &str,
        state: Option<serde_json::Value>,
        rebuild: impl FnOnce(&mut T),
    ) -> Result<()> {
        if self.per_item {
            return Ok(());
        }
        let Some(state) = state else {
            self.remove(source_id);
            return Ok(());
        };
        let mut value: T = serde_json::from_value(state).map_err(|e| {
            Error::invalid_state(format!(
                "the checkpointed {} of `{source_id}` is unreadable: {e}",
                self.what
            ))
        })?;
        rebuild(&mut value);
        self.lock()
            .insert(source_id.to_owned(), Arc::new(Mutex::new(value)));
        Ok(())
    }
}
