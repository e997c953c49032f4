//! Where the real services of the integration tests are: the README's test command
//! (`scripts/test`) starts them on loopback and exports their addresses.

/// The variable `scripts/postgres` exports: the throwaway cluster's URL, password included.
pub const POSTGRES_URL_ENV: &str = "COLLECTORS_TEST_POSTGRES_URL";

/// The URL of the test PostgreSQL server, or `None` when it is not running, in which case
/// the test says it was skipped and returns. With `CI=true` a missing server is a failure:
/// this panics, so the suite cannot pass without the tests that need it.
///
/// ```
/// fn needs_postgres() {
///     let Some(url) = collectors_mocks::services::postgres_url() else { return };
///     assert!(url.starts_with("postgres"));
/// }
/// # if std::env::var("CI").as_deref() != Ok("true") { needs_postgres() }
/// ```
///
/// # Panics
///
/// When `CI=true` and [`POSTGRES_URL_ENV`] is not set.
pub fn postgres_url() -> Option<String> {
    match std::env::var(POSTGRES_URL_ENV) {
        Ok(url) => Some(url),
        Err(_) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!(
                "CI=true and {POSTGRES_URL_ENV} is unset: scripts/postgres must start PostgreSQL"
            )
        }
        Err(_) => {
            eprintln!(
                "SKIPPED: no PostgreSQL (run through scripts/test, or set {POSTGRES_URL_ENV})"
            );
            None
        }
    }
}

/// The variable `scripts/postgres` exports: the CA that signed the test server's TLS
/// certificate (for `127.0.0.1` and `localhost`).
pub const POSTGRES_CA_ENV: &str = "COLLECTORS_TEST_POSTGRES_CA";

/// The path of the CA certificate of the test server's TLS, or `None` as for
/// [`postgres_url`] (a failure with `CI=true`).
///
/// # Panics
///
/// When `CI=true` and [`POSTGRES_CA_ENV`] is not set.
pub fn postgres_ca() -> Option<String> {
    match std::env::var(POSTGRES_CA_ENV) {
        Ok(path) => Some(path),
        Err(_) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true and {POSTGRES_CA_ENV} is unset: scripts/postgres must start TLS")
        }
        Err(_) => {
            eprintln!("SKIPPED: no TLS on the test PostgreSQL (run through scripts/test)");
            None
        }
    }
}

/// A new, empty database on the test server for one test, named `{prefix}_{random}`: its
/// URL (password included), or `None` as for [`postgres_url`]. Tests that each have their
/// own database cannot see each other's tables, whatever order they run in.
///
/// # Panics
///
/// As [`postgres_url`]; when the database cannot be created.
#[cfg(feature = "postgres")]
pub async fn fresh_postgres_database(prefix: &str) -> Option<String> {
    let server = postgres_url()?;
    let admin = sqlx::PgPool::connect(&server)
        .await
        .expect("the test PostgreSQL server accepts connections");
    let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .expect("a test database can be created");
    admin.close().await;
    let (base, _) = server
        .rsplit_once('/')
        .expect("the test URL names a database");
    Some(format!("{base}/{name}"))
}
