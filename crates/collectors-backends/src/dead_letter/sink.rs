//! [`JsonlDeadLetterSink`]: durable appends of dead letters to a JSON-lines file.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use collectors_core::{
    DeadLetter, DeadLetterSink, DeadLetterStore, Error, ErrorType, Result, async_trait,
};

use super::file::{read_dead_letters, rewrite_dead_letters};
use crate::fs_util::io_error;

/// Appends [`DeadLetter`]s to a JSON-lines file, one letter per line; durable when
/// [`write`](DeadLetterSink::write) returns (the file is flushed and `fsync`ed).
///
/// The file and its parent directories are created on the first write. The file is opened
/// for each write and closed after it, so [`rewrite_dead_letters`](super::rewrite_dead_letters)
/// can replace it between writes. Writes of one sink are serialized; two processes must not
/// append to the same file at once.
///
/// A torn last line left by a crash during an append is repaired before the next append
/// (cut off, or terminated when it is a complete letter), so the file stays readable.
///
/// ```
/// use collectors_backends::{JsonlDeadLetterSink, read_dead_letters};
/// use collectors_core::{DeadLetter, DeadLetterSink, Error, ErrorInfo};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let sink = JsonlDeadLetterSink::new(dir.path().join("out/dead-letters.jsonl"));
/// let error = ErrorInfo::from(&Error::validation("3 columns, expected 4"));
/// let letter = DeadLetter::new("sensors", "incoming", "2024/a.csv", error)
///     .with_row(7, "x,y,z", true);
/// sink.write(&[letter.clone()]).await?;
/// sink.write(&[letter.clone()]).await?; // a replay writes the same letter again
///
/// let letters = read_dead_letters(sink.path()).await?;
/// assert_eq!(letters, vec![letter]);
/// # Ok::<(), Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct JsonlDeadLetterSink {
    path: PathBuf,
    writing: tokio::sync::Mutex<()>,
}

impl JsonlDeadLetterSink {
    /// A sink appending to the file at `path`; nothing is touched until the first write.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            writing: tokio::sync::Mutex::new(()),
        }
    }

    /// The file letters are appended to.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[async_trait]
impl DeadLetterSink for JsonlDeadLetterSink {
    async fn write(&self, letters: &[DeadLetter]) -> Result<()> {
        if letters.is_empty() {
            return Ok(());
        }
        let lines = encode_lines(letters, &self.path)?;
        let _writing = self.writing.lock().await;
        let path = self.path.clone();
        let count = letters.len();
        tokio::task::spawn_blocking(move || append_durably(&path, &lines))
            .await
            .map_err(|e| {
                Error::storage(format!(
                    "appending dead letters to {}: {e}",
                    self.path.display()
                ))
                .with_source(e)
            })?
            .map_err(|e| e.with_component("dead-letters").with_operation("write"))?;
        tracing::debug!(path = %self.path.display(), letters = count, "dead letters written");
        Ok(())
    }
}

/// The file is read whole and rewritten atomically by `replace`; `letters` of a file that
/// does not exist yet are none.
#[async_trait]
impl DeadLetterStore for JsonlDeadLetterSink {
    async fn letters(&self, pipeline: &str) -> Result<Vec<DeadLetter>> {
        let mut letters = self.read_all().await?;
        letters.retain(|l| l.pipeline == pipeline);
        Ok(letters)
    }

    async fn replace(&self, pipeline: &str, remove: &[String], add: &[DeadLetter]) -> Result<()> {
        // Held across the read and the rename: no append can fall in between and be lost.
        let _writing = self.writing.lock().await;
        let mut letters = self.read_all().await?;
        letters.retain(|l| l.pipeline != pipeline || !remove.contains(&l.key()));
        letters.extend_from_slice(add);
        rewrite_dead_letters(&self.path, &letters).await
    }
}

impl JsonlDeadLetterSink {
    async fn read_all(&self) -> Result<Vec<DeadLetter>> {
        match read_dead_letters(&self.path).await {
            Err(e) if e.error_type() == ErrorType::NotFound => Ok(Vec::new()),
            read => read,
        }
    }
}

/// The letters as JSON lines, each ended by `\n`.
pub(crate) fn encode_lines(letters: &[DeadLetter], path: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for letter in letters {
        serde_json::to_writer(&mut out, letter).map_err(|e| {
            Error::validation(format!(
                "dead letter {} cannot be written to {}: {e}",
                letter.key(),
                path.display()
            ))
            .with_source(e)
        })?;
        out.push(b'\n');
    }
    Ok(out)
}

/// Appends `lines` to `path` (creating it and its directories), then flushes and fsyncs.
fn append_durably(path: &Path, lines: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| io_error(Error::storage, "creating directory", parent, e))?;
    }
    let (mut file, created) = match OpenOptions::new()
        .read(true)
        .append(true)
        .create_new(true)
        .open(path)
    {
        Ok(file) => (file, true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let file = OpenOptions::new()
                .read(true)
                .append(true)
                .open(path)
                .map_err(|e| io_error(Error::storage, "opening", path, e))?;
            (file, false)
        }
        Err(e) => return Err(io_error(Error::storage, "creating", path, e)),
    };
    if !created {
        repair_torn_tail(&mut file, path)?;
    }
    file.write_all(lines)
        .and_then(|()| file.flush())
        .and_then(|()| file.sync_data())
        .map_err(|e| io_error(Error::storage, "appending to", path, e))?;
    if created {
        // The new directory entry must survive a crash too.
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
            && let Err(e) = File::open(parent).and_then(|d| d.sync_all())
        {
            tracing::debug!(dir = %parent.display(), error = %e, "cannot fsync directory");
        }
    }
    Ok(())
}

/// When the file does not end with `\n` (an append torn by a crash), terminates the last
/// line if it is a complete letter, or cuts it off.
fn repair_torn_tail(file: &mut File, path: &Path) -> Result<()> {
    let io = |what: &str, e: std::io::Error| io_error(Error::storage, what, path, e);
    let len = file.metadata().map_err(|e| io("reading", e))?.len();
    if len == 0 {
        return Ok(());
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))
        .and_then(|_| file.read_exact(&mut last))
        .map_err(|e| io("reading", e))?;
    if last[0] == b'\n' {
        return Ok(());
    }
    let start = last_line_start(file, len).map_err(|e| io("reading", e))?;
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(start))
        .and_then(|_| file.read_to_end(&mut tail))
        .map_err(|e| io("reading", e))?;
    if serde_json::from_slice::<DeadLetter>(&tail).is_ok() {
        tracing::warn!(path = %path.display(), "terminating an unterminated last dead letter");
        file.write_all(b"\n")
            .map_err(|e| io("repairing the last line of", e))?;
    } else {
        tracing::warn!(
            path = %path.display(),
            bytes = len - start,
            "cutting off a torn last line left by an interrupted append"
        );
        file.set_len(start)
            .map_err(|e| io("repairing the last line of", e))?;
    }
    Ok(())
}

/// The offset just after the last `\n` before `len` (0 when there is none), reading
/// backwards in bounded blocks.
fn last_line_start(file: &mut File, len: u64) -> std::io::Result<u64> {
    const BLOCK: u64 = 64 * 1024;
    let mut end = len;
    let mut buf = vec![0u8; BLOCK as usize];
    while end > 0 {
        let start = end.saturating_sub(BLOCK);
        let block = &mut buf[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(block)?;
        if let Some(i) = block.iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}
