//! `collectors`: run pipelines on the embedded default (local files + SQLite), inspect and
//! replay dead letters, generate sample data.
//!
//! ```text
//! collectors run examples/sensors/pipeline.toml
//! collectors dead-letter list examples/sensors/out/dead_letters.jsonl
//! collectors gen sensors --rows 100000 --files 4 --out /tmp/sensors
//! ```

mod commands;
mod progress;
mod sensors;
mod summary;

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
    /// Generate sample data sets.
    Gen(commands::generate::GenArgs),
}

/// Exit code of a configuration or usage error.
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("COLLECTORS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
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
            Command::Gen(args) => commands::generate::run(args),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                eprintln!("  caused by: {c}");
                cause = c.source();
            }
            ExitCode::from(EXIT_USAGE)
        }
    }
}
