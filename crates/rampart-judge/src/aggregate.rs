//! Health aggregates: [`Aggregate`] for one variant in one window, and [`Series`], the
//! windowed aggregates of one variant over a rollout.
//!
//! Every field is an integer count or a [`LatencySketch`], so [`Aggregate::merge`] and
//! [`Series::merge`] are exact, associative and commutative: nodes can aggregate locally
//! and a central node merges their partial aggregates in any order.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::JudgeError;
use crate::sketch::LatencySketch;

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Error,
}

/// What one variant saw in one window: requests, errors, latencies and custom counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aggregate {
    requests: u64,
    errors: u64,
    latency: LatencySketch,
    /// Named custom counters, e.g. `checkout_failed`, summed over the window.
    counters: BTreeMap<String, u64>,
}

impl Aggregate {
    pub fn new() -> Aggregate {
        Aggregate::default()
    }

    /// Records one request. A latency that is `None` is simply not sketched.
    #[inline]
    pub fn record(&mut self, outcome: Outcome, latency_ms: Option<f64>) {
        self.requests += 1;
        if outcome == Outcome::Error {
            self.errors += 1;
        }
        if let Some(latency_ms) = latency_ms {
            self.latency.add(latency_ms);
        }
    }

    /// Adds `by` to the custom counter `name`.
    pub fn add_counter(&mut self, name: &str, by: u64) {
        match self.counters.get_mut(name) {
            Some(total) => *total = total.saturating_add(by),
            None => {
                self.counters.insert(name.to_owned(), by);
            }
        }
    }

    /// Adds everything in `other`: exact, associative and commutative.
    pub fn merge(&mut self, other: &Aggregate) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.latency.merge(&other.latency);
        for (name, by) in &other.counters {
            self.add_counter(name, *by);
        }
    }

    pub fn requests(&self) -> u64 {
        self.requests
    }

    pub fn errors(&self) -> u64 {
        self.errors
    }

    pub fn latency(&self) -> &LatencySketch {
        &self.latency
    }

    /// The custom counter `name`, zero when it never fired.
    pub fn counter(&self, name: &str) -> u64 {
        self.counters.get(name).copied().unwrap_or(0)
    }

    pub fn counters(&self) -> &BTreeMap<String, u64> {
        &self.counters
    }
}

/// One variant's aggregates over time, cut into fixed windows of `window_ms`.
///
/// Window `k` covers `[k·window_ms, (k+1)·window_ms)` in milliseconds since the epoch, so
/// series built on different nodes line up and merge window by window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Series {
    window_ms: u64,
    windows: BTreeMap<u64, Aggregate>,
}

impl Series {
    /// A series with windows of `window_ms` (1 000 is the usual choice).
    pub fn new(window_ms: u64) -> Result<Series, JudgeError> {
        if window_ms == 0 {
            return Err(JudgeError::ZeroWindow);
        }
        Ok(Series {
            window_ms,
            windows: BTreeMap::new(),
        })
    }

    pub fn window_ms(&self) -> u64 {
        self.window_ms
    }

    /// The aggregate of the window containing `at_ms`, created on first use.
    #[inline]
    pub fn window_mut(&mut self, at_ms: u64) -> &mut Aggregate {
        self.windows.entry(at_ms / self.window_ms).or_default()
    }

    /// Records one request at `at_ms` into its window.
    #[inline]
    pub fn record(&mut self, at_ms: u64, outcome: Outcome, latency_ms: Option<f64>) {
        self.window_mut(at_ms).record(outcome, latency_ms);
    }

    /// Merges `other` window by window; both must use the same window length.
    pub fn merge(&mut self, other: &Series) -> Result<(), JudgeError> {
        if other.window_ms != self.window_ms {
            return Err(JudgeError::WindowMismatch {
                left_ms: self.window_ms,
                right_ms: other.window_ms,
            });
        }
        for (index, aggregate) in &other.windows {
            self.windows.entry(*index).or_default().merge(aggregate);
        }
        Ok(())
    }

    /// The window index containing `at_ms`.
    pub fn window_index(&self, at_ms: u64) -> u64 {
        at_ms / self.window_ms
    }

    /// The aggregate of window `index`, if anything was recorded there.
    pub fn window(&self, index: u64) -> Option<&Aggregate> {
        self.windows.get(&index)
    }

    /// `(window index, aggregate)` for every window with data, oldest first.
    pub fn windows(&self) -> impl Iterator<Item = (u64, &Aggregate)> + '_ {
        self.windows
            .iter()
            .map(|(index, aggregate)| (*index, aggregate))
    }

    /// The windows with indices in `range`, oldest first.
    pub fn windows_in(
        &self,
        range: std::ops::Range<u64>,
    ) -> impl Iterator<Item = (u64, &Aggregate)> + '_ {
        self.windows
            .range(range)
            .map(|(index, aggregate)| (*index, aggregate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_counts_requests_errors_and_latencies() {
        let mut aggregate = Aggregate::new();
        aggregate.record(Outcome::Success, Some(10.0));
        aggregate.record(Outcome::Error, None);
        aggregate.add_counter("checkout_failed", 2);
        assert_eq!(aggregate.requests(), 2);
        assert_eq!(aggregate.errors(), 1);
        assert_eq!(aggregate.latency().count(), 1);
        assert_eq!(aggregate.counter("checkout_failed"), 2);
        assert_eq!(aggregate.counter("other"), 0);
    }

    #[test]
    fn series_windows_and_merge() {
        let mut left = Series::new(1_000).unwrap();
        left.record(999, Outcome::Error, None);
        left.record(1_000, Outcome::Success, None);
        let mut right = Series::new(1_000).unwrap();
        right.record(1_500, Outcome::Success, None);
        left.merge(&right).unwrap();
        assert_eq!(left.window(0).unwrap().errors(), 1);
        assert_eq!(left.window(1).unwrap().requests(), 2);
        let other = Series::new(500).unwrap();
        assert!(matches!(
            left.merge(&other),
            Err(JudgeError::WindowMismatch { .. })
        ));
        assert_eq!(Series::new(0), Err(JudgeError::ZeroWindow));
    }
}
