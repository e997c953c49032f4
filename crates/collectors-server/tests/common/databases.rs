//! The databases the job queue's and the tracker's tests run on: SQLite in a temp dir, and the
//! real PostgreSQL that `scripts/postgres` starts (`COLLECTORS_TEST_POSTGRES_URL`; one fresh
//! database per test). With `CI=true` a missing server fails the PostgreSQL tests; otherwise
//! they say they were skipped.

use collectors_backends::any_db::AnyLocation;

/// A database for one test; the temp dir lives as long as it.
pub struct TestDb {
    pub location: AnyLocation,
    _dir: Option<tempfile::TempDir>,
}

pub fn sqlite_db() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    TestDb {
        location: AnyLocation::File(dir.path().join("jobs.db")),
        _dir: Some(dir),
    }
}

#[cfg(feature = "postgres")]
pub async fn postgres_db() -> Option<TestDb> {
    let url = collectors_mocks::services::fresh_postgres_database("jobs").await?;
    Some(TestDb {
        location: AnyLocation::Postgres(url),
        _dir: None,
    })
}

/// Each named `async fn(&AnyLocation)` of the calling test file runs on SQLite and on
/// PostgreSQL, as `{name}::sqlite` and `{name}::postgres`. (Unused by the API tests.)
#[allow(unused_macros)]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let db = crate::common::databases::sqlite_db();
                super::$name(&db.location).await;
            }

            #[cfg(feature = "postgres")]
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                let Some(db) = crate::common::databases::postgres_db().await else { return };
                super::$name(&db.location).await;
            }
        }
    )*};
}

#[allow(unused_imports)]
pub(crate) use on_both;
