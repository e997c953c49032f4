//! Every kind of mistake in a pipeline file is reported with the file, the line and the key,
//! before any data is touched.

mod common;

use common::*;

fn run_with(pipeline: &str) -> (Option<i32>, String, bool) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("pipeline.toml"), pipeline).unwrap();
    let out = collectors(dir.path(), &["run", "pipeline.toml", "--quiet"]);
    let wrote = dir.path().join("out").exists();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        wrote,
    )
}

fn example() -> String {
    std::fs::read_to_string(example_dir().join("pipeline.toml")).unwrap()
}

#[test]
fn mistakes_name_the_file_line_and_key() {
    let cases: Vec<(&str, String, &[&str])> = vec![
        (
            "unknown key",
            example().replace("table = \"readings\"", "tabel = \"readings\""),
            &["pipeline.toml", "line", "tabel"],
        ),
        (
            "unknown processor",
            example().replace("type = \"rolling_mean\"", "type = \"rolling_median\""),
            &["line", "rolling_median"],
        ),
        (
            "missing section",
            example().replace("[dead_letter]\npath = \"out/dead_letters.jsonl\"\n", ""),
            &["dead_letter"],
        ),
        (
            "missing directory",
            example().replace("path = \"data\"", "path = \"no-such-dir\""),
            &["pipeline.toml:", "source[0].path", "no-such-dir"],
        ),
        (
            "zero bound",
            example().replace("channel_capacity = 8", "channel_capacity = 0"),
            &["channel_capacity"],
        ),
        (
            "negative retry count",
            example().replace("max_attempts = 5", "max_attempts = -1"),
            &["line", "max_attempts"],
        ),
        (
            "wrong type",
            example().replace("window = 5", "window = \"five\""),
            &["line", "window"],
        ),
        (
            "unknown store kind",
            example().replace("kind = \"sqlite\"", "kind = \"oracle\""),
            &["line", "oracle"],
        ),
        (
            "unknown column type",
            example().replace("type = \"float64\"", "type = \"float65\""),
            &["line", "float65"],
        ),
        (
            "not TOML",
            "name = \"x\"\n[[source]\n".to_owned(),
            &["pipeline.toml", "line"],
        ),
        (
            "empty name",
            example().replace("name = \"sensors\"", "name = \"\""),
            &["name"],
        ),
        (
            "jitter out of range",
            example().replace("jitter = 0.5", "jitter = 2.0"),
            &["jitter"],
        ),
    ];
    for (what, text, needles) in cases {
        let (code, stderr, wrote) = run_with(&text);
        assert_eq!(code, Some(2), "{what}: exit code; stderr: {stderr}");
        for needle in needles {
            assert!(
                stderr.contains(needle),
                "{what}: `{needle}` missing from: {stderr}"
            );
        }
        assert!(
            !wrote,
            "{what}: nothing may be written before the file is valid"
        );
    }
}

#[test]
fn a_missing_pipeline_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = collectors(dir.path(), &["run", "nope.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.toml"));
}
