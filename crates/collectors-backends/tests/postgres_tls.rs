//! TLS to PostgreSQL, as the URL's `sslmode` asks, against the throwaway cluster of
//! `scripts/postgres` (TLS on, its certificate signed by a throwaway CA; the role
//! `tls_only` may log in over TLS only). With `CI=true` a missing server fails.
#![cfg(feature = "postgres")]

use collectors_backends::PostgresCheckpointStore;
use collectors_backends::postgres::PostgresConnector;
use collectors_core::{Connector, ErrorType};
use collectors_mocks::services::{postgres_ca, postgres_url};

/// `url` with `params` added to its query.
fn with(url: &str, params: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{params}")
}

/// Whether the connection `url` makes is encrypted, as the server sees it.
async fn encrypted(url: &str) -> bool {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    ssl
}

#[tokio::test]
async fn a_verified_tls_connection_is_made_when_the_url_asks_for_one() {
    let (Some(url), Some(ca)) = (postgres_url(), postgres_ca()) else {
        return;
    };
    let verified = with(&url, &format!("sslmode=verify-full&sslrootcert={ca}"));
    assert!(encrypted(&verified).await, "the session is encrypted");
    PostgresCheckpointStore::connect(&verified)
        .await
        .expect("the checkpoint store connects over verified TLS");
    PostgresConnector::new(&verified)
        .unwrap()
        .test_connection()
        .await
        .expect("the connector connects over verified TLS");
}

#[tokio::test]
async fn a_certificate_no_trusted_ca_signed_is_a_configuration_error() {
    let (Some(url), Some(_)) = (postgres_url(), postgres_ca()) else {
        return;
    };
    // The public roots only: the throwaway CA is not among them.
    let unverifiable = with(&url, "sslmode=verify-full");
    let err = PostgresCheckpointStore::connect(&unverifiable)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Configuration, "{err}");
    assert!(
        !err.is_retryable(),
        "a certificate does not get better: {err}"
    );
    let shown = format!("{err} {err:?}");
    assert!(
        shown.contains("sslrootcert"),
        "the error says what to set: {shown}"
    );
    let password = url
        .rsplit_once('@')
        .and_then(|(userinfo, _)| userinfo.rsplit_once(':'))
        .map(|(_, password)| password.to_owned())
        .unwrap();
    assert!(!shown.contains(&password), "the password leaked: {shown}");
}

#[tokio::test]
async fn a_role_that_needs_tls_is_refused_in_plain_text_and_admitted_over_tls() {
    let (Some(url), Some(ca)) = (postgres_url(), postgres_ca()) else {
        return;
    };
    let secret = "tls-only-secret-4f1c";
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query(
        "DO $$ BEGIN CREATE ROLE tls_only LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$",
    )
    .execute(&admin)
    .await
    .unwrap();
    sqlx::query(&format!("ALTER ROLE tls_only PASSWORD '{secret}'"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let host = url.rsplit_once('@').map(|(_, host)| host).unwrap();
    let as_role = format!("postgres://tls_only:{secret}@{host}");

    let plain = with(&as_role, "sslmode=disable");
    let err = PostgresConnector::new(&plain)
        .unwrap()
        .test_connection()
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Authentication, "{err}");
    assert!(
        err.to_string().contains("no encryption"),
        "the server says why: {err}"
    );
    assert!(
        !format!("{err} {err:?}").contains(secret),
        "the password leaked: {err}"
    );

    let tls = with(&as_role, &format!("sslmode=verify-full&sslrootcert={ca}"));
    PostgresConnector::new(&tls)
        .unwrap()
        .test_connection()
        .await
        .expect("the same role over TLS is admitted");
}
