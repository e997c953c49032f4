//! The table of peaks a [`PeakDetection`](super::PeakDetection) returns.

use std::sync::Arc;

use arrow_array::builder::{Float64Builder, Int64Builder, StringBuilder, UInt64Builder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema};

use super::config::PeakDetectionConfig;
use super::groups::{GroupKey, Groups};
use super::series::Peak;

/// Every column name the table can have besides the key.
pub(super) const COLUMNS: &[&str] = &[
    "index",
    "value",
    "left_threshold",
    "right_threshold",
    "plateau_size",
    "left_edge",
    "right_edge",
    "prominence",
    "left_base",
    "right_base",
    "width",
    "width_height",
    "left_ip",
    "right_ip",
];

/// The column names of the table, in order.
pub(super) fn names(config: &PeakDetectionConfig) -> Vec<String> {
    let mut names: Vec<&str> = config.key.as_deref().into_iter().collect();
    names.extend(["index", "value"]);
    if config.threshold.is_some() {
        names.extend(["left_threshold", "right_threshold"]);
    }
    if config.plateau_size.is_some() {
        names.extend(["plateau_size", "left_edge", "right_edge"]);
    }
    if config.needs_prominence() {
        names.extend(["prominence", "left_base", "right_base"]);
    }
    if config.width.is_some() {
        names.extend(["width", "width_height", "left_ip", "right_ip"]);
    }
    names.into_iter().map(str::to_owned).collect()
}

fn floats(peaks: &[(usize, Peak)], f: impl Fn(&Peak) -> f64) -> ArrayRef {
    let mut b = Float64Builder::with_capacity(peaks.len());
    for (_, peak) in peaks {
        b.append_value(f(peak));
    }
    Arc::new(b.finish())
}

fn counts(peaks: &[(usize, Peak)], f: impl Fn(&Peak) -> u64) -> ArrayRef {
    let mut b = UInt64Builder::with_capacity(peaks.len());
    for (_, peak) in peaks {
        b.append_value(f(peak));
    }
    Arc::new(b.finish())
}

/// The peaks as a table (see the columns in [`PeakDetection`](super::PeakDetection)).
pub(super) fn table(
    key: Option<&str>,
    config: &PeakDetectionConfig,
    groups: &Groups,
    peaks: &[(usize, Peak)],
    int_keys: bool,
) -> Result<RecordBatch, ArrowError> {
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    let keys = || {
        peaks
            .iter()
            .map(|(at, _)| groups.series.get(*at).map(|(k, _)| k))
    };
    if let Some(name) = key {
        let ints = if peaks.is_empty() {
            int_keys
        } else {
            keys().all(|k| matches!(k, Some(GroupKey::Int(_) | GroupKey::Null)))
                && keys().any(|k| matches!(k, Some(GroupKey::Int(_))))
        };
        if ints {
            let mut b = Int64Builder::with_capacity(peaks.len());
            for k in keys() {
                match k {
                    Some(GroupKey::Int(int)) => b.append_value(*int),
                    _ => b.append_null(),
                }
            }
            fields.push(Field::new(name, DataType::Int64, true));
            columns.push(Arc::new(b.finish()));
        } else {
            let mut b = StringBuilder::with_capacity(peaks.len(), peaks.len() * 8);
            for k in keys() {
                match k {
                    Some(GroupKey::Int(int)) => b.append_value(int.to_string()),
                    Some(GroupKey::Text(text)) => b.append_value(text),
                    _ => b.append_null(),
                }
            }
            fields.push(Field::new(name, DataType::Utf8, true));
            columns.push(Arc::new(b.finish()));
        }
    }
    let mut add = |name: &str, column: ArrayRef| {
        fields.push(Field::new(name, column.data_type().clone(), false));
        columns.push(column);
    };
    add("index", counts(peaks, |p| p.index));
    add("value", floats(peaks, |p| p.value.0));
    if config.threshold.is_some() {
        add("left_threshold", floats(peaks, |p| p.left_threshold.0));
        add("right_threshold", floats(peaks, |p| p.right_threshold.0));
    }
    if config.plateau_size.is_some() {
        add(
            "plateau_size",
            counts(peaks, |p| p.right_edge - p.left_edge + 1),
        );
        add("left_edge", counts(peaks, |p| p.left_edge));
        add("right_edge", counts(peaks, |p| p.right_edge));
    }
    let shape = |p: &Peak| p.shape.unwrap_or(super::series::Shape::NONE);
    if config.needs_prominence() {
        add("prominence", floats(peaks, |p| shape(p).prominence.0));
        add("left_base", counts(peaks, |p| shape(p).left_base));
        add("right_base", counts(peaks, |p| shape(p).right_base));
    }
    if config.width.is_some() {
        add("width", floats(peaks, |p| shape(p).width.0));
        add("width_height", floats(peaks, |p| shape(p).width_height.0));
        add("left_ip", floats(peaks, |p| shape(p).left_ip.0));
        add("right_ip", floats(peaks, |p| shape(p).right_ip.0));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}
