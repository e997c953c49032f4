//! `ConnectionPool` and `ConnectionPoolManager` over mock connectors: every limit of
//! `PoolConfig`, on tokio's paused clock (the pool's timeouts and ages are tokio time, so the
//! clock is moved, not waited for).
#![cfg(feature = "pool")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use collectors_backends::pool::{ConnectionPool, ConnectionPoolManager, PoolConfig};
use collectors_core::{Connector, ErrorType};
use collectors_mocks::{MockConnector, MockControl};

/// The controls of the mock connectors a builder made, in order.
type Made = Arc<Mutex<Vec<MockControl>>>;

/// A builder of mock connectors that keeps the control of each one it made, in order.
fn mocks() -> (
    Made,
    impl Fn() -> collectors_core::Result<Arc<dyn Connector>> + Send + Sync + 'static,
) {
    let made: Made = Arc::default();
    let log = made.clone();
    let build = move || {
        let connector = MockConnector::new("mock");
        log.lock().unwrap().push(connector.control());
        Ok(Arc::new(connector) as Arc<dyn Connector>)
    };
    (made, build)
}

fn controls(made: &Made) -> Vec<MockControl> {
    made.lock().unwrap().clone()
}

#[tokio::test(start_paused = true)]
async fn at_max_size_the_next_get_waits_then_times_out_with_a_typed_error() {
    let (_, build) = mocks();
    let config = PoolConfig::new()
        .max_size(2)
        .acquire_timeout(Duration::from_secs(3));
    let pool = ConnectionPool::open("p", config, build).await.unwrap();
    let a = pool.get().await.unwrap();
    let b = pool.get().await.unwrap();
    assert_eq!((pool.stats().total, pool.stats().in_use), (2, 2));

    let started = tokio::time::Instant::now();
    let err = pool.get().await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Timeout, "{err}");
    assert!(err.is_retryable());
    assert!(err.to_string().contains("3000 ms"), "{err}");
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(3),
        "waited the acquire timeout"
    );

    // A waiter is counted, and gets the connector as soon as one is returned.
    let waiter = {
        let pool = pool.clone();
        tokio::spawn(async move { pool.get().await.map(|c| c.pool_id().to_owned()) })
    };
    tokio::task::yield_now().await;
    assert_eq!(pool.stats().waiters, Some(1));
    drop(a);
    assert_eq!(waiter.await.unwrap().unwrap(), "p");
    assert_eq!(pool.stats().created, 2, "the waiter reused a connector");
    drop(b);
}

#[tokio::test(start_paused = true)]
async fn min_size_is_opened_at_build_and_connected() {
    let (made, build) = mocks();
    let config = PoolConfig::new().max_size(5).min_size(3);
    let pool = ConnectionPool::open("p", config, build).await.unwrap();
    let stats = pool.stats();
    assert_eq!(
        (stats.total, stats.idle, stats.in_use, stats.created),
        (3, 3, 0, 3)
    );
    for control in controls(&made) {
        assert_eq!(control.call_count("connect"), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn a_min_size_that_cannot_connect_fails_the_build() {
    let config = PoolConfig::new().min_size(1);
    let err = ConnectionPool::open("p", config, || {
        let connector = MockConnector::new("down");
        connector
            .control()
            .fail_method("connect", 1, ErrorType::Connection);
        Ok(Arc::new(connector) as Arc<dyn Connector>)
    })
    .await
    .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Connection);

    let bad = PoolConfig::new().max_size(0);
    let err = ConnectionPool::open("p", bad, mocks().1).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Configuration);

    // A minimum above the maximum keeps the maximum open.
    let (made, build) = mocks();
    let capped = PoolConfig::new().max_size(2).min_size(5);
    let pool = ConnectionPool::open("p", capped, build).await.unwrap();
    assert_eq!((pool.stats().created, pool.stats().idle), (2, 2));
    assert_eq!(controls(&made).len(), 2);
}

#[tokio::test(start_paused = true)]
async fn max_lifetime_closes_old_connectors_and_refills_min_size() {
    let (made, build) = mocks();
    let config = PoolConfig::new()
        .max_size(3)
        .min_size(1)
        .max_lifetime(Some(Duration::from_secs(60)))
        .idle_timeout(None)
        .reap_interval(Duration::from_secs(3600));
    let pool = ConnectionPool::open("p", config, build).await.unwrap();
    assert_eq!(pool.reap().await, 0, "young connectors stay");

    tokio::time::advance(Duration::from_secs(61)).await;
    assert_eq!(pool.reap().await, 1);
    let stats = pool.stats();
    assert_eq!(
        (stats.expired, stats.created, stats.total),
        (1, 2, 1),
        "{stats:?}"
    );
    let made = controls(&made);
    assert_eq!(made[0].call_count("disconnect"), 1, "the old one is closed");
    assert_eq!(made[1].call_count("disconnect"), 0);

    // A connector that expires while in use is closed when get would hand it out again.
    let held = pool.get().await.unwrap();
    tokio::time::advance(Duration::from_secs(61)).await;
    drop(held);
    let fresh = pool.get().await.unwrap();
    assert_eq!((pool.stats().expired, pool.stats().created), (2, 3));
    drop(fresh);
}

#[tokio::test(start_paused = true)]
async fn the_idle_timeout_counts_from_when_a_connector_was_returned() {
    let (_, build) = mocks();
    let config = PoolConfig::new()
        .max_size(2)
        .idle_timeout(Some(Duration::from_secs(10)))
        .max_lifetime(None)
        .reap_interval(Duration::from_secs(3600));
    let pool = ConnectionPool::open("p", config, build).await.unwrap();
    let held = pool.get().await.unwrap();
    // In use for longer than the idle timeout: not idle.
    tokio::time::advance(Duration::from_secs(30)).await;
    drop(held);
    assert_eq!(pool.reap().await, 0, "just returned");
    tokio::time::advance(Duration::from_secs(9)).await;
    assert_eq!(pool.reap().await, 0);
    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(pool.reap().await, 1);
    assert_eq!((pool.stats().total, pool.stats().expired), (0, 1));
}

#[tokio::test(start_paused = true)]
async fn the_reaper_task_runs_on_its_own() {
    let (_, build) = mocks();
    let config = PoolConfig::new()
        .idle_timeout(Some(Duration::from_secs(5)))
        .reap_interval(Duration::from_secs(10));
    let pool = ConnectionPool::open("p", config, build).await.unwrap();
    drop(pool.get().await.unwrap());
    assert_eq!(pool.stats().idle, 1);
    // Paused time jumps to the reaper's next tick; give it the turn.
    tokio::time::sleep(Duration::from_secs(11)).await;
    tokio::task::yield_now().await;
    assert_eq!((pool.stats().total, pool.stats().expired), (0, 1));
}

#[tokio::test(start_paused = true)]
async fn a_connector_that_fails_its_health_check_is_replaced_and_counted() {
    let (made, build) = mocks();
    let config = PoolConfig::new().max_size(2).min_size(1);
    let pool = ConnectionPool::open("p", config, build).await.unwrap();
    controls(&made)[0].fail_method("test_connection", 1, ErrorType::Connection);

    let connector = pool.get().await.unwrap();
    connector.test_connection().await.unwrap();
    let stats = pool.stats();
    assert_eq!(
        (stats.failed_health_checks, stats.created, stats.total),
        (1, 2, 1),
        "{stats:?}"
    );
    let made = controls(&made);
    assert_eq!(
        made[0].call_count("disconnect"),
        1,
        "the broken one is closed"
    );
    drop(connector);

    // Without the health check, an idle connector is handed out untested.
    let (made, build) = mocks();
    let config = PoolConfig::new().min_size(1).health_check(false);
    let pool = ConnectionPool::open("q", config, build).await.unwrap();
    drop(pool.get().await.unwrap());
    assert_eq!(controls(&made)[0].call_count("test_connection"), 0);
    assert_eq!(pool.stats().recycled, 1);
}

#[tokio::test(start_paused = true)]
async fn a_closed_pool_disconnects_its_idle_connectors_and_refuses_gets() {
    let (made, build) = mocks();
    let pool = ConnectionPool::open("p", PoolConfig::new().min_size(2), build)
        .await
        .unwrap();
    pool.close().await;
    assert!(pool.is_closed());
    for control in controls(&made) {
        assert_eq!(control.call_count("disconnect"), 1);
    }
    let err = pool.get().await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::InvalidState);
}

#[tokio::test(start_paused = true)]
async fn the_manager_keeps_one_pool_per_source_and_closes_them() {
    let pools = ConnectionPoolManager::new(PoolConfig::new().max_size(2)).unwrap();
    pools
        .set_config("small", PoolConfig::new().max_size(1))
        .unwrap();
    let (made_a, build_a) = mocks();
    let (made_b, build_b) = mocks();
    let build_a = Arc::new(build_a);
    let a1 = pools
        .get("a", {
            let b = build_a.clone();
            move || b()
        })
        .await
        .unwrap();
    let a2 = pools
        .get("a", {
            let b = build_a.clone();
            move || b()
        })
        .await
        .unwrap();
    let small = pools.get("small", build_b).await.unwrap();
    let stats = pools.stats();
    assert_eq!(stats.keys().collect::<Vec<_>>(), ["a", "small"]);
    assert_eq!((stats["a"].in_use, stats["a"].max_size), (2, 2));
    assert_eq!(stats["small"].max_size, 1);
    assert_eq!(controls(&made_a).len(), 2);
    drop((a1, a2, small));

    assert!(pools.close("a").await);
    assert!(!pools.close("a").await);
    for control in controls(&made_a) {
        assert_eq!(control.call_count("disconnect"), 1);
    }
    // The next use opens a new pool.
    let (_, build_c) = mocks();
    drop(pools.get("a", build_c).await.unwrap());
    pools.close_all().await;
    assert!(pools.stats().is_empty());
    assert_eq!(controls(&made_b)[0].call_count("disconnect"), 1);

    let err = ConnectionPoolManager::new(PoolConfig::new().max_size(0)).unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Configuration);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_tasks_share_a_small_pool_without_exceeding_it() {
    let (made, build) = mocks();
    let config = PoolConfig::new()
        .max_size(3)
        .acquire_timeout(Duration::from_secs(30));
    let pool = ConnectionPool::open("p", config, build).await.unwrap();
    let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let pool = pool.clone();
        let peak = peak.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..20 {
                let c = pool.get().await.unwrap();
                c.test_connection().await.unwrap();
                peak.fetch_max(pool.stats().in_use, std::sync::atomic::Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert!(peak.load(std::sync::atomic::Ordering::Relaxed) <= 3);
    assert!(controls(&made).len() <= 3);
    let stats = pool.stats();
    assert_eq!(stats.created + stats.recycled, 32 * 20);
}

#[cfg(all(feature = "registry", feature = "object-store"))]
#[tokio::test]
async fn the_registry_hands_out_pooled_connectors_of_its_sources() {
    use collectors_backends::registry::{ConnectorFactories, DataSourceRegistry};
    use collectors_core::{DataSourceConfig, DataSourceType, ListOptions};

    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("a.csv"), "x\n1\n").unwrap();
    let registry = DataSourceRegistry::in_memory(ConnectorFactories::standard())
        .with_pool_config(
            PoolConfig::new()
                .max_size(2)
                .acquire_timeout(Duration::from_millis(100)),
        )
        .unwrap();
    let config = DataSourceConfig::new("inbox", DataSourceType::LocalFile, "Inbox")
        .unwrap()
        .with_setting("uri", files.path().to_str().unwrap());
    registry.register_data_source(config, false).await.unwrap();

    let a = registry.get_pooled_connector("inbox").await.unwrap();
    let b = registry.get_pooled_connector("inbox").await.unwrap();
    assert_eq!(
        a.list_items(&ListOptions::new()).await.unwrap()[0].name,
        "a.csv"
    );
    let err = registry.get_pooled_connector("inbox").await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Timeout);
    assert_eq!(registry.pool_stats()["inbox"].in_use, 2);
    drop((a, b));

    let err = registry.get_pooled_connector("nope").await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::NotFound);
    registry.unregister("inbox").await.unwrap();
    assert!(
        registry.pool_stats().is_empty(),
        "unregister closes the pool"
    );
    let err = registry.get_pooled_connector("inbox").await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::NotFound);
}
