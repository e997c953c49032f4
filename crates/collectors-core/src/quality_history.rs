//! [`QualityHistory`]: where data-quality reports are kept over time, so a pipeline's
//! quality can be watched from run to run.

use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::sync::lock;

/// One kept data-quality report: the profile of a source as it stood when one of its items
/// ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityEntry {
    /// The pipeline the report belongs to.
    pub pipeline: String,
    /// The processor that profiled the data (its name in the pipeline).
    pub processor: String,
    /// The source the profiled rows came from.
    pub source_id: String,
    /// The item that had just ended.
    pub item_id: String,
    /// When the report was kept.
    pub recorded_at: DateTime<Utc>,
    /// Rows profiled so far (across the source's items, or in the item alone, as the
    /// processor keeps its state).
    pub rows: u64,
    /// The report's overall score, 0–1 (`None` when nothing was profiled).
    pub score: Option<f64>,
    /// The whole report, as the processor emitted it.
    pub report: serde_json::Value,
}

/// Keeps data-quality reports, oldest first. Implementations: [`InMemoryQualityHistory`]
/// here, and a SQLite table beside a pipeline's checkpoints in `collectors-backends`.
///
/// ```
/// use collectors_core::{InMemoryQualityHistory, QualityEntry, QualityHistory};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let history = InMemoryQualityHistory::new();
/// let entry = QualityEntry {
///     pipeline: "sensors".into(),
///     processor: "data_quality".into(),
///     source_id: "readings".into(),
///     item_id: "day-1.csv".into(),
///     recorded_at: chrono::Utc::now(),
///     rows: 1000,
///     score: Some(0.99),
///     report: serde_json::json!({"rows": 1000, "score": 0.99}),
/// };
/// history.record(&entry).await?;
/// let kept = history.entries("sensors", None, 10).await?;
/// assert_eq!(kept, vec![entry]);
/// # Ok::<_, collectors_core::Error>(())
/// # }).unwrap();
/// ```
#[async_trait]
pub trait QualityHistory: Send + Sync {
    /// Keeps one report.
    async fn record(&self, entry: &QualityEntry) -> Result<()>;

    /// The last `limit` reports of `pipeline` (of one processor, when given), oldest first.
    async fn entries(
        &self,
        pipeline: &str,
        processor: Option<&str>,
        limit: usize,
    ) -> Result<Vec<QualityEntry>>;
}

/// A [`QualityHistory`] in memory, for tests and hosts that keep nothing.
#[derive(Debug, Default)]
pub struct InMemoryQualityHistory {
    entries: Mutex<Vec<QualityEntry>>,
}

impl InMemoryQualityHistory {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl QualityHistory for InMemoryQualityHistory {
    async fn record(&self, entry: &QualityEntry) -> Result<()> {
        lock(&self.entries).push(entry.clone());
        Ok(())
    }

    async fn entries(
        &self,
        pipeline: &str,
        processor: Option<&str>,
        limit: usize,
    ) -> Result<Vec<QualityEntry>> {
        let entries = lock(&self.entries);
        let matching: Vec<&QualityEntry> = entries
            .iter()
            .filter(|e| e.pipeline == pipeline && processor.is_none_or(|p| e.processor == p))
            .collect();
        let skip = matching.len().saturating_sub(limit);
        Ok(matching.into_iter().skip(skip).cloned().collect())
    }
}
