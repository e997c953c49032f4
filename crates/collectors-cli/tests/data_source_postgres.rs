//! `collectors data-source list|ingest postgres://…`: tables as items, exported as Parquet.
//!
//! The server is the throwaway cluster `scripts/postgres` starts (`COLLECTORS_TEST_POSTGRES_URL`).
//! With `CI=true` a missing server fails these tests; otherwise they say they were skipped.
#![cfg(feature = "postgres")]

mod common;

use common::collectors;

fn server() -> Option<String> {
    match std::env::var("COLLECTORS_TEST_POSTGRES_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!(
                "CI=true and COLLECTORS_TEST_POSTGRES_URL is unset: scripts/postgres must start PostgreSQL"
            )
        }
        Err(_) => {
            eprintln!(
                "SKIPPED: no PostgreSQL (run through scripts/test, or set COLLECTORS_TEST_POSTGRES_URL)"
            );
            None
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn list_and_ingest_the_tables_of_a_database() {
    let Some(url) = server() else { return };
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let s = format!("c_{}", uuid_like());
    sqlx::raw_sql(&format!(
        "CREATE SCHEMA {s};
         CREATE TABLE {s}.readings (id INT PRIMARY KEY, v FLOAT8);
         INSERT INTO {s}.readings SELECT i, i FROM generate_series(1, 100) i;
         CREATE TABLE {s}.notes (body TEXT);"
    ))
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let dir = tempfile::tempdir().unwrap();
    let pattern = format!("{s}.*");

    let out = collectors(
        dir.path(),
        &["data-source", "list", &url, "--pattern", &pattern, "--json"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let paths: Vec<&str> = listed.iter().map(|i| i["path"].as_str().unwrap()).collect();
    assert_eq!(paths, [format!("{s}.notes"), format!("{s}.readings")]);

    let ingest = |extra: &[&str]| {
        let mut args = vec![
            "data-source",
            "ingest",
            &url,
            "--pattern",
            &pattern,
            "--output-dir",
            "out",
            "--quiet",
        ];
        args.extend_from_slice(extra);
        collectors(dir.path(), &args)
    };
    let out = ingest(&[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("2 fetched"),
        "{}",
        text(&out.stderr)
    );
    let file = dir.path().join("out").join(format!("{s}.readings.parquet"));
    assert!(std::fs::metadata(&file).unwrap().len() > 0);
    let out = ingest(&["--skip-existing"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("2 skipped"),
        "{}",
        text(&out.stderr)
    );

    // A wrong password: a clear failure that does not echo it.
    let secret = "correct-horse-battery-staple";
    let (user, host) = url
        .strip_prefix("postgres://")
        .and_then(|rest| rest.split_once('@'))
        .map(|(userinfo, host)| (userinfo.split(':').next().unwrap_or(userinfo), host))
        .unwrap();
    let wrong = format!("postgres://{user}:{secret}@{host}");
    let out = collectors(dir.path(), &["data-source", "list", &wrong]);
    assert!(!out.status.success());
    let shown = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!shown.contains(secret), "{shown}");
    assert!(
        shown.to_lowercase().contains("password") || shown.contains("authentication"),
        "{shown}"
    );
}

/// A unique suffix for the schema name (no uuid dependency here).
fn uuid_like() -> String {
    format!(
        "{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}
