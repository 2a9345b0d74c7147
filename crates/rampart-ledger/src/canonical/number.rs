//! Numbers in canonical JSON: exact integers, and ECMAScript `Number::toString` for the rest.
//!
//! ECMAScript (ECMA-262, Number::toString, used by RFC 8785 §3.2.2.3) takes the shortest
//! decimal digits `s` (k of them) and the exponent `n` with value = s × 10^(n−k), choosing the
//! digits closest to the value when several are shortest. Rust's `{:e}` formatting produces
//! those shortest round-trip digits, except that it rounds exact ties up where ECMAScript
//! picks the even digit; this module corrects that and lays the digits out:
//!
//! - `k ≤ n ≤ 21`: the digits followed by `n − k` zeros (`1e20` → `100000000000000000000`);
//! - `0 < n ≤ 21`: a decimal point after `n` digits (`1.5`);
//! - `−6 < n ≤ 0`: `0.` then `−n` zeros then the digits (`1e-6` → `0.000001`);
//! - otherwise exponent form `d[.ddd]e±x` (`1e+21`, `1e-7`, `1.5e-7`).
//!
//! Zero, including negative zero, is `0`. JSON has no NaN or infinity, so they cannot occur.

use serde_json::Number;

/// Appends the canonical form of `number` to `out`.
pub fn write_number(out: &mut String, number: &Number) {
    if let Some(unsigned) = number.as_u64() {
        out.push_str(&unsigned.to_string());
    } else if let Some(signed) = number.as_i64() {
        out.push_str(&signed.to_string());
    } else if let Some(float) = number.as_f64() {
        write_f64(out, float);
    } else {
        // Unreachable without serde_json's `arbitrary_precision`; keep the literal text.
        out.push_str(&number.to_string());
    }
}

/// Appends `value` as ECMAScript's `Number.prototype.toString` would print it.
pub fn write_f64(out: &mut String, value: f64) {
    if value == 0.0 {
        out.push('0');
        return;
    }
    if !value.is_finite() {
        // Not representable in JSON; serde_json never produces it. Mirror ECMAScript's
        // spelling rather than panic.
        out.push_str(if value.is_nan() {
            "NaN"
        } else if value > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        });
        return;
    }
    if value < 0.0 {
        out.push('-');
    }
    let magnitude = value.abs();
    let (digits, exponent) = split_scientific(&format!("{magnitude:e}"));
    let (digits, exponent) = break_tie_to_even(magnitude, digits, exponent);
    lay_out(out, &digits, exponent + 1);
}

/// Splits Rust's `d.ddde±x` into its digits and its exponent.
fn split_scientific(scientific: &str) -> (String, i64) {
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((scientific, "0"));
    let digits = mantissa.chars().filter(char::is_ascii_digit).collect();
    (digits, exponent.parse().unwrap_or(0))
}

/// ECMAScript picks the even digit string when two shortest strings are equally close to the
/// value; Rust's shortest formatting rounds such ties up (e.g. 1424953923781206.25 prints as
/// `…206.3`, ECMAScript as `…206.2`). A tie means the value is exactly the midpoint of the two
/// candidates, i.e. its exact decimal expansion is one digit longer than the shortest and
/// ends in 5. `digits` has no trailing zeros and represents `d.ddd × 10^exponent`.
fn break_tie_to_even(magnitude: f64, digits: String, exponent: i64) -> (String, i64) {
    let count = digits.len();
    // Round to one more significant digit than the shortest form; a tie must end in 5.
    let (longer, longer_exponent) = split_scientific(&format!("{magnitude:.count$e}"));
    if !longer.ends_with('5') || longer.len() != count + 1 {
        return (digits, exponent);
    }
    // An f64 has at most 767 significant decimal digits; confirm the expansion is exact.
    let (exact, _) = split_scientific(&format!("{magnitude:.800e}"));
    let exact_tail = exact.get(count + 1..).unwrap_or_default();
    if !exact_tail.bytes().all(|byte| byte == b'0') {
        return (digits, exponent);
    }
    let lower = longer.get(..count).unwrap_or_default().to_owned();
    let lower_is_even = lower.bytes().last().is_some_and(|byte| byte % 2 == 0); // b'0' is even, so parity carries over.
    let candidate = if lower_is_even {
        (lower, longer_exponent)
    } else {
        increment_digits(&lower, longer_exponent)
    };
    let candidate = trim_trailing_zeros(candidate);
    // Only switch if the even candidate is also a shortest round-trip form.
    if candidate.0.len() == count && round_trips(&candidate.0, candidate.1, magnitude) {
        candidate
    } else {
        (digits, exponent)
    }
}

/// Adds one in the last place of `digits` (`d.ddd × 10^exponent`).
fn increment_digits(digits: &str, exponent: i64) -> (String, i64) {
    let mut bytes = digits.as_bytes().to_vec();
    for byte in bytes.iter_mut().rev() {
        if *byte == b'9' {
            *byte = b'0';
        } else {
            *byte += 1;
            return (String::from_utf8(bytes).unwrap_or_default(), exponent);
        }
    }
    // All nines: 9.99 + 0.01 = 10.00.
    bytes.insert(0, b'1');
    bytes.pop();
    (String::from_utf8(bytes).unwrap_or_default(), exponent + 1)
}

fn trim_trailing_zeros((digits, exponent): (String, i64)) -> (String, i64) {
    let trimmed = digits.trim_end_matches('0');
    let trimmed = if trimmed.is_empty() { "0" } else { trimmed };
    (trimmed.to_owned(), exponent)
}

fn round_trips(digits: &str, exponent: i64, magnitude: f64) -> bool {
    let (first, rest) = digits.split_at_checked(1).unwrap_or((digits, ""));
    format!("{first}.{rest}0e{exponent}")
        .parse::<f64>()
        .is_ok_and(|parsed| parsed == magnitude)
}

/// Lays out the shortest digits `digits` (no leading or trailing zeros) with decimal exponent
/// `n`, i.e. the value is `0.digits × 10^n`, following ECMA-262 Number::toString steps 6–10.
fn lay_out(out: &mut String, digits: &str, n: i64) {
    let k = i64::try_from(digits.len()).unwrap_or(i64::MAX);
    if k <= n && n <= 21 {
        out.push_str(digits);
        push_zeros(out, n - k);
    } else if 0 < n && n <= 21 {
        let split = usize::try_from(n).unwrap_or(0);
        let (whole, fraction) = digits.split_at_checked(split).unwrap_or((digits, ""));
        out.push_str(whole);
        out.push('.');
        out.push_str(fraction);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        push_zeros(out, -n);
        out.push_str(digits);
    } else {
        let mut chars = digits.chars();
        if let Some(first) = chars.next() {
            out.push(first);
        }
        let rest = chars.as_str();
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('e');
        out.push(if n > 0 { '+' } else { '-' });
        out.push_str(&(n - 1).unsigned_abs().to_string());
    }
}

fn push_zeros(out: &mut String, count: i64) {
    for _ in 0..count {
        out.push('0');
    }
}
