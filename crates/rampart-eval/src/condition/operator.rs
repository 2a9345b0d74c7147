//! Operators with pre-parsed values, applied to one attribute value.
//!
//! [`Op::apply`] answers `Some(matched)` when the attribute has a type the operator reads
//! and `None` when it does not (a number for `starts_with`, an unparsable timestamp), so the
//! caller can refuse to negate a non-answer.

use std::cmp::Ordering;
use std::net::IpAddr;
use std::str::FromStr;

use rampart_model::Operator;
use rampart_model::condition::{
    parse_cidr, parse_regex, parse_semver, parse_timestamp, semver_of, timestamp_of,
};
use serde_json::Value;

#[derive(Debug)]
pub(crate) enum Op {
    In(Vec<Scalar>),
    NotIn(Vec<Scalar>),
    Eq(Scalar),
    Neq(Scalar),
    StartsWith(Vec<String>),
    EndsWith(Vec<String>),
    Contains(Vec<String>),
    Matches(Vec<regex::Regex>),
    Number(Operator, f64),
    Before(f64),
    After(f64),
    Semver(Operator, semver::Version),
    InCidr(Vec<ipnet::IpNet>),
    /// A value that did not parse; validation makes this unreachable.
    Never,
}

impl Op {
    /// Pre-parses the values with the same helpers validation uses. Values that do not fit
    /// the operator are dropped from lists; a single-value operator without a usable value
    /// becomes [`Op::Never`].
    pub fn compile(op: Operator, values: &[Value]) -> Op {
        let strings = || {
            values
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        };
        let first = values.first();
        let first_str = first.and_then(Value::as_str);
        let single = |parsed: Option<Op>| parsed.unwrap_or(Op::Never);
        match op {
            Operator::In => Op::In(values.iter().map(Scalar::from_value).collect()),
            Operator::NotIn => Op::NotIn(values.iter().map(Scalar::from_value).collect()),
            Operator::Eq => single(first.map(|v| Op::Eq(Scalar::from_value(v)))),
            Operator::Neq => single(first.map(|v| Op::Neq(Scalar::from_value(v)))),
            Operator::StartsWith => Op::StartsWith(strings()),
            Operator::EndsWith => Op::EndsWith(strings()),
            Operator::Contains => Op::Contains(strings()),
            Operator::Matches => Op::Matches(
                values
                    .iter()
                    .filter_map(Value::as_str)
                    .filter_map(|p| parse_regex(p).ok())
                    .collect(),
            ),
            Operator::Lt | Operator::Lte | Operator::Gt | Operator::Gte => single(
                first
                    .and_then(Value::as_f64)
                    .filter(|n| n.is_finite())
                    .map(|n| Op::Number(op, n)),
            ),
            Operator::Before => single(
                first_str
                    .and_then(|t| parse_timestamp(t).ok())
                    .map(Op::Before),
            ),
            Operator::After => single(
                first_str
                    .and_then(|t| parse_timestamp(t).ok())
                    .map(Op::After),
            ),
            Operator::SemverEq | Operator::SemverLt | Operator::SemverGt => single(
                first_str
                    .and_then(|v| parse_semver(v).ok())
                    .map(|v| Op::Semver(op, v)),
            ),
            Operator::InCidr => Op::InCidr(
                values
                    .iter()
                    .filter_map(Value::as_str)
                    .filter_map(|c| parse_cidr(c).ok())
                    .collect(),
            ),
        }
    }

    /// Applies the operator to a present, non-null attribute value.
    #[inline]
    pub fn apply(&self, attribute: &Value) -> Option<bool> {
        match self {
            Op::In(values) => is_in(values, attribute),
            Op::NotIn(values) => is_in(values, attribute).map(|found| !found),
            Op::Eq(value) => is_scalar(attribute).then(|| value.equals(attribute)),
            Op::Neq(value) => is_scalar(attribute).then(|| !value.equals(attribute)),
            Op::StartsWith(values) => {
                let text = attribute.as_str()?;
                Some(
                    values
                        .iter()
                        .any(|prefix| text.starts_with(prefix.as_str())),
                )
            }
            Op::EndsWith(values) => {
                let text = attribute.as_str()?;
                Some(values.iter().any(|suffix| text.ends_with(suffix.as_str())))
            }
            Op::Contains(values) => {
                let text = attribute.as_str()?;
                Some(values.iter().any(|part| text.contains(part.as_str())))
            }
            Op::Matches(patterns) => {
                let text = attribute.as_str()?;
                Some(patterns.iter().any(|pattern| pattern.is_match(text)))
            }
            Op::Number(op, bound) => {
                let number = number_of(attribute)?;
                Some(match op {
                    Operator::Lt => number < *bound,
                    Operator::Lte => number <= *bound,
                    Operator::Gt => number > *bound,
                    _ => number >= *bound,
                })
            }
            Op::Before(instant) => Some(instant_of(attribute)? < *instant),
            Op::After(instant) => Some(instant_of(attribute)? > *instant),
            Op::Semver(op, version) => {
                let attribute = semver_of(attribute.as_str()?)?;
                let ordering = attribute.cmp_precedence(version);
                Some(match op {
                    Operator::SemverLt => ordering == Ordering::Less,
                    Operator::SemverGt => ordering == Ordering::Greater,
                    _ => ordering == Ordering::Equal,
                })
            }
            Op::InCidr(networks) => {
                let address = IpAddr::from_str(attribute.as_str()?).ok()?.to_canonical();
                Some(networks.iter().any(|network| network.contains(&address)))
            }
            Op::Never => None,
        }
    }
}

/// A value for `in` / `eq` and friends, typed once at compile time.
#[derive(Debug)]
pub(crate) enum Scalar {
    String(String),
    Number(f64),
    Bool(bool),
    /// Arrays, objects and null; validation rejects them, so they only compare as JSON.
    Other(Value),
}

impl Scalar {
    fn from_value(value: &Value) -> Scalar {
        match value {
            Value::String(text) => Scalar::String(text.clone()),
            Value::Number(number) => number
                .as_f64()
                .map_or_else(|| Scalar::Other(value.clone()), Scalar::Number),
            Value::Bool(flag) => Scalar::Bool(*flag),
            other => Scalar::Other(other.clone()),
        }
    }

    /// JSON equality, except that numbers compare by value, so `3 == 3.0`.
    #[inline]
    fn equals(&self, value: &Value) -> bool {
        match (self, value) {
            (Scalar::String(expected), Value::String(actual)) => expected == actual,
            (Scalar::Number(expected), Value::Number(actual)) => actual.as_f64() == Some(*expected),
            (Scalar::Bool(expected), Value::Bool(actual)) => expected == actual,
            (Scalar::Other(expected), actual) => expected == actual,
            _ => false,
        }
    }
}

fn is_scalar(value: &Value) -> bool {
    matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

/// `in` for a scalar attribute, or for any element of an array attribute. Objects are not
/// an answer.
fn is_in(values: &[Scalar], attribute: &Value) -> Option<bool> {
    let contains = |item: &Value| values.iter().any(|value| value.equals(item));
    match attribute {
        Value::Array(items) => Some(items.iter().any(contains)),
        Value::Object(_) => None,
        scalar => Some(contains(scalar)),
    }
}

/// A number, or a string holding one; non-finite values are not numbers here.
fn number_of(value: &Value) -> Option<f64> {
    let number = match value {
        Value::Number(number) => number.as_f64()?,
        Value::String(text) => text.parse::<f64>().ok()?,
        _ => return None,
    };
    number.is_finite().then_some(number)
}

/// An RFC 3339 timestamp or a number of Unix seconds, as Unix seconds.
fn instant_of(value: &Value) -> Option<f64> {
    match value {
        Value::String(text) => timestamp_of(text),
        Value::Number(number) => number.as_f64().filter(|n| n.is_finite()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn apply(op: Operator, values: Value, attribute: Value) -> Option<bool> {
        let values = values.as_array().cloned().unwrap_or_default();
        Op::compile(op, &values).apply(&attribute)
    }

    #[test]
    fn numbers_compare_by_value() {
        assert_eq!(apply(Operator::Eq, json!([3]), json!(3.0)), Some(true));
        assert_eq!(apply(Operator::In, json!([1, 2.5]), json!(2.5)), Some(true));
        assert_eq!(apply(Operator::Eq, json!([3]), json!("3")), Some(false));
    }

    #[test]
    fn arrays_and_objects() {
        assert_eq!(
            apply(Operator::In, json!(["a"]), json!(["b", "a"])),
            Some(true)
        );
        assert_eq!(
            apply(Operator::NotIn, json!(["a"]), json!(["b", "c"])),
            Some(true)
        );
        assert_eq!(apply(Operator::In, json!(["a"]), json!({"a": 1})), None);
        assert_eq!(apply(Operator::Eq, json!(["a"]), json!(["a"])), None);
        assert_eq!(apply(Operator::Neq, json!(["a"]), json!({"x": 1})), None);
    }

    #[test]
    fn unreadable_attributes_are_not_answers() {
        assert_eq!(apply(Operator::StartsWith, json!(["a"]), json!(1)), None);
        assert_eq!(apply(Operator::Lt, json!([1]), json!("NaN")), None);
        assert_eq!(apply(Operator::Lt, json!([1]), json!("inf")), None);
        assert_eq!(
            apply(
                Operator::Before,
                json!(["2026-01-01T00:00:00Z"]),
                json!("soon")
            ),
            None
        );
        assert_eq!(
            apply(Operator::SemverGt, json!(["1.0.0"]), json!("1.x")),
            None
        );
        assert_eq!(
            apply(Operator::InCidr, json!(["10.0.0.0/8"]), json!("10.0.0")),
            None
        );
    }

    #[test]
    fn semver_ignores_build_metadata_and_orders_prereleases() {
        assert_eq!(
            apply(
                Operator::SemverEq,
                json!(["1.2.3"]),
                json!("v1.2.3+build.7")
            ),
            Some(true)
        );
        assert_eq!(
            apply(Operator::SemverLt, json!(["1.2.3"]), json!("1.2.3-rc.1")),
            Some(true)
        );
        assert_eq!(
            apply(Operator::SemverGt, json!(["1.2.3"]), json!("1.10.0")),
            Some(true)
        );
    }

    #[test]
    fn mapped_ipv4_addresses_match_ipv4_blocks() {
        assert_eq!(
            apply(
                Operator::InCidr,
                json!(["10.0.0.0/8"]),
                json!("::ffff:10.1.2.3")
            ),
            Some(true)
        );
        assert_eq!(
            apply(
                Operator::InCidr,
                json!(["2001:db8::/32"]),
                json!("2001:db8::1")
            ),
            Some(true)
        );
        assert_eq!(
            apply(Operator::InCidr, json!(["10.0.0.0/8"]), json!("11.0.0.1")),
            Some(false)
        );
    }

    #[test]
    fn timestamps_and_unix_seconds() {
        let cutoff = json!(["2026-01-01T00:00:00Z"]);
        assert_eq!(
            apply(
                Operator::Before,
                cutoff.clone(),
                json!("2025-12-31T23:59:59Z")
            ),
            Some(true)
        );
        assert_eq!(
            apply(Operator::After, cutoff.clone(), json!(1_767_225_601)),
            Some(true)
        );
        assert_eq!(
            apply(Operator::After, cutoff, json!(1_767_225_600)),
            Some(false)
        );
    }
}
