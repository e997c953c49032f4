//! [`ColumnStats`]: what is known of one column so far, merged batch by batch.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, BooleanArray, Float64Array, Scalar};
use arrow_cast::cast::cast;
use arrow_ord::cmp;
use arrow_schema::DataType;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::config::ValueRange;

/// How many distinct values a column counts exactly; past it, `distinct` is a lower bound
/// and `distinct_exact` false.
pub const MAX_DISTINCT: usize = 1 << 20;

/// Floats bit for bit in the checkpointed state.
mod bits {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(value.to_bits())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        u64::deserialize(d).map(f64::from_bits)
    }
}

/// Count, mean and the sum of squared deviations of the numbers seen (Welford, merged
/// batch by batch with Chan's formula), and their extremes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Moments {
    count: u64,
    #[serde(with = "bits")]
    mean: f64,
    #[serde(with = "bits")]
    m2: f64,
    #[serde(with = "bits")]
    min: f64,
    #[serde(with = "bits")]
    max: f64,
}

impl Moments {
    fn add_batch(&mut self, values: &Float64Array) {
        let mut batch = Moments {
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            ..Moments::default()
        };
        for value in values.iter().flatten().filter(|v| !v.is_nan()) {
            batch.count += 1;
            let delta = value - batch.mean;
            batch.mean += delta / batch.count as f64;
            batch.m2 += delta * (value - batch.mean);
            batch.min = batch.min.min(value);
            batch.max = batch.max.max(value);
        }
        self.merge(&batch);
    }

    fn merge(&mut self, other: &Moments) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = other.clone();
            return;
        }
        let count = self.count + other.count;
        let delta = other.mean - self.mean;
        let mean = self.mean + delta * (other.count as f64 / count as f64);
        self.m2 +=
            other.m2 + delta * delta * (self.count as f64 * other.count as f64 / count as f64);
        self.mean = mean;
        self.count = count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }
}

/// What is known of one column.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct ColumnStats {
    /// The Arrow type last seen.
    data_type: String,
    rows: u64,
    nulls: u64,
    nan: u64,
    type_errors: u64,
    out_of_range: u64,
    /// Hashes of the distinct values (nulls and NaN left out).
    distinct: HashSet<u64>,
    distinct_overflow: bool,
    /// Values not counted as distinct (past [`MAX_DISTINCT`], or of a type that has no
    /// text form).
    uncounted: u64,
    moments: Option<Moments>,
}

fn hash_of(value: impl Hash) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

fn count_true(mask: &BooleanArray) -> u64 {
    mask.true_count() as u64
}

impl ColumnStats {
    /// Adds one batch of the column. `read`: the values read as the expected type (`None`:
    /// no expected type).
    pub(super) fn add(
        &mut self,
        column: &ArrayRef,
        read: Option<&ArrayRef>,
        range: Option<ValueRange>,
    ) {
        self.data_type = column.data_type().to_string();
        self.rows += column.len() as u64;
        let nulls = column.logical_null_count() as u64;
        self.nulls += nulls;
        let values = read.unwrap_or(column);
        if read.is_some() {
            // Values present in the input but unreadable as the expected type.
            self.type_errors += (values.logical_null_count() as u64).saturating_sub(nulls);
        }
        let numbers = (values.data_type().is_numeric()
            || matches!(values.data_type(), DataType::Boolean))
        .then(|| cast(values, &DataType::Float64).ok())
        .flatten();
        if let Some(numbers) = &numbers {
            let numbers = numbers.as_primitive::<Float64Type>();
            let nan = numbers.iter().flatten().filter(|v| v.is_nan()).count() as u64;
            self.nan += nan;
            self.moments
                .get_or_insert_with(Moments::default)
                .add_batch(numbers);
            if let Some(range) = range {
                let numbers: ArrayRef = std::sync::Arc::new(numbers.clone());
                for (bound, below) in [(range.min, true), (range.max, false)] {
                    let Some(bound) = bound else { continue };
                    let bound = Scalar::new(Float64Array::from(vec![bound]));
                    let outside = if below {
                        cmp::lt(&numbers, &bound)
                    } else {
                        cmp::gt(&numbers, &bound)
                    };
                    if let Ok(outside) = outside {
                        // Arrow orders NaN above every number; NaN is missing, not too big.
                        let nan_counted = if below { 0 } else { nan };
                        self.out_of_range += count_true(&outside).saturating_sub(nan_counted);
                    }
                }
            }
        }
        self.count_distinct(values, numbers.as_ref());
    }

    fn count_distinct(&mut self, values: &ArrayRef, numbers: Option<&ArrayRef>) {
        let insert = |hash: u64, stats: &mut Self| {
            if stats.distinct.len() < MAX_DISTINCT || stats.distinct.contains(&hash) {
                stats.distinct.insert(hash);
            } else {
                stats.distinct_overflow = true;
            }
        };
        let data_type = values.data_type();
        if (data_type.is_integer() || data_type.is_temporal())
            && let Ok(ints) = cast(values, &DataType::Int64)
        {
            for v in ints.as_primitive::<Int64Type>().iter().flatten() {
                insert(hash_of(v), self);
            }
            return;
        }
        if let Some(numbers) = numbers {
            for v in numbers.as_primitive::<Float64Type>().iter().flatten() {
                if !v.is_nan() {
                    // -0.0 and 0.0 are one value.
                    insert(hash_of((v + 0.0).to_bits()), self);
                }
            }
            return;
        }
        match cast(values, &DataType::Utf8) {
            Ok(text) => {
                for v in text.as_string::<i32>().iter().flatten() {
                    insert(hash_of(v), self);
                }
            }
            Err(_) => {
                self.uncounted += (values.len() - values.logical_null_count()) as u64;
            }
        }
    }

    /// Cells counted against the score: nulls, NaN, type errors, values out of range, and
    /// duplicates when the column should be unique.
    pub(super) fn bad_cells(&self, unique: bool) -> u64 {
        let duplicates = if unique { self.duplicates() } else { 0 };
        self.nulls + self.nan + self.type_errors + self.out_of_range + duplicates
    }

    pub(super) fn rows(&self) -> u64 {
        self.rows
    }

    /// Present values that repeat an earlier one.
    fn duplicates(&self) -> u64 {
        if self.distinct_overflow {
            return 0;
        }
        (self.rows - self.nulls - self.nan - self.type_errors - self.uncounted)
            .saturating_sub(self.distinct.len() as u64)
    }

    /// The column's part of the report.
    pub(super) fn report(&self) -> serde_json::Value {
        let rate = |n: u64| {
            if self.rows == 0 {
                0.0
            } else {
                n as f64 / self.rows as f64
            }
        };
        let counted = self.uncounted == 0 || !self.distinct.is_empty();
        let mut report = json!({
            "type": self.data_type,
            "rows": self.rows,
            "nulls": self.nulls,
            "null_rate": rate(self.nulls),
            "nan": self.nan,
            "type_errors": self.type_errors,
            "out_of_range": self.out_of_range,
            "distinct": counted.then_some(self.distinct.len()),
            "distinct_exact": !self.distinct_overflow && self.uncounted == 0,
            "duplicates": (!self.distinct_overflow && counted).then(|| self.duplicates()),
        });
        if let (Some(m), Some(fields)) = (&self.moments, report.as_object_mut()) {
            let some = |v: f64| (m.count > 0 && v.is_finite()).then_some(v);
            fields.insert("min".into(), json!(some(m.min)));
            fields.insert("max".into(), json!(some(m.max)));
            fields.insert("mean".into(), json!(some(m.mean)));
            let stddev = (m.count > 1).then(|| (m.m2 / (m.count - 1) as f64).sqrt());
            fields.insert("stddev".into(), json!(stddev.filter(|v| v.is_finite())));
        }
        report
    }
}
