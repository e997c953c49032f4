//! `JsonlDeadLetterSink`, `read_dead_letters` and `rewrite_dead_letters` on real files.

use std::io::Write;

use collectors_backends::{JsonlDeadLetterSink, read_dead_letters, rewrite_dead_letters};
use collectors_core::{DeadLetter, DeadLetterSink, Error, ErrorInfo, ErrorType};

fn letter(item: &str, line: Option<u64>, message: &str) -> DeadLetter {
    let error = ErrorInfo::from(&Error::validation(message).with_operation("decode"));
    let letter = DeadLetter::new("sensors", "incoming", item, error);
    match line {
        Some(l) => letter.with_row(l, format!("raw,{l}"), true),
        None => letter,
    }
}

#[tokio::test]
async fn the_jsonl_sink_meets_the_dead_letter_contract() {
    let dir = tempfile::tempdir().unwrap();
    let sink = JsonlDeadLetterSink::new(dir.path().join("dead.jsonl"));
    collectors_core::conformance::dead_letter_store(&sink).await;
}

#[tokio::test]
async fn appends_are_read_back_deduplicated_keeping_the_last() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/dead.jsonl");
    let sink = JsonlDeadLetterSink::new(&path);
    sink.write(&[]).await.unwrap();
    assert!(!path.exists(), "nothing to write creates nothing");

    let first = letter("x.csv", Some(3), "first");
    let other = letter("x.csv", Some(4), "other");
    let item = letter("y.csv", None, "unreadable");
    sink.write(&[first.clone(), other.clone()]).await.unwrap();
    sink.write(std::slice::from_ref(&item)).await.unwrap();
    let replayed = letter("x.csv", Some(3), "second");
    sink.write(std::slice::from_ref(&replayed)).await.unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 4, "one line per letter");
    assert!(text.ends_with('\n'));
    let letters = read_dead_letters(&path).await.unwrap();
    assert_eq!(
        letters,
        vec![replayed, other, item],
        "first-seen order, last value"
    );
}

#[tokio::test]
async fn a_torn_last_line_is_ignored_and_repaired_by_the_next_append() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dead.jsonl");
    let sink = JsonlDeadLetterSink::new(&path);
    let a = letter("x.csv", Some(1), "a");
    sink.write(std::slice::from_ref(&a)).await.unwrap();
    // A crash in the middle of the next append.
    let torn = serde_json::to_string(&letter("x.csv", Some(2), "torn")).unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(&torn.as_bytes()[..torn.len() / 2])
        .unwrap();
    assert_eq!(read_dead_letters(&path).await.unwrap(), vec![a.clone()]);

    let b = letter("x.csv", Some(3), "b");
    sink.write(std::slice::from_ref(&b)).await.unwrap();
    assert_eq!(
        read_dead_letters(&path).await.unwrap(),
        vec![a.clone(), b.clone()]
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);

    // A complete letter missing only its newline is kept, and terminated before appending.
    let c = letter("x.csv", Some(4), "c");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(serde_json::to_string(&c).unwrap().as_bytes())
        .unwrap();
    assert_eq!(read_dead_letters(&path).await.unwrap().len(), 3);
    let d = letter("x.csv", Some(5), "d");
    sink.write(std::slice::from_ref(&d)).await.unwrap();
    assert_eq!(read_dead_letters(&path).await.unwrap(), vec![a, b, c, d]);
}

#[tokio::test]
async fn a_corrupt_line_is_a_validation_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dead.jsonl");
    let good = serde_json::to_string(&letter("x.csv", Some(1), "a")).unwrap();
    std::fs::write(&path, format!("{good}\n\n{{\"oops\": 1}}\n{good}\n")).unwrap();
    let err = read_dead_letters(&path).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Validation);
    assert!(err.to_string().contains("line 3"), "{err}");

    let missing = read_dead_letters(dir.path().join("none.jsonl"))
        .await
        .unwrap_err();
    assert_eq!(missing.error_type(), ErrorType::NotFound);
}

#[tokio::test]
async fn rewrite_replaces_the_file_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dead.jsonl");
    let sink = JsonlDeadLetterSink::new(&path);
    let (a, b) = (letter("x.csv", Some(1), "a"), letter("x.csv", Some(2), "b"));
    sink.write(&[a.clone(), b.clone()]).await.unwrap();

    rewrite_dead_letters(&path, std::slice::from_ref(&b))
        .await
        .unwrap();
    assert_eq!(read_dead_letters(&path).await.unwrap(), vec![b.clone()]);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["dead.jsonl"], "no temp file is left behind");

    // The sink keeps appending to the new file.
    sink.write(std::slice::from_ref(&a)).await.unwrap();
    assert_eq!(read_dead_letters(&path).await.unwrap(), vec![b, a]);
}
