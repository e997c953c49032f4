//! `collectors quality history PIPELINE`: the data-quality reports a pipeline kept, oldest
//! first, with the trend of their score.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use collectors_core::{Error, QualityEntry, Result};
use collectors_pipeline::{PipelineSpec, Registry};

/// Follow a pipeline's data quality over time.
#[derive(Debug, Args)]
pub(crate) struct QualityArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Shows the reports its `data_quality` steps kept (one per item, as each ended), oldest
    /// first: rows profiled, score and its change, and the weakest column.
    History {
        /// The pipeline file.
        pipeline: PathBuf,
        /// Only the reports of this processor (its name in the pipeline).
        #[arg(long)]
        processor: Option<String>,
        /// How many of the latest reports to show.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// One JSON document per line (the whole report), for scripts.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) async fn run(args: QualityArgs) -> Result<ExitCode> {
    let Action::History {
        pipeline,
        processor,
        limit,
        json,
    } = args.action;
    let components = PipelineSpec::from_path(&pipeline)?.components(&Registry::standard())?;
    let Some(history) = components.quality_history() else {
        return Err(Error::configuration(
            "this pipeline keeps no quality history: its checkpoints are neither in SQLite nor \
             in PostgreSQL",
        ));
    };
    let name = &components.spec().name;
    let entries = history.entries(name, processor.as_deref(), limit).await?;
    if json {
        for entry in &entries {
            let line = serde_json::to_string(entry)
                .map_err(|e| Error::invalid_state(format!("a report cannot be shown: {e}")))?;
            println!("{line}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if entries.is_empty() {
        println!(
            "pipeline `{name}` kept no quality reports yet (a `data_quality` step keeps one per item)"
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("recorded at (UTC)    \tprocessor\titem\trows\tscore\tchange\tweakest column");
    let mut previous: Option<f64> = None;
    for entry in &entries {
        let change = match (previous, entry.score) {
            (Some(before), Some(now)) => format!("{:+.4}", now - before),
            _ => String::new(),
        };
        previous = entry.score.or(previous);
        println!(
            "{}\t{}\t{}/{}\t{}\t{}\t{change}\t{}",
            entry.recorded_at.format("%Y-%m-%d %H:%M:%S"),
            entry.processor,
            entry.source_id,
            entry.item_id,
            entry.rows,
            entry
                .score
                .map_or_else(|| "-".to_owned(), |s| format!("{s:.4}")),
            weakest_column(entry),
        );
    }
    let scored: Vec<f64> = entries.iter().filter_map(|e| e.score).collect();
    if let (Some(first), Some(last)) = (scored.first(), scored.last()) {
        println!(
            "{} reports: score {first:.4} → {last:.4} ({})",
            entries.len(),
            trend(last - first)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The column with the most bad cells (nulls, NaN, type errors, out of range), and how many.
fn weakest_column(entry: &QualityEntry) -> String {
    let columns = entry.report["columns"].as_array();
    let worst = columns.into_iter().flatten().max_by_key(|c| bad_cells(c));
    match worst {
        Some(c) if bad_cells(c) > 0 => format!(
            "{} ({} bad of {})",
            c["name"].as_str().unwrap_or("?"),
            bad_cells(c),
            c["rows"].as_u64().unwrap_or(0)
        ),
        _ => String::new(),
    }
}

fn bad_cells(column: &serde_json::Value) -> u64 {
    ["nulls", "nan", "type_errors", "out_of_range"]
        .iter()
        .map(|k| column[*k].as_u64().unwrap_or(0))
        .sum()
}

fn trend(change: f64) -> &'static str {
    if change > 1e-9 {
        "improving"
    } else if change < -1e-9 {
        "worsening"
    } else {
        "steady"
    }
}
