//! `collectors run PIPELINE.toml`: runs a pipeline to the end.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use collectors_core::{CancellationToken, EventBus, Result, ResumeMode, RunOutcome};

use crate::pipeline_config::LoadedPipeline;
use crate::{build, progress, summary};

/// Runs a pipeline: reads its sources, processes, stores, and prints a summary.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The pipeline file.
    pipeline: PathBuf,
    /// Check the file and list what would be processed, without touching any data.
    #[arg(long)]
    dry_run: bool,
    /// Continue from the checkpoints of earlier runs (the default).
    #[arg(long, conflicts_with = "restart")]
    resume: bool,
    /// Forget earlier checkpoints and process everything again.
    #[arg(long)]
    restart: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
    /// Exit non-zero when any record was dead-lettered.
    #[arg(long)]
    fail_on_dead_letter: bool,
}

/// Exit code when a run aborted or a record failed.
const EXIT_FAILED: u8 = 1;
/// Exit code when `--fail-on-dead-letter` is set and records were dead-lettered.
const EXIT_DEAD_LETTERS: u8 = 3;
/// Exit code of a run stopped by Ctrl-C (what shells report for SIGINT).
const EXIT_CANCELLED: u8 = 130;

pub(crate) async fn run(args: RunArgs) -> Result<ExitCode> {
    let pipeline = LoadedPipeline::load(&args.pipeline)?;
    let mode = if args.restart {
        ResumeMode::Restart
    } else {
        ResumeMode::Resume
    };
    if args.dry_run {
        return dry_run(&pipeline, mode).await;
    }
    let engine = build::engine(&pipeline, mode, Arc::new(EventBus::new())).await?;

    let cancel = CancellationToken::new();
    let signals = tokio::spawn(watch_ctrl_c(cancel.clone()));
    let done = CancellationToken::new();
    let bar = progress::spawn(engine.counters(), args.quiet, done.clone());
    let result = engine.run(cancel).await;
    done.cancel();
    let _ = bar.await;
    signals.abort();

    let summary = result?;
    println!("{}", summary::render(&pipeline.config.name, &summary));
    println!(
        "dead letters: {}",
        build::dead_letter_path(&pipeline).display()
    );
    let c = summary.counts;
    Ok(
        if summary.outcome == RunOutcome::Aborted || c.failed > 0 || !c.adds_up() {
            ExitCode::from(EXIT_FAILED)
        } else if summary.outcome == RunOutcome::Cancelled {
            ExitCode::from(EXIT_CANCELLED)
        } else if args.fail_on_dead_letter && c.dead_lettered > 0 {
            ExitCode::from(EXIT_DEAD_LETTERS)
        } else {
            ExitCode::SUCCESS
        },
    )
}

/// The first Ctrl-C stops the run gracefully; the second exits at once.
async fn watch_ctrl_c(cancel: CancellationToken) {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    eprintln!(
        "stopping: finishing in-flight batches and writing checkpoints (Ctrl-C again to abort)"
    );
    cancel.cancel();
    if tokio::signal::ctrl_c().await.is_ok() {
        eprintln!("aborted");
        std::process::exit(130);
    }
}

async fn dry_run(pipeline: &LoadedPipeline, mode: ResumeMode) -> Result<ExitCode> {
    println!(
        "pipeline `{}` from {} is valid",
        pipeline.config.name,
        pipeline.file.display()
    );
    let sources = build::sources(pipeline)?;
    build::pipeline(pipeline)?;
    let mut total = (0usize, 0u64);
    for bound in &sources {
        let items = bound.source.items().await?;
        let bytes: u64 = items.iter().filter_map(|i| i.size).sum();
        println!(
            "  source `{}`: {} items, {bytes} bytes ({})",
            bound.source.source_id(),
            items.len(),
            bound.decoder.name()
        );
        total = (total.0 + items.len(), total.1 + bytes);
    }
    let note = match mode {
        ResumeMode::Resume => "items already checkpointed will be skipped",
        ResumeMode::Restart => "every item will be processed again",
    };
    println!(
        "would read {} items, {} bytes; {note}; nothing was written",
        total.0, total.1
    );
    Ok(ExitCode::SUCCESS)
}
