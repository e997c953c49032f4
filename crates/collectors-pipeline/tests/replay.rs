//! Dead-letter replay loses nothing: letters leave the file only once their records are
//! stored, each replayed record has a key of its own, distinct letters never collapse, and
//! raw bytes survive exactly. In-process: specs are built and run, no subprocess.

use std::path::PathBuf;
use std::sync::Arc;

use collectors_core::{CancellationToken, ErrorType, Result, StorageBackend};
use collectors_mocks::MockStorageBackend;
use collectors_pipeline::{BuiltStore, PipelineSpec, Registry, replay_dead_letters};
use sqlx::Connection;

const HEADER: &str = "ts,sensor_id,value\n";

fn pipeline(processors: &str) -> String {
    format!(
        r#"
name = "replay"
[engine]
linger_ms = 10
[[source]]
id = "in"
kind = "local"
path = "data"
pattern = "*.csv"
format = "csv"
[source.csv]
schema = [
  {{ name = "ts", type = "timestamp" }},
  {{ name = "sensor_id", type = "utf8" }},
  {{ name = "value", type = "float64" }},
]
{processors}
[store]
kind = "sqlite"
path = "out/store.db"
table = "readings"
[dead_letter]
path = "out/dead_letters.jsonl"
[retry]
max_attempts = 2
initial_delay_ms = 1
max_delay_ms = 2
"#
    )
}

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(text: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("pipeline.toml"), text).unwrap();
        Self { dir }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn write(&self, name: &str, content: &[u8]) {
        std::fs::write(self.path(&format!("data/{name}")), content).unwrap();
    }

    fn set_pipeline(&self, text: &str) {
        std::fs::write(self.path("pipeline.toml"), text).unwrap();
    }

    fn spec(&self) -> PipelineSpec {
        PipelineSpec::from_path(self.path("pipeline.toml")).unwrap()
    }

    async fn run(&self) -> collectors_core::RunSummary {
        let engine = self.spec().build(&Registry::standard()).await.unwrap();
        let summary = engine.run(CancellationToken::new()).await.unwrap();
        assert!(summary.counts.adds_up(), "{:?}", summary.counts);
        summary
    }

    async fn replay(&self, registry: &Registry) -> collectors_pipeline::ReplayReport {
        let components = self.spec().components(registry).unwrap();
        let letters = components.dead_letters().await.unwrap();
        replay_dead_letters(&components, letters.as_ref())
            .await
            .unwrap()
    }

    async fn stored_rows(&self) -> i64 {
        let url = format!("sqlite://{}", self.path("out/store.db").display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query_scalar("SELECT COUNT(*) FROM readings")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    }

    /// The pipeline's letters, wherever it keeps them (its file, or the store's database).
    async fn letters(&self) -> Vec<collectors_core::DeadLetter> {
        let components = self.spec().components(&Registry::standard()).unwrap();
        let store = components.dead_letters().await.unwrap();
        let letters = store.letters("replay").await.unwrap();
        components.store().disconnect().await.unwrap();
        letters
    }

    /// Replaces the letters with `fix` applied to each letter's raw row.
    async fn fix_letters(&self, fix: impl Fn(&str) -> Option<String>) {
        let mut letters = self.letters().await;
        let keys: Vec<String> = letters.iter().map(|l| l.key()).collect();
        for l in &mut letters {
            if let Some(fixed) = l
                .raw
                .as_ref()
                .and_then(|r| std::str::from_utf8(r).ok())
                .and_then(&fix)
            {
                l.raw = Some(fixed.into());
            }
        }
        let components = self.spec().components(&Registry::standard()).unwrap();
        let store = components.dead_letters().await.unwrap();
        store.replace("replay", &keys, &letters).await.unwrap();
        components.store().disconnect().await.unwrap();
    }
}

fn rows(sensor: &str, n: usize, bad_every: usize) -> String {
    let mut text = String::from(HEADER);
    for i in 0..n {
        let value = if bad_every > 0 && i % bad_every == bad_every - 1 {
            "bad".to_owned()
        } else {
            format!("{i}.5")
        };
        text.push_str(&format!(
            "2026-01-01T00:{:02}:{:02}Z,{sensor},{value}\n",
            i / 60 % 60,
            i % 60
        ));
    }
    text
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct StoreParams {
    #[allow(dead_code)]
    path: PathBuf,
    #[allow(dead_code)]
    table: String,
}

/// The standard registry whose `sqlite` store refuses every write.
fn registry_with_broken_store() -> Registry {
    let mut registry = Registry::standard();
    registry.store("sqlite", |id, _: StoreParams, _| -> Result<BuiltStore> {
        let mock = MockStorageBackend::new(id);
        // Connected, but every write fails (a read-only database, a full disk).
        mock.control()
            .fail_method("store_batch", u32::MAX, ErrorType::Storage);
        let store: Arc<dyn StorageBackend> = Arc::new(mock);
        Ok(BuiltStore {
            store,
            outputs: Vec::new(),
            ledger_db: None,
            quality_history: None,
        })
    });
    registry
}

#[tokio::test]
async fn a_replay_whose_store_fails_keeps_every_letter() {
    let s = Setup::new(&pipeline(""));
    s.write("a.csv", rows("a", 20, 4).as_bytes());
    s.run().await;
    let before = std::fs::read(s.path("out/dead_letters.jsonl")).unwrap();
    s.fix_letters(|raw| Some(raw.replace("bad", "1.0"))).await;
    let fixed = std::fs::read(s.path("out/dead_letters.jsonl")).unwrap();
    assert_ne!(before, fixed);

    let report = s.replay(&registry_with_broken_store()).await;
    assert!(!report.completed, "{report:?}");
    assert_eq!(
        std::fs::read(s.path("out/dead_letters.jsonl")).unwrap(),
        fixed,
        "the letter file is untouched"
    );
    // With a working store the same letters are stored, and only then removed.
    let report = s.replay(&Registry::standard()).await;
    assert!(report.completed);
    assert_eq!(report.stored, 5);
    assert!(s.letters().await.is_empty());
    assert_eq!(s.stored_rows().await, 20);
}

/// The pipeline with its dead letters in the store's database (no `[dead_letter]`).
fn pipeline_letters_in_store(processors: &str) -> String {
    pipeline(processors).replace("[dead_letter]\npath = \"out/dead_letters.jsonl\"\n", "")
}

#[tokio::test]
async fn replays_in_rounds_add_up_instead_of_overwriting() {
    replay_in_rounds(&pipeline("")).await;
}

#[tokio::test]
async fn letters_in_the_store_database_replay_in_rounds_too() {
    let s = replay_in_rounds(&pipeline_letters_in_store("")).await;
    assert!(
        !s.path("out/dead_letters.jsonl").exists(),
        "no letter file beside the database"
    );
}

#[tokio::test]
async fn letters_in_the_store_database_are_never_written_twice() {
    let s = Setup::new(&pipeline_letters_in_store(""));
    s.write("a.csv", rows("a", 70, 5).as_bytes());
    s.run().await;
    assert_eq!(s.letters().await.len(), 14);
    // The same items done again (a rerun from scratch, or a second run that overlapped
    // the first) write the same letters again: each replaces itself.
    let components = s.spec().components(&Registry::standard()).unwrap();
    let engine = components
        .engine_builder()
        .await
        .unwrap()
        .resume(collectors_core::ResumeMode::Restart)
        .build()
        .unwrap();
    let again = engine.run(CancellationToken::new()).await.unwrap();
    assert_eq!(again.counts.dead_lettered, 14, "{again:?}");
    assert_eq!(s.letters().await.len(), 14);
    let in_table: i64 = {
        let url = format!("sqlite://{}", s.path("out/store.db").display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query_scalar("SELECT COUNT(*) FROM _collectors_dead_letters")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(in_table, 14);
}

async fn replay_in_rounds(text: &str) -> Setup {
    let s = Setup::new(text);
    s.write("a.csv", rows("a", 70, 5).as_bytes());
    s.run().await;
    assert_eq!(s.stored_rows().await, 56);
    assert_eq!(s.letters().await.len(), 14);

    // Round 1: fix the letters of the first 30 rows (6 letters) and replay.
    s.fix_letters(|raw| {
        let minute_second = raw.split(',').next()?;
        (minute_second < "2026-01-01T00:00:30Z").then(|| raw.replace("bad", "2.0"))
    })
    .await;
    let report = s.replay(&Registry::standard()).await;
    assert_eq!((report.stored, report.failed_again), (6, 8), "{report:?}");
    assert_eq!(s.letters().await.len(), 8);
    assert_eq!(s.stored_rows().await, 56 + 6);

    // Round 2: fix the rest.
    s.fix_letters(|raw| Some(raw.replace("bad", "3.0"))).await;
    let report = s.replay(&Registry::standard()).await;
    assert_eq!(report.stored, 8, "{report:?}");
    assert!(s.letters().await.is_empty());
    assert_eq!(
        s.stored_rows().await,
        70,
        "6 + 8 replayed rows, none overwritten"
    );

    // Replaying no letters again changes nothing.
    let report = s.replay(&Registry::standard()).await;
    assert_eq!(report.replayed, 0);
    assert_eq!(s.stored_rows().await, 70);
    s
}

#[tokio::test]
async fn batch_letters_of_one_item_keep_identities_of_their_own() {
    // A filter on a column that no schema declares passes the load (the schema is inferred)
    // and fails every batch of the item: 20,000 rows, three batches, three letters.
    let inferred = pipeline("[[processor]]\ntype = \"filter\"\ncolumn = \"status\"\nop = \"eq\"\nvalue = \"ok\"\n")
        .replace(
            "schema = [\n  { name = \"ts\", type = \"timestamp\" },\n  { name = \"sensor_id\", type = \"utf8\" },\n  { name = \"value\", type = \"float64\" },\n]",
            "",
        );
    let s = Setup::new(&inferred);
    s.write("a.csv", rows("a", 20_000, 0).as_bytes());
    let summary = s.run().await;
    assert_eq!(summary.counts.dead_lettered, 20_000);
    let letters = s.letters().await;
    assert_eq!(letters.len(), 3, "one letter per batch");
    assert_eq!(letters.iter().map(|l| l.records).sum::<u64>(), 20_000);

    // Fixed: no filter. Every row is stored.
    s.set_pipeline(&inferred.replace(
        "column = \"status\"\nop = \"eq\"\nvalue = \"ok\"",
        "column = \"sensor_id\"\nop = \"eq\"\nvalue = \"a\"",
    ));
    let report = s.replay(&Registry::standard()).await;
    assert!(report.completed, "{report:?}");
    assert_eq!(report.stored, 20_000);
    assert!(s.letters().await.is_empty());
    assert_eq!(s.stored_rows().await, 20_000);
}

#[tokio::test]
async fn invalid_utf8_is_kept_exactly_and_never_replayed_as_mangled_text() {
    let s = Setup::new(&pipeline(""));
    let mut content = rows("a", 3, 0).into_bytes();
    content.extend_from_slice(b"2026-01-01T00:00:09Z,s-\xff\xfe,1.0\n");
    s.write("a.csv", &content);
    s.run().await;
    let letters = s.letters().await;
    assert_eq!(letters.len(), 1);
    assert_eq!(
        letters[0].raw.as_deref(),
        Some(&b"2026-01-01T00:00:09Z,s-\xff\xfe,1.0"[..])
    );
    let text = std::fs::read_to_string(s.path("out/dead_letters.jsonl")).unwrap();
    assert!(text.contains("raw_base64"), "{text}");

    let report = s.replay(&Registry::standard()).await;
    assert_eq!((report.stored, report.failed_again), (0, 1));
    let after = s.letters().await;
    assert_eq!(after.len(), 1, "the letter stays");
    assert_eq!(after[0].raw, letters[0].raw, "with its exact bytes");
    assert_eq!(s.stored_rows().await, 3);
}

/// Random mixes of good rows, bad rows and rejected files through run → list → fix →
/// replay, over several rounds: stored rows + records still in letters + rows of files
/// still rejected account for every input row exactly once.
#[tokio::test]
async fn every_input_record_is_accounted_for_exactly_once() {
    for seed in 0..4u64 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let s = Setup::new(&pipeline(""));
        let mut total = 0i64;
        let mut rejected: Vec<(String, String)> = Vec::new();
        for f in 0..rng.usize(2..6) {
            let n = rng.usize(1..300);
            let bad_every = rng.usize(0..7);
            let body = rows(&format!("s{f}"), n, bad_every);
            total += n as i64;
            let name = format!("f{f}.csv");
            if rng.u8(..4) == 0 {
                // A header that does not match the schema: the whole file is rejected.
                s.write(&name, body.replacen("value", "reading", 1).as_bytes());
                rejected.push((name, body));
            } else {
                s.write(&name, body.as_bytes());
            }
        }
        let summary = s.run().await;
        assert_eq!(
            summary.counts.items_rejected as usize,
            rejected.len(),
            "seed {seed}"
        );
        for round in 0..3 {
            // Fix about half of what is broken, then replay.
            s.fix_letters(|raw| (raw.len() % 2 == round % 2).then(|| raw.replace("bad", "9.0")))
                .await;
            for (name, body) in std::mem::take(&mut rejected) {
                if rng.bool() {
                    s.write(&name, body.as_bytes());
                } else {
                    rejected.push((name, body));
                }
            }
            s.replay(&Registry::standard()).await;
            let letters = s.letters().await;
            let in_letters: i64 = letters.iter().map(|l| l.records as i64).sum();
            let in_rejected: i64 = rejected
                .iter()
                .map(|(_, body)| body.lines().count() as i64 - 1)
                .sum();
            let whole_items = letters
                .iter()
                .filter(|l| l.line.is_none() && l.payload.is_none())
                .count();
            assert_eq!(whole_items, rejected.len(), "seed {seed} round {round}");
            assert_eq!(
                s.stored_rows().await + in_letters + in_rejected,
                total,
                "seed {seed} round {round}: stored + letters + rejected files"
            );
        }
    }
}

/// Two files whose inferred schemas disagree (`value` integers in one, text in the other),
/// read at once and stored in one batch: whichever reaches the table first is stored whole,
/// and only the other one's records are dead-lettered, with their own error.
#[tokio::test]
async fn conflicting_inferred_schemas_never_reject_another_items_valid_data() {
    let inferred = pipeline("").replace(
        "schema = [\n  { name = \"ts\", type = \"timestamp\" },\n  { name = \"sensor_id\", type = \"utf8\" },\n  { name = \"value\", type = \"float64\" },\n]",
        "",
    ).replace("linger_ms = 10", "linger_ms = 1000");
    let s = Setup::new(&inferred);
    s.write(
        "a.csv",
        b"ts,sensor_id,value\n2026-01-01T00:00:00Z,a,1\n2026-01-01T00:00:01Z,a,2\n",
    );
    s.write(
        "b.csv",
        b"ts,sensor_id,value\n2026-01-01T00:00:00Z,b,high\n2026-01-01T00:00:01Z,b,low\n",
    );
    let summary = s.run().await;
    assert_eq!(summary.counts.stored, 2, "{:?}", summary.counts);
    assert_eq!(summary.counts.dead_lettered, 2);
    let letters = s.letters().await;
    assert!(!letters.is_empty());
    let blamed = &letters[0].item_id;
    assert!(
        letters.iter().all(|l| &l.item_id == blamed),
        "one file's letters only: {letters:?}"
    );
    assert_eq!(
        letters.iter().map(|l| l.records).sum::<u64>(),
        2,
        "all of that file's records, none of the other's"
    );
    assert_eq!(s.stored_rows().await, 2);
}
