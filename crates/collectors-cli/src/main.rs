//! `collectors`: run pipelines on the embedded default (local files + SQLite), inspect and
//! replay dead letters, generate sample data.
//!
//! ```text
//! collectors run examples/sensors/pipeline.toml
//! collectors dead-letter list examples/sensors/out/dead_letters.jsonl
//! collectors quality history examples/sensors/pipeline.toml
//! collectors gen sensors --rows 100000 --files 4 --out /tmp/sensors
//! collectors data-source list s3://bucket/raw/ --pattern '*.csv' --long --config s3.toml
//! collectors data-source ingest s3://bucket/raw/ --pattern '*.csv' --output-dir /tmp/raw
//! collectors data-source configure s3://bucket/raw/ --name lake --config s3.yaml
//! collectors data-source list lake
//! ```

mod commands;
mod progress;
mod sensors;
mod summary;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Collect, process and store data.
#[derive(Debug, Parser)]
#[command(name = "collectors", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a pipeline described by a TOML file.
    Run(commands::run::RunArgs),
    /// Inspect or replay dead-lettered records.
    DeadLetter(commands::dead_letter::DeadLetterArgs),
    /// Follow a pipeline's data quality over time (the reports of its `data_quality` steps).
    Quality(commands::quality::QualityArgs),
    /// List and download the objects of a store (S3, GCS, Azure, a directory) by URI or by
    /// registered name; register, list, test and remove named data sources.
    #[cfg(feature = "object-store")]
    DataSource(commands::data_source::DataSourceArgs),
    /// Generate sample data sets.
    Gen(commands::generate::GenArgs),
    /// Run the ETL service: the REST API, WebSocket notifications and in-process workers
    /// (SQLite and local files by default).
    #[cfg(feature = "server")]
    Serve(commands::serve::ServeArgs),
    /// Run workers only, on a shared database (`--database postgres://…`) and object store.
    #[cfg(feature = "server")]
    Worker(commands::serve::WorkerArgs),
}

/// Exit code of a configuration or usage error.
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("COLLECTORS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,sqlx::query=error")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal: a log file or a pipe gets plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Run(args) => commands::run::run(args).await,
            Command::DeadLetter(args) => commands::dead_letter::run(args).await,
            Command::Quality(args) => commands::quality::run(args).await,
            #[cfg(feature = "object-store")]
            Command::DataSource(args) => commands::data_source::run(args).await,
            Command::Gen(args) => commands::generate::run(args),
            #[cfg(feature = "server")]
            Command::Serve(args) => commands::serve::serve(args).await,
            #[cfg(feature = "server")]
            Command::Worker(args) => commands::serve::worker(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{}", render_error(&e));
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// `error: …` and its causes, each cause once: a cause whose text is already in what was
/// printed (libraries often repeat their source's message) is left out.
fn render_error(e: &dyn std::error::Error) -> String {
    let mut out = format!("error: {e}");
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str("\n  caused by: ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::render_error;

    #[test]
    fn each_cause_is_shown_once() {
        let inner = std::io::Error::other("no space left on device");
        let middle = collectors_core::Error::storage("commit failed: no space left on device")
            .with_source(inner);
        let outer = collectors_core::Error::storage("store batch failed").with_source(middle);
        let text = render_error(&outer);
        assert_eq!(text.matches("no space left on device").count(), 1, "{text}");
        assert!(text.contains("store batch failed"), "{text}");
    }
}
