//! Durations as people write them in plans: `500ms`, `30s`, `5m`, `1h30m`, `0s`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A non-negative duration in milliseconds, (de)serialized as text like `5m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span(u64);

impl Span {
    pub const ZERO: Span = Span(0);

    pub const fn from_millis(ms: u64) -> Span {
        Span(ms)
    }

    pub const fn from_secs(secs: u64) -> Span {
        Span(secs * 1000)
    }

    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Parses `1h30m`, `5m`, `30s`, `250ms`, or a bare `0`.
    pub fn parse(text: &str) -> Result<Span, String> {
        let text = text.trim();
        if text == "0" {
            return Ok(Span::ZERO);
        }
        let mut total: u64 = 0;
        let mut rest = text;
        if rest.is_empty() {
            return Err("empty duration; write e.g. `30s`, `5m` or `1h30m`".to_owned());
        }
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if digits == 0 {
                return Err(format!(
                    "invalid duration `{text}`: expected a number before `{rest}`"
                ));
            }
            let (number, after) = rest.split_at(digits);
            let number: u64 = number
                .parse()
                .map_err(|_| format!("invalid duration `{text}`: number too large"))?;
            let unit_len = after
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(after.len());
            let (unit, after) = after.split_at(unit_len);
            let scale = match unit {
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                "" => {
                    return Err(format!(
                        "invalid duration `{text}`: add a unit (ms, s, m, h, d)"
                    ));
                }
                other => {
                    return Err(format!(
                        "invalid duration `{text}`: unknown unit `{other}` (use ms, s, m, h, d)"
                    ));
                }
            };
            total = number
                .checked_mul(scale)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(|| format!("invalid duration `{text}`: too large"))?;
            rest = after;
        }
        Ok(Span(total))
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.0;
        if ms == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
            if ms >= size {
                write!(f, "{}{unit}", ms / size)?;
                ms %= size;
            }
        }
        Ok(())
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Span, D::Error> {
        let text = String::deserialize(deserializer)?;
        Span::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The schema of what [`Span::parse`] accepts and `Display` writes: one or more
/// `NUMBER UNIT` parts (`ms`, `s`, `m`, `h`, `d`), or a bare `0`; surrounding whitespace is
/// ignored. A number too large for a `u64` of milliseconds is refused, which no pattern says.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Span {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(SPAN_PATTERN))
            .description(Some(
                "A duration: `NUMBER UNIT` parts with units ms, s, m, h, d (`500ms`, `30s`, \
                 `1h30m`), or `0`. Written back normalised (`90s` is shown as `1m30s`).",
            ))
            .examples(["30s", "5m", "1h30m"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Span {}

/// [`Span::parse`] as a regular expression (ECMA-262, as JSON Schema reads it). `\s` is
/// what `str::trim` strips, close enough: both mean Unicode white space.
#[cfg(feature = "openapi")]
pub const SPAN_PATTERN: &str = r"^\s*(0|([0-9]+(ms|s|m|h|d))+)\s*$";

#[cfg(test)]
mod tests {
    use super::Span;

    #[test]
    fn parses_and_prints() {
        for (text, ms, shown) in [
            ("5m", 300_000, "5m"),
            ("1h30m", 5_400_000, "1h30m"),
            ("250ms", 250, "250ms"),
            ("0", 0, "0s"),
            ("90s", 90_000, "1m30s"),
        ] {
            let span = Span::parse(text).unwrap();
            assert_eq!(span.as_millis(), ms, "{text}");
            assert_eq!(span.to_string(), shown, "{text}");
        }
        for bad in ["", "5", "m", "5 minutes", "-1s", "1x"] {
            assert!(Span::parse(bad).is_err(), "{bad}");
        }
    }
}
