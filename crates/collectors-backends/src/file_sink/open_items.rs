//! [`OpenItems`]: the source items in flight of a file or object sink, one open temp file
//! each, fed by `store_batch` and closed by `finish_item`.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::sync::{Arc, Mutex, MutexGuard};

use collectors_core::{Error, Record, Result, SourceItem};
use tempfile::NamedTempFile;

use super::format::FileFormat;
use super::item_file::{ItemFileWriter, ItemStamp};

/// The item path `{source}/{item}` of a record the engine made for a source item: its key is
/// `{source}/{item}#{batch}` and its metadata names the same `source_id`, `item_id` and
/// `batch` (see [`StorageBackend`](collectors_core::StorageBackend)'s contract). Any other
/// record is stored on its own.
pub(crate) fn item_of(record: &Record) -> Option<String> {
    let field = |name: &str| record.metadata.get(name);
    let source = field("source_id")?.as_str()?;
    let item = field("item_id")?.as_str()?;
    let batch = field("batch")?.as_u64()?;
    let path = format!("{source}/{item}");
    (record.key.len() == path.len() + 1 + count_digits(batch)
        && record.key.starts_with(&path)
        && record.key[path.len()..] == format!("#{batch}"))
    .then_some(path)
}

fn count_digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// The item path of a source item, as [`item_of`] names its records'.
pub(crate) fn path_of(item: &SourceItem) -> String {
    format!("{}/{}", item.source_id, item.item_id)
}

/// One item being written.
pub(crate) struct OpenItem {
    /// Removed on drop unless published.
    pub(crate) temp: NamedTempFile,
    writer: ItemFileWriter,
    /// Keys written: a retried batch does not write them twice.
    keys: HashSet<String>,
}

/// An item's file, closed and ready to publish.
pub(crate) struct ClosedItem {
    /// Removed on drop unless published.
    pub(crate) temp: NamedTempFile,
    /// Its sidecar index (CSV), published after it.
    pub(crate) sidecar: Option<Vec<u8>>,
}

impl OpenItem {
    /// Closes the file (flushed, and synced when `sync`) for publishing; `None` when it holds
    /// no record.
    pub(crate) fn close(self, item: &SourceItem, sync: bool) -> Result<Option<ClosedItem>> {
        let stamp = ItemStamp {
            source_id: item.source_id.clone(),
            item_id: item.item_id.clone(),
            version: item.version.clone(),
        };
        let temp = self.temp;
        let Some(finished) = self.writer.finish(&stamp)? else {
            return Ok(None);
        };
        if sync {
            finished.file.sync_all().map_err(|e| {
                Error::storage(format!("syncing {}: {e}", temp.path().display())).with_source(e)
            })?;
        }
        Ok(Some(ClosedItem {
            temp,
            sidecar: finished.sidecar,
        }))
    }
}

enum Slot {
    Open(Box<OpenItem>),
    /// Being written on a blocking thread.
    Busy,
    /// A write failed half-way: the item cannot be published, only redone.
    Broken(String),
}

/// Makes the temp file of an item (given its item path).
pub(crate) type MakeTemp = dyn Fn(&str) -> Result<NamedTempFile> + Send + Sync;

/// The items in flight, by item path.
pub(crate) struct OpenItems {
    format: FileFormat,
    /// Whether a closed file is fsynced (it is renamed into place) or not (it is uploaded).
    sync: bool,
    slots: Mutex<HashMap<String, Slot>>,
    make_temp: Arc<MakeTemp>,
}

impl std::fmt::Debug for OpenItems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenItems")
            .field("format", &self.format)
            .field("in_flight", &self.lock().len())
            .finish()
    }
}

impl OpenItems {
    pub(crate) fn new(format: FileFormat, sync: bool, make_temp: Arc<MakeTemp>) -> Self {
        Self {
            format,
            sync,
            slots: Mutex::new(HashMap::new()),
            make_temp,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Slot>> {
        // A panic while holding the lock leaves the map as it was: keep using it.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends the records of `groups` (item path → its records, in order) to their items'
    /// files, one blocking task per item. Every record was checked by the caller.
    pub(crate) async fn append(&self, groups: Vec<(String, Vec<Record>)>) -> Result<()> {
        let mut tasks = Vec::with_capacity(groups.len());
        for (path, records) in groups {
            let taken = {
                let mut slots = self.lock();
                match slots.insert(path.clone(), Slot::Busy) {
                    Some(Slot::Open(open)) => Ok(Some(open)),
                    None => Ok(None),
                    Some(Slot::Busy) => Err(Error::invalid_state(format!(
                        "item {path:?} is written by two batches at once"
                    ))),
                    Some(Slot::Broken(why)) => {
                        slots.insert(path.clone(), Slot::Broken(why.clone()));
                        Err(broken(&path, &why))
                    }
                }
            };
            let open = match taken {
                Ok(open) => open,
                Err(e) => {
                    tasks.push(Err((path, e, false)));
                    continue;
                }
            };
            let (format, make_temp) = (self.format, self.make_temp.clone());
            let task_path = path.clone();
            tasks.push(Ok((
                path,
                tokio::task::spawn_blocking(move || {
                    write_records(format, make_temp.as_ref(), &task_path, open, &records)
                }),
            )));
        }
        let mut first_error = None;
        for task in tasks {
            let (path, outcome) = match task {
                Ok((path, handle)) => {
                    let outcome = handle.await.unwrap_or_else(|e| {
                        Err((
                            None,
                            Error::invalid_state(format!("the writing task failed: {e}")),
                            true,
                        ))
                    });
                    (path, outcome)
                }
                Err((_, e, _)) => {
                    first_error.get_or_insert(e);
                    continue;
                }
            };
            let mut slots = self.lock();
            match outcome {
                Ok(open) => {
                    slots.insert(path, Slot::Open(open));
                }
                Err((open, e, poisoned)) => {
                    match (open, poisoned) {
                        (Some(open), false) => slots.insert(path, Slot::Open(open)),
                        (None, false) => slots.remove(&path),
                        (_, true) => slots.insert(path, Slot::Broken(e.to_string())),
                    };
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Takes the item out, closed and ready to publish (`Ok(None)`: nothing was written).
    pub(crate) async fn close(&self, item: &SourceItem) -> Result<Option<ClosedItem>> {
        let path = path_of(item);
        let slot = self.lock().remove(&path);
        match slot {
            None => Ok(None),
            Some(Slot::Broken(why)) => Err(broken(&path, &why)),
            Some(Slot::Busy) => Err(Error::invalid_state(format!(
                "item {path:?} is finished while a batch of it is being written"
            ))),
            Some(Slot::Open(open)) => {
                let (item, sync) = (item.clone(), self.sync);
                tokio::task::spawn_blocking(move || open.close(&item, sync))
                    .await
                    .map_err(|e| Error::invalid_state(format!("the closing task failed: {e}")))?
            }
        }
    }

    /// Drops what is held for `item` (its temp file is removed).
    pub(crate) fn abandon(&self, item: &SourceItem) {
        let slot = self.lock().remove(&path_of(item));
        if slot.is_some() {
            tracing::debug!(item = %item.item_id, "item abandoned; its temp file is removed");
        }
    }

    /// Drops every item in flight.
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }
}

fn broken(path: &str, why: &str) -> Error {
    Error::storage(format!(
        "item {path:?} cannot be published: an earlier write of it failed ({why}); it is redone by a later run"
    ))
}

/// A failed write: the item (unless it is gone), the error, and whether the file is now
/// unusable.
type WriteFailure = (Option<Box<OpenItem>>, Error, bool);

/// Writes `records` to the item's file (opening it first), skipping keys it already holds.
fn write_records(
    format: FileFormat,
    make_temp: &MakeTemp,
    path: &str,
    open: Option<Box<OpenItem>>,
    records: &[Record],
) -> std::result::Result<Box<OpenItem>, WriteFailure> {
    let mut open = match open {
        Some(open) => open,
        None => {
            let opened = make_temp(path).and_then(|temp| {
                let file: File = temp.reopen().map_err(|e| {
                    Error::storage(format!("opening {}: {e}", temp.path().display())).with_source(e)
                })?;
                Ok(Box::new(OpenItem {
                    writer: ItemFileWriter::new(format, file)?,
                    temp,
                    keys: HashSet::new(),
                }))
            });
            opened.map_err(|e| (None, e, false))?
        }
    };
    // Check all first (the sink ran `codec::check`): a record that does not fit fails the
    // batch before anything is written.
    for record in records {
        if let Err(e) = open.writer.check(record) {
            return Err((Some(open), e, false));
        }
    }
    for record in records {
        if open.keys.contains(&record.key) {
            continue;
        }
        let before = open.writer.records();
        if let Err(e) = open.writer.append(record) {
            // Nothing of it written (a schema check, say): the file is still good.
            let poisoned = open.writer.records() != before
                || e.error_type() != collectors_core::ErrorType::Validation;
            return Err((Some(open), e, poisoned));
        }
        open.keys.insert(record.key.clone());
    }
    Ok(open)
}

#[cfg(test)]
mod tests {
    use collectors_core::Payload;

    use super::*;

    fn engine_record(key: &str, source: &str, item: &str, batch: u64) -> Record {
        Record::keyed(key, Payload::Json(serde_json::json!({})))
            .unwrap()
            .with_metadata("source_id", source)
            .with_metadata("item_id", item)
            .with_metadata("batch", batch)
    }

    #[test]
    fn only_engine_shaped_records_belong_to_an_item() {
        let ok = engine_record("src/2024/a.csv#12", "src", "2024/a.csv", 12);
        assert_eq!(item_of(&ok).as_deref(), Some("src/2024/a.csv"));
        assert_eq!(
            item_of(&engine_record("src/a.csv#0", "src", "a.csv", 0)).as_deref(),
            Some("src/a.csv")
        );
        // The key disagrees with the metadata, or a field is missing: stored on its own.
        assert_eq!(
            item_of(&engine_record("src/a.csv#1", "src", "a.csv", 0)),
            None
        );
        assert_eq!(
            item_of(&engine_record("src/b.csv#0", "src", "a.csv", 0)),
            None
        );
        assert_eq!(
            item_of(&engine_record("src/a.csv#01", "src", "a.csv", 1)),
            None
        );
        let plain = Record::keyed("src/a.csv#0", Payload::Empty).unwrap();
        assert_eq!(item_of(&plain), None);
    }
}
