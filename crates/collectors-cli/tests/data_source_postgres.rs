//! `collectors data-source list|ingest postgres://…`: tables as items, exported as Parquet;
//! a PostgreSQL source registered by name with its password in a settings file, with the
//! registry itself in PostgreSQL (`COLLECTORS_REGISTRY_URL`).
//!
//! The server is the throwaway cluster `scripts/postgres` starts (`COLLECTORS_TEST_POSTGRES_URL`).
//! With `CI=true` a missing server fails these tests; otherwise they say they were skipped.
#![cfg(feature = "postgres")]

mod common;

use common::collectors;

use collectors_mocks::services::postgres_url as server;

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

/// `collectors` with a registry kept in the database `registry_url` and the data
/// directory `data` (for the master key file only).
fn with_registry(dir: &std::path::Path, registry_url: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(common::BIN)
        .args(args)
        .arg("--data-dir")
        .arg(dir.join("state"))
        .current_dir(dir)
        .env("COLLECTORS_LOG", "debug")
        .env("COLLECTORS_REGISTRY_URL", registry_url)
        .env_remove("COLLECTORS_MASTER_KEY")
        .env_remove("COLLECTORS_DATA_DIR")
        .output()
        .expect("the binary runs")
}

#[tokio::test]
async fn a_postgres_source_registered_by_name_in_a_registry_kept_in_postgres() {
    let Some(url) = server() else { return };
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    let db = format!("cli_{}", uuid_like());
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let (scheme_user, rest) = url.split_once('@').unwrap();
    let (user_part, password) = scheme_user.rsplit_once(':').unwrap();
    let host = rest.split('/').next().unwrap();
    let db_url = format!("{scheme_user}@{host}/{db}");
    let bare = format!("{user_part}@{host}/{db}");
    let pool = sqlx::PgPool::connect(&db_url).await.unwrap();
    sqlx::raw_sql(
        "CREATE TABLE readings (id INT PRIMARY KEY, v FLOAT8);
         INSERT INTO readings SELECT i, i FROM generate_series(1, 50) i;",
    )
    .execute(&pool)
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pg.yaml"),
        format!("password: \"{password}\"\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("wrong.yaml"),
        "password: not-the-password-Qx7\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = with_registry(dir.path(), &db_url, args);
        let shown = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(!shown.contains(password), "the password shows: {shown}");
        (out.status.success(), shown, text(&out.stdout))
    };

    let (ok, shown, _) = run(&[
        "data-source",
        "configure",
        &bare,
        "--name",
        "wrong",
        "--config",
        "wrong.yaml",
    ]);
    assert!(!ok, "{shown}");
    assert!(!shown.contains("not-the-password-Qx7"), "{shown}");
    let (ok, shown, _) = run(&[
        "data-source",
        "configure",
        &bare,
        "--name",
        "wh",
        "--config",
        "pg.yaml",
    ]);
    assert!(ok, "{shown}");
    let (ok, shown, stdout) = run(&["data-source", "sources", "--json"]);
    assert!(ok, "{shown}");
    let sources: Vec<serde_json::Value> = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(sources.len(), 1, "{shown}");
    assert_eq!(sources[0]["id"], "wh");
    assert_eq!(sources[0]["config"]["password"], "***");
    let (ok, shown, _) = run(&["data-source", "test", "wh"]);
    assert!(ok, "{shown}");
    let (ok, shown, _) = run(&[
        "data-source",
        "list",
        "wh",
        "--pattern",
        "public.readings",
        "--json",
    ]);
    assert!(ok, "{shown}");
    assert!(shown.contains("public.readings"), "{shown}");

    // The registry's rows are in the database, the password encrypted; nothing in the data
    // directory but the master key.
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT config, secrets FROM _collectors_data_sources")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].0.contains(password) && !rows[0].1.contains(password));
    assert!(!dir.path().join("state/registry.db").exists());

    let (ok, shown, _) = run(&["data-source", "remove", "wh"]);
    assert!(ok, "{shown}");
    let (ok, shown, stdout) = run(&["data-source", "sources", "--json"]);
    assert!(ok && stdout.trim() == "[]", "{shown}");
    pool.close().await;
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
