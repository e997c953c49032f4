//! [`Groups`]: the series of one source (or item), one per key.

use std::collections::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef};
use serde::{Deserialize, Serialize};

use super::series::Series;

/// The key of a series.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(super) enum GroupKey {
    /// A null key, or no key column (one series).
    Null,
    Int(i64),
    Text(String),
}

/// The key column of a batch, cast to the type series are keyed by.
pub(super) enum Keys {
    /// No key: one series.
    One,
    /// An `Int64` array.
    Int(ArrayRef),
    /// A `Utf8` array.
    Text(ArrayRef),
}

/// The series of one source (or item), in the order their keys first appeared.
/// Serializable, floats bit for bit, so the state is checkpointed exactly.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(super) struct Groups {
    pub(super) series: Vec<(GroupKey, Series)>,
    #[serde(skip)]
    ints: HashMap<i64, usize>,
    #[serde(skip)]
    text: HashMap<String, usize>,
    #[serde(skip)]
    null: Option<usize>,
}

impl Groups {
    /// Rebuilds the key index after a restore.
    pub(super) fn reindex(&mut self) {
        self.ints.clear();
        self.text.clear();
        self.null = None;
        for (at, (key, _)) in self.series.iter().enumerate() {
            match key {
                GroupKey::Null => self.null = Some(at),
                GroupKey::Int(int) => {
                    self.ints.insert(*int, at);
                }
                GroupKey::Text(text) => {
                    self.text.insert(text.clone(), at);
                }
            }
        }
    }

    fn add(&mut self, key: GroupKey) -> usize {
        self.series.push((key, Series::default()));
        self.series.len() - 1
    }

    /// The series of row `row`'s key, created the first time the key is seen.
    pub(super) fn slot(&mut self, keys: &Keys, row: usize) -> usize {
        match keys {
            Keys::Int(array) if array.is_valid(row) => {
                let key = array.as_primitive::<Int64Type>().value(row);
                match self.ints.get(&key) {
                    Some(&at) => at,
                    None => {
                        let at = self.add(GroupKey::Int(key));
                        self.ints.insert(key, at);
                        at
                    }
                }
            }
            Keys::Text(array) if array.is_valid(row) => {
                let key = array.as_string::<i32>().value(row);
                match self.text.get(key) {
                    Some(&at) => at,
                    None => {
                        let at = self.add(GroupKey::Text(key.to_owned()));
                        self.text.insert(key.to_owned(), at);
                        at
                    }
                }
            }
            _ => match self.null {
                Some(at) => at,
                None => {
                    let at = self.add(GroupKey::Null);
                    self.null = Some(at);
                    at
                }
            },
        }
    }
}
