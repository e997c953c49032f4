//! Connection pools against real PostgreSQL connections: `ConnectionPool` over
//! `PostgresConnector`s, and the sqlx pool under one `PostgresConnector` configured by the
//! same `PoolConfig`. Each test tags its connections with its own `application_name` and
//! counts them in `pg_stat_activity`, the server's own view.
//!
//! The server is the throwaway cluster `scripts/postgres` starts (`COLLECTORS_TEST_POSTGRES_URL`).
//! With `CI=true` a missing server fails these tests; otherwise they say they were skipped.
#![cfg(feature = "postgres")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use collectors_backends::pool::{ConnectionPool, PoolConfig};
use collectors_backends::postgres::PostgresConnector;
use collectors_core::{Connector, ErrorType, ListOptions};
use sqlx::PgPool;

use collectors_mocks::services::postgres_url as server;

/// A test's connections: its URL with an `application_name` of its own, and an admin pool
/// to look at them from the server's side.
struct Tagged {
    url: String,
    app: String,
    admin: PgPool,
}

impl Tagged {
    async fn new(base: &str) -> Self {
        let app = format!("pool_{}", uuid::Uuid::new_v4().simple());
        let sep = if base.contains('?') { '&' } else { '?' };
        // Plain TCP: these tests count backends and kill them, and over TLS the health
        // check after a kill passed once under load (the connector it handed out worked).
        // TLS itself is tested in postgres_tls.rs.
        let url = format!("{base}{sep}application_name={app}&sslmode=disable");
        let admin = PgPool::connect(base).await.unwrap();
        Self { url, app, admin }
    }

    /// A connector whose own sqlx pool holds one connection: one pooled connector, one
    /// backend. Its sqlx health check is off, so a dead connection shows in
    /// `test_connection` (the generic pool's health check is what is tested).
    fn one_connection(
        &self,
    ) -> impl Fn() -> collectors_core::Result<Arc<dyn Connector>> + Send + Sync + 'static {
        let url = self.url.clone();
        move || {
            let c = PostgresConnector::new(&url)?
                .with_pool_config(PoolConfig::new().max_size(1).health_check(false))?;
            Ok(Arc::new(c) as Arc<dyn Connector>)
        }
    }

    /// The backend pids of this test's connections.
    async fn pids(&self) -> Vec<i32> {
        sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid",
        )
        .bind(&self.app)
        .fetch_all(&self.admin)
        .await
        .unwrap()
    }

    /// Waits (10 s at most) until `check` holds for the pids; panics with `what` otherwise.
    async fn until(&self, what: &str, check: impl Fn(&[i32]) -> bool) -> Vec<i32> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let pids = self.pids().await;
            if check(&pids) {
                return pids;
            }
            assert!(Instant::now() < deadline, "{what}: backends {pids:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn terminate_all(&self) {
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
        )
        .bind(&self.app)
        .execute(&self.admin)
        .await
        .unwrap();
        self.until("terminated", |p| p.is_empty()).await;
    }
}

/// Calls `reap` until it has closed something (10 s at most, a short real timeout).
async fn reap_until_expired(pool: &ConnectionPool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while pool.stats().expired == 0 {
        assert!(
            Instant::now() < deadline,
            "nothing expired: {:?}",
            pool.stats()
        );
        pool.reap().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn at_max_size_the_next_acquire_times_out_and_opens_no_connection() {
    let Some(base) = server() else { return };
    let db = Tagged::new(&base).await;
    let config = PoolConfig::new()
        .max_size(2)
        .acquire_timeout(Duration::from_millis(300));
    let pool = ConnectionPool::open("pg", config, db.one_connection())
        .await
        .unwrap();
    let a = pool.get().await.unwrap();
    let b = pool.get().await.unwrap();
    assert_eq!(db.pids().await.len(), 2);

    let err = pool.get().await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Timeout, "{err}");
    assert_eq!(db.pids().await.len(), 2, "no third connection");
    drop(a);
    let c = pool.get().await.unwrap();
    c.test_connection().await.unwrap();
    assert_eq!((pool.stats().created, pool.stats().in_use), (2, 2));
    drop((b, c));
    pool.close().await;
    db.until("closed", |p| p.is_empty()).await;
}

#[tokio::test]
async fn min_size_connections_are_open_before_first_use() {
    let Some(base) = server() else { return };
    let db = Tagged::new(&base).await;
    let config = PoolConfig::new().max_size(5).min_size(3);
    let pool = ConnectionPool::open("pg", config, db.one_connection())
        .await
        .unwrap();
    assert_eq!(db.pids().await.len(), 3);
    assert_eq!((pool.stats().idle, pool.stats().created), (3, 3));
    pool.close().await;
}

#[tokio::test]
async fn max_lifetime_replaces_old_connections_with_new_backends() {
    let Some(base) = server() else { return };
    let db = Tagged::new(&base).await;
    let config = PoolConfig::new()
        .min_size(1)
        .max_lifetime(Some(Duration::from_millis(200)))
        .idle_timeout(None)
        .reap_interval(Duration::from_secs(3600));
    let pool = ConnectionPool::open("pg", config, db.one_connection())
        .await
        .unwrap();
    let before = db.pids().await;
    assert_eq!(before.len(), 1);
    reap_until_expired(&pool).await;
    // The old backend is gone; min_size opened a new one.
    let after = db
        .until("one new backend", |p| {
            p.len() == 1 && p != before.as_slice()
        })
        .await;
    assert_ne!(after, before);
    assert_eq!(pool.stats().created, 2);
    pool.close().await;
}

#[tokio::test]
async fn the_idle_timeout_closes_unused_connections() {
    let Some(base) = server() else { return };
    let db = Tagged::new(&base).await;
    let config = PoolConfig::new()
        .idle_timeout(Some(Duration::from_millis(200)))
        .reap_interval(Duration::from_secs(3600));
    let pool = ConnectionPool::open("pg", config, db.one_connection())
        .await
        .unwrap();
    drop(pool.get().await.unwrap());
    assert_eq!(db.pids().await.len(), 1);
    reap_until_expired(&pool).await;
    assert_eq!(pool.stats().total, 0);
    db.until("the idle backend closed", |p| p.is_empty()).await;
}

#[tokio::test]
async fn a_killed_backend_fails_the_health_check_and_the_next_get_is_healthy() {
    let Some(base) = server() else { return };
    let db = Tagged::new(&base).await;
    let config = PoolConfig::new().max_size(2).min_size(1);
    let pool = ConnectionPool::open("pg", config, db.one_connection())
        .await
        .unwrap();
    db.terminate_all().await;

    let connector = pool.get().await.unwrap();
    connector.test_connection().await.unwrap();
    connector.list_items(&ListOptions::new()).await.unwrap();
    let stats = pool.stats();
    assert_eq!(
        (stats.failed_health_checks, stats.created, stats.total),
        (1, 2, 1),
        "{stats:?}"
    );
    assert_eq!(db.pids().await.len(), 1);
    drop(connector);
    pool.close().await;
}

#[tokio::test]
async fn the_sqlx_pool_of_a_connector_keeps_min_size_and_checks_health() {
    let Some(base) = server() else { return };
    let db = Tagged::new(&base).await;
    let connector = PostgresConnector::new(&db.url)
        .unwrap()
        .with_pool_config(PoolConfig::new().max_size(3).min_size(2))
        .unwrap();
    assert_eq!(connector.pool_stats().total, 0, "nothing before connect");
    connector.connect().await.unwrap();
    // sqlx opens its min_connections in the background.
    db.until("min_size open", |p| p.len() == 2).await;
    assert_eq!(connector.pool_stats().total, 2);
    assert_eq!(connector.pool_stats().waiters, None);

    db.terminate_all().await;
    connector.list_items(&ListOptions::new()).await.unwrap();
    let stats = connector.pool_stats();
    assert!(
        stats.failed_health_checks >= 1,
        "the dead connection was pinged and dropped: {stats:?}"
    );
    assert!(stats.created >= 3, "{stats:?}");
    connector.disconnect().await.unwrap();
    db.until("closed", |p| p.is_empty()).await;
}

#[tokio::test]
async fn the_sqlx_pool_closes_idle_connections_after_the_idle_timeout() {
    let Some(base) = server() else { return };
    let db = Tagged::new(&base).await;
    let connector = PostgresConnector::new(&db.url)
        .unwrap()
        .with_pool_config(PoolConfig::new().idle_timeout(Some(Duration::from_millis(300))))
        .unwrap();
    connector.connect().await.unwrap();
    assert_eq!(db.pids().await.len(), 1);
    db.until("the idle connection closed by sqlx's reaper", |p| {
        p.is_empty()
    })
    .await;
    connector.disconnect().await.unwrap();
}

#[tokio::test]
async fn the_sqlx_pool_at_max_size_times_out_with_a_typed_error() {
    let Some(base) = server() else { return };
    let db = Tagged::new(&base).await;
    let table = format!("pool_lock_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE TABLE {table} (x INT)"))
        .execute(&db.admin)
        .await
        .unwrap();
    let connector = Arc::new(
        PostgresConnector::new(&db.url)
            .unwrap()
            .with_pool_config(
                PoolConfig::new()
                    .max_size(1)
                    .acquire_timeout(Duration::from_millis(300)),
            )
            .unwrap(),
    );
    // Hold the table locked, so that an export keeps the pool's only connection busy.
    let mut lock = db.admin.begin().await.unwrap();
    sqlx::query(&format!("LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
        .execute(&mut *lock)
        .await
        .unwrap();
    let workspace = tempfile::tempdir().unwrap();
    let blocked = {
        let connector = connector.clone();
        let table = format!("public.{table}");
        let dir = workspace.path().to_owned();
        tokio::spawn(async move { connector.fetch_data(&table, &dir).await })
    };
    let waiting = || {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE application_name = $1 AND wait_event_type = 'Lock'",
        )
        .bind(&db.app)
        .fetch_one(&db.admin)
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while waiting().await.unwrap() != 1 {
        assert!(
            Instant::now() < deadline,
            "the export never waited on the lock"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(connector.pool_stats().in_use, 1);

    let err = connector.list_items(&ListOptions::new()).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Timeout, "{err}");
    assert_eq!(db.pids().await.len(), 1, "no second connection");

    lock.rollback().await.unwrap();
    blocked.await.unwrap().unwrap();
    connector.disconnect().await.unwrap();
    sqlx::query(&format!("DROP TABLE {table}"))
        .execute(&db.admin)
        .await
        .unwrap();
}
