//! Targeting conditions: `attribute op values`, or `segment: NAME`; either may be negated.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ErrorCode, Result, ValidationError};

/// A comparison operator. The serialized names are the ones users write in YAML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Operator {
    In,
    NotIn,
    Eq,
    Neq,
    StartsWith,
    EndsWith,
    Contains,
    Matches,
    Lt,
    Lte,
    Gt,
    Gte,
    Before,
    After,
    SemverEq,
    SemverLt,
    SemverGt,
    InCidr,
}

impl Operator {
    pub const ALL: [Operator; 18] = [
        Operator::In,
        Operator::NotIn,
        Operator::Eq,
        Operator::Neq,
        Operator::StartsWith,
        Operator::EndsWith,
        Operator::Contains,
        Operator::Matches,
        Operator::Lt,
        Operator::Lte,
        Operator::Gt,
        Operator::Gte,
        Operator::Before,
        Operator::After,
        Operator::SemverEq,
        Operator::SemverLt,
        Operator::SemverGt,
        Operator::InCidr,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operator::In => "in",
            Operator::NotIn => "not_in",
            Operator::Eq => "eq",
            Operator::Neq => "neq",
            Operator::StartsWith => "starts_with",
            Operator::EndsWith => "ends_with",
            Operator::Contains => "contains",
            Operator::Matches => "matches",
            Operator::Lt => "lt",
            Operator::Lte => "lte",
            Operator::Gt => "gt",
            Operator::Gte => "gte",
            Operator::Before => "before",
            Operator::After => "after",
            Operator::SemverEq => "semver_eq",
            Operator::SemverLt => "semver_lt",
            Operator::SemverGt => "semver_gt",
            Operator::InCidr => "in_cidr",
        }
    }

    /// Whether the operator compares against exactly one value (`lt`, `before`, ...) rather
    /// than any of a list (`in`, `starts_with`, ...).
    pub fn takes_single_value(self) -> bool {
        matches!(
            self,
            Operator::Eq
                | Operator::Neq
                | Operator::Lt
                | Operator::Lte
                | Operator::Gt
                | Operator::Gte
                | Operator::Before
                | Operator::After
                | Operator::SemverEq
                | Operator::SemverLt
                | Operator::SemverGt
        )
    }
}

/// One targeting condition. Exactly one of two shapes is valid:
/// `{attribute, op, values, negate?}` or `{segment, negate?}`.
///
/// The struct is flat (rather than an untagged enum) so that a malformed condition gets an
/// error that names the missing field instead of "did not match any variant".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Condition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<Operator>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub negate: bool,
}

impl Condition {
    /// An `attribute op values` condition.
    pub fn attribute(attribute: impl Into<String>, op: Operator, values: Vec<Value>) -> Self {
        Condition {
            attribute: Some(attribute.into()),
            op: Some(op),
            values,
            ..Condition::default()
        }
    }

    /// A `segment: NAME` condition.
    pub fn segment(name: impl Into<String>) -> Self {
        Condition {
            segment: Some(name.into()),
            ..Condition::default()
        }
    }

    pub fn negated(mut self) -> Self {
        self.negate = !self.negate;
        self
    }

    /// Checks the shape and the values against the operator. Segment existence is checked by
    /// the catalog, which knows the segments. Field paths are relative to the condition.
    pub fn validate(&self) -> Result<()> {
        match (&self.segment, &self.attribute) {
            (Some(_), Some(_)) => Err(ValidationError::new(
                ErrorCode::Conflict,
                "segment",
                "a condition has either `segment` or `attribute`, not both",
            )),
            (Some(segment), None) => {
                if self.op.is_some() || !self.values.is_empty() {
                    return Err(ValidationError::new(
                        ErrorCode::Conflict,
                        "op",
                        "a `segment` condition takes no `op` or `values`",
                    ));
                }
                crate::key::check_key("segment", "segment name", segment)
            }
            (None, Some(attribute)) => {
                if attribute.is_empty() {
                    return Err(ValidationError::new(
                        ErrorCode::Required,
                        "attribute",
                        "attribute name is empty",
                    ));
                }
                let Some(op) = self.op else {
                    return Err(ValidationError::new(
                        ErrorCode::Required,
                        "op",
                        format!("`op` is required; one of: {}", operator_list()),
                    ));
                };
                validate_values(op, &self.values)
            }
            (None, None) => Err(ValidationError::new(
                ErrorCode::Required,
                "attribute",
                "a condition needs `attribute` + `op` + `values`, or `segment`",
            )),
        }
    }
}

fn operator_list() -> String {
    Operator::ALL
        .iter()
        .map(|op| op.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn invalid(index: Option<usize>, message: String) -> ValidationError {
    let field = match index {
        Some(i) => format!("values[{i}]"),
        None => "values".to_owned(),
    };
    ValidationError::new(ErrorCode::InvalidCondition, field, message)
}

fn validate_values(op: Operator, values: &[Value]) -> Result<()> {
    let name = op.as_str();
    if values.is_empty() {
        return Err(invalid(None, format!("`{name}` needs at least one value")));
    }
    if op.takes_single_value() && values.len() != 1 {
        return Err(invalid(
            None,
            format!("`{name}` takes exactly one value, got {}", values.len()),
        ));
    }
    for (i, value) in values.iter().enumerate() {
        check_value(op, value).map_err(|message| invalid(Some(i), message))?;
    }
    Ok(())
}

fn check_value(op: Operator, value: &Value) -> std::result::Result<(), String> {
    let name = op.as_str();
    let as_str = || {
        value
            .as_str()
            .ok_or_else(|| format!("`{name}` compares strings, got {}", type_name(value)))
    };
    match op {
        Operator::In | Operator::NotIn | Operator::Eq | Operator::Neq => match value {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => Ok(()),
            other => Err(format!(
                "`{name}` compares strings, numbers or booleans, got {}",
                type_name(other)
            )),
        },
        Operator::StartsWith | Operator::EndsWith | Operator::Contains => as_str().map(drop),
        Operator::Matches => {
            let pattern = as_str()?;
            parse_regex(pattern).map(drop)
        }
        Operator::Lt | Operator::Lte | Operator::Gt | Operator::Gte => match value {
            Value::Number(n) if n.as_f64().is_some_and(f64::is_finite) => Ok(()),
            other => Err(format!(
                "`{name}` compares numbers, got {}",
                type_name(other)
            )),
        },
        Operator::Before | Operator::After => parse_timestamp(as_str()?).map(drop),
        Operator::SemverEq | Operator::SemverLt | Operator::SemverGt => {
            parse_semver(as_str()?).map(drop)
        }
        Operator::InCidr => parse_cidr(as_str()?).map(drop),
    }
}

/// "a string", "an array", … for error messages.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The compiled-size cap for user regexes, so one flag can't exhaust memory at compile time.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Parses a `matches` pattern the same way validation and evaluation do.
pub fn parse_regex(pattern: &str) -> std::result::Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| format!("invalid regex `{pattern}`: {e}"))
}

/// Parses a semantic version, accepting an optional leading `v` (`v1.2.3`).
pub fn parse_semver(text: &str) -> std::result::Result<semver::Version, String> {
    semver_of(text).ok_or_else(|| {
        let trimmed = text.strip_prefix(['v', 'V']).unwrap_or(text);
        let reason = semver::Version::parse(trimmed)
            .err()
            .map_or_else(String::new, |e| format!(": {e}"));
        format!("invalid semver `{text}`{reason}")
    })
}

/// [`parse_semver`] without the message: allocates nothing when `text` is not a version, so
/// evaluation can try a context attribute for free.
pub fn semver_of(text: &str) -> Option<semver::Version> {
    let trimmed = text.strip_prefix(['v', 'V']).unwrap_or(text);
    semver::Version::parse(trimmed).ok()
}

/// Parses a CIDR block; a bare address is taken as a single-host block (`/32` or `/128`).
pub fn parse_cidr(text: &str) -> std::result::Result<ipnet::IpNet, String> {
    if let Ok(net) = ipnet::IpNet::from_str(text) {
        return Ok(net.trunc());
    }
    std::net::IpAddr::from_str(text)
        .map(ipnet::IpNet::from)
        .map_err(|_| {
            format!("invalid CIDR `{text}`: expected e.g. `10.0.0.0/8` or `2001:db8::/32`")
        })
}

/// Parses an RFC 3339 timestamp into Unix seconds (with a fractional part).
pub fn parse_timestamp(text: &str) -> std::result::Result<f64, String> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp_nanos() as f64 / 1e9)
        .map_err(|e| format!("invalid RFC 3339 timestamp `{text}`: {e}"))
}

/// [`parse_timestamp`] without the message: allocates nothing when `text` is not a time.
pub fn timestamp_of(text: &str) -> Option<f64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp_nanos() as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(condition: Value) -> std::result::Result<(), String> {
        let condition: Condition = serde_json::from_value(condition).map_err(|e| e.to_string())?;
        condition.validate().map_err(|e| e.to_string())
    }

    #[test]
    fn valid_conditions_pass() {
        let cases = [
            json!({"attribute": "email", "op": "ends_with", "values": ["@acme.com"]}),
            json!({"attribute": "plan", "op": "in", "values": ["pro", "team", 3, true]}),
            json!({"attribute": "age", "op": "gte", "values": [18]}),
            json!({"attribute": "ua", "op": "matches", "values": ["^Mozilla/5\\.0"]}),
            json!({"attribute": "v", "op": "semver_gt", "values": ["v1.2.3"]}),
            json!({"attribute": "ip", "op": "in_cidr", "values": ["10.0.0.0/8", "::1"]}),
            json!({"attribute": "signup", "op": "before", "values": ["2026-01-01T00:00:00Z"]}),
            json!({"segment": "internal", "negate": true}),
        ];
        for case in cases {
            assert_eq!(check(case.clone()), Ok(()), "{case}");
        }
    }

    #[test]
    fn invalid_conditions_name_the_field() {
        let cases = [
            (
                json!({"attribute": "ua", "op": "matches", "values": ["("]}),
                "values[0]: invalid regex",
            ),
            (
                json!({"attribute": "v", "op": "semver_eq", "values": ["1.x"]}),
                "values[0]: invalid semver",
            ),
            (
                json!({"attribute": "ip", "op": "in_cidr", "values": ["10.0.0.0/33"]}),
                "values[0]: invalid CIDR",
            ),
            (
                json!({"attribute": "t", "op": "after", "values": ["yesterday"]}),
                "values[0]: invalid RFC 3339",
            ),
            (
                json!({"attribute": "age", "op": "lt", "values": ["ten"]}),
                "values[0]: `lt` compares numbers",
            ),
            (
                json!({"attribute": "age", "op": "lt", "values": [1, 2]}),
                "values: `lt` takes exactly one value",
            ),
            (
                json!({"attribute": "age", "op": "in", "values": []}),
                "values: `in` needs at least one",
            ),
            (
                json!({"attribute": "age", "values": [1]}),
                "op: `op` is required",
            ),
            (
                json!({"segment": "x", "attribute": "a"}),
                "segment: a condition has either",
            ),
            (json!({"negate": true}), "attribute: a condition needs"),
        ];
        for (case, expected) in cases {
            let got = check(case.clone()).unwrap_err();
            assert!(
                got.starts_with(expected),
                "{case}: got `{got}`, want `{expected}`"
            );
        }
    }

    #[test]
    fn unknown_fields_are_rejected() {
        assert!(
            check(json!({"attribute": "a", "op": "eq", "values": [1], "vaules": [2]})).is_err()
        );
    }
}
