//! A seeded generator of sensor CSV files with a known share of malformed rows.

use std::io::Write;
use std::path::{Path, PathBuf};

use collectors_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// Sensors in a data set.
const SENSORS: usize = 10;

/// What was generated: for each file, its rows and which lines are malformed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    /// The seed that reproduces the data set.
    pub(crate) seed: u64,
    /// One entry per file, in name order.
    pub(crate) files: Vec<FileManifest>,
}

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileManifest {
    /// File name, relative to the output directory.
    pub(crate) name: String,
    /// Data lines (the header not counted).
    pub(crate) rows: u64,
    /// 1-based line numbers (the header is line 1) of the malformed lines.
    pub(crate) malformed_lines: Vec<u64>,
}

/// What to generate.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    /// Data rows in all.
    pub(crate) rows: u64,
    /// Files to spread them over.
    pub(crate) files: u64,
    /// About one row in `malformed_every` is malformed (0: none).
    pub(crate) malformed_every: u64,
    /// Seed of the generator.
    pub(crate) seed: u64,
}

/// Writes `spec.files` files `sensors-NNN.csv` into `out` (each atomically: temp + rename)
/// and `manifest.json` beside them.
pub(crate) fn generate(out: &Path, spec: &Spec) -> Result<Manifest> {
    if spec.files == 0 {
        return Err(Error::configuration("--files must be at least 1"));
    }
    std::fs::create_dir_all(out).map_err(|e| io(out, e))?;
    let mut rng = fastrand::Rng::with_seed(spec.seed);
    let mut manifest = Manifest {
        seed: spec.seed,
        files: Vec::new(),
    };
    let start = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .map_err(|e| Error::processing(e.to_string()))?;
    for f in 0..spec.files {
        let rows = spec.rows / spec.files + u64::from(f < spec.rows % spec.files);
        let name = format!("sensors-{f:03}.csv");
        let path = out.join(&name);
        let temp = out.join(format!(".{name}.partial"));
        let file = std::fs::File::create(&temp).map_err(|e| io(&temp, e))?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
        let mut malformed_lines = Vec::new();
        w.write_all(b"ts,sensor_id,value,status\n")
            .map_err(|e| io(&temp, e))?;
        for r in 0..rows {
            let line = r + 2;
            let ts = (start + chrono::Duration::seconds((f * spec.rows + r) as i64))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let sensor = format!("s-{:02}", rng.usize(0..SENSORS));
            let value = 20.0 + 5.0 * ((r as f64) / 50.0).sin() + rng.f64() * 2.0 - 1.0;
            let status = if rng.u32(0..20) == 0 { "err" } else { "ok" };
            let written = if spec.malformed_every > 0 && rng.u64(0..spec.malformed_every) == 0 {
                malformed_lines.push(line);
                match rng.u8(0..4) {
                    0 => w.write_all(format!("{ts},{sensor},{value:.3}\n").as_bytes()),
                    1 => w.write_all(format!("{ts},{sensor},not-a-number,{status}\n").as_bytes()),
                    2 => {
                        w.write_all(format!("{ts},{sensor},{value:.3},{status},extra\n").as_bytes())
                    }
                    _ => w.write_all(&[ts.as_bytes(), b",s-\xff\xfe,1.0,ok\n"].concat()),
                }
            } else {
                w.write_all(format!("{ts},{sensor},{value:.3},{status}\n").as_bytes())
            };
            written.map_err(|e| io(&temp, e))?;
        }
        let file = w.into_inner().map_err(|e| io(&temp, e.into_error()))?;
        file.sync_all().map_err(|e| io(&temp, e))?;
        std::fs::rename(&temp, &path).map_err(|e| io(&path, e))?;
        manifest.files.push(FileManifest {
            name,
            rows,
            malformed_lines,
        });
    }
    let manifest_path = out.join("manifest.json");
    let text =
        serde_json::to_string_pretty(&manifest).map_err(|e| Error::processing(e.to_string()))?;
    std::fs::write(&manifest_path, text + "\n").map_err(|e| io(&manifest_path, e))?;
    Ok(manifest)
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::storage(format!("writing {}", PathBuf::from(path).display())).with_source(e)
}
