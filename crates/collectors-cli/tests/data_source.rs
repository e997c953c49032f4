//! `collectors data-source list|ingest` on a local directory, and on S3 (moto) when
//! `scripts/services` runs it (with `CI=true` a missing moto fails).
#![cfg(feature = "object-store")]

mod common;

use std::path::Path;

use common::collectors;

fn write(root: &Path, rel: &str, contents: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `list` then `ingest` twice (the rerun skips), on `uri` holding the three fixture objects.
fn list_and_ingest(uri: &str, config: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["data-source", "list", uri, "--pattern", "*.csv", "--json"];
    args.extend_from_slice(config);
    let out = collectors(dir.path(), &args);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    let paths: Vec<_> = listed
        .iter()
        .map(|i| i["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        paths,
        ["2024/01/b.csv", "2024/a.csv"],
        "sorted, by name at any depth"
    );
    assert_eq!(listed[1]["size"], 6);

    let mut args = vec!["data-source", "list", uri, "--long"];
    args.extend_from_slice(config);
    let out = collectors(dir.path(), &args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("3 objects, 18 bytes"),
        "{}",
        stdout(&out)
    );

    let mut args = vec![
        "data-source",
        "ingest",
        uri,
        "--pattern",
        "*.csv",
        "--output-dir",
        "got",
        "--concurrency",
        "2",
    ];
    args.extend_from_slice(config);
    let out = collectors(dir.path(), &args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("2 fetched"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(dir.path().join("got/2024/a.csv")).unwrap(),
        b"a,1\nb\n"
    );
    assert_eq!(
        std::fs::read(dir.path().join("got/2024/01/b.csv")).unwrap(),
        b"b,2\n"
    );
    assert!(!dir.path().join("got/notes.txt").exists());

    let out = collectors(dir.path(), &args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("0 fetched") && stderr(&out).contains("2 skipped"),
        "{}",
        stderr(&out)
    );

    // A file that cannot be written: the run goes on, names it and exits 1.
    std::fs::remove_file(dir.path().join("got/2024/a.csv")).unwrap();
    std::fs::create_dir_all(dir.path().join("got/2024/a.csv")).unwrap();
    let mut overwrite = args.clone();
    overwrite.push("--overwrite");
    let out = collectors(dir.path(), &overwrite);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("failed: 2024/a.csv"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("1 fetched"), "{}", stderr(&out));
}

#[test]
fn a_local_directory() {
    let data = tempfile::tempdir().unwrap();
    write(data.path(), "2024/a.csv", b"a,1\nb\n");
    write(data.path(), "2024/01/b.csv", b"b,2\n");
    write(data.path(), "notes.txt", b"notes is");
    list_and_ingest(&format!("file://{}", data.path().display()), &[]);
}

#[test]
fn bad_uris_and_missing_directories_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = collectors(dir.path(), &["data-source", "list", "ftp://host/x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown scheme"), "{}", stderr(&out));
    let out = collectors(dir.path(), &["data-source", "list", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no/such/dir"), "{}", stderr(&out));
    // YAML settings are read; an option the store does not know is refused by name.
    std::fs::write(dir.path().join("s3.yaml"), "no_such_option: 1\n").unwrap();
    let out = collectors(
        dir.path(),
        &["data-source", "list", ".", "--config", "s3.yaml"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no_such_option"), "{}", stderr(&out));
}

#[cfg(feature = "cloud")]
#[test]
fn s3_on_moto() {
    let vars: Option<Vec<String>> = [
        "COLLECTORS_TEST_S3_ENDPOINT",
        "COLLECTORS_TEST_S3_BUCKET",
        "COLLECTORS_TEST_S3_ACCESS_KEY_ID",
        "COLLECTORS_TEST_S3_SECRET_ACCESS_KEY",
    ]
    .iter()
    .map(|v| std::env::var(v).ok())
    .collect();
    let Some(vars) = vars else {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "moto is not running; scripts/services starts it"
        );
        eprintln!("SKIPPED: moto is not running; `source scripts/services` first");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("s3.toml");
    std::fs::write(
        &config,
        format!(
            "aws_endpoint = \"{}\"\nallow_http = true\naws_access_key_id = \"{}\"\naws_secret_access_key = \"{}\"\n",
            vars[0], vars[2], vars[3]
        ),
    )
    .unwrap();
    let run = format!("cli-{}", std::process::id());
    let uri = format!("s3://{}/{run}/", vars[1]);
    // Seed the bucket through the CLI's own library, as a user's upload would.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use collectors_backends::object_store::{ObjectStoreConfig, WriteOptions, get_connector};
        let store = get_connector(&uri, &ObjectStoreConfig::from_path(&config).unwrap()).unwrap();
        for (name, bytes) in [
            ("2024/a.csv", "a,1\nb\n"),
            ("2024/01/b.csv", "b,2\n"),
            ("notes.txt", "notes is"),
        ] {
            store
                .write_file(name, bytes.into(), &WriteOptions::overwrite())
                .await
                .unwrap();
        }
    });
    let config = config.to_string_lossy().into_owned();
    list_and_ingest(&uri, &["--config", &config]);

    // Wrong credentials: a usage error that names no secret.
    let wrong = dir.path().join("wrong.toml");
    std::fs::write(
        &wrong,
        format!(
            "aws_endpoint = \"{}\"\nallow_http = true\naws_access_key_id = \"AKIAWRONG\"\naws_secret_access_key = \"not-the-secret\"\n",
            vars[0]
        ),
    )
    .unwrap();
    let out = collectors(
        dir.path(),
        &[
            "data-source",
            "list",
            &uri,
            "--config",
            wrong.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("authentication failed"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("not-the-secret"), "{}", stderr(&out));
}
