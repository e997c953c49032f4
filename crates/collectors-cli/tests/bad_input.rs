//! Bad input files: each is a typed error or a dead letter, the run goes on, and every valid
//! row is stored.

mod common;

use std::io::{Seek, SeekFrom, Write};

use common::*;

const HEADER: &str = "ts,sensor_id,value,status\n";

fn row(i: u32) -> String {
    format!(
        "2026-01-01T00:00:{:02}Z,s-{:02},{}.5,ok\n",
        i % 60,
        i % 3,
        i
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_files_and_rows_do_not_stop_the_run_or_lose_valid_rows() {
    let dir = tempfile::tempdir().unwrap();
    copy_pipeline(dir.path());
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();

    // a-good.csv: 10 valid rows.
    std::fs::write(
        data.join("a-good.csv"),
        [HEADER.to_owned(), (0..10).map(row).collect()].concat(),
    )
    .unwrap();
    // b-empty.csv: nothing at all.
    std::fs::write(data.join("b-empty.csv"), "").unwrap();
    // c-garbage.csv: binary bytes, no CSV header.
    let mut rng = fastrand::Rng::with_seed(3);
    let garbage: Vec<u8> = (0..4096).map(|_| rng.u8(..)).collect();
    std::fs::write(data.join("c-garbage.csv"), garbage).unwrap();
    // d-mixed.csv: wrong column counts and invalid UTF-8 among valid rows (lines 3, 5, 6).
    let mut mixed = Vec::new();
    mixed.extend_from_slice(HEADER.as_bytes());
    mixed.extend_from_slice(row(1).as_bytes());
    mixed.extend_from_slice(b"2026-01-01T00:00:02Z,s-01,2.5\n");
    mixed.extend_from_slice(row(3).as_bytes());
    mixed.extend_from_slice(b"2026-01-01T00:00:04Z,s-\xff\xfe,4.5,ok\n");
    mixed.extend_from_slice(b"2026-01-01T00:00:05Z,s-01,5.5,ok,extra\n");
    mixed.extend_from_slice(row(6).as_bytes());
    std::fs::write(data.join("d-mixed.csv"), mixed).unwrap();
    // e-huge-line.csv: a 1 GiB line (a sparse file: no disk, but every byte is read), then
    // two valid rows. The decoder must reject it without holding it.
    let mut huge = std::fs::File::create(data.join("e-huge-line.csv")).unwrap();
    huge.write_all(HEADER.as_bytes()).unwrap();
    huge.seek(SeekFrom::Current(1 << 30)).unwrap();
    huge.write_all(b"\n").unwrap();
    huge.write_all([row(7), row(8)].concat().as_bytes())
        .unwrap();
    drop(huge);
    // f-missing.csv: a link whose target does not exist; the listing skips it (as object_store
    // does) rather than failing the run. (A file that vanishes between listing and reading is
    // dead-lettered as not found: see the engine tests.)
    std::os::unix::fs::symlink(dir.path().join("nowhere.csv"), data.join("f-missing.csv")).unwrap();

    let out = collectors(dir.path(), &["run", "pipeline.toml", "--quiet"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "dead letters are an allowed end:\n{stdout}\n{stderr}"
    );

    // Every valid row is stored: 10 + 3 + 2.
    let stored = stored_rows(&dir.path().join("out/sensors.db")).await;
    assert_eq!(stored.len(), 15, "{stdout}");
    assert_eq!(summary_value(&stdout, "failed"), 0);

    let letters = stored_letters(&dir.path().join("out/sensors.db")).await;
    let find = |item: &str| {
        letters
            .iter()
            .filter(|l| l["item_id"] == item)
            .collect::<Vec<_>>()
    };
    let mixed_lines: Vec<u64> = find("d-mixed.csv")
        .iter()
        .map(|l| l["line"].as_u64().unwrap())
        .collect();
    assert_eq!(
        mixed_lines,
        vec![3, 5, 6],
        "rejected rows keep their line numbers"
    );
    let huge = find("e-huge-line.csv");
    assert_eq!(huge.len(), 1);
    assert_eq!(huge[0]["line"], 2);
    let garbage = find("c-garbage.csv");
    assert_eq!(
        garbage.len(),
        1,
        "an undecodable file is one letter for the whole item"
    );
    assert_eq!(garbage[0]["error"]["error_type"], "validation");
    assert!(find("f-missing.csv").is_empty());
    assert!(
        stdout.contains("5 listed"),
        "the dangling link is not an item: {stdout}"
    );
    assert!(
        find("b-empty.csv").is_empty(),
        "an empty file is simply done"
    );
}

#[test]
fn stderr_carries_no_colour_codes_when_it_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    copy_pipeline(dir.path());
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    // A pattern that can never match logs a warning; the run itself goes on.
    let pipeline = std::fs::read_to_string(dir.path().join("pipeline.toml")).unwrap();
    std::fs::write(
        dir.path().join("pipeline.toml"),
        pipeline.replace("pattern = \"*.csv\"", "pattern = \"../*.csv\""),
    )
    .unwrap();
    let out = collectors(dir.path(), &["run", "pipeline.toml", "--quiet"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("WARN"), "a warning is logged: {stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "no ANSI escape codes: {stderr:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dead_letter_list_total_does_not_wrap() {
    use collectors_core::{DeadLetter, Error, ErrorInfo, Payload};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("letters.jsonl");
    let letters: Vec<DeadLetter> = (0..2)
        .map(|b| {
            let mut letter =
                DeadLetter::new("p", "s", "a.csv", ErrorInfo::from(&Error::storage("full")))
                    .with_batch(b, Payload::Json(serde_json::json!(b)), 1);
            letter.records = u64::MAX;
            letter
        })
        .collect();
    collectors_backends::rewrite_dead_letters(&file, &letters)
        .await
        .unwrap();
    let out = collectors(dir.path(), &["dead-letter", "list", "letters.jsonl"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("2 dead letters: {} records", u64::MAX)),
        "{stdout}"
    );
}
