//! Reading a dead-letter file back, and replacing it atomically.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use collectors_core::{DeadLetter, Error, Result, latest_per_key};

use super::sink::encode_lines;
use crate::fs_util::{AtomicFile, io_error};

/// Reads the letters of a dead-letter file, one per [`DeadLetter::key`]: the last written
/// wins, in the order each key first appears.
///
/// Blank lines are skipped. An unterminated last line that does not parse is the torn end of
/// an interrupted append and is ignored with a warning.
///
/// # Errors
///
/// - [`Error::NotFound`] when the file does not exist;
/// - [`Error::Validation`] naming the file and the 1-based line number when any other line
///   is not a dead letter (the file is corrupt: nothing is silently dropped);
/// - [`Error::Storage`] when the file cannot be read.
///
/// ```
/// use collectors_backends::read_dead_letters;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("dead-letters.jsonl");
/// std::fs::write(&path, "").unwrap();
/// assert!(read_dead_letters(&path).await.unwrap().is_empty());
///
/// std::fs::write(&path, "not json\n").unwrap();
/// let err = read_dead_letters(&path).await.unwrap_err();
/// assert!(err.to_string().contains("line 1"));
/// # });
/// ```
pub async fn read_dead_letters(path: impl AsRef<Path>) -> Result<Vec<DeadLetter>> {
    let path = path.as_ref().to_path_buf();
    let display = path.clone();
    tokio::task::spawn_blocking(move || read_blocking(&path))
        .await
        .map_err(|e| Error::storage(format!("reading {}: {e}", display.display())).with_source(e))?
        .map_err(|e| e.with_operation("read_dead_letters"))
}

fn read_blocking(path: &Path) -> Result<Vec<DeadLetter>> {
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::not_found(format!(
            "dead-letter file {} does not exist",
            path.display()
        ))
        .with_source(e),
        _ => io_error(Error::storage, "opening", path, e),
    })?;
    let mut reader = BufReader::new(file);
    let mut letters: Vec<DeadLetter> = Vec::new();
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| io_error(Error::storage, "reading", path, e))?;
        if read == 0 {
            break;
        }
        number += 1;
        let terminated = line.last() == Some(&b'\n');
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        let letter = match serde_json::from_slice::<DeadLetter>(text) {
            Ok(letter) => letter,
            Err(e) if !terminated => {
                tracing::warn!(
                    path = %path.display(),
                    line = number,
                    error = %e,
                    "ignoring the torn last line of an interrupted append"
                );
                break;
            }
            Err(e) => {
                return Err(Error::validation(format!(
                    "{} line {number} is not a dead letter: {e}",
                    path.display()
                ))
                .with_source(e));
            }
        };
        letters.push(letter);
    }
    Ok(latest_per_key(letters))
}

/// Replaces the dead-letter file at `path` with exactly `letters`, atomically: they are
/// written to a temp file in the same directory, which is fsynced and renamed over `path`.
/// A crash leaves either the old file or the new one, never a mix.
///
/// Do not rewrite a file while a [`JsonlDeadLetterSink`](super::JsonlDeadLetterSink) is
/// appending to it: letters appended between the read and the rename would be lost.
///
/// ```
/// use collectors_backends::{read_dead_letters, rewrite_dead_letters};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("dead-letters.jsonl");
/// rewrite_dead_letters(&path, &[]).await?;
/// assert!(read_dead_letters(&path).await?.is_empty());
/// # Ok::<(), collectors_core::Error>(())
/// # }).unwrap();
/// ```
pub async fn rewrite_dead_letters(path: impl AsRef<Path>, letters: &[DeadLetter]) -> Result<()> {
    let path: PathBuf = path.as_ref().to_path_buf();
    let tag = |e: Error| e.with_operation("rewrite_dead_letters");
    let lines = encode_lines(letters, &path).map_err(tag)?;
    let mut out = AtomicFile::create(&path, Error::storage)
        .await
        .map_err(tag)?;
    out.write_all(&lines).await.map_err(tag)?;
    out.commit().await.map_err(tag)?;
    tracing::debug!(path = %path.display(), letters = letters.len(), "dead-letter file rewritten");
    Ok(())
}
