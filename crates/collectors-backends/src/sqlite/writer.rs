//! [`WriterSlot`]: the store's one write connection, on `rusqlite`, and the transactions run
//! on it.
//!
//! Why a connection of its own: `sqlx` runs every statement on its worker thread and copies
//! every bound value to send it there; the bulk path binds values straight from the Arrow
//! arrays into statements prepared once, on a blocking thread, with no hand-off per
//! statement. Everything that must commit with the data (the records, their rows, the
//! checkpoints of the ledger) runs in one transaction on this connection; reads and the
//! other bookkeeping stay on the `sqlx` pool (see `docs/design.md`).
//!
//! - A file database is opened like the pool's connections: WAL, `synchronous=NORMAL`, the
//!   same busy timeout and size cap, so the two sides wait for each other's locks instead of
//!   failing.
//! - An in-memory database is opened by name in shared-cache mode (the pool opens it the
//!   same way, see `connection.rs`): both sides see one database, which lives while the
//!   pool's connection does. Shared-cache locks are waited for through `unlock_notify`.
//! - A transaction always ends: on failure it is rolled back; when the `ROLLBACK` fails and
//!   SQLite has not ended the transaction by itself, the connection is closed (which rolls
//!   back for sure) and the next write opens a new one.

use std::sync::{Arc, Mutex, PoisonError};

use collectors_core::{Error, Result};
use rusqlite::{Connection, OpenFlags};

use super::connection::{Database, max_pages};
use super::error::from_rusqlite;

/// Prepared statements kept per connection: the row inserts, the record upsert, the range
/// delete, the checkpoint writes, with room to spare.
const STATEMENT_CACHE: usize = 32;

/// The write connection of a store and the clones of it its ledger hands out.
#[derive(Debug, Clone, Default)]
pub(crate) struct WriterSlot(Arc<Mutex<Writer>>);

#[derive(Debug, Default)]
struct Writer {
    /// Set while the store is connected.
    database: Option<Database>,
    /// Opened on connect; `None` after a transaction that could not be ended, until the
    /// next write opens it again.
    conn: Option<Connection>,
}

impl WriterSlot {
    /// Opens the write connection on `database` (the pool must be open already, so that an
    /// in-memory database exists).
    pub(crate) async fn open(&self, database: &Database) -> Result<()> {
        let slot = self.0.clone();
        let database = database.clone();
        blocking(move || {
            let conn = open(&database)?;
            let mut writer = slot.lock().unwrap_or_else(PoisonError::into_inner);
            writer.conn = Some(conn);
            writer.database = Some(database);
            Ok(())
        })
        .await
    }

    /// Closes the write connection; later transactions fail with a connection error.
    pub(crate) async fn close(&self) {
        let slot = self.0.clone();
        // Waits for a transaction under way to end first.
        let closed = blocking(move || {
            let mut writer = slot.lock().unwrap_or_else(PoisonError::into_inner);
            writer.database = None;
            writer.conn = None;
            Ok(())
        })
        .await;
        if let Err(e) = closed {
            tracing::warn!(error = %e, "closing the SQLite write connection");
        }
    }

    /// Runs `work` in one `BEGIN IMMEDIATE` transaction on the write connection, on a
    /// blocking thread: committed when it returns `Ok`, rolled back otherwise.
    ///
    /// A caller that stops waiting does not stop the transaction: it runs to its end,
    /// committed or rolled back, never half-way.
    pub(crate) async fn transaction<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let slot = self.0.clone();
        blocking(move || {
            slot.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .transaction(work)
        })
        .await
    }
}

impl Writer {
    fn transaction<T>(&mut self, work: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let Some(database) = &self.database else {
            return Err(Error::connection("not connected to a SQLite database"));
        };
        // Taken out while in use: if `work` panics, dropping it closes the connection,
        // which rolls the transaction back.
        let conn = match self.conn.take() {
            Some(conn) => conn,
            None => open(database)?,
        };
        let outcome = conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| from_rusqlite(e, "starting a transaction"))
            .and_then(|()| work(&conn))
            .and_then(|value| {
                conn.execute_batch("COMMIT")
                    .map(|()| value)
                    .map_err(|e| from_rusqlite(e, "committing"))
            });
        if outcome.is_ok() || end(&conn) {
            self.conn = Some(conn);
        }
        outcome
    }
}

/// Rolls back whatever transaction `conn` is in; `false` when it may still be open.
fn end(conn: &Connection) -> bool {
    match conn.execute_batch("ROLLBACK") {
        Ok(()) => true,
        // SQLite ends a transaction by itself after some failures (a full disk, a failed
        // COMMIT); then there is nothing left to roll back.
        Err(_) if conn.is_autocommit() => true,
        Err(error) => {
            tracing::warn!(%error, "cannot end a SQLite transaction; closing its connection");
            false
        }
    }
}

/// Opens a write connection on `database`, set up like the pool's connections.
fn open(database: &Database) -> Result<Connection> {
    let what = format!("opening SQLite database {}", database.display);
    let fail = |e: rusqlite::Error| {
        let cause = from_rusqlite(e, &what);
        Error::connection(cause.message().to_owned()).with_source(cause)
    };
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if database.create_if_missing {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    if database.in_memory {
        flags |= OpenFlags::SQLITE_OPEN_MEMORY | OpenFlags::SQLITE_OPEN_SHARED_CACHE;
    } else {
        flags |= OpenFlags::SQLITE_OPEN_PRIVATE_CACHE;
    }
    let conn = Connection::open_with_flags(database.options.get_filename(), flags).map_err(fail)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.busy_timeout(database.busy_timeout).map_err(fail)?;
    conn.execute_batch("PRAGMA synchronous = NORMAL")
        .map_err(fail)?;
    if !database.in_memory {
        // Answers with the mode now in use.
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .map_err(fail)?;
    }
    if let Some(max_size) = database.max_size {
        let page_size: i64 = conn
            .query_row("PRAGMA page_size", [], |row| row.get(0))
            .map_err(fail)?;
        let sql = format!("PRAGMA max_page_count = {}", max_pages(max_size, page_size));
        conn.query_row(&sql, [], |_| Ok(())).map_err(fail)?;
    }
    Ok(conn)
}

/// Runs `f` on tokio's blocking threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::invalid_state(format!("the SQLite write task did not finish: {e}")))?
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn file_database(dir: &tempfile::TempDir) -> Database {
        Database::file(&dir.path().join("w.db"), Duration::from_secs(5), true, 1)
    }

    fn count(conn: &Connection) -> Result<i64> {
        conn.query_row("SELECT COUNT(*) FROM t", [], |row| row.get(0))
            .map_err(|e| from_rusqlite(e, "counting"))
    }

    #[tokio::test]
    async fn a_failed_transaction_keeps_nothing_and_the_next_one_works() {
        let dir = tempfile::tempdir().unwrap();
        let writer = WriterSlot::default();
        writer.open(&file_database(&dir)).await.unwrap();
        writer
            .transaction(|conn| {
                conn.execute_batch("CREATE TABLE t (v INTEGER)")
                    .map_err(|e| from_rusqlite(e, "creating"))
            })
            .await
            .unwrap();
        let err = writer
            .transaction(|conn| {
                conn.execute_batch("INSERT INTO t VALUES (1)")
                    .map_err(|e| from_rusqlite(e, "inserting"))?;
                Err::<(), _>(Error::validation("the batch is refused"))
            })
            .await
            .unwrap_err();
        assert_eq!(err.message(), "the batch is refused");
        let rows = writer.transaction(count).await.unwrap();
        assert_eq!(rows, 0, "the refused insert was rolled back");
    }

    #[tokio::test]
    async fn a_transaction_sqlite_already_ended_leaves_the_connection_usable() {
        let dir = tempfile::tempdir().unwrap();
        let writer = WriterSlot::default();
        writer.open(&file_database(&dir)).await.unwrap();
        // What SQLite does by itself when a statement fails for lack of space: the
        // transaction is gone, so COMMIT fails and so does the ROLLBACK after it.
        let err = writer
            .transaction(|conn| {
                conn.execute_batch("CREATE TABLE t (v INTEGER); ROLLBACK")
                    .map_err(|e| from_rusqlite(e, "creating"))
            })
            .await
            .unwrap_err();
        assert!(err.message().starts_with("committing"), "{err}");
        writer
            .transaction(|conn| {
                conn.execute_batch("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (2)")
                    .map_err(|e| from_rusqlite(e, "inserting"))
            })
            .await
            .unwrap();
        assert_eq!(writer.transaction(count).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_closed_writer_is_a_connection_error() {
        let dir = tempfile::tempdir().unwrap();
        let writer = WriterSlot::default();
        let before = writer.transaction(|_| Ok(())).await.unwrap_err();
        assert_eq!(before.error_type(), collectors_core::ErrorType::Connection);
        writer.open(&file_database(&dir)).await.unwrap();
        writer.transaction(|_| Ok(())).await.unwrap();
        writer.close().await;
        let after = writer.transaction(|_| Ok(())).await.unwrap_err();
        assert_eq!(after.error_type(), collectors_core::ErrorType::Connection);
    }
}
