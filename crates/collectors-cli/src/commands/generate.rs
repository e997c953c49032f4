//! `collectors gen sensors`: writes a seeded sample data set.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use collectors_core::Result;

use crate::sensors::{Spec, generate};

/// Generates sample data.
#[derive(Debug, Args)]
pub(crate) struct GenArgs {
    #[command(subcommand)]
    what: GenCommand,
}

#[derive(Debug, Subcommand)]
enum GenCommand {
    /// Sensor readings as CSV (ts, sensor_id, value, status), with some malformed rows.
    Sensors {
        /// Data rows in all.
        #[arg(long, default_value_t = 10_000)]
        rows: u64,
        /// Files to spread them over.
        #[arg(long, default_value_t = 3)]
        files: u64,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// About one row in N is malformed (0: none).
        #[arg(long, default_value_t = 97)]
        malformed_every: u64,
        /// Seed: the same seed gives the same files.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

pub(crate) fn run(args: GenArgs) -> Result<ExitCode> {
    match args.what {
        GenCommand::Sensors {
            rows,
            files,
            out,
            malformed_every,
            seed,
        } => {
            let manifest = generate(
                &out,
                &Spec {
                    rows,
                    files,
                    malformed_every,
                    seed,
                },
            )?;
            let malformed: usize = manifest.files.iter().map(|f| f.malformed_lines.len()).sum();
            println!(
                "wrote {} files, {rows} rows ({malformed} malformed) to {} (manifest.json lists them)",
                manifest.files.len(),
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
