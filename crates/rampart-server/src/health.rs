//! Health signals of the running rollouts: the baseline's and the candidate's event series,
//! fed by `POST /v1/events` and read by the controller's judge.
//!
//! One entry per flag under an active rollout. Events are routed by variant: the candidate's
//! (served or shadow) go to the candidate arm, the baseline's served ones to the baseline arm,
//! anything else is accepted but not judged. Series are cut into 1 s windows by the event's
//! time; an event older than the last window the judge already read is counted in the first
//! window it hasn't, so a judged window never changes afterwards.
//!
//! Aggregates live in memory, and every sealed window is saved in the store after the tick
//! that sealed it (`rollout_health`). A restarted server restores a rollout's windows before
//! judging it again, so its analysis continues where it stopped; only events received after
//! the last tick before a crash (at most a tick's worth) are lost.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use rampart_judge::{Aggregate, Outcome, Series};
use rampart_store::{Arm, HealthWindow, RolloutId};

/// The window length of every health series.
pub const WINDOW_MS: u64 = 1_000;

/// One validated event, ready to record.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    pub flag: &'a str,
    pub variant: &'a str,
    pub outcome: Outcome,
    pub latency_ms: Option<f64>,
    pub counters: Vec<(&'a str, u64)>,
    pub shadow: bool,
    pub at_ms: u64,
}

/// The two arms of one rollout.
#[derive(Debug)]
pub struct Arms {
    pub rollout: RolloutId,
    pub baseline_variant: String,
    pub candidate_variant: String,
    /// The custom values the rollout's analysis compares; others aren't kept.
    pub counters: Vec<String>,
    pub baseline: Series,
    pub candidate: Series,
    /// Windows before this (ms) have been judged and are sealed.
    pub judged_until_ms: u64,
    /// Sealed windows before this (ms) are saved in the store.
    pub saved_until_ms: u64,
}

impl Arms {
    fn new(rollout: RolloutId, baseline: &str, candidate: &str, counters: Vec<String>) -> Arms {
        Arms {
            rollout,
            baseline_variant: baseline.to_owned(),
            candidate_variant: candidate.to_owned(),
            counters,
            baseline: empty_series(),
            candidate: empty_series(),
            judged_until_ms: 0,
            saved_until_ms: 0,
        }
    }

    /// Records one sample into its arm; returns whether it was judged.
    fn record(&mut self, sample: &Sample<'_>) -> bool {
        let series = if sample.variant == self.candidate_variant {
            &mut self.candidate
        } else if sample.variant == self.baseline_variant && !sample.shadow {
            &mut self.baseline
        } else {
            return false;
        };
        let at_ms = sample.at_ms.max(self.judged_until_ms);
        let window = series.window_mut(at_ms);
        window.record(sample.outcome, sample.latency_ms);
        // The judge's tests take each request as at most one bad event (independent draws):
        // a counter counts the requests on which it fired, not its magnitude.
        for (name, by) in &sample.counters {
            if *by > 0 && self.counters.iter().any(|kept| kept == name) {
                window.add_counter(name, 1);
            }
        }
        true
    }

    /// Candidate requests in complete windows from `since_ms` up to `now_ms`.
    pub fn candidate_requests(&self, since_ms: u64, now_ms: u64) -> u64 {
        let first = since_ms.div_ceil(WINDOW_MS);
        let end = now_ms / WINDOW_MS;
        if first >= end {
            return 0;
        }
        self.candidate
            .windows_in(first..end)
            .map(|(_, aggregate)| aggregate.requests())
            .sum()
    }
}

fn empty_series() -> Series {
    Series::new(WINDOW_MS).expect("WINDOW_MS is not zero")
}

/// Every active rollout's arms, by flag.
#[derive(Debug, Default)]
pub struct Health {
    arms: Mutex<HashMap<String, Arms>>,
}

impl Health {
    /// Starts (or keeps) collecting for `rollout` on `flag`, keeping the custom values named
    /// in `counters`. A different rollout on the same flag replaces the old one's data.
    pub fn track(
        &self,
        flag: &str,
        rollout: RolloutId,
        baseline: &str,
        candidate: &str,
        counters: Vec<String>,
    ) {
        let mut arms = self.lock();
        match arms.get(flag) {
            Some(existing) if existing.rollout == rollout => {}
            _ => {
                arms.insert(
                    flag.to_owned(),
                    Arms::new(rollout, baseline, candidate, counters),
                );
            }
        }
    }

    /// Stops collecting for `rollout` (it finished); its data is dropped.
    pub fn untrack(&self, flag: &str, rollout: RolloutId) {
        let mut arms = self.lock();
        if arms.get(flag).is_some_and(|a| a.rollout == rollout) {
            arms.remove(flag);
        }
    }

    /// Records a batch under one lock; returns how many samples fed a rollout.
    pub fn ingest(&self, samples: &[Sample<'_>]) -> u64 {
        let mut arms = self.lock();
        let mut judged = 0;
        for sample in samples {
            if let Some(target) = arms.get_mut(sample.flag)
                && target.record(sample)
            {
                judged += 1;
            }
        }
        judged
    }

    /// Whether `rollout`'s events on `flag` are being collected.
    pub fn tracks(&self, flag: &str, rollout: RolloutId) -> bool {
        self.lock().get(flag).is_some_and(|a| a.rollout == rollout)
    }

    /// Resumes collecting for `rollout` from its saved windows (after a restart): they are
    /// sealed, so later events land after the last of them.
    pub fn restore(
        &self,
        flag: &str,
        rollout: RolloutId,
        variants: (&str, &str),
        counters: Vec<String>,
        windows: &[HealthWindow],
    ) -> Result<(), String> {
        let (baseline, candidate) = variants;
        let mut arms = Arms::new(rollout, baseline, candidate, counters);
        for saved in windows {
            let aggregate: Aggregate = serde_json::from_value(saved.aggregate.clone())
                .map_err(|e| format!("saved window {} is unreadable: {e}", saved.window))?;
            let series = match saved.arm {
                Arm::Baseline => &mut arms.baseline,
                Arm::Candidate => &mut arms.candidate,
            };
            series
                .window_mut(saved.window.saturating_mul(WINDOW_MS))
                .merge(&aggregate);
            let end = saved.window.saturating_add(1).saturating_mul(WINDOW_MS);
            arms.judged_until_ms = arms.judged_until_ms.max(end);
        }
        arms.saved_until_ms = arms.judged_until_ms;
        self.lock().insert(flag.to_owned(), arms);
        Ok(())
    }

    /// The sealed windows of `rollout` not saved yet, marked saved; `None` when there are
    /// none. On a failed save, [`Health::unsave`] puts the mark back.
    pub fn take_unsaved(&self, flag: &str, rollout: RolloutId) -> Option<(Vec<HealthWindow>, u64)> {
        let mut all = self.lock();
        let arms = all.get_mut(flag).filter(|a| a.rollout == rollout)?;
        let from = arms.saved_until_ms / WINDOW_MS;
        let until = arms.judged_until_ms / WINDOW_MS;
        if from >= until {
            return None;
        }
        let mut windows = Vec::new();
        for (arm, series) in [
            (Arm::Baseline, &arms.baseline),
            (Arm::Candidate, &arms.candidate),
        ] {
            for (window, aggregate) in series.windows_in(from..until) {
                if let Ok(aggregate) = serde_json::to_value(aggregate) {
                    windows.push(HealthWindow {
                        arm,
                        window,
                        aggregate,
                    });
                }
            }
        }
        let previous = arms.saved_until_ms;
        arms.saved_until_ms = arms.judged_until_ms;
        Some((windows, previous))
    }

    /// Undoes [`Health::take_unsaved`] after its save failed, so the next tick retries.
    pub fn unsave(&self, flag: &str, rollout: RolloutId, previous_ms: u64) {
        if let Some(arms) = self.lock().get_mut(flag).filter(|a| a.rollout == rollout) {
            arms.saved_until_ms = arms.saved_until_ms.min(previous_ms);
        }
    }

    /// Runs `f` on the arms of `flag`'s rollout, if it is being tracked.
    pub fn with_arms<R>(&self, flag: &str, f: impl FnOnce(&mut Arms) -> R) -> Option<R> {
        self.lock().get_mut(flag).map(f)
    }

    /// The map, even after a panic elsewhere held the lock: every update to an `Arms` is a
    /// plain count, so a half-finished one loses at most that event.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arms>> {
        self.arms.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
