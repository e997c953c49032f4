//! A data-quality report as the SQL quality histories (SQLite, PostgreSQL) keep it in a row:
//! the encoding of a [`QualityEntry`] into columns and the checks back, shared.

use chrono::{DateTime, Utc};
use collectors_core::{Error, QualityEntry, Result};

/// The columns read back for one report: processor, source id, item id, recorded at
/// (RFC 3339 text), rows, score, report (JSON text).
pub(crate) type QualityRow = (String, String, String, String, i64, Option<f64>, String);

/// `entry`'s report as JSON text.
///
/// # Errors
///
/// [`Error::Validation`] when the report cannot be encoded.
pub(crate) fn report_text(entry: &QualityEntry) -> Result<String> {
    serde_json::to_string(&entry.report)
        .map_err(|e| Error::validation(format!("the quality report cannot be encoded: {e}")))
}

/// The entry of `pipeline` that `row` holds.
///
/// # Errors
///
/// [`Error::InvalidState`] for a row whose time, row count or report is not what was kept.
pub(crate) fn entry_of(pipeline: &str, row: QualityRow) -> Result<QualityEntry> {
    let (processor, source_id, item_id, recorded_at, rows, score, report) = row;
    let corrupt =
        |what: &str| Error::invalid_state(format!("a kept quality report has a bad {what}"));
    Ok(QualityEntry {
        pipeline: pipeline.to_owned(),
        processor,
        source_id,
        item_id,
        recorded_at: DateTime::parse_from_rfc3339(&recorded_at)
            .map_err(|_| corrupt("time"))?
            .with_timezone(&Utc),
        rows: u64::try_from(rows).map_err(|_| corrupt("row count"))?,
        score,
        report: serde_json::from_str(&report).map_err(|_| corrupt("report"))?,
    })
}
