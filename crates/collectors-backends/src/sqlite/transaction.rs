//! [`Transaction`]: a transaction that always ends, so a failed statement, `COMMIT` or
//! `ROLLBACK` never leaves a pooled connection inside a transaction.
//!
//! Why not `sqlx`'s own `Transaction`: it counts the depth itself. When SQLite rolls a
//! transaction back on its own (after a failed `COMMIT`, and after `SQLITE_FULL` or
//! `SQLITE_IOERR` in a statement), the explicit `ROLLBACK` fails with "no transaction is
//! active", the count stays at 1, and every later `begin` on that connection fails with
//! "attempted to call begin_with at non-zero transaction depth" — even once the disk has
//! room again. Here the transaction is plain SQL on a connection held for its whole life:
//!
//! - on failure it is rolled back;
//! - when the `ROLLBACK` fails, a `BEGIN` probes the connection: if it succeeds, SQLite had
//!   already ended the transaction and the connection is clean (it is kept, which matters
//!   for an in-memory database: closing its connection would drop the data);
//! - when even that fails, the connection is closed instead of going back to the pool,
//!   which ends the transaction for sure;
//! - a transaction dropped half-way (its future cancelled) is ended the same way on a
//!   background task, which holds the connection until then.

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
    /// `None` once the transaction has ended and the connection gone back to the pool.
    conn: Option<PoolConnection<Sqlite>>,
}

impl Transaction {
    /// Takes a connection from `pool` and runs `begin` ([`BEGIN_WRITE`] or [`BEGIN_READ`]).
    pub(crate) async fn begin(pool: &SqlitePool, begin: &'static str) -> sqlx::Result<Self> {
        let mut conn = pool.acquire().await?;
        // A failed BEGIN opens nothing; the connection goes back to the pool as it was.
        (&mut *conn).execute(begin).await?;
        Ok(Self { conn: Some(conn) })
    }

    /// The connection, to run the transaction's statements on.
    pub(crate) fn conn(&mut self) -> &mut SqliteConnection {
        match self.conn.as_mut() {
            Some(conn) => conn,
            // `conn` is taken only by the methods that consume the transaction.
            None => unreachable!("a transaction is used after it ended"),
        }
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
        let Some(mut conn) = self.conn.take() else {
            return Ok(());
        };
        match (&mut *conn).execute("COMMIT").await {
            Ok(_) => Ok(()),
            Err(e) => {
                end(conn).await;
                Err(e)
            }
        }
    }

    /// Rolls back, discarding the connection if that cannot be done. Nothing to report: the
    /// caller is already returning the error that made it give up.
    pub(crate) async fn rollback(mut self) {
        if let Some(conn) = self.conn.take() {
            end(conn).await;
        }
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(end(conn));
            }
            // No runtime to roll back on: closing the connection rolls back for sure.
            Err(_) => conn.close_on_drop(),
        }
    }
}

/// Ends whatever transaction `conn` is in, then lets it go: back to the pool when it is
/// known to be clean, closed otherwise.
async fn end(mut conn: PoolConnection<Sqlite>) {
    let error = match (&mut *conn).execute("ROLLBACK").await {
        Ok(_) => return,
        Err(e) => e,
    };
    // SQLite may have rolled back by itself: then a new transaction can start.
    if (&mut *conn).execute("BEGIN").await.is_ok() && (&mut *conn).execute("ROLLBACK").await.is_ok()
    {
        tracing::debug!(%error, "ROLLBACK failed, but SQLite had already ended the transaction");
        return;
    }
    tracing::warn!(%error, "cannot end a SQLite transaction; closing its connection");
    conn.close_on_drop();
}

#[cfg(test)]
mod tests {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

    use super::*;

    /// One connection to an in-memory database: closing it would lose the table.
    async fn one_connection() -> SqlitePool {
        let options = SqliteConnectOptions::new().in_memory(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
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
        let pool = one_connection().await;
        let mut tx = Transaction::begin(&pool, BEGIN_WRITE).await.unwrap();
        tx.conn().execute("INSERT INTO t VALUES (1)").await.unwrap();
        // What SQLite does by itself when a COMMIT fails for lack of space.
        tx.conn().execute("ROLLBACK").await.unwrap();
        assert!(tx.commit().await.is_err(), "no transaction is active");

        let mut tx = Transaction::begin(&pool, BEGIN_WRITE).await.unwrap();
        tx.conn().execute("INSERT INTO t VALUES (2)").await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            count(&pool).await,
            1,
            "only the second write is kept, and the connection (with the data) too"
        );
    }

    #[tokio::test]
    async fn a_transaction_dropped_half_way_keeps_nothing_and_frees_its_connection() {
        // The rollback runs on a background task holding the connection: the next begin
        // waits for it.
        let pool = one_connection().await;
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
