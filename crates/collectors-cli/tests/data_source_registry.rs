//! `collectors data-source configure|sources|remove|test`, and registered names in `list` and
//! `ingest`: on a local directory, and on S3 (moto) when `scripts/services` runs it (with
//! `CI=true` a missing moto fails). Secrets are looked for in every output and every file of
//! the data directory.
#![cfg(feature = "object-store")]

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_collectors");

/// Runs `collectors` in `dir` with the data directory `data` and no master key in the
/// environment (unless `key` is given).
fn collectors(dir: &Path, data: &Path, key: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .current_dir(dir)
        .env("COLLECTORS_LOG", "debug")
        .env_remove("COLLECTORS_DATA_DIR")
        .env_remove("COLLECTORS_MASTER_KEY");
    if let Some(key) = key {
        command.env("COLLECTORS_MASTER_KEY", key);
    }
    command.output().expect("the binary runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn files_contain(dir: &Path, needle: &str) -> Option<String> {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if let Some(found) = files_contain(&path, needle) {
                return Some(found);
            }
        } else {
            let bytes = std::fs::read(&path).unwrap();
            if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                return Some(path.display().to_string());
            }
        }
    }
    None
}

#[test]
fn a_local_directory_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("state");
    std::fs::create_dir_all(dir.path().join("inbox/2024")).unwrap();
    std::fs::write(dir.path().join("inbox/2024/a.csv"), "a,1\n").unwrap();
    std::fs::write(dir.path().join("inbox/b.txt"), "b").unwrap();

    // A settings file with a key the store does not know: refused by name, nothing stored.
    std::fs::write(dir.path().join("bad.yaml"), "colour: blue\n").unwrap();
    let out = collectors(
        dir.path(),
        &data,
        None,
        &[
            "data-source",
            "configure",
            "inbox",
            "--name",
            "in",
            "--config",
            "bad.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("`colour`"), "{}", text(&out));
    // A name that could be taken for a path.
    let out = collectors(
        dir.path(),
        &data,
        None,
        &["data-source", "configure", "inbox", "--name", "a/b"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    let out = collectors(
        dir.path(),
        &data,
        None,
        &["data-source", "configure", "inbox", "--name", "in"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = collectors(
        dir.path(),
        &data,
        None,
        &["data-source", "sources", "--json"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], "in");
    assert_eq!(listed[0]["type"], "local_file");
    // A second registration of the name is refused.
    let out = collectors(
        dir.path(),
        &data,
        None,
        &["data-source", "configure", "inbox", "--name", "in"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("already registered"), "{}", text(&out));

    // The name works where a URI does, from another directory.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = collectors(
        elsewhere.path(),
        &data,
        None,
        &["data-source", "list", "in", "--json"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let items: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let paths: Vec<_> = items.iter().map(|i| i["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["2024/a.csv", "b.txt"]);
    let out = collectors(
        elsewhere.path(),
        &data,
        None,
        &[
            "data-source",
            "ingest",
            "in",
            "--pattern",
            "*.csv",
            "--output-dir",
            "got",
            "--quiet",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::read(elsewhere.path().join("got/2024/a.csv")).unwrap(),
        b"a,1\n"
    );
    let out = collectors(
        elsewhere.path(),
        &data,
        None,
        &["data-source", "list", "in", "--config", "x.toml"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("drop --config"), "{}", text(&out));

    let out = collectors(dir.path(), &data, None, &["data-source", "test", "in"]);
    assert!(out.status.success(), "{}", text(&out));
    // The directory goes away: the test fails (exit 1), the source is still listed.
    std::fs::rename(dir.path().join("inbox"), dir.path().join("moved")).unwrap();
    let out = collectors(dir.path(), &data, None, &["data-source", "test", "in"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("connection failed"), "{}", text(&out));

    // A wrong master key: an authentication error, nothing listed.
    let wrong = "x7ViwLsKkBiRZzJ7WN8pvpRwbm_tj7YoV9Tj6Gk3nyo=";
    let out = collectors(dir.path(), &data, Some(wrong), &["data-source", "sources"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("authentication failed"),
        "{}",
        text(&out)
    );

    let out = collectors(dir.path(), &data, None, &["data-source", "remove", "in"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = collectors(dir.path(), &data, None, &["data-source", "sources"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(out.stdout.is_empty(), "{}", text(&out));
    let out = collectors(dir.path(), &data, None, &["data-source", "remove", "in"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("no data source `in`"), "{}", text(&out));
    // Without a registry nothing is created by looking.
    let empty = dir.path().join("empty-state");
    let out = collectors(dir.path(), &empty, None, &["data-source", "sources"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!empty.exists());
}

#[cfg(feature = "cloud")]
#[test]
fn s3_on_moto_with_a_yaml_settings_file() {
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
    let data = dir.path().join("state");
    let uri = format!("s3://{}/cli-registry-{}/", vars[1], std::process::id());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use collectors_backends::object_store::{ObjectStoreConfig, WriteOptions, get_connector};
        let config = ObjectStoreConfig::new()
            .with("aws_endpoint", &vars[0])
            .with("allow_http", "true")
            .with("aws_access_key_id", &vars[2])
            .with("aws_secret_access_key", &vars[3]);
        let store = get_connector(&uri, &config).unwrap();
        store
            .write_file("x/a.csv", "a,1\n".into(), &WriteOptions::overwrite())
            .await
            .unwrap();
    });
    let yaml = |secret: &str| {
        format!(
            "# moto\naws_endpoint: \"{}\"\nallow_http: true\naws_access_key_id: {}\naws_secret_access_key: \"{secret}\"\n",
            vars[0], vars[2]
        )
    };
    std::fs::write(dir.path().join("wrong.yaml"), yaml("not-the-secret-Qx7")).unwrap();
    let out = collectors(
        dir.path(),
        &data,
        None,
        &[
            "data-source",
            "configure",
            &uri,
            "--name",
            "lake",
            "--config",
            "wrong.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("authentication failed"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("not-the-secret-Qx7"), "{}", text(&out));

    std::fs::write(dir.path().join("s3.yaml"), yaml(&vars[3])).unwrap();
    let mut outputs = Vec::new();
    for args in [
        &[
            "data-source",
            "configure",
            &uri,
            "--name",
            "lake",
            "--config",
            "s3.yaml",
        ][..],
        &["data-source", "sources"],
        &["data-source", "sources", "--json"],
        &["data-source", "test", "lake"],
        &["data-source", "list", "lake", "--long"],
    ] {
        let out = collectors(dir.path(), &data, None, args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        outputs.push(text(&out));
    }
    assert!(
        outputs[1].contains("aws_secret_access_key=***"),
        "{}",
        outputs[1]
    );
    assert!(outputs[4].contains("x/a.csv"), "{}", outputs[4]);
    for output in &outputs {
        assert!(!output.contains(&vars[3]), "the secret is shown: {output}");
    }
    assert_eq!(
        files_contain(&data, &vars[3]),
        None,
        "the secret is stored in clear"
    );
    let out = collectors(dir.path(), &data, None, &["data-source", "remove", "lake"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn a_pipeline_file_names_a_registered_source() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("state");
    std::fs::create_dir_all(dir.path().join("landing")).unwrap();
    std::fs::write(
        dir.path().join("landing/r.csv"),
        "sensor,value\ns1,1.5\ns2,2.5\n",
    )
    .unwrap();
    let out = collectors(
        dir.path(),
        &data,
        None,
        &["data-source", "configure", "landing", "--name", "readings"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(
        work.join("pipeline.toml"),
        r#"name = "named"

[[source]]
id = "in"
kind = "object_store"
path = "readings"
pattern = "*.csv"
format = "csv"

[store]
kind = "sqlite"
path = "out/readings.db"
table = "readings"
"#,
    )
    .unwrap();
    let run = |data_dir: &Path| {
        Command::new(BIN)
            .args(["run", "--quiet", "pipeline.toml"])
            .current_dir(&work)
            .env("COLLECTORS_DATA_DIR", data_dir)
            .env_remove("COLLECTORS_MASTER_KEY")
            .output()
            .unwrap()
    };
    let out = run(&data);
    assert!(out.status.success(), "{}", text(&out));
    assert!(work.join("out/readings.db").exists());
    assert!(
        text(&out)
            .lines()
            .any(|l| l.split_whitespace().eq(["stored", "2"])),
        "{}",
        text(&out)
    );
    // Without the registry the name is a directory that does not exist.
    let out = run(&dir.path().join("no-state"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("readings"), "{}", text(&out));
}
