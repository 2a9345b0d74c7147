//! Summary statistics: nearest-rank quantiles of censored detection times and exact
//! (Clopper–Pearson) confidence bounds for a binomial proportion.

/// The nearest-rank `q`-quantile of `values`, where `None` means "never" (censored at
/// infinity): `None` when the quantile falls among the censored runs or there are no runs.
pub fn quantile(values: &[Option<u64>], q: f64) -> Option<u64> {
    let mut sorted: Vec<u64> = values.iter().flatten().copied().collect();
    sorted.sort_unstable();
    if values.is_empty() {
        return None;
    }
    // Nearest rank: the ⌈q·n⌉-th smallest, 1-based, with every `None` sorted last.
    let rank = ((q * values.len() as f64).ceil() as usize).max(1);
    sorted.get(rank - 1).copied()
}

/// `ln P(X ≤ k)` for `X ~ Binomial(n, p)`, summed in log space.
fn ln_binomial_cdf(k: u64, n: u64, p: f64) -> f64 {
    if p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return if k >= n { 0.0 } else { f64::NEG_INFINITY };
    }
    let (ln_p, ln_q) = (p.ln(), (-p).ln_1p());
    // ln C(n, i) p^i q^(n−i), built term by term.
    let mut term = n as f64 * ln_q;
    let mut terms = vec![term];
    for i in 0..k.min(n) {
        term += ((n - i) as f64).ln() - ((i + 1) as f64).ln() + ln_p - ln_q;
        terms.push(term);
    }
    let peak = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    peak + terms.iter().map(|t| (t - peak).exp()).sum::<f64>().ln()
}

/// The `p` in [0, 1] where the decreasing function `f` crosses `target`, by bisection.
fn bisect(target: f64, f: impl Fn(f64) -> f64) -> f64 {
    let (mut low, mut high) = (0.0_f64, 1.0_f64);
    for _ in 0..100 {
        let mid = 0.5 * (low + high);
        if f(mid) > target {
            low = mid;
        } else {
            high = mid;
        }
    }
    0.5 * (low + high)
}

/// Exact upper confidence bound at one-sided level `1 − tail` for `k` successes in `n`:
/// the `p` with `P(X ≤ k | p) = tail`.
pub fn clopper_pearson_upper(k: u64, n: u64, tail: f64) -> f64 {
    if n == 0 || k >= n {
        return 1.0;
    }
    bisect(tail.ln(), |p| ln_binomial_cdf(k, n, p))
}

/// Exact lower confidence bound at one-sided level `1 − tail`: the `p` with
/// `P(X ≥ k | p) = tail`.
pub fn clopper_pearson_lower(k: u64, n: u64, tail: f64) -> f64 {
    if n == 0 || k == 0 {
        return 0.0;
    }
    // P(X ≥ k) = 1 − P(X ≤ k − 1) increases with p; bisect on P(X ≤ k − 1) = 1 − tail.
    bisect((1.0 - tail).ln(), |p| ln_binomial_cdf(k - 1, n, p))
}

/// `P(Z > x)` for a standard normal, by the complementary error function (Abramowitz and
/// Stegun 7.1.26, absolute error below 1.5e-7).
pub fn normal_upper_tail(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erfc = poly * (-z * z).exp();
    if x >= 0.0 {
        0.5 * erfc
    } else {
        1.0 - 0.5 * erfc
    }
}

/// The standard normal's 99th percentile.
pub const Z_99: f64 = 2.326_347_874;
