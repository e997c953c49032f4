//! [`Transaction`]: a transaction that always ends, so a failed statement, `COMMIT` or
//! `ROLLBACK` never leaves a pooled connection inside a transaction.
//!
//! Why not `sqlx`'s own `Transaction`: it counts the depth itself. When SQLite rolls a
//! transaction back on its own (after a failed `COMMIT`, and after `SQLITE_FULL` or
//! `SQLITE_IOERR` in a statement), the explicit `ROLLBACK` fails with "no transaction is
//! active", the count stays at 1, and every later `begin` on that connection fails with
//! "attempted to call begin_with at non-zero transaction depth" — even once the disk has
//! room again. Here the transaction is plain SQL on a connection held for its whole life:
//! on failure it is rolled back, and when that is not possible (the rollback fails, or the
//! future is dropped half-way) the connection is closed instead of going back to the pool,
//! which ends the transaction for sure.

use collectors_core::{Error, Result};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnection, SqlitePool};
use sqlx::{Executor, Sqlite};

/// `BEGIN IMMEDIATE`: take the write lock up front, so the transaction cannot fail half-way
/// on a lock another writer took after it started.
pub(crate) const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";
/// `BEGIN`: a read transaction, one snapshot for all its statements.
pub(crate) const BEGIN_READ: &str = "BEGIN";

/// An open transaction on one pooled connection.
pub(crate) struct Transaction {
    conn: PoolConnection<Sqlite>,
    /// Still open (or in an unknown state): the connection is closed on drop.
    open: bool,
}

impl Transaction {
    /// Takes a connection from `pool` and runs `begin` ([`BEGIN_WRITE`] or [`BEGIN_READ`]).
    pub(crate) async fn begin(pool: &SqlitePool, begin: &'static str) -> sqlx::Result<Self> {
        let mut conn = pool.acquire().await?;
        // A failed BEGIN opens nothing; the connection goes back to the pool as it was.
        (&mut *conn).execute(begin).await?;
        Ok(Self { conn, open: true })
    }

    /// The connection, to run the transaction's statements on.
    pub(crate) fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }

    /// Ends the transaction with the outcome of its work: commits when `outcome` is `Ok`
    /// (a failed `COMMIT` becomes `commit_error(e)`), rolls back when it is an error and
    /// returns that error.
    pub(crate) async fn finish<T>(
        self,
        outcome: Result<T>,
        commit_error: impl FnOnce(sqlx::Error) -> Error,
    ) -> Result<T> {
        match outcome {
            Ok(value) => self.commit().await.map(|()| value).map_err(commit_error),
            Err(e) => {
                self.rollback().await;
                Err(e)
            }
        }
    }

    /// Commits. On failure the transaction is rolled back (or the connection discarded) and
    /// the `COMMIT`'s error returned: nothing of the transaction is kept.
    pub(crate) async fn commit(mut self) -> sqlx::Result<()> {
        match (&mut *self.conn).execute("COMMIT").await {
            Ok(_) => {
                self.open = false;
                Ok(())
            }
            Err(e) => {
                self.end().await;
                Err(e)
            }
        }
    }

    /// Rolls back, discarding the connection if even that fails. Nothing to report: the
    /// caller is already returning the error that made it give up.
    pub(crate) async fn rollback(mut self) {
        self.end().await;
    }

    async fn end(&mut self) {
        match (&mut *self.conn).execute("ROLLBACK").await {
            Ok(_) => self.open = false,
            // SQLite may have rolled back already, or the connection is broken: either way
            // `open` stays set and the connection is closed on drop, never reused.
            Err(e) => tracing::debug!(error = %e, "ROLLBACK failed; the connection is discarded"),
        }
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        if self.open {
            // Closing a SQLite connection rolls back whatever it left open.
            self.conn.close_on_drop();
        }
    }
}

#[cfg(test)]
mod tests {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

    use super::*;

    async fn one_connection(dir: &tempfile::TempDir) -> SqlitePool {
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("t.db"))
            .create_if_missing(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap();
        sqlx::raw_sql("CREATE TABLE t (v INTEGER)")
            .execute(&pool)
            .await
            .unwrap();
        pool
    }

    async fn count(pool: &SqlitePool) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_commit_that_fails_after_sqlite_rolled_back_leaves_the_pool_usable() {
        let dir = tempfile::tempdir().unwrap();
        let pool = one_connection(&dir).await;
        let mut tx = Transaction::begin(&pool, BEGIN_WRITE).await.unwrap();
        tx.conn().execute("INSERT INTO t VALUES (1)").await.unwrap();
        // What SQLite does by itself when a COMMIT fails for lack of space.
        tx.conn().execute("ROLLBACK").await.unwrap();
        assert!(tx.commit().await.is_err(), "no transaction is active");

        let mut tx = Transaction::begin(&pool, BEGIN_WRITE).await.unwrap();
        tx.conn().execute("INSERT INTO t VALUES (2)").await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(count(&pool).await, 1, "only the second write is kept");
    }

    #[tokio::test]
    async fn a_transaction_dropped_half_way_keeps_nothing_and_frees_its_connection() {
        let dir = tempfile::tempdir().unwrap();
        let pool = one_connection(&dir).await;
        let mut tx = Transaction::begin(&pool, BEGIN_WRITE).await.unwrap();
        tx.conn().execute("INSERT INTO t VALUES (1)").await.unwrap();
        drop(tx);

        let mut tx = Transaction::begin(&pool, BEGIN_WRITE).await.unwrap();
        tx.conn().execute("INSERT INTO t VALUES (2)").await.unwrap();
        let outcome: Result<()> = Err(Error::validation("the batch is refused"));
        let err = tx.finish(outcome, |_| Error::storage("commit")).await;
        assert!(err.is_err());
        assert_eq!(count(&pool).await, 0);

        let tx = Transaction::begin(&pool, BEGIN_WRITE).await.unwrap();
        tx.finish(Ok(()), |_| Error::storage("commit"))
            .await
            .unwrap();
    }
}
