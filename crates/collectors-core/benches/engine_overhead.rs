//! Engine overhead: N small records through source → decoder → 3 cheap processors → a null
//! sink, against a hand-written loop doing the same work in the same process.
//!
//! Run: `cargo bench -p collectors-core --bench engine_overhead -- [records] [runs]`
//! (default 10 000 000 records, 5 runs; medians are reported).
//!
//! This bench runs on the system allocator (glibc's malloc here, as the `collectors`
//! binary and a host app get by default). `engine_overhead_mimalloc` runs the same code on
//! mimalloc: with glibc a batch made on one thread and freed on another takes the arena's
//! lock, which is most of what two items in flight lose to two hand loops.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use collectors_core::arrow_array::{Array, ArrayRef, Int64Array, RecordBatch};
use collectors_core::{
    CancellationToken, DataSource, Decoded, Decoder, Engine, EngineConfig, InMemoryCheckpointStore,
    InMemoryDeadLetterSink, ItemDecoder, Payload, Processor, QueryCriteria, Record, Result,
    SequentialPipeline, SourceItem, StorageBackend, StoredRecord,
};
use futures::stream::{self, BoxStream, StreamExt};

const BATCH: usize = 8192;
const ITEMS: usize = 16;

/// The records of one item: `rows` consecutive integers from `start`.
fn make_batch(start: i64, rows: usize) -> RecordBatch {
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(start..start + rows as i64));
    let values: ArrayRef = Arc::new(Int64Array::from_iter_values(
        (start..start + rows as i64).map(|v| v % 1000),
    ));
    RecordBatch::try_from_iter([("id", ids), ("value", values)]).expect("equal columns")
}

/// The three cheap steps, shared by the engine's processors and the hand loop.
fn add_one(batch: &RecordBatch) -> RecordBatch {
    map_value(batch, |v| v + 1)
}
fn double(batch: &RecordBatch) -> RecordBatch {
    map_value(batch, |v| v * 2)
}
fn keep_below(batch: &RecordBatch) -> RecordBatch {
    let values = batch
        .column(1)
        .as_any()
        .downcast_ref::<Int64Array>()
        .expect("int");
    let mask = collectors_core::arrow_array::BooleanArray::from_iter(
        values.values().iter().map(|v| Some(*v < 1_900)),
    );
    let keep: Vec<usize> = (0..mask.len()).filter(|i| mask.value(*i)).collect();
    let take = |c: &ArrayRef| -> ArrayRef {
        let ints = c.as_any().downcast_ref::<Int64Array>().expect("int");
        Arc::new(Int64Array::from_iter_values(
            keep.iter().map(|i| ints.value(*i)),
        ))
    };
    RecordBatch::try_new(batch.schema(), batch.columns().iter().map(take).collect())
        .expect("same schema")
}
fn map_value(batch: &RecordBatch, f: impl Fn(i64) -> i64) -> RecordBatch {
    let values = batch
        .column(1)
        .as_any()
        .downcast_ref::<Int64Array>()
        .expect("int");
    let mapped: ArrayRef = Arc::new(Int64Array::from_iter_values(
        values.values().iter().map(|v| f(*v)),
    ));
    RecordBatch::try_new(batch.schema(), vec![batch.column(0).clone(), mapped])
        .expect("same schema")
}

struct Step(&'static str, fn(&RecordBatch) -> RecordBatch);

#[async_trait]
impl Processor for Step {
    fn name(&self) -> &str {
        self.0
    }
    fn validate_input(&self, input: &Payload) -> Result<()> {
        input.as_table().map(|_| ())
    }
    async fn process(&self, input: Payload) -> Result<Payload> {
        Ok(Payload::Table((self.1)(input.as_table()?)))
    }
}

/// Items whose content is just their row count; the decoder makes the rows.
struct Synthetic {
    rows_per_item: usize,
}

#[async_trait]
impl DataSource for Synthetic {
    fn source_id(&self) -> &str {
        "synthetic"
    }
    fn is_live(&self) -> bool {
        false
    }
    fn list(&self) -> BoxStream<'_, Result<Vec<SourceItem>>> {
        let page = (0..ITEMS)
            .map(|i| SourceItem::listed("synthetic", format!("item-{i:03}"), "1").with_size(8))
            .collect();
        stream::iter([Ok(page)]).boxed()
    }
    async fn open(&self, item: &SourceItem) -> Result<BoxStream<'static, Result<Bytes>>> {
        // One chunk per batch, `start,rows`, as a real source streams chunks of a file.
        let index: i64 = item.item_id[5..].parse().unwrap_or(0);
        let first = index * self.rows_per_item as i64;
        let rows = self.rows_per_item;
        let chunks = (0..rows).step_by(BATCH).map(move |made| {
            let n = BATCH.min(rows - made);
            Ok(Bytes::from(format!("{},{n}", first + made as i64)))
        });
        Ok(stream::iter(chunks).boxed())
    }
}

/// Makes the rows a chunk describes: the same work the hand loop does per batch.
struct RowMaker;
struct RowMakerItem;

impl Decoder for RowMaker {
    fn name(&self) -> &str {
        "synthetic"
    }
    fn decoder_for(&self, _: &SourceItem) -> Result<Box<dyn ItemDecoder>> {
        Ok(Box::new(RowMakerItem))
    }
}

impl ItemDecoder for RowMakerItem {
    fn feed(&mut self, chunk: &[u8], out: &mut Decoded) -> Result<()> {
        let text = std::str::from_utf8(chunk).expect("ascii");
        let (start, rows) = text.split_once(',').expect("start,rows");
        out.batches.push(make_batch(
            start.parse().expect("start"),
            rows.parse().expect("rows"),
        ));
        Ok(())
    }
    fn finish(&mut self, _: &mut Decoded) -> Result<()> {
        Ok(())
    }
}

/// Counts rows and drops them.
#[derive(Default)]
struct NullSink(AtomicU64);

#[async_trait]
impl StorageBackend for NullSink {
    fn backend_id(&self) -> &str {
        "null"
    }
    async fn connect(&self) -> Result<()> {
        Ok(())
    }
    async fn disconnect(&self) -> Result<()> {
        Ok(())
    }
    async fn store_batch(&self, records: &[Record]) -> Result<()> {
        for record in records {
            self.0.fetch_add(
                record.payload.num_rows().unwrap_or(0) as u64,
                Ordering::Relaxed,
            );
        }
        Ok(())
    }
    async fn query(&self, _: &QueryCriteria) -> Result<Vec<StoredRecord>> {
        Ok(Vec::new())
    }
    async fn delete(&self, _: &str) -> Result<bool> {
        Ok(false)
    }
}

/// The three steps, as the engine's pipeline and the hand loop both run them.
fn steps() -> Vec<Arc<dyn Processor>> {
    vec![
        Arc::new(Step("add-one", add_one)),
        Arc::new(Step("double", double)),
        Arc::new(Step("keep-below", keep_below)),
    ]
}

/// The same work by hand, through the same code: each chunk the source would stream is fed
/// to the same decoder, and each batch goes through the same processors (called through
/// `dyn Processor`, as the pipeline calls them), one after another on one thread. What is
/// left between the two is the engine alone: channels, record keys, the store stage and the
/// checkpoint bookkeeping. (A hand loop that called the steps directly let the compiler
/// inline them, and its rate moved by half with unrelated changes elsewhere.)
async fn hand_loop(records: usize) -> (Duration, u64) {
    let steps = steps();
    let started = Instant::now();
    let rows_per_item = records / ITEMS;
    let mut kept = 0u64;
    for item in 0..ITEMS {
        let start = (item * rows_per_item) as i64;
        let mut decoder = RowMakerItem;
        let mut made = 0;
        while made < rows_per_item {
            let n = BATCH.min(rows_per_item - made);
            let chunk = Bytes::from(format!("{},{n}", start + made as i64));
            let mut decoded = Decoded::default();
            decoder.feed(&chunk, &mut decoded).expect("decode");
            for batch in decoded.batches {
                let mut payload = Payload::Table(batch);
                for step in &steps {
                    payload = step.process(payload).await.expect("step");
                }
                kept += payload.num_rows().unwrap_or(0) as u64;
            }
            made += n;
        }
    }
    (started.elapsed(), kept)
}

/// What two cores give the hand loop: two threads, each with half the records.
fn two_hand_loops(records: usize) -> (Duration, u64) {
    let started = Instant::now();
    let halves: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .build()
                    .expect("runtime")
                    .block_on(hand_loop(records / 2))
            })
        })
        .collect();
    let kept = halves
        .into_iter()
        .map(|h| h.join().expect("hand loop").1)
        .sum();
    (started.elapsed(), kept)
}

async fn engine_run(records: usize, in_flight: usize) -> (Duration, u64) {
    let sink = Arc::new(NullSink::default());
    let mut pipeline = SequentialPipeline::builder("bench");
    for step in steps() {
        pipeline = pipeline.processor(step);
    }
    let pipeline = pipeline.build().expect("pipeline");
    let engine = Engine::builder("bench")
        .source(
            Arc::new(Synthetic {
                rows_per_item: records / ITEMS,
            }),
            Arc::new(RowMaker),
        )
        .pipeline(Arc::new(pipeline))
        .store(sink.clone())
        .checkpoints(Arc::new(InMemoryCheckpointStore::new()))
        .dead_letters(Arc::new(InMemoryDeadLetterSink::new()))
        .config(EngineConfig {
            max_items_in_flight: in_flight,
            store_batch_rows: BATCH,
            ..EngineConfig::default()
        })
        .build()
        .expect("engine");
    let started = Instant::now();
    let summary = engine.run(CancellationToken::new()).await.expect("run");
    let elapsed = started.elapsed();
    assert!(summary.counts.adds_up());
    (elapsed, sink.0.load(Ordering::Relaxed))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// glibc's malloc gives memory back to the kernel whenever the top of a heap is free and
/// maps large buffers one by one, so a loop that frees every batch before making the next
/// one page-faults on every batch: measured, 262 000 page faults in three runs of the hand
/// loop against 7 000 for the engine, which keeps a few batches alive, and the hand loop's
/// rate swung between 68 and 145 M records/s with it. Both sides run with trimming and
/// per-buffer mapping off (the same settings for both), so the comparison is of the code
/// and not of where the heap's top happens to be. Other allocators ignore the variable.
const STEADY_MALLOC: &str =
    "glibc.malloc.trim_threshold=1073741824:glibc.malloc.mmap_threshold=1073741824";

/// Runs this bench again with [`STEADY_MALLOC`] when it is not set yet (glibc reads it
/// only at start), and returns the child's exit code.
fn rerun_with_steady_malloc() -> Option<i32> {
    if std::env::var_os("GLIBC_TUNABLES").is_some() {
        return None;
    }
    let exe = std::env::current_exe().ok()?;
    let status = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("GLIBC_TUNABLES", STEADY_MALLOC)
        .status()
        .ok()?;
    Some(status.code().unwrap_or(1))
}

/// Runs the bench (also from `engine_overhead_mimalloc`).
pub(crate) fn main() {
    if let Some(code) = rerun_with_steady_malloc() {
        std::process::exit(code);
    }
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let records: usize = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let runs: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // One thread: the engine gets exactly the hand loop's single core.
    let single = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let run_side = |side: usize| match side {
        0 => single.block_on(hand_loop(records)),
        1 => single.block_on(engine_run(records, 1)),
        2 => runtime.block_on(engine_run(records, 1)),
        4 => two_hand_loops(records),
        _ => runtime.block_on(engine_run(records, 2)),
    };
    // One side alone, for a profiler: `ENGINE_OVERHEAD_SIDE=1 perf record … -- 10000000 1`
    // (0 hand loop, 1 engine on one thread, 2 engine one item, 3 engine two items, 4 two
    // hand loops).
    if let Some(side) = std::env::var("ENGINE_OVERHEAD_SIDE")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        for _ in 0..runs {
            let (elapsed, _) = run_side(side);
            println!(
                "side {side}: {:.0} records/s",
                records as f64 / elapsed.as_secs_f64()
            );
        }
        return;
    }
    const SIDES: [&str; 5] = [
        "hand loop, 1 thread",
        "engine, 1 thread, 1 item",
        "engine, 2 threads, 1 item",
        "engine, 2 threads, 2 items",
        "hand loop, 2 threads",
    ];
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); SIDES.len()];
    for run in 0..runs {
        // Rotate the order so no side always runs on a warmer machine.
        let mut kept = Vec::new();
        for side in (0..SIDES.len()).map(|i| (i + run) % SIDES.len()) {
            let (elapsed, rows) = run_side(side);
            rates[side].push(records as f64 / elapsed.as_secs_f64());
            kept.push(rows);
        }
        assert!(
            kept.iter().all(|k| *k == kept[0]),
            "every side keeps the same rows"
        );
        let line: Vec<String> = rates.iter().map(|r| format!("{:.0}", r[run])).collect();
        println!("run {run}: {} rec/s", line.join("  "));
    }
    println!("records: {records}, runs: {runs}, batch: {BATCH} rows, items: {ITEMS}");
    let hand = median(rates[0].clone());
    for (name, side) in SIDES.iter().zip(rates) {
        let rate = median(side);
        println!(
            "median {name:<28} {rate:>12.0} records/s   ratio {:.2}",
            rate / hand
        );
    }
}
