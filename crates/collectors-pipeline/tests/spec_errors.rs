//! Every kind of mistake in a pipeline spec is reported with the file, the line and the key,
//! before any data is touched. In-process: specs are parsed and built, no subprocess.

use std::path::{Path, PathBuf};

use collectors_pipeline::{PipelineSpec, Registry};

fn example_text() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sensors/pipeline.toml");
    std::fs::read_to_string(path).unwrap()
}

/// A directory with an empty `data/` and `pipeline.toml` holding `text`.
fn setup(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let file = dir.path().join("pipeline.toml");
    std::fs::write(&file, text).unwrap();
    (dir, file)
}

/// Loads and builds the spec; the error message, or `None` when it is valid.
fn check(text: &str) -> (Option<String>, bool) {
    let (dir, file) = setup(text);
    let result = PipelineSpec::from_path(&file).and_then(|s| s.components(&Registry::standard()));
    let wrote = dir.path().join("out").exists();
    (result.err().map(|e| e.to_string()), wrote)
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn mistakes_name_the_file_line_and_key() {
    let ex = example_text();
    let cases: Vec<(&str, String, Vec<String>)> = vec![
        (
            "unknown key",
            ex.replace("table = \"readings\"", "tabel = \"readings\""),
            vec!["pipeline.toml".into(), "tabel".into()],
        ),
        (
            "unknown processor",
            ex.replace("type = \"rolling_mean\"", "type = \"rolling_median\""),
            vec![
                format!(":{}:", line_of(&ex, "type = \"rolling_mean\"")),
                "rolling_median".into(),
                "processor[1].type".into(),
            ],
        ),
        (
            "missing directory",
            ex.replace("path = \"data\"", "path = \"no-such-dir\""),
            vec![
                format!("pipeline.toml:{}:", line_of(&ex, "path = \"data\"")),
                "source[0].path".into(),
                "no-such-dir".into(),
            ],
        ),
        (
            "zero bound",
            ex.replace("channel_capacity = 8", "channel_capacity = 0"),
            vec![
                format!(":{}:", line_of(&ex, "channel_capacity")),
                "engine.channel_capacity".into(),
            ],
        ),
        (
            "huge bound",
            ex.replace(
                "max_items_in_flight = 2",
                "max_items_in_flight = 4611686018427387904",
            ),
            vec![
                format!(":{}:", line_of(&ex, "max_items_in_flight")),
                "engine.max_items_in_flight".into(),
                "1024".into(),
            ],
        ),
        (
            "huge store batch",
            ex.replace(
                "store_batch_rows = 50000",
                "store_batch_rows = 1152921504606846976",
            ),
            vec!["engine.store_batch_rows".into()],
        ),
        (
            "negative retry count",
            ex.replace("max_attempts = 5", "max_attempts = -1"),
            vec!["max_attempts".into(), "line".into()],
        ),
        (
            "wrong type",
            ex.replace("window = 5", "window = \"five\""),
            vec![
                format!(":{}:", line_of(&ex, "window = 5")),
                "processor[1].window".into(),
            ],
        ),
        (
            "zero window",
            ex.replace("window = 5", "window = 0"),
            vec![
                format!(":{}:", line_of(&ex, "window = 5")),
                "processor[1].window".into(),
            ],
        ),
        (
            "zero batch size",
            ex.replace("batch_size = 8192", "batch_size = 0"),
            vec![
                format!(":{}:", line_of(&ex, "batch_size = 8192")),
                "source[0].csv.batch_size".into(),
            ],
        ),
        (
            "huge batch size",
            ex.replace("batch_size = 8192", "batch_size = 1152921504606846976"),
            vec!["source[0].csv.batch_size".into()],
        ),
        (
            "unknown store kind",
            ex.replace("kind = \"sqlite\"", "kind = \"oracle\""),
            vec![
                format!(":{}:", line_of(&ex, "kind = \"sqlite\"")),
                "oracle".into(),
            ],
        ),
        (
            "unknown column type",
            ex.replace("type = \"float64\"", "type = \"float65\""),
            vec!["float65".into(), "source[0].csv.schema[2].type".into()],
        ),
        (
            "not TOML",
            "name = \"x\"\n[[source]\n".to_owned(),
            vec!["pipeline.toml".into(), "line".into()],
        ),
        (
            "empty name",
            ex.replace("name = \"sensors\"", "name = \"\""),
            vec!["`name`".into()],
        ),
        (
            "jitter out of range",
            ex.replace("jitter = 0.5", "jitter = 2.0"),
            vec!["retry.jitter".into()],
        ),
        (
            "filter on a column the schema does not have",
            ex.replace("column = \"status\"", "column = \"state\""),
            vec![
                format!(":{}:", line_of(&ex, "column = \"status\"")),
                "processor[0].column".into(),
                "`state`".into(),
            ],
        ),
        (
            "rolling mean of a missing column",
            ex.replace("value = \"value\"", "value = \"reading\""),
            vec!["processor[1].value".into(), "`reading`".into()],
        ),
        (
            "a column step after encode (a table turned into bytes)",
            ex.replace(
                "[[processor]]\ntype = \"rolling_mean\"",
                "[[processor]]\ntype = \"encode\"\nformat = \"parquet\"\ncompression = \"zstd\"\n[[processor]]\ntype = \"rolling_mean\"",
            ),
            vec!["processor[2].key".into(), "`sensor_id`".into()],
        ),
        (
            "an unknown Parquet codec",
            ex.replace(
                "[[processor]]\ntype = \"rolling_mean\"",
                "[[processor]]\ntype = \"encode\"\nformat = \"parquet\"\ncompression = \"brotli\"\n[[processor]]\ntype = \"rolling_mean\"",
            ),
            vec!["processor[1]".into(), "brotli".into()],
        ),
        (
            "decoder options of another format",
            ex.replace("[source.csv]", "[source.jsonl]"),
            vec!["source[0].jsonl".into(), "format is csv".into()],
        ),
    ];
    for (what, text, needles) in cases {
        let (error, wrote) = check(&text);
        let error = error.unwrap_or_else(|| panic!("{what}: accepted"));
        for needle in needles {
            assert!(
                error.contains(&needle),
                "{what}: `{needle}` missing from: {error}"
            );
        }
        assert!(
            !wrote,
            "{what}: nothing may be written before the spec is valid"
        );
    }
}

#[test]
fn outputs_that_coincide_with_each_other_or_an_input_are_refused() {
    // With a dead-letter file of its own (the example keeps them in the store's database).
    let ex = format!(
        "{}\n[dead_letter]\npath = \"out/dead_letters.jsonl\"\n",
        example_text()
    );
    let cases = [
        (
            "dead letters into the SQLite store",
            ex.replace(
                "path = \"out/dead_letters.jsonl\"",
                "path = \"out/sensors.db\"",
            ),
            "same place",
        ),
        (
            "dead letters into the store, spelled differently",
            ex.replace(
                "path = \"out/dead_letters.jsonl\"",
                "path = \"./out/../out/sensors.db\"",
            ),
            "same place",
        ),
        (
            "dead letters appended to an input file",
            ex.replace(
                "path = \"out/dead_letters.jsonl\"",
                "path = \"data/sensors-000.csv\"",
            ),
            "input of source `sensor-files`",
        ),
        (
            "the store inside the input directory, matched by the pattern",
            ex.replace("pattern = \"*.csv\"", "pattern = \"**/*\"")
                .replace("path = \"out/sensors.db\"", "path = \"data/sensors.db\""),
            "input of source",
        ),
        (
            "the checkpoint database is the dead-letter file",
            format!("{ex}\n[checkpoints]\npath = \"out/dead_letters.jsonl\"\n"),
            "same place",
        ),
        (
            "a replica on the store's file",
            format!("{ex}\n[[replica]]\nkind = \"file\"\npath = \"out/sensors.db\"\n"),
            "same place",
        ),
    ];
    for (what, text, needle) in cases {
        let (error, _) = check(&text);
        let error = error.unwrap_or_else(|| panic!("{what}: accepted"));
        assert!(
            error.contains(needle),
            "{what}: `{needle}` missing from: {error}"
        );
    }
}

#[test]
fn a_missing_pipeline_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = PipelineSpec::from_path(dir.path().join("nope.toml")).unwrap_err();
    assert!(err.to_string().contains("nope.toml"), "{err}");
}

#[test]
fn a_minimal_spec_gets_documented_defaults() {
    let (dir, file) = setup(
        "name = \"m\"\n[[source]]\nid = \"in\"\nkind = \"local\"\npath = \"data\"\nformat = \"csv\"\n\
         [store]\nkind = \"sqlite\"\npath = \"out/m.db\"\ntable = \"t\"\n",
    );
    let spec = PipelineSpec::from_path(&file).unwrap();
    let components = spec.components(&Registry::standard()).unwrap();
    // The SQLite store keeps checkpoints and dead letters in its own database.
    assert_eq!(
        components.dead_letter_location(),
        format!(
            "{} (table _collectors_dead_letters)",
            dir.path().join("out/m.db").display()
        )
    );
    assert_eq!(components.checkpoint_db(), dir.path().join("out/m.db"));
    assert_eq!(spec.retry.max_attempts, 5);
    assert!(!dir.path().join("out").exists(), "checking writes nothing");
}

#[test]
fn toml_and_json_specs_have_the_same_structure() {
    let (dir, file) = setup(&example_text());
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sensors/data/sensors-000.csv"),
        dir.path().join("data/sensors-000.csv"),
    )
    .unwrap();
    let toml_spec = PipelineSpec::from_path(&file).unwrap();
    let json = serde_json::to_string_pretty(&toml_spec).unwrap();
    let json_file = dir.path().join("pipeline.json");
    std::fs::write(&json_file, &json).unwrap();
    let json_spec = PipelineSpec::from_path(&json_file).unwrap();
    assert_eq!(toml_spec.fingerprint(), json_spec.fingerprint());
    assert_eq!(
        serde_json::to_value(&toml_spec).unwrap(),
        serde_json::to_value(&json_spec).unwrap()
    );
    json_spec.components(&Registry::standard()).unwrap();
    // A JSON mistake names the key path.
    let bad = json.replace("\"window\": 5", "\"window\": \"five\"");
    let err = PipelineSpec::from_json_str(&bad, dir.path())
        .and_then(|s| s.components(&Registry::standard()))
        .unwrap_err();
    assert!(err.to_string().contains("processor[1].window"), "{err}");
}

#[test]
fn every_standard_component_publishes_a_parameter_schema() {
    let schemas = Registry::standard().schemas();
    for (group, name, key) in [
        ("sources", "local", "path"),
        ("decoders", "csv", "delimiter"),
        ("decoders", "jsonl", "batch_size"),
        ("processors", "filter", "column"),
        ("processors", "rolling_mean", "window"),
        ("processors", "peak_detection", "prominence"),
        ("processors", "data_quality", "ranges"),
        ("processors", "validate", "columns"),
        ("processors", "map", "derive"),
        ("processors", "filter", "expr"),
        ("processors", "encode", "compression"),
        ("stores", "sqlite", "table"),
        ("stores", "file", "format"),
    ] {
        assert!(
            schemas[group][name]["properties"][key].is_object(),
            "{group}.{name}.{key} missing from {}",
            schemas[group][name]
        );
    }
    let spec_schema = PipelineSpec::json_schema();
    assert!(spec_schema["properties"]["source"].is_object());
}

#[test]
fn checkpoints_need_exactly_one_of_a_path_or_a_url() {
    let ex = example_text();
    for (what, section) in [
        (
            "both",
            "[checkpoints]\npath = \"out/c.db\"\nurl = \"postgres://app@db/ledger\"\n",
        ),
        ("neither", "[checkpoints]\n"),
    ] {
        let (error, wrote) = check(&format!("{ex}\n{section}"));
        let error = error.unwrap_or_else(|| panic!("{what}: accepted"));
        assert!(error.contains("checkpoints"), "{what}: {error}");
        assert!(error.contains("one of `path`"), "{what}: {error}");
        assert!(!wrote, "{what}: nothing written");
    }
    // A URL alone is a valid spec: no local checkpoint file is planned.
    let (error, _) = check(&format!(
        "{ex}\n[checkpoints]\nurl = \"postgres://app@db.internal/ledger\"\n"
    ));
    assert_eq!(error, None);
}

#[cfg(feature = "postgres")]
#[test]
fn the_checkpoint_pool_belongs_to_a_url_and_is_checked_where_it_is_written() {
    let ex = example_text();
    let url = "[checkpoints]\nurl = \"postgres://app@db.internal/ledger\"\n";
    let (error, _) = check(&format!(
        "{ex}\n{url}pool = {{ max_size = 2, min_size = 1 }}\n"
    ));
    assert_eq!(error, None, "a pool with the url is a valid spec");
    for (what, section, expected) in [
        (
            "a pool of SQLite checkpoints",
            "[checkpoints]\npath = \"out/c.db\"\npool = { max_size = 2 }\n".to_owned(),
            "is the pool of `url`",
        ),
        (
            "no connection at all",
            format!("{url}pool = {{ max_size = 0 }}\n"),
            "max_size",
        ),
        (
            "an unknown pool key",
            format!("{url}pool = {{ max_sise = 2 }}\n"),
            "max_sise",
        ),
    ] {
        let text = format!("{ex}\n{section}");
        let (error, wrote) = check(&text);
        let error = error.unwrap_or_else(|| panic!("{what}: accepted"));
        assert!(error.contains(expected), "{what}: {error}");
        let line = line_of(&text, "pool =");
        assert!(
            error.contains(&format!(":{line}")) || error.contains(&format!("line {line}")),
            "{what}: the error names the line of `pool`: {error}"
        );
        assert!(!wrote, "{what}: nothing written");
    }
}

#[test]
fn a_spec_shown_with_debug_hides_passwords_and_secret_parameters() {
    let spec = collectors_pipeline::PipelineSpec::from_toml_str(
        r#"
name = "secrets"
[[source]]
id = "in"
kind = "object_store"
path = "s3://bucket/raw/"
format = "csv"
aws_secret_access_key = "hunter2-source"
[[processor]]
type = "script"
name = "s"
params = { api_token = "hunter2-script", target_column = "v" }
[store]
kind = "postgres"
url = "postgres://loader:hunter2-store@db:5432/warehouse"
table = "readings"
[checkpoints]
url = "postgres://runs:hunter2-checkpoints@db/state"
"#,
        "/srv",
    )
    .unwrap();
    let shown = format!("{spec:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(
        shown.contains("postgres://loader:***@db:5432/warehouse"),
        "{shown}"
    );
    assert!(shown.contains("target_column"), "{shown}");
}
