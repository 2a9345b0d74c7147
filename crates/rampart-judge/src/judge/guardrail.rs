//! Guardrails: absolute limits on the candidate, read over a trailing range at every window
//! end and breached only once the limit has been exceeded continuously for `for_ms`.

use crate::aggregate::Aggregate;
use crate::config::{Guardrail, GuardrailMetric, percentile_label};
use crate::decision::{Criterion, Verdict};
use crate::judge::Observations;
use crate::sketch::LatencySketch;

/// The candidate's metric over the `range_windows` windows ending with window `last`, and
/// the requests it was read from; `None` when there were too few requests.
fn read(
    rail: &Guardrail,
    observations: &Observations<'_>,
    last: u64,
    range_windows: u64,
    first_window: u64,
) -> Option<(f64, u64)> {
    let start = last
        .saturating_add(1)
        .saturating_sub(range_windows)
        .max(first_window);
    let range = start..last.saturating_add(1);
    let windows = observations.candidate.windows_in(range);
    match rail.metric {
        GuardrailMetric::ErrorRate => {
            let (errors, requests) = windows.fold((0, 0), |(errors, requests), (_, aggregate)| {
                (errors + aggregate.errors(), requests + aggregate.requests())
            });
            (requests >= rail.min_requests.max(1))
                .then(|| (errors as f64 / requests as f64, requests))
        }
        GuardrailMetric::LatencyQuantile { quantile } => {
            let mut sketch = LatencySketch::new();
            for (_, aggregate) in windows {
                sketch.merge(Aggregate::latency(aggregate));
            }
            let count = sketch.count();
            if count < rail.min_requests.max(1) {
                return None;
            }
            sketch.quantile_ms(quantile).map(|value| (value, count))
        }
    }
}

fn describe(rail: &Guardrail, value: f64) -> String {
    match rail.metric {
        GuardrailMetric::ErrorRate => format!("{:.1}%", 100.0 * value),
        GuardrailMetric::LatencyQuantile { .. } => format!("{value:.1} ms"),
    }
}

fn label(rail: &Guardrail) -> String {
    match rail.metric {
        GuardrailMetric::ErrorRate => "error rate".to_owned(),
        GuardrailMetric::LatencyQuantile { quantile } => {
            format!("{} latency", percentile_label(quantile))
        }
    }
}

/// Evaluates one guardrail at `now_ms`; returns its criterion and blocker.
pub(super) fn evaluate(
    rail: &Guardrail,
    observations: &Observations<'_>,
    now_ms: u64,
) -> (Criterion, Option<String>) {
    let window_ms = observations.candidate.window_ms().max(1);
    let range_windows = rail.range_ms.div_ceil(window_ms).max(1);
    let first_window = observations
        .steps
        .first()
        .map_or(0, |step| step.started_at_ms.div_ceil(window_ms));
    let threshold = format!(
        "{} <= {} for {:.0}s (over the last {:.0}s, at least {} requests)",
        label(rail),
        describe(rail, rail.limit),
        rail.for_ms as f64 / 1000.0,
        rail.range_ms as f64 / 1000.0,
        rail.min_requests
    );
    let name = rail.name();
    // The last complete window: the one ending at or before `now`.
    let Some(last) = (now_ms / window_ms)
        .checked_sub(1)
        .filter(|last| *last >= first_window)
    else {
        return clear(name, "no complete window yet".to_owned(), threshold);
    };
    let current = read(rail, observations, last, range_windows, first_window);
    let Some((value, requests)) = current else {
        return clear(
            name,
            "too few candidate requests to read".to_owned(),
            threshold,
        );
    };
    let observed = format!("{} over {requests} requests", describe(rail, value));
    if value <= rail.limit {
        return clear(name, observed, threshold);
    }
    // Walk back while the limit stays exceeded, until the breach covers `for_ms`.
    let mut breached_since_ms = (last + 1).saturating_mul(window_ms);
    let mut index = last;
    let firing = loop {
        if now_ms.saturating_sub(breached_since_ms) >= rail.for_ms {
            break true;
        }
        let Some(previous) = index
            .checked_sub(1)
            .filter(|previous| *previous >= first_window)
        else {
            break false;
        };
        match read(rail, observations, previous, range_windows, first_window) {
            Some((earlier, _)) if earlier > rail.limit => {
                index = previous;
                breached_since_ms = (previous + 1).saturating_mul(window_ms);
            }
            _ => break false,
        }
    };
    let held_s = now_ms.saturating_sub(breached_since_ms) as f64 / 1000.0;
    let for_s = rail.for_ms as f64 / 1000.0;
    let words = format!(
        "candidate {} {} > limit {}",
        label(rail),
        describe(rail, value),
        describe(rail, rail.limit)
    );
    let (verdict, blocker) = if firing {
        (
            Verdict::Fail,
            format!("{words} for {held_s:.0}s (for: {for_s:.0}s)"),
        )
    } else {
        (
            Verdict::Inconclusive,
            format!("{words} for {held_s:.0}s of the {for_s:.0}s it must last to fail"),
        )
    };
    let breach_began_ms = breached_since_ms.saturating_sub(window_ms);
    let criterion = Criterion {
        name,
        verdict,
        observed,
        statistic: format!("breached for {held_s:.0}s"),
        threshold,
        more_samples_needed: None,
        evidence_since_ms: firing.then_some(breach_began_ms),
        // The first window end at which the breach had lasted `for`.
        failed_at_ms: firing.then(|| {
            let due = breached_since_ms.saturating_add(rail.for_ms);
            due.div_ceil(window_ms)
                .saturating_mul(window_ms)
                .min(now_ms)
        }),
    };
    (criterion, Some(blocker))
}

fn clear(name: String, observed: String, threshold: String) -> (Criterion, Option<String>) {
    let criterion = Criterion {
        statistic: "not breached".to_owned(),
        ..Criterion::simple(name, Verdict::Pass, observed, threshold)
    };
    (criterion, None)
}
