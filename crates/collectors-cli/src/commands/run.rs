//! `collectors run PIPELINE.toml`: runs a pipeline to the end.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use collectors_core::{
    CancellationToken, CheckpointStore, EventBus, InMemoryCheckpointStore, Result, ResumeMode,
    RunOutcome,
};
use collectors_pipeline::{Components, PipelineSpec};

use crate::{progress, summary};

/// Runs a pipeline: reads its sources, processes, stores, and prints a summary.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The pipeline file (TOML, or JSON when it ends in `.json`).
    pipeline: PathBuf,
    /// Check the file and list the items a run would process, without writing anything.
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
    /// Exit non-zero when any record or item was dead-lettered.
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
    let spec = PipelineSpec::from_path(&args.pipeline)?;
    let components = spec.components(&super::pipeline_registry().await)?;
    let mode = if args.restart {
        ResumeMode::Restart
    } else {
        ResumeMode::Resume
    };
    if args.dry_run {
        return dry_run(&args, &components, mode).await;
    }
    let engine = components
        .engine_builder()
        .await?
        .events(Arc::new(EventBus::new()))
        .resume(mode)
        .build()?;

    let cancel = CancellationToken::new();
    let signals = tokio::spawn(watch_ctrl_c(cancel.clone()));
    let done = CancellationToken::new();
    let bar = progress::spawn(engine.counters(), args.quiet, done.clone());
    let result = engine.run(cancel).await;
    done.cancel();
    let _ = bar.await;
    signals.abort();

    let summary = result?;
    println!("{}", summary::render(&spec.name, &summary));
    println!("dead letters: {}", components.dead_letter_location());
    let c = summary.counts;
    Ok(
        if summary.outcome == RunOutcome::Aborted || c.failed > 0 || !c.adds_up() {
            ExitCode::from(EXIT_FAILED)
        } else if summary.outcome == RunOutcome::Cancelled {
            ExitCode::from(EXIT_CANCELLED)
        } else if args.fail_on_dead_letter && c.has_dead_letters() {
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

/// What a run would process: the engine's own pending items, after checkpoints.
async fn dry_run(args: &RunArgs, components: &Components, mode: ResumeMode) -> Result<ExitCode> {
    let spec = components.spec();
    println!(
        "pipeline `{}` from {} is valid",
        spec.name,
        args.pipeline.display()
    );
    let checkpoints: Arc<dyn CheckpointStore> = match mode {
        ResumeMode::Resume => components.existing_checkpoints().await?,
        ResumeMode::Restart => Arc::new(InMemoryCheckpointStore::new()),
    };
    let engine = components.engine_builder_with(checkpoints).build()?;
    let pending = engine.pending_items().await?;
    for bound in &components.sources {
        let id = bound.source.source_id();
        let items: Vec<_> = pending
            .iter()
            .filter(|(_, item)| item.source_id == id)
            .collect();
        let bytes: u64 = items.iter().filter_map(|(_, i)| i.size).sum();
        println!(
            "  source `{id}`: {} items pending, {bytes} bytes ({})",
            items.len(),
            bound.decoder.name()
        );
    }
    let c = engine.counters().snapshot();
    println!(
        "would read {} of {} items ({} already done), {} bytes; nothing was written",
        pending.len(),
        c.items_listed,
        c.items_already_done,
        c.bytes_total
    );
    Ok(ExitCode::SUCCESS)
}
