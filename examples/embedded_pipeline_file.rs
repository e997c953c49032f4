//! A host app that loads `examples/sensors/pipeline.toml` and runs it, printing progress
//! from the event bus.
//!
//! Run: `cargo run --example embedded_pipeline_file --features pipeline`
//!
//! The sensor files are copied to a temporary directory, which the spec's relative paths are
//! resolved against, so the example never touches `examples/sensors/out`.

use std::path::Path;
use std::sync::Arc;

use collectors::pipeline::{PipelineSpec, Registry};
use collectors::{CancellationToken, EventBus, EventEmitter, EventFilter, EventType, ResumeMode};
use futures::StreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("warn").init();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sensors");
    let work = tempfile::tempdir()?;
    let work = work.path();
    std::fs::create_dir_all(work.join("data"))?;
    for entry in std::fs::read_dir(examples.join("data"))? {
        let entry = entry?;
        std::fs::copy(entry.path(), work.join("data").join(entry.file_name()))?;
    }

    // The same file the CLI runs; only its base directory changes.
    let spec = PipelineSpec::from_path(examples.join("pipeline.toml"))?.with_base_dir(work);
    let events = Arc::new(EventBus::new());
    let mut stored = events
        .subscribe(
            EventFilter::all()
                .event_type(EventType::StorageComplete)
                .event_type(EventType::CollectionComplete),
        )
        .await?;
    let engine = spec
        .engine_builder(&Registry::standard())
        .await?
        .events(events.clone())
        .resume(ResumeMode::Restart)
        .build()?;
    let run = tokio::spawn(async move { engine.run(CancellationToken::new()).await });

    while let Some(event) = stored.next().await {
        match event.event_type {
            EventType::StorageComplete => println!("stored {} rows", event.data["rows"]),
            _ => break,
        }
    }
    let summary = run.await??;
    let c = summary.counts;
    println!(
        "{} collected = {} stored + {} skipped + {} dead-lettered + {} failed",
        c.collected, c.stored, c.skipped, c.dead_lettered, c.failed
    );
    assert!(c.adds_up());
    Ok(())
}
