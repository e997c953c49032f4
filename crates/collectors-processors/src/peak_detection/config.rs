//! [`PeakDetectionConfig`]: the conditions of `scipy.signal.find_peaks`, as parameters.

use collectors_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// A condition on a peak property, as SciPy takes it: a number is a minimum, a pair
/// `[min, max]` bounds it on both sides (either may be `null`). Both ends are inclusive.
///
/// ```
/// use collectors_processors::Interval;
///
/// let min: Interval = serde_json::from_str("2.5").unwrap();
/// assert!(min.contains(2.5) && !min.contains(2.4));
/// let both: Interval = serde_json::from_str("[1, 3]").unwrap();
/// assert!(both.contains(3.0) && !both.contains(3.5));
/// let max: Interval = serde_json::from_str("[null, 3]").unwrap();
/// assert!(max.contains(-1e9));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum Interval {
    /// At least this value.
    Min(f64),
    /// `[min, max]`, `null` for an open end.
    Range([Option<f64>; 2]),
}

impl Interval {
    /// The lower bound, if any.
    pub fn min(self) -> Option<f64> {
        match self {
            Interval::Min(min) => Some(min),
            Interval::Range([min, _]) => min,
        }
    }

    /// The upper bound, if any.
    pub fn max(self) -> Option<f64> {
        match self {
            Interval::Min(_) => None,
            Interval::Range([_, max]) => max,
        }
    }

    /// Whether `value` is within the bounds (NaN never is, as in NumPy's comparisons).
    pub fn contains(self, value: f64) -> bool {
        self.min().is_none_or(|min| min <= value) && self.max().is_none_or(|max| value <= max)
    }

    fn check(self, key: &str) -> Result<()> {
        for bound in [self.min(), self.max()].into_iter().flatten() {
            if bound.is_nan() {
                return Err(Error::configuration(format!("`{key}` must not be NaN")));
            }
        }
        Ok(())
    }
}

/// What a [`PeakDetection`](crate::PeakDetection) looks for: the parameters of
/// [`scipy.signal.find_peaks`](https://docs.scipy.org/doc/scipy/reference/generated/scipy.signal.find_peaks.html),
/// applied to the series of `value` of each `key`, with the same meaning.
///
/// ```
/// use collectors_processors::PeakDetectionConfig;
///
/// let config: PeakDetectionConfig = serde_json::from_str(
///     r#"{"key": "sensor_id", "value": "value", "height": 20, "distance": 5,
///         "prominence": [1, null], "width": 2}"#,
/// )
/// .unwrap();
/// assert_eq!(config.distance, Some(5.0));
/// assert!(serde_json::from_str::<PeakDetectionConfig>(r#"{"value": "v", "wlen": 3}"#).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PeakDetectionConfig {
    /// The column whose values form the series (e.g. `sensor_id`); `None`: one series.
    /// Integer columns are grouped by value, other types by their text; a null key is a
    /// series of its own.
    #[serde(default)]
    pub key: Option<String>,
    /// The numeric column the peaks are found in (cast to `Float64`; a null is NaN).
    pub value: String,
    /// Required height of a peak (its value): a minimum or `[min, max]`.
    #[serde(default)]
    pub height: Option<Interval>,
    /// Required threshold: the vertical distance of a peak to each of its neighbouring
    /// samples, a minimum (for the smaller of the two) or `[min, max]`.
    #[serde(default)]
    pub threshold: Option<Interval>,
    /// Minimal horizontal distance (in samples, ≥ 1) between neighbouring peaks: smaller
    /// peaks are removed first until every remaining peak is at least this far from the
    /// next.
    #[serde(default)]
    pub distance: Option<f64>,
    /// Required prominence: a minimum or `[min, max]`.
    #[serde(default)]
    pub prominence: Option<Interval>,
    /// Required width (in samples) at `rel_height` of the prominence: a minimum or
    /// `[min, max]`.
    #[serde(default)]
    pub width: Option<Interval>,
    /// Where the width is measured, as a share of the prominence (≥ 0, default 0.5).
    #[serde(default)]
    pub rel_height: Option<f64>,
    /// Required size of a peak's flat top, in samples: a minimum or `[min, max]`.
    #[serde(default)]
    pub plateau_size: Option<Interval>,
    /// Series per item instead of per source: each item is a series of its own, and a
    /// source's items may run in parallel. Default `false`: a series carries across a
    /// source's items in order, so `part-00 … part-NN` gives the peaks of one file.
    #[serde(default)]
    pub per_item: bool,
}

impl PeakDetectionConfig {
    /// Every local maximum of `value` (no condition), per `key` when given.
    pub fn new(key: Option<&str>, value: impl Into<String>) -> Self {
        Self {
            key: key.map(str::to_owned),
            value: value.into(),
            height: None,
            threshold: None,
            distance: None,
            prominence: None,
            width: None,
            rel_height: None,
            plateau_size: None,
            per_item: false,
        }
    }

    /// Sets [`height`](Self::height).
    #[must_use]
    pub fn with_height(mut self, height: Interval) -> Self {
        self.height = Some(height);
        self
    }

    /// Sets [`threshold`](Self::threshold).
    #[must_use]
    pub fn with_threshold(mut self, threshold: Interval) -> Self {
        self.threshold = Some(threshold);
        self
    }

    /// Sets [`distance`](Self::distance).
    #[must_use]
    pub fn with_distance(mut self, distance: f64) -> Self {
        self.distance = Some(distance);
        self
    }

    /// Sets [`prominence`](Self::prominence).
    #[must_use]
    pub fn with_prominence(mut self, prominence: Interval) -> Self {
        self.prominence = Some(prominence);
        self
    }

    /// Sets [`width`](Self::width).
    #[must_use]
    pub fn with_width(mut self, width: Interval) -> Self {
        self.width = Some(width);
        self
    }

    /// Sets [`rel_height`](Self::rel_height).
    #[must_use]
    pub fn with_rel_height(mut self, rel_height: f64) -> Self {
        self.rel_height = Some(rel_height);
        self
    }

    /// Sets [`plateau_size`](Self::plateau_size).
    #[must_use]
    pub fn with_plateau_size(mut self, plateau_size: Interval) -> Self {
        self.plateau_size = Some(plateau_size);
        self
    }

    /// Sets [`per_item`](Self::per_item).
    #[must_use]
    pub fn with_per_item(mut self, per_item: bool) -> Self {
        self.per_item = per_item;
        self
    }

    /// Whether prominences (and bases) are computed: for `prominence` or `width`.
    pub fn needs_prominence(&self) -> bool {
        self.prominence.is_some() || self.width.is_some()
    }

    /// The configuration errors SciPy raises, and a few of ours, each starting with the key
    /// in backticks.
    pub(crate) fn check(&self) -> Result<()> {
        if self.value.is_empty() {
            return Err(Error::configuration("`value` must not be empty"));
        }
        if self.key.as_deref() == Some("") {
            return Err(Error::configuration("`key` must not be empty"));
        }
        if let Some(distance) = self.distance
            && !(distance >= 1.0 && distance.is_finite())
        {
            return Err(Error::configuration(format!(
                "`distance` must be a finite number of at least 1, got {distance}"
            )));
        }
        if let Some(rel_height) = self.rel_height
            && !(rel_height >= 0.0 && rel_height.is_finite())
        {
            return Err(Error::configuration(format!(
                "`rel_height` must be a finite number of at least 0, got {rel_height}"
            )));
        }
        for (key, interval) in [
            ("height", self.height),
            ("threshold", self.threshold),
            ("prominence", self.prominence),
            ("width", self.width),
            ("plateau_size", self.plateau_size),
        ] {
            if let Some(interval) = interval {
                interval.check(key)?;
            }
        }
        Ok(())
    }
}
