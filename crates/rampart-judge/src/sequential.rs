//! [`CountTest`]: the anytime-valid mixture e-process on "which arm did the bad event come
//! from", conditioned on each window's request counts.
//!
//! In window k, with candidate share `s_k` and `x_k` bad events of which `y_k` hit the
//! candidate, the candidate's probability of owning a bad event at relative bad-rate ratio
//! `ρ = 1+θ` is `q_k(ρ) = ρ·s_k / (ρ·s_k + 1 − s_k)`. The e-process against the boundary
//! `ρ_0 = 1+δ` is a discrete Bayes-factor mixture over a grid of alternatives `ρ_j`:
//! `M_K = Σ_j w_j · exp(Σ_k y_k ln(q_k(ρ_j)/q_k(ρ_0)) + (x_k−y_k) ln((1−q_k(ρ_j))/(1−q_k(ρ_0))))`.
//! See the crate README for why it is a supermartingale under the composite null.

use serde::{Deserialize, Serialize};

/// Which null the test rejects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Null `ρ ≤ ρ_0`, alternatives above: rejecting shows a regression beyond tolerance.
    Worse,
    /// Null `ρ ≥ ρ_0`, alternatives below: rejecting shows non-inferiority.
    NotWorse,
}

/// Alternatives for [`Direction::Worse`], as multiples of the boundary ratio `1+δ`.
const WORSE_GRID: [f64; 6] = [1.25, 1.5, 2.0, 3.0, 5.0, 10.0];
/// Alternatives for [`Direction::NotWorse`], as multiples of the boundary ratio `1+δ`.
const NOT_WORSE_GRID: [f64; 4] = [0.8, 2.0 / 3.0, 0.5, 1.0 / 3.0];

/// One sequential test: a running log-likelihood ratio per grid point, and the running
/// maximum of `ln M` (the crossing rule uses the maximum, as Ville's inequality allows).
///
/// With restarts ([`CountTest::with_restarts`]), `M` is also a mixture over *when* the
/// evidence starts: component `k` multiplies the per-window likelihood ratios from the `k`-th
/// block on, with weight `π_0 = 1/2`, `π_k = 1/(2k(k+1))` (summing to 1). Each component is a
/// test supermartingale that is 1 until its block begins, so the mixture is one too and
/// Ville's bound holds unchanged; but a regression that starts late no longer has to win back
/// the likelihood the alternatives lost while the arms were equal.
#[derive(Debug, Clone, PartialEq)]
pub struct CountTest {
    boundary_ratio: f64,
    /// `(ln w_j, ρ_j)` for every alternative.
    grid: Vec<(f64, f64)>,
    /// `S_j`: the log-likelihood ratio of alternative `j` since the start.
    log_likelihood_ratios: Vec<f64>,
    draws: u64,
    max_log_e: f64,
    restarts: Option<Restarts>,
}

/// The mixture over start blocks, kept in O(grid) space: component `k` started when the
/// sums were `S_j(b_k)`, so it is worth `exp(S_j − S_j(b_k))` now, and
/// `ln Σ_k π_k exp(−S_j(b_k))` is all that needs keeping per alternative.
#[derive(Debug, Clone, PartialEq)]
struct Restarts {
    /// Per alternative: `ln Σ_{k started} π_k · exp(−S_j(b_k))`.
    log_started: Vec<f64>,
    /// `Σ` of the weights of components not started yet: each is worth 1 until it starts.
    unstarted: f64,
    /// Components started after the first.
    started: u64,
    /// The block of the last observed window.
    block: Option<u64>,
}

impl CountTest {
    /// A test against the boundary `ρ_0 = 1 + tolerance` (tolerance > −1, checked by the
    /// caller's configuration), with equal prior weights on the direction's grid.
    pub fn new(direction: Direction, tolerance: f64) -> CountTest {
        CountTest::with_boundary(direction, 1.0 + tolerance)
    }

    /// A test against the boundary ratio `ρ_0` itself, with the direction's default grid.
    pub fn with_boundary(direction: Direction, boundary_ratio: f64) -> CountTest {
        let multiples: &[f64] = match direction {
            Direction::Worse => &WORSE_GRID,
            Direction::NotWorse => &NOT_WORSE_GRID,
        };
        CountTest::with_grid(boundary_ratio, multiples)
    }

    /// A test with alternatives `ρ_j = boundary_ratio · multiple_j`, equally weighted.
    pub fn with_grid(boundary_ratio: f64, multiples: &[f64]) -> CountTest {
        let log_weight = -(multiples.len().max(1) as f64).ln();
        let grid: Vec<(f64, f64)> = multiples
            .iter()
            .map(|multiple| (log_weight, boundary_ratio * multiple))
            .collect();
        CountTest {
            boundary_ratio,
            log_likelihood_ratios: vec![0.0; grid.len()],
            grid,
            draws: 0,
            max_log_e: 0.0,
            restarts: None,
        }
    }

    /// Mixes over start blocks too (see the type's documentation): windows are grouped into
    /// blocks by the caller's block number in [`CountTest::observe_in_block`].
    pub fn with_restarts(mut self) -> CountTest {
        let half = 0.5_f64.ln();
        self.restarts = Some(Restarts {
            log_started: self
                .log_likelihood_ratios
                .iter()
                .map(|s| half - s)
                .collect(),
            unstarted: 0.5,
            started: 0,
            block: None,
        });
        self
    }

    /// [`CountTest::observe`] for a window of block `block` (e.g. its start time / 30 s).
    /// With restarts, the first window of each later block starts a new component.
    pub fn observe_in_block(&mut self, block: u64, on_candidate: u64, draws: u64, share: f64) {
        if let Some(restarts) = self.restarts.as_mut() {
            match restarts.block {
                Some(last) if block > last => {
                    restarts.started += 1;
                    let k = restarts.started as f64;
                    let weight = 1.0 / (2.0 * k * (k + 1.0));
                    restarts.unstarted = (restarts.unstarted - weight).max(0.0);
                    for (log_started, total) in restarts
                        .log_started
                        .iter_mut()
                        .zip(&self.log_likelihood_ratios)
                    {
                        *log_started = log_add_exp(*log_started, weight.ln() - total);
                    }
                    restarts.block = Some(block);
                }
                Some(_) => {}
                None => restarts.block = Some(block),
            }
        }
        self.observe(on_candidate, draws, share);
    }

    /// Adds one window: `draws` bad events, `on_candidate` of them on the candidate, with
    /// the candidate holding `share` of the exposure. Windows where only one arm has
    /// exposure, or nothing happened, carry no information and are skipped.
    pub fn observe(&mut self, on_candidate: u64, draws: u64, share: f64) {
        if draws == 0 || share.is_nan() || share <= 0.0 || share >= 1.0 {
            return;
        }
        let on_candidate = on_candidate.min(draws);
        let on_baseline = (draws - on_candidate) as f64;
        let on_candidate = on_candidate as f64;
        let null = candidate_probability(self.boundary_ratio, share);
        for ((_, ratio), total) in self.grid.iter().zip(self.log_likelihood_ratios.iter_mut()) {
            let alternative = candidate_probability(*ratio, share);
            *total += on_candidate * (alternative / null).ln()
                + on_baseline * ((1.0 - alternative) / (1.0 - null)).ln();
        }
        self.draws += draws;
        self.max_log_e = self.max_log_e.max(self.log_e_value());
    }

    /// `ln M` now, by log-sum-exp over the grid (and the start blocks, with restarts).
    pub fn log_e_value(&self) -> f64 {
        match &self.restarts {
            None => log_sum_exp(
                self.grid
                    .iter()
                    .zip(&self.log_likelihood_ratios)
                    .map(|((log_weight, _), total)| log_weight + total),
            ),
            Some(restarts) => {
                let started = log_sum_exp(
                    self.grid
                        .iter()
                        .zip(&self.log_likelihood_ratios)
                        .zip(&restarts.log_started)
                        .map(|(((log_weight, _), total), log_started)| {
                            log_weight + total + log_started
                        }),
                );
                log_add_exp(started, restarts.unstarted.ln())
            }
        }
    }

    /// The largest `ln M` seen after any window: the test has rejected once this reaches
    /// `ln(1/α)`, and stays rejected.
    pub fn max_log_e_value(&self) -> f64 {
        self.max_log_e
    }

    /// Bad events observed so far in informative windows.
    pub fn draws(&self) -> u64 {
        self.draws
    }

    /// Whether the e-process is at or above `1/alpha` now: stricter than [`Self::rejected`],
    /// and as valid (a rejection at one stopping time). The pass tests use it, so evidence
    /// that turns against the candidate later withdraws a pass it had earned before.
    pub fn rejects_now(&self, alpha: f64) -> bool {
        self.log_e_value() >= (1.0 / alpha).ln()
    }

    /// Whether the e-process has ever reached `1/alpha`.
    pub fn rejected(&self, alpha: f64) -> bool {
        self.max_log_e >= (1.0 / alpha).ln()
    }

    /// More draws needed to reach `1/alpha` if `ln M` keeps growing at its mean rate per
    /// draw so far; `None` when it is not growing.
    pub fn draws_needed(&self, alpha: f64) -> Option<u64> {
        let target = (1.0 / alpha).ln();
        let now = self.log_e_value();
        if self.rejected(alpha) {
            return Some(0);
        }
        if self.draws == 0 || now <= 0.0 {
            return None;
        }
        let per_draw = now / self.draws as f64;
        let needed = ((target - now) / per_draw).ceil();
        (needed.is_finite() && needed >= 0.0).then_some(needed as u64)
    }
}

/// `ln Σ exp(term)`, stable for large and `-inf` terms.
fn log_sum_exp(terms: impl Iterator<Item = f64> + Clone) -> f64 {
    let peak = terms.clone().fold(f64::NEG_INFINITY, f64::max);
    if !peak.is_finite() {
        return peak;
    }
    peak + terms.map(|term| (term - peak).exp()).sum::<f64>().ln()
}

/// `ln(exp(a) + exp(b))`.
fn log_add_exp(a: f64, b: f64) -> f64 {
    log_sum_exp([a, b].into_iter())
}

/// `q(ρ) = ρ·s / (ρ·s + 1 − s)`: the chance a bad event is the candidate's when its rate is
/// `ρ` times the baseline's and it holds share `s` of the exposure.
pub fn candidate_probability(ratio: f64, share: f64) -> f64 {
    ratio * share / (ratio * share + 1.0 - share)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_window_by_hand() {
        // s = 0.5, δ = 0, one alternative ρ = 2: q0 = 1/2, q1 = 2/3.
        // Three bad events, all on the candidate: M = (q1/q0)^3 = (4/3)^3 = 64/27.
        let mut test = CountTest::with_grid(1.0, &[2.0]);
        test.observe(3, 3, 0.5);
        assert!((test.log_e_value().exp() - 64.0 / 27.0).abs() < 1e-12);
        // Then one on the baseline: × (1−q1)/(1−q0) = (1/3)/(1/2) = 2/3, so M = 128/81.
        test.observe(0, 1, 0.5);
        assert!((test.log_e_value().exp() - 128.0 / 81.0).abs() < 1e-12);
        // The maximum remembers the earlier, higher value.
        assert!((test.max_log_e_value().exp() - 64.0 / 27.0).abs() < 1e-12);
        assert_eq!(test.draws(), 4);
    }

    #[test]
    fn mixture_by_hand_with_unequal_share() {
        // s = 0.2, δ = 0.5: ρ0 = 1.5, q0 = 0.3/1.1. Alternatives ρ = 3 and ρ = 0.75 (×2, ×0.5),
        // weights 1/2 each; two bad events, one per arm.
        let mut test = CountTest::with_grid(1.5, &[2.0, 0.5]);
        test.observe(1, 2, 0.2);
        let q0: f64 = 0.3 / 1.1;
        let qa: f64 = 0.6 / 1.4;
        let qb: f64 = 0.15 / 0.95;
        let term = |q: f64| (q / q0) * ((1.0 - q) / (1.0 - q0));
        let expected = 0.5 * term(qa) + 0.5 * term(qb);
        assert!((test.log_e_value().exp() - expected).abs() < 1e-12);
    }

    #[test]
    fn fails_on_a_big_enough_e_value() {
        // A 5× regression at a 50/50 split, 10% tolerance: 18 of 20 bad events on the candidate.
        let mut test = CountTest::new(Direction::Worse, 0.1);
        test.observe(18, 20, 0.5);
        let e_value = test.log_e_value().exp();
        assert!(e_value > 20.0, "{e_value}");
        assert!(test.rejected(0.05));
        assert_eq!(test.draws_needed(0.05), Some(0));
    }

    #[test]
    fn uninformative_windows_are_skipped() {
        let mut test = CountTest::new(Direction::Worse, 0.5);
        test.observe(0, 0, 0.5);
        test.observe(3, 3, 1.0);
        test.observe(0, 3, 0.0);
        test.observe(1, 1, f64::NAN);
        assert_eq!(test.log_e_value(), 0.0);
        assert_eq!(test.draws(), 0);
        assert_eq!(test.draws_needed(0.05), None);
    }

    #[test]
    fn restarts_mix_over_start_blocks_by_hand() {
        // One alternative ρ = 2 at s = 1/2: q0 = 1/2, q1 = 2/3. Block 0: two baseline errors
        // (each × (1/3)/(1/2) = 2/3); block 1: two candidate errors (each × 4/3).
        let mut test = CountTest::with_grid(1.0, &[2.0]).with_restarts();
        assert!(test.log_e_value().abs() < 1e-12, "M_0 = 1");
        test.observe_in_block(0, 0, 2, 0.5);
        test.observe_in_block(1, 2, 2, 0.5);
        // Component 0 (π = 1/2): (2/3)²·(4/3)²; component 1 (π = 1/4): (4/3)²; unstarted 1/4.
        let expected = 0.5 * (4.0 / 9.0) * (16.0 / 9.0) + 0.25 * (16.0 / 9.0) + 0.25;
        assert!((test.log_e_value().exp() - expected).abs() < 1e-12);
        // A late regression is not held back by the earlier deficit: after a long equal
        // stretch, the restarted test crosses where the plain one stays far below.
        let mut plain = CountTest::new(Direction::Worse, 0.0);
        let mut restarted = CountTest::new(Direction::Worse, 0.0).with_restarts();
        for block in 0..40 {
            plain.observe_in_block(block, 10, 20, 0.5);
            restarted.observe_in_block(block, 10, 20, 0.5);
        }
        for block in 40..45 {
            plain.observe_in_block(block, 15, 20, 0.5);
            restarted.observe_in_block(block, 15, 20, 0.5);
        }
        assert!(restarted.rejected(0.05), "{}", restarted.log_e_value());
        assert!(!plain.rejected(0.05), "{}", plain.log_e_value());
    }

    #[test]
    fn draws_needed_projects_the_mean_rate() {
        let mut test = CountTest::with_grid(1.0, &[2.0]);
        // ln M per draw = ln(4/3) with all draws on the candidate; ln 20 / ln(4/3) ≈ 10.41.
        test.observe(2, 2, 0.5);
        assert_eq!(test.draws_needed(0.05), Some(9));
    }
}
