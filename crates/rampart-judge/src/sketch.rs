//! [`LatencySketch`]: a DDSketch-style log-bucketed histogram of latencies at 1% relative
//! accuracy, with exact merges and exact counts above any bucket edge.
//!
//! The bucketing is fixed (γ = 1.01 / 0.99), the same on every node and in both arms, so a
//! merge only adds bucket counts and a "slow request" threshold taken as a bucket edge gives
//! exact slow counts, with no sketch error in the statistical test.

use serde::{Deserialize, Serialize};

/// Relative accuracy of every quantile the sketch reports.
pub const RELATIVE_ACCURACY: f64 = 0.01;
/// `ln γ` with `γ = (1 + a) / (1 − a)`, `a` = [`RELATIVE_ACCURACY`]; a test checks the value.
const LN_GAMMA: f64 = 0.020_000_666_706_669_435;
/// Latencies at or below this many milliseconds (1 µs) share the zero bucket.
const MIN_TRACKED_MS: f64 = 0.001;
/// Latencies above this (about 11.6 days) are clamped into the top bucket.
const MAX_TRACKED_MS: f64 = 1.0e9;

/// The bucket of `latency_ms`: the `i` with `γ^(i−1) < x ≤ γ^i`. `None` for the zero bucket.
fn bucket_index(latency_ms: f64) -> Option<i32> {
    if latency_ms.is_nan() || latency_ms <= MIN_TRACKED_MS {
        return None;
    }
    let clamped = latency_ms.min(MAX_TRACKED_MS);
    // Bounded by the clamp above: |ln(x)/ln γ| < 1100, so the cast can't saturate.
    Some((clamped.ln() / LN_GAMMA).ceil() as i32)
}

/// The upper edge `γ^i` of bucket `i`, in milliseconds.
pub fn bucket_upper_edge_ms(index: i32) -> f64 {
    (f64::from(index) * LN_GAMMA).exp()
}

/// The representative value `2γ^i/(γ+1)` of bucket `i`: within 1% of every value in it.
fn bucket_value_ms(index: i32) -> f64 {
    let gamma = LN_GAMMA.exp();
    2.0 * bucket_upper_edge_ms(index) / (gamma + 1.0)
}

/// A mergeable latency histogram. Counts are exact integers; only the reported quantile
/// values carry the 1% relative error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencySketch {
    /// Latencies at or below 1 µs.
    zero_count: u64,
    /// The bucket index of `counts[0]`.
    offset: i32,
    /// Dense counts for buckets `offset..offset + counts.len()`.
    counts: Vec<u64>,
}

impl LatencySketch {
    pub fn new() -> LatencySketch {
        LatencySketch::default()
    }

    /// Adds one latency. NaN, negative and sub-microsecond values land in the zero bucket.
    #[inline]
    pub fn add(&mut self, latency_ms: f64) {
        match bucket_index(latency_ms) {
            None => self.zero_count += 1,
            Some(index) => self.add_to_bucket(index, 1),
        }
    }

    fn add_to_bucket(&mut self, index: i32, count: u64) {
        if self.counts.is_empty() {
            self.offset = index;
            self.counts.push(count);
            return;
        }
        let position = i64::from(index) - i64::from(self.offset);
        if position < 0 {
            // Grow downwards: shift the existing buckets up by the gap.
            let gap = usize::try_from(-position).unwrap_or(0);
            let mut grown = vec![0; gap];
            grown.append(&mut self.counts);
            self.counts = grown;
            self.offset = index;
            if let Some(slot) = self.counts.first_mut() {
                *slot += count;
            }
            return;
        }
        let position = usize::try_from(position).unwrap_or(usize::MAX);
        if position >= self.counts.len() {
            self.counts.resize(position + 1, 0);
        }
        if let Some(slot) = self.counts.get_mut(position) {
            *slot += count;
        }
    }

    /// Adds every bucket of `other`: exact, associative and commutative.
    pub fn merge(&mut self, other: &LatencySketch) {
        self.zero_count += other.zero_count;
        for (index, count) in other.buckets() {
            if count > 0 {
                self.add_to_bucket(index, count);
            }
        }
    }

    /// `(bucket index, count)` for every non-zero-bucket, lowest first.
    pub fn buckets(&self) -> impl Iterator<Item = (i32, u64)> + '_ {
        self.counts
            .iter()
            .zip(self.offset..)
            .map(|(count, index)| (index, *count))
    }

    /// Number of latencies recorded.
    pub fn count(&self) -> u64 {
        self.zero_count + self.counts.iter().sum::<u64>()
    }

    /// Number of latencies strictly above the upper edge of bucket `index`: exact.
    pub fn count_above(&self, index: i32) -> u64 {
        self.buckets()
            .filter(|(bucket, _)| *bucket > index)
            .map(|(_, count)| count)
            .sum()
    }

    /// The bucket holding the `quantile` (0..=1), `None` if it is the zero bucket or the
    /// sketch is empty.
    pub fn quantile_bucket(&self, quantile: f64) -> Option<i32> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let quantile = if quantile.is_nan() {
            0.0
        } else {
            quantile.clamp(0.0, 1.0)
        };
        // The lower rank, as in DDSketch: the ⌊q(n−1)⌋-th value, counted from zero.
        let rank = (quantile * (total - 1) as f64).floor() as u64;
        let mut seen = self.zero_count;
        if seen > rank {
            return None;
        }
        for (index, count) in self.buckets() {
            seen += count;
            if seen > rank {
                return Some(index);
            }
        }
        None
    }

    /// The `quantile` (0..=1) in milliseconds, within 1% relative error; `None` when empty.
    pub fn quantile_ms(&self, quantile: f64) -> Option<f64> {
        if self.count() == 0 {
            return None;
        }
        Some(self.quantile_bucket(quantile).map_or(0.0, bucket_value_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_constant_matches_relative_accuracy() {
        let gamma = (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY);
        assert!((gamma.ln() - LN_GAMMA).abs() < 1e-15);
    }

    #[test]
    fn quantiles_are_within_one_percent() {
        let mut sketch = LatencySketch::new();
        for value in 1..=10_000 {
            sketch.add(f64::from(value) * 0.37);
        }
        for quantile in [0.0, 0.1, 0.5, 0.9, 0.95, 0.99, 1.0] {
            let rank = (quantile * 9_999.0_f64).floor() + 1.0;
            let exact = rank * 0.37;
            let reported = sketch.quantile_ms(quantile).unwrap();
            assert!(
                (reported - exact).abs() <= 0.01 * exact + 1e-9,
                "q{quantile}: {reported} vs {exact}"
            );
        }
    }

    #[test]
    fn count_above_a_bucket_edge_is_exact() {
        let mut sketch = LatencySketch::new();
        for value in [0.0, 1.0, 5.0, 99.0, 100.0, 103.0, 250.0, 1e12, f64::NAN] {
            sketch.add(value);
        }
        let index = bucket_index(100.0).unwrap();
        let edge = bucket_upper_edge_ms(index);
        assert!((100.0..102.1).contains(&edge), "{edge}");
        assert_eq!(sketch.count_above(index), 3);
        assert_eq!(sketch.count(), 9);
    }

    #[test]
    fn merge_adds_buckets_in_both_directions() {
        let mut low = LatencySketch::new();
        low.add(2.0);
        let mut high = LatencySketch::new();
        high.add(2_000.0);
        high.add(0.0);
        let mut left = low.clone();
        left.merge(&high);
        let mut right = high.clone();
        right.merge(&low);
        assert_eq!(left, right);
        assert_eq!(left.count(), 3);
        assert_eq!(left.quantile_bucket(0.0), None);
    }
}
