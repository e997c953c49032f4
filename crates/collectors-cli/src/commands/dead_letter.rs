//! `collectors dead-letter list|replay`: inspect dead letters, and replay them through the
//! pipeline once the cause is fixed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};
use collectors_backends::{JsonlDeadLetterSink, read_dead_letters};
use collectors_core::{DeadLetter, DeadLetterStore, Result};
use collectors_pipeline::{Components, PipelineSpec, replay_dead_letters};

/// Inspect or replay dead letters.
#[derive(Debug, Args)]
pub(crate) struct DeadLetterArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Shows each dead letter with its error: a pipeline's (wherever it keeps them), or a
    /// dead-letter file's.
    List {
        /// A dead-letter file (JSON lines).
        #[arg(required_unless_present = "pipeline", conflicts_with = "pipeline")]
        file: Option<PathBuf>,
        /// The pipeline file whose dead letters to show (its store's database, or its
        /// `[dead_letter]` file).
        #[arg(long)]
        pipeline: Option<PathBuf>,
    },
    /// Runs the dead letters through the pipeline again; the ones whose records are now
    /// stored are removed. A replay that fails keeps every letter.
    Replay {
        /// A dead-letter file (JSON lines) to replay instead of the pipeline's own letters.
        file: Option<PathBuf>,
        /// The pipeline file whose decoder, processors and store to use.
        #[arg(long)]
        pipeline: PathBuf,
    },
}

/// Exit code of a replay that did not complete (every letter stays).
const EXIT_FAILED: u8 = 1;

pub(crate) async fn run(args: DeadLetterArgs) -> Result<ExitCode> {
    match args.action {
        Action::List {
            file: Some(file), ..
        } => list(&read_dead_letters(&file).await?),
        Action::List {
            pipeline: Some(pipeline),
            ..
        } => {
            let components = components(&pipeline).await?;
            let letters = components.dead_letters().await?;
            list(&letters.letters(&components.spec().name).await?)
        }
        Action::List { .. } => Err(collectors_core::Error::configuration(
            "give a dead-letter file or --pipeline",
        )),
        Action::Replay { file, pipeline } => replay(file.as_deref(), &pipeline).await,
    }
}

async fn components(pipeline: &Path) -> Result<Components> {
    PipelineSpec::from_path(pipeline)?.components(&super::pipeline_registry().await)
}

fn list(letters: &[DeadLetter]) -> Result<ExitCode> {
    let mut records = 0u64;
    let mut items = 0usize;
    for l in letters {
        let at = l.line.map(|n| format!(":{n}")).unwrap_or_default();
        let raw = l
            .raw
            .as_ref()
            .map(|r| preview(r, l.raw_complete))
            .unwrap_or_default();
        let what = if l.line.is_none() && l.payload.is_none() {
            items += 1;
            "whole item".to_owned()
        } else {
            format!("{} record(s)", l.records)
        };
        println!(
            "{}/{}{at}\t{what}\t{:?}: {}\t{raw}",
            l.source_id, l.item_id, l.error.error_type, l.error.message
        );
        records = records.saturating_add(l.records);
    }
    println!(
        "{} dead letters: {records} records, {items} whole items",
        letters.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// The first 60 characters of a raw row, escaped when it is not UTF-8.
fn preview(raw: &[u8], complete: bool) -> String {
    let mut text: String = match std::str::from_utf8(raw) {
        Ok(text) => text.chars().take(60).collect(),
        Err(_) => raw
            .iter()
            .take(60)
            .flat_map(|b| b.escape_ascii())
            .map(char::from)
            .collect(),
    };
    if !complete || raw.len() > text.len() {
        text.push('…');
    }
    text
}

async fn replay(file: Option<&Path>, pipeline: &Path) -> Result<ExitCode> {
    let components = components(pipeline).await?;
    let (letters, location): (Arc<dyn DeadLetterStore>, String) = match file {
        Some(file) => (
            Arc::new(JsonlDeadLetterSink::new(file)),
            file.display().to_string(),
        ),
        None => (
            components.dead_letters().await?,
            components.dead_letter_location(),
        ),
    };
    let report = replay_dead_letters(&components, letters.as_ref()).await?;
    for why in &report.not_replayable {
        println!("kept: {why}");
    }
    if !report.completed {
        println!(
            "replay did not complete: {}; every letter stays in {location}",
            report.abort_reason.as_deref().unwrap_or("unknown reason"),
        );
        return Ok(ExitCode::from(EXIT_FAILED));
    }
    println!(
        "replayed {} of {} dead letters: {} records stored, {} skipped, {} failed again; {} letters remain in {location}",
        report.replayed,
        report.letters_before,
        report.stored,
        report.skipped,
        report.failed_again,
        report.letters_after,
    );
    // Letters that failed again are the normal outcome of a partial fix: they stay, with
    // their new error, and the replay itself succeeded.
    Ok(ExitCode::SUCCESS)
}
