//! `collectors dead-letter list|replay`: inspect dead letters, and replay them through the
//! pipeline once the cause is fixed.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};
use collectors_backends::{read_dead_letters, rewrite_dead_letters};
use collectors_core::{
    CancellationToken, DeadLetter, Engine, EngineConfig, EventBus, InMemoryCheckpointStore,
    InMemoryDeadLetterSink, InMemoryItemSource, ItemSource, Payload, Record, Result,
};
use futures::StreamExt;

use crate::build;
use crate::pipeline_config::LoadedPipeline;

/// Inspect or replay dead letters.
#[derive(Debug, Args)]
pub(crate) struct DeadLetterArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Shows each dead-lettered record with its error.
    List {
        /// The dead-letter file (JSON lines).
        file: PathBuf,
    },
    /// Runs the dead-lettered records through the pipeline again; the ones that now succeed
    /// are stored and removed from the file.
    Replay {
        /// The dead-letter file (JSON lines).
        file: PathBuf,
        /// The pipeline file whose decoder, processors and store to use.
        #[arg(long)]
        pipeline: PathBuf,
    },
}

pub(crate) async fn run(args: DeadLetterArgs) -> Result<ExitCode> {
    match args.action {
        Action::List { file } => list(&file).await,
        Action::Replay { file, pipeline } => replay(&file, &LoadedPipeline::load(&pipeline)?).await,
    }
}

async fn list(file: &std::path::Path) -> Result<ExitCode> {
    let letters = read_dead_letters(file).await?;
    for l in &letters {
        let at = l.line.map(|n| format!(":{n}")).unwrap_or_default();
        let mut raw = l.raw.clone().unwrap_or_default();
        if raw.len() > 60 {
            let cut = (0..=60)
                .rev()
                .find(|i| raw.is_char_boundary(*i))
                .unwrap_or(0);
            raw.truncate(cut);
            raw.push('…');
        }
        println!(
            "{}/{}{at}\t{} record(s)\t{:?}: {}\t{raw}",
            l.source_id, l.item_id, l.records, l.error.error_type, l.error.message
        );
    }
    let records: u64 = letters.iter().map(|l| l.records).sum();
    println!("{} dead letters, {records} records", letters.len());
    Ok(ExitCode::SUCCESS)
}

/// The suffix of replayed items: a replay stores under its own, stable keys.
const REPLAY: &str = "#dead-letter-replay";

async fn replay(file: &std::path::Path, pipeline: &LoadedPipeline) -> Result<ExitCode> {
    let letters = read_dead_letters(file).await?;
    let sources = build::sources(pipeline)?;
    let mut keep: Vec<DeadLetter> = Vec::new();
    let mut rows: BTreeMap<(String, String), Vec<DeadLetter>> = BTreeMap::new();
    let mut payloads = Vec::new();
    for letter in letters {
        match (&letter.raw, &letter.payload, letter.line) {
            (Some(_), _, Some(_)) => rows
                .entry((letter.source_id.clone(), letter.item_id.clone()))
                .or_default()
                .push(letter),
            (_, Some(_), _) => payloads.push(letter),
            _ => {
                println!(
                    "{}/{}: the whole item failed ({}); fix the file and run the pipeline again",
                    letter.source_id, letter.item_id, letter.error.message
                );
                keep.push(letter);
            }
        }
    }
    let (mut replayed, mut stored) = (0u64, 0u64);

    // Rejected rows: decoded again (behind the original header) and run through the engine.
    for bound in sources {
        let source_id = bound.source.source_id().to_owned();
        let groups: Vec<_> = rows
            .iter()
            .filter(|((s, _), _)| *s == source_id)
            .map(|(k, v)| (k.1.clone(), v.clone()))
            .collect();
        if groups.is_empty() {
            continue;
        }
        let replay_source = Arc::new(InMemoryItemSource::new(&source_id));
        let mut line_maps = HashMap::new();
        for (item_id, group) in &groups {
            let header = first_line(bound.source.as_ref(), item_id)
                .await
                .unwrap_or_default();
            let mut content = header;
            let mut map = vec![0u64];
            for letter in group {
                content.extend_from_slice(letter.raw.as_deref().unwrap_or_default().as_bytes());
                content.push(b'\n');
                map.push(letter.line.unwrap_or(0));
            }
            replay_source.put(format!("{item_id}{REPLAY}"), content);
            line_maps.insert(format!("{item_id}{REPLAY}"), map);
        }
        let sink = Arc::new(InMemoryDeadLetterSink::new());
        let mut engine = Engine::builder(format!("{}{REPLAY}", pipeline.config.name))
            .source(replay_source, bound.decoder.clone())
            .store(build::store(pipeline)?)
            .checkpoints(Arc::new(InMemoryCheckpointStore::new()))
            .dead_letters(sink.clone())
            .events(Arc::new(EventBus::new()))
            .config(EngineConfig {
                max_items_in_flight: 1,
                ..pipeline.config.engine.clone()
            });
        if let Some(p) = build::pipeline(pipeline)? {
            engine = engine.pipeline(p);
        }
        let summary = engine.build()?.run(CancellationToken::new()).await?;
        replayed += groups.iter().map(|(_, g)| g.len() as u64).sum::<u64>();
        stored += summary.counts.stored;
        for mut letter in sink.letters() {
            // Map the replay's item and line back to the original ones.
            let original = letter.item_id.trim_end_matches(REPLAY).to_owned();
            if let (Some(map), Some(line)) = (line_maps.get(&letter.item_id), letter.line) {
                letter.line = map.get(line as usize - 1).copied().or(Some(line));
            }
            letter.item_id = original;
            keep.push(letter);
        }
        rows.retain(|(s, _), _| *s != source_id);
    }
    for (_, group) in rows {
        println!(
            "{} letters belong to a source the pipeline no longer has; kept",
            group.len()
        );
        keep.extend(group);
    }

    // Records that failed after decoding: run through the pipeline and stored directly.
    if !payloads.is_empty() {
        let store = build::store(pipeline)?;
        store.connect().await?;
        let processors = build::pipeline(pipeline)?;
        for (i, letter) in payloads.into_iter().enumerate() {
            replayed += 1;
            let input = letter.payload.clone().unwrap_or(Payload::Empty);
            let output = match &processors {
                Some(p) => {
                    let result = p.execute(input).await;
                    if !result.success {
                        keep.push(letter);
                        continue;
                    }
                    result.processed_data.unwrap_or(Payload::Empty)
                }
                None => input,
            };
            let rows = output.num_rows().unwrap_or(1) as u64;
            let key = format!("{}/{}{REPLAY}#{i}", letter.source_id, letter.item_id);
            match store.store(Record::keyed(key, output)?).await {
                Ok(_) => stored += rows,
                Err(e) => {
                    tracing::warn!(error = %e, "replayed record not stored");
                    keep.push(letter);
                }
            }
        }
        store.disconnect().await?;
    }

    rewrite_dead_letters(file, &keep).await?;
    println!(
        "replayed {replayed} dead letters: {stored} records stored, {} letters remain in {}",
        keep.len(),
        file.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The first line of an item, newline included (the CSV header), if the item still exists.
async fn first_line(source: &dyn ItemSource, item_id: &str) -> Option<Vec<u8>> {
    let item = source
        .items()
        .await
        .ok()?
        .into_iter()
        .find(|i| i.item_id == item_id)?;
    let mut chunks = source.open(&item).await.ok()?;
    let mut line = Vec::new();
    while let Some(Ok(chunk)) = chunks.next().await {
        if let Some(end) = chunk.iter().position(|b| *b == b'\n') {
            line.extend_from_slice(&chunk[..=end]);
            return Some(line);
        }
        line.extend_from_slice(&chunk);
    }
    None
}
