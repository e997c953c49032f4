//! [`Series`]: the peaks of one series, found as its samples arrive, with exactly the
//! arithmetic of `scipy.signal.find_peaks` (`_local_maxima_1d`, `_select_by_peak_distance`,
//! `_peak_prominences`, `_peak_widths`).
//!
//! A peak's properties depend on samples on both sides: its left base on the samples back
//! to the previous higher one, its right base on the samples up to the next higher one (or
//! the end), and whether `distance` keeps it on its higher neighbours. Rather than keep the
//! series, two monotone stacks keep what any later peak can still need on its left (the
//! previous-greater chain and the previous-smaller chain, each sample with its neighbour
//! for the width's interpolation), and every peak still waiting for a higher sample on its
//! right keeps the record lows after it. A peak is emitted as soon as all of that is known.
//!
//! Comparisons are written as SciPy writes them (`!(h < x)`, not `x <= h`), so that NaN
//! goes the same way.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

use std::collections::VecDeque;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::config::Interval;

/// A float kept bit for bit in the checkpointed state (JSON has no NaN or infinity, and a
/// decimal round trip is not exact for every value).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Bits(pub(super) f64);

impl Serialize for Bits {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0.to_bits())
    }
}

impl<'de> Deserialize<'de> for Bits {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        u64::deserialize(d).map(|bits| Bits(f64::from_bits(bits)))
    }
}

/// The conditions, as the series apply them.
#[derive(Debug, Clone)]
pub(super) struct Rules {
    pub(super) height: Option<Interval>,
    pub(super) threshold: Option<Interval>,
    pub(super) plateau_size: Option<Interval>,
    /// `ceil(distance)`, as SciPy compares it.
    pub(super) distance: Option<u64>,
    pub(super) prominence: Option<Interval>,
    pub(super) width: Option<Interval>,
    pub(super) rel_height: f64,
    /// Prominences and widths are computed (`prominence` or `width` is set).
    pub(super) bases: bool,
}

/// A peak and the properties SciPy reports for it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Peak {
    /// Its position in the series (the middle of a flat top, rounded down).
    pub(super) index: u64,
    pub(super) value: Bits,
    pub(super) left_edge: u64,
    pub(super) right_edge: u64,
    pub(super) left_threshold: Bits,
    pub(super) right_threshold: Bits,
    /// Known once the right base is: with [`Rules::bases`] only.
    pub(super) shape: Option<Shape>,
}

/// Prominence and width of a peak.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(super) struct Shape {
    pub(super) prominence: Bits,
    pub(super) left_base: u64,
    pub(super) right_base: u64,
    pub(super) width: Bits,
    pub(super) width_height: Bits,
    pub(super) left_ip: Bits,
    pub(super) right_ip: Bits,
}

impl Shape {
    /// Stands in for a shape not computed (never emitted: a peak waits for its shape).
    pub(super) const NONE: Shape = Shape {
        prominence: Bits(f64::NAN),
        left_base: 0,
        right_base: 0,
        width: Bits(f64::NAN),
        width_height: Bits(f64::NAN),
        left_ip: Bits(f64::NAN),
        right_ip: Bits(f64::NAN),
    };
}

/// A rising edge followed by equal samples: a peak if the next different sample is lower.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Plateau {
    start: u64,
    value: Bits,
    /// The sample before the rising edge.
    before: Bits,
}

/// A sample and its neighbour on the side of the peak it is measured from: the next sample
/// for a point left of a peak, the previous one for a point right of it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Point {
    pos: u64,
    value: Bits,
    inner: Bits,
}

/// A sample of the previous-greater chain.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Above {
    pos: u64,
    value: Bits,
}

/// A peak whose right side is still open: no higher sample (nor NaN) has followed it yet.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Open {
    index: u64,
    value: Bits,
    left_min: Bits,
    left_base: u64,
    /// From the peak leftwards, each sample lower than all between it and the peak, down to
    /// the left base.
    left_lows: Vec<Point>,
    right_min: Bits,
    right_base: u64,
    /// From the peak rightwards, each sample lower than all between the peak and it.
    right_lows: Vec<Point>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Status {
    /// `distance` has not decided yet.
    Undecided,
    Kept,
    Removed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Candidate {
    peak: Peak,
    status: Status,
}

/// The state of one series.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(super) struct Series {
    /// Samples seen.
    len: u64,
    /// The last sample.
    last: Option<Bits>,
    plateau: Option<Plateau>,
    /// Decreasing: samples greater than every later one (NaN above everything).
    above: Vec<Above>,
    /// Increasing: samples lower than every later one, each with the next sample.
    lows: Vec<Point>,
    /// Peaks whose right side is open; their values do not increase from bottom to top.
    open: Vec<Open>,
    /// Peaks not decided yet, or kept and waiting for their right base, in series order.
    candidates: VecDeque<Candidate>,
    /// Kept peaks already emitted that may still remove a candidate (`distance`).
    kept: VecDeque<(u64, Bits)>,
}

/// NumPy's `min`/`max` of two values: NaN wins.
fn nan_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

impl Series {
    /// Samples seen so far.
    pub(super) fn len(&self) -> u64 {
        self.len
    }

    /// Adds the next sample.
    pub(super) fn push(&mut self, x: f64, rules: &Rules) {
        let n = self.len;
        if let Some(plateau) = self.plateau
            && x != plateau.value.0
        {
            self.plateau = None;
            if x < plateau.value.0 {
                self.confirm(plateau, n - 1, x, rules);
            }
        }
        if self.plateau.is_none()
            && let Some(last) = self.last
            && last.0 < x
        {
            self.plateau = Some(Plateau {
                start: n,
                value: Bits(x),
                before: last,
            });
        }
        if rules.bases {
            self.extend_right(n, x, rules);
            self.extend_left(n, x);
        }
        self.last = Some(Bits(x));
        self.len = n + 1;
    }

    /// The plateau `start..=end` is followed by the lower `after`: a local maximum.
    fn confirm(&mut self, plateau: Plateau, end: u64, after: f64, rules: &Rules) {
        let (start, v) = (plateau.start, plateau.value.0);
        let index = (start + end) / 2;
        if let Some(size) = rules.plateau_size
            && !size.contains((end - start + 1) as f64)
        {
            return;
        }
        if let Some(height) = rules.height
            && !height.contains(v)
        {
            return;
        }
        let before = if index == start { plateau.before.0 } else { v };
        let next = if index == end { after } else { v };
        let (left_threshold, right_threshold) = (v - before, v - next);
        if let Some(threshold) = rules.threshold {
            if let Some(min) = threshold.min()
                && !(min <= nan_min(left_threshold, right_threshold))
            {
                return;
            }
            if let Some(max) = threshold.max()
                && !(nan_max(left_threshold, right_threshold) <= max)
            {
                return;
            }
        }
        if rules.bases {
            self.open_peak(index, v);
        }
        self.candidates.push_back(Candidate {
            peak: Peak {
                index,
                value: Bits(v),
                left_edge: start,
                right_edge: end,
                left_threshold: Bits(left_threshold),
                right_threshold: Bits(right_threshold),
                shape: None,
            },
            status: if rules.distance.is_some() {
                Status::Undecided
            } else {
                Status::Kept
            },
        });
    }

    /// Finds the left base of a peak at `index` whose flat top is the last samples seen,
    /// and opens its right side.
    fn open_peak(&mut self, index: u64, v: f64) {
        // The top of `above` is the plateau's last sample; below it, the previous sample
        // greater than the peak (or NaN), where SciPy's left scan stops.
        let stop = self
            .above
            .len()
            .checked_sub(2)
            .and_then(|i| self.above.get(i))
            .map(|a| a.pos);
        let first = self
            .lows
            .partition_point(|low| stop.is_some_and(|stop| low.pos <= stop));
        let top = self.lows.len().saturating_sub(1);
        let (left_min, left_base, left_lows) = match self.lows.get(first) {
            Some(low) if first < top => (
                low.value,
                low.pos,
                self.lows[first..top].iter().rev().copied().collect(),
            ),
            _ => (Bits(v), index, Vec::new()),
        };
        self.open.push(Open {
            index,
            value: Bits(v),
            left_min,
            left_base,
            left_lows,
            right_min: Bits(v),
            right_base: index,
            right_lows: Vec::new(),
        });
    }

    /// Closes the right side of the open peaks `x` is higher than, and records `x` as a low
    /// of the others.
    fn extend_right(&mut self, n: u64, x: f64, rules: &Rules) {
        while let Some(open) = self.open.last() {
            if !(x.is_nan() || open.value.0 < x) {
                break;
            }
            if let Some(open) = self.open.pop() {
                self.close(open, rules);
            }
        }
        let previous = self.last.unwrap_or(Bits(f64::NAN));
        // The lows of an older peak are never above those of a newer one.
        for open in self.open.iter_mut().rev() {
            if !(x < open.right_min.0) {
                break;
            }
            open.right_min = Bits(x);
            open.right_base = n;
            open.right_lows.push(Point {
                pos: n,
                value: Bits(x),
                inner: previous,
            });
        }
    }

    /// Adds `x` to the left-side chains.
    fn extend_left(&mut self, n: u64, x: f64) {
        if x.is_nan() {
            // Every left scan stops here.
            self.above.clear();
            self.above.push(Above {
                pos: n,
                value: Bits(x),
            });
            self.lows.clear();
            return;
        }
        while let Some(above) = self.above.last() {
            if above.value.0.is_nan() || above.value.0 > x {
                break;
            }
            self.above.pop();
        }
        self.above.push(Above {
            pos: n,
            value: Bits(x),
        });
        if let Some(low) = self.lows.last_mut()
            && low.pos + 1 == n
        {
            low.inner = Bits(x);
        }
        while let Some(low) = self.lows.last() {
            if low.value.0 < x {
                break;
            }
            self.lows.pop();
        }
        self.lows.push(Point {
            pos: n,
            value: Bits(x),
            inner: Bits(f64::NAN),
        });
    }

    /// Computes the prominence and width of a peak whose right side is now known.
    fn close(&mut self, open: Open, rules: &Rules) {
        let v = open.value.0;
        let base = if open.left_min.0 > open.right_min.0 {
            open.left_min.0
        } else {
            open.right_min.0
        };
        let prominence = v - base;
        let height = v - prominence * rules.rel_height;
        let crossing = |lows: &[Point]| {
            let (mut pos, mut value, mut inner) = (open.index, v, f64::NAN);
            if height < v {
                for low in lows {
                    (pos, value, inner) = (low.pos, low.value.0, low.inner.0);
                    if !(height < value) {
                        break;
                    }
                }
            }
            let shift = if value < height {
                (height - value) / (inner - value)
            } else {
                0.0
            };
            (pos as f64, shift)
        };
        let (left, left_shift) = crossing(&open.left_lows);
        let (right, right_shift) = crossing(&open.right_lows);
        let left_ip = left + left_shift;
        let right_ip = right - right_shift;
        let shape = Shape {
            prominence: Bits(prominence),
            left_base: open.left_base,
            right_base: open.right_base,
            width: Bits(right_ip - left_ip),
            width_height: Bits(height),
            left_ip: Bits(left_ip),
            right_ip: Bits(right_ip),
        };
        let found = self
            .candidates
            .binary_search_by_key(&open.index, |c| c.peak.index);
        if let Ok(at) = found
            && let Some(candidate) = self.candidates.get_mut(at)
        {
            candidate.peak.shape = Some(shape);
        }
    }

    /// The first position a peak found later can have.
    fn frontier(&self) -> u64 {
        self.plateau.map_or(self.len, |p| p.start)
    }

    /// Decides `distance` for the candidates it can; `end`: no sample follows.
    fn decide(&mut self, end: bool, rules: &Rules) {
        let Some(distance) = rules.distance else {
            return;
        };
        let frontier = self.frontier();
        loop {
            let mut changed = false;
            for j in 0..self.candidates.len() {
                let (pj, vj) = match self.candidates.get(j) {
                    Some(c) if c.status == Status::Undecided => (c.peak.index, c.peak.value.0),
                    _ => continue,
                };
                // A later peak may still come within `distance`.
                if !end && frontier < pj.saturating_add(distance) {
                    continue;
                }
                // Who goes first in SciPy's order: the higher, and on a tie the later one
                // (a stable sort's order).
                let before = |pk: u64, vk: f64| vk > vj || (vk == vj && pk > pj);
                let mut removed = self
                    .kept
                    .iter()
                    .any(|&(pk, vk)| pj.abs_diff(pk) < distance && before(pk, vk.0));
                let mut waiting = false;
                let neighbours = self
                    .candidates
                    .iter()
                    .take(j)
                    .rev()
                    .take_while(|c| pj - c.peak.index < distance)
                    .chain(
                        self.candidates
                            .iter()
                            .skip(j + 1)
                            .take_while(|c| c.peak.index - pj < distance),
                    );
                for c in neighbours {
                    if removed {
                        break;
                    }
                    if before(c.peak.index, c.peak.value.0) {
                        match c.status {
                            Status::Kept => removed = true,
                            Status::Undecided => waiting = true,
                            Status::Removed => {}
                        }
                    }
                }
                let status = if removed {
                    Status::Removed
                } else if waiting {
                    continue;
                } else {
                    Status::Kept
                };
                if let Some(c) = self.candidates.get_mut(j) {
                    c.status = status;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// Moves the peaks whose fate is known to `out`, in series order. A peak still waiting
    /// for its right base does not hold back the later ones.
    pub(super) fn emit(&mut self, end: bool, rules: &Rules, out: &mut Vec<Peak>) {
        self.decide(end, rules);
        let mut decided = Vec::new();
        self.candidates.retain(|c| match c.status {
            Status::Undecided => true,
            Status::Removed => false,
            Status::Kept if rules.bases && c.peak.shape.is_none() => true,
            Status::Kept => {
                decided.push(c.peak.clone());
                false
            }
        });
        for peak in decided {
            if rules.distance.is_some() {
                self.kept.push_back((peak.index, peak.value));
            }
            if let Some(shape) = peak.shape {
                if let Some(prominence) = rules.prominence
                    && !prominence.contains(shape.prominence.0)
                {
                    continue;
                }
                if let Some(width) = rules.width
                    && !width.contains(shape.width.0)
                {
                    continue;
                }
            }
            out.push(peak);
        }
        if let Some(distance) = rules.distance {
            // Every peak `distance` has still to decide is at or after `next`.
            let next = self
                .candidates
                .iter()
                .find(|c| c.status == Status::Undecided)
                .map_or(self.frontier(), |c| c.peak.index.min(self.frontier()));
            self.kept
                .retain(|&(pk, _)| pk.saturating_add(distance) > next);
        }
    }

    /// Ends the series: the last flat top is no peak, open right sides end at the last
    /// sample, and every remaining peak is decided and moved to `out`.
    pub(super) fn finish(&mut self, rules: &Rules, out: &mut Vec<Peak>) {
        self.plateau = None;
        while let Some(open) = self.open.pop() {
            self.close(open, rules);
        }
        self.emit(true, rules, out);
        *self = Series::default();
    }
}
