//! `kind = "object_store"` sources and stores in a pipeline file: CSV objects in, Parquet
//! objects out, on a local directory always and on S3 (moto) when `scripts/services` runs it
//! (with `CI=true` a missing moto fails).
#![cfg(feature = "object-store")]

use std::sync::Arc;

use collectors_backends::object_store::{
    ObjectStoreConfig, ObjectStoreConnector, WriteOptions, get_connector,
};
use collectors_core::{CancellationToken, Connector, ListOptions};
use collectors_pipeline::{PipelineSpec, Registry};

fn spec(input: &str, output: &str, options: &str) -> String {
    format!(
        r#"
name = "objects"
[[source]]
id = "raw"
kind = "object_store"
path = "{input}"
pattern = "*.csv"
format = "csv"
{options}
[store]
kind = "object_store"
path = "{output}"
format = "parquet"
create_only = true
{store_options}
[checkpoints]
path = "state/checkpoints.db"
[dead_letter]
path = "state/dead_letters.jsonl"
"#,
        options = options.replace("OPTIONS", "source.options"),
        store_options = options.replace("OPTIONS", "store.options"),
    )
}

async fn put(store: &ObjectStoreConnector, name: &str, text: &str) {
    store
        .write_file(name, text.to_owned().into(), &WriteOptions::overwrite())
        .await
        .unwrap();
}

async fn outputs(store: &ObjectStoreConnector) -> Vec<String> {
    store
        .list_items(&ListOptions::new())
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.path)
        .collect()
}

/// Runs the pipeline three times: the first stores every CSV object as Parquet parts, the
/// second finds nothing new, the third takes only the object added meanwhile.
async fn csv_objects_in_parquet_objects_out(
    input: Arc<ObjectStoreConnector>,
    output: Arc<ObjectStoreConnector>,
    spec_text: String,
) {
    put(&input, "2024/a.csv", "sensor,value\ns1,1.5\ns2,2.5\n").await;
    put(&input, "2024/01/b.csv", "sensor,value\ns1,3\n").await;
    put(&input, "notes.txt", "not a csv").await;
    let dir = tempfile::tempdir().unwrap();
    let spec = PipelineSpec::from_toml_str(&spec_text, dir.path()).unwrap();
    let registry = Registry::standard();

    let first = spec
        .build(&registry)
        .await
        .unwrap()
        .run(CancellationToken::new())
        .await
        .unwrap();
    assert!(first.counts.adds_up(), "{:?}", first.counts);
    assert_eq!(first.counts.stored, 3, "{:?}", first.counts);
    assert_eq!(
        outputs(&output).await,
        ["raw/2024/01/b.csv.parquet", "raw/2024/a.csv.parquet"],
        "one object per source object, readable names"
    );
    let rows = output
        .read_dataframe("raw/2024/a.csv.parquet", None)
        .await
        .unwrap();
    assert_eq!(rows[0].num_rows(), 2);
    assert_eq!(rows[0].schema().field(0).name(), "sensor");

    let second = spec
        .build(&registry)
        .await
        .unwrap()
        .run(CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(
        second.counts.stored, 0,
        "a rerun takes nothing already done: {:?}",
        second.counts
    );
    assert_eq!(second.counts.items_already_done, 2, "{:?}", second.counts);

    put(&input, "2024/c.csv", "sensor,value\ns3,9\n").await;
    let third = spec
        .build(&registry)
        .await
        .unwrap()
        .run(CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(
        third.counts.stored, 1,
        "only the new object: {:?}",
        third.counts
    );
    assert_eq!(outputs(&output).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_directory_by_path() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("in")).unwrap();
    std::fs::create_dir_all(root.path().join("out")).unwrap();
    let input = Arc::new(
        get_connector(
            root.path().join("in").to_str().unwrap(),
            &ObjectStoreConfig::new(),
        )
        .unwrap(),
    );
    let output = Arc::new(
        get_connector(
            root.path().join("out").to_str().unwrap(),
            &ObjectStoreConfig::new(),
        )
        .unwrap(),
    );
    let spec_text = spec(
        &format!("file://{}", root.path().join("in").display()),
        root.path().join("out").to_str().unwrap(),
        "",
    );
    csv_objects_in_parquet_objects_out(input, output, spec_text).await;
}

/// `format = "csv"` on an object store: each source object becomes one plain CSV object
/// (the input's rows under one header) with its hidden index beside it, and a rerun takes
/// nothing already done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_objects_out_with_their_index_beside_them() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("in/2024")).unwrap();
    std::fs::create_dir_all(root.path().join("out")).unwrap();
    std::fs::write(
        root.path().join("in/2024/a.csv"),
        "sensor,value\ns1,1.5\n\"s,2\",2.5\n",
    )
    .unwrap();
    let output = get_connector(
        root.path().join("out").to_str().unwrap(),
        &ObjectStoreConfig::new(),
    )
    .unwrap();
    let spec_text = spec(
        &format!("file://{}", root.path().join("in").display()),
        root.path().join("out").to_str().unwrap(),
        "",
    )
    .replace("format = \"parquet\"", "format = \"csv\"");
    let spec = PipelineSpec::from_toml_str(&spec_text, root.path()).unwrap();
    let registry = Registry::standard();
    for (run, stored) in [(1, 2), (2, 0)] {
        let summary = spec
            .build(&registry)
            .await
            .unwrap()
            .run(CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(
            summary.counts.stored, stored,
            "run {run}: {:?}",
            summary.counts
        );
    }
    let mut names = outputs(&output).await;
    names.sort();
    assert_eq!(
        names,
        ["raw/2024/.a.csv.csv.index.json", "raw/2024/a.csv.csv"]
    );
    let text = output.read_file("raw/2024/a.csv.csv").await.unwrap();
    assert_eq!(
        std::str::from_utf8(&text).unwrap(),
        "sensor,value\ns1,1.5\n\"s,2\",2.5\n",
        "the input's rows, as plain CSV"
    );
}

#[tokio::test]
async fn a_uri_store_needs_explicit_checkpoints_and_dead_letters() {
    let text = r#"
name = "objects"
[[source]]
id = "raw"
kind = "object_store"
path = "memory://"
format = "csv"
[store]
kind = "object_store"
path = "memory:///out"
"#;
    let dir = tempfile::tempdir().unwrap();
    let spec = PipelineSpec::from_toml_str(text, dir.path()).unwrap();
    let Err(err) = spec.build(&Registry::standard()).await else {
        panic!("a URI store without [checkpoints] was accepted");
    };
    let message = err.to_string();
    assert!(message.contains("[checkpoints]"), "{message}");
}

#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_on_moto_by_uri() {
    let vars: Vec<_> = [
        "COLLECTORS_TEST_S3_ENDPOINT",
        "COLLECTORS_TEST_S3_BUCKET",
        "COLLECTORS_TEST_S3_ACCESS_KEY_ID",
        "COLLECTORS_TEST_S3_SECRET_ACCESS_KEY",
    ]
    .iter()
    .map(|v| std::env::var(v).ok())
    .collect();
    let Some(vars) = vars.into_iter().collect::<Option<Vec<_>>>() else {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "moto is not running; scripts/services starts it"
        );
        eprintln!("SKIPPED: moto is not running; `source scripts/services` first");
        return;
    };
    let run = uuid::Uuid::new_v4().simple().to_string();
    let (input_uri, output_uri) = (
        format!("s3://{}/{run}/raw/", vars[1]),
        format!("s3://{}/{run}/out/", vars[1]),
    );
    let dir = tempfile::tempdir().unwrap();
    let config_file = dir.path().join("s3.toml");
    std::fs::write(
        &config_file,
        format!(
            "aws_endpoint = \"{}\"\nallow_http = true\naws_region = \"us-east-1\"\naws_access_key_id = \"{}\"\naws_secret_access_key = \"{}\"\n",
            vars[0], vars[2], vars[3]
        ),
    )
    .unwrap();
    let config = ObjectStoreConfig::from_path(&config_file).unwrap();
    let input = Arc::new(get_connector(&input_uri, &config).unwrap());
    let output = Arc::new(get_connector(&output_uri, &config).unwrap());
    let options = format!("config = \"{}\"", config_file.display());
    let text = spec(&input_uri, &output_uri, "")
        .replace(
            "format = \"csv\"\n",
            &format!("format = \"csv\"\n{options}\n"),
        )
        .replace(
            "create_only = true\n",
            &format!("create_only = true\n{options}\n"),
        );
    csv_objects_in_parquet_objects_out(input, output, text).await;
}
