//! Strict JSON: how every part of Rampart that reads JSON from outside reads it.
//!
//! [`from_slice`] is `serde_json::from_slice` with three differences, each reported as a
//! [`ValidationError`] whose `field` is the path of the offending value (`rules[0].when[1].op`,
//! empty for the document itself):
//! - text that is not JSON at all is [`ErrorCode::Parse`];
//! - JSON of the wrong shape is [`ErrorCode::InvalidField`], whatever serde_json would call
//!   it: a wrong-typed enum (`"kind": 5`, which serde_json reports as the syntax error
//!   "expected value") says which values it expects, and an array where an object is
//!   expected (which serde's derived structs would take as positional fields) is a wrong
//!   type;
//! - a key that appears twice in one object, at any depth and in maps as in structs, is
//!   [`ErrorCode::DuplicateKey`], with the path of the second occurrence (`variants.on`).
//!
//! Good input takes one pass through a thin adaptor ([`strict`]) and costs little more
//! than plain serde_json; only bad input is parsed again, to check its syntax and to track
//! the path to the error (with serde_path_to_error).

mod strict;

use std::fmt;

use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::error::{ErrorCode, ValidationError};
use strict::{State, Strict};

/// Parses `bytes` as one JSON value of type `T`, strictly (see the module documentation).
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ValidationError> {
    let state = State::default();
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = T::deserialize(Strict::new(&mut deserializer, &state))
        .and_then(|value| deserializer.end().map(|()| value));
    parsed.map_err(|error| explain::<T>(bytes, &error))
}

/// [`from_slice`] for text.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, ValidationError> {
    from_slice(text.as_bytes())
}

/// Why `bytes` did not parse as a `T`: not JSON, or JSON of the wrong shape (the second
/// parse tracks the path), or a duplicate key.
#[cold]
fn explain<T: DeserializeOwned>(bytes: &[u8], error: &serde_json::Error) -> ValidationError {
    if let Err(syntax) = serde_json::from_slice::<AnyValue>(bytes) {
        return ValidationError::new(ErrorCode::Parse, "", syntax.to_string());
    }
    let state = State::default();
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let Err(error) =
        serde_path_to_error::deserialize::<_, T>(Strict::new(&mut deserializer, &state))
    else {
        // Parsing is deterministic, so this is unreachable; report the first error.
        return ValidationError::new(ErrorCode::InvalidField, "", error.to_string());
    };
    let path = error.path().to_string();
    let field = if path == "." { String::new() } else { path };
    let code = if state.duplicate.get() {
        ErrorCode::DuplicateKey
    } else {
        ErrorCode::InvalidField
    };
    ValidationError::new(code, field, error.into_inner().to_string())
}

/// Any JSON value, read only to check its syntax, within serde_json's nesting limit
/// (`IgnoredAny` would skip nested values without it). Allocates nothing.
struct AnyValue;

impl<'de> Deserialize<'de> for AnyValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<AnyValue, D::Error> {
        deserializer.deserialize_any(AnyValue)
    }
}

impl<'de> Visitor<'de> for AnyValue {
    type Value = AnyValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<AnyValue, E> {
        Ok(AnyValue)
    }

    fn visit_i64<E>(self, _: i64) -> Result<AnyValue, E> {
        Ok(AnyValue)
    }

    fn visit_u64<E>(self, _: u64) -> Result<AnyValue, E> {
        Ok(AnyValue)
    }

    fn visit_f64<E>(self, _: f64) -> Result<AnyValue, E> {
        Ok(AnyValue)
    }

    fn visit_str<E>(self, _: &str) -> Result<AnyValue, E> {
        Ok(AnyValue)
    }

    fn visit_unit<E>(self) -> Result<AnyValue, E> {
        Ok(AnyValue)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<AnyValue, A::Error> {
        while seq.next_element::<AnyValue>()?.is_some() {}
        Ok(AnyValue)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnyValue, A::Error> {
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value::<AnyValue>()?;
        }
        Ok(AnyValue)
    }
}

#[cfg(test)]
mod tests {
    use indexmap::IndexMap;
    use serde::Deserialize;
    use serde_json::Value;

    use super::from_str;
    use crate::error::ErrorCode;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Color {
        Red,
        Green,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Shape {
        Dot,
        Circle { radius: u32 },
        Named(String),
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        color: Color,
        #[serde(default)]
        shape: Option<Shape>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        name: String,
        #[serde(default)]
        inner: Vec<Inner>,
        #[serde(default)]
        weights: IndexMap<String, u32>,
        #[serde(default)]
        extra: Option<Value>,
    }

    /// Each row: input, then `Ok` or the code, field and a piece of the message.
    #[test]
    fn strict_parsing_table() {
        let ok = |text: &str| (text.to_owned(), None);
        let err = |text: &str, code: ErrorCode, field: &str, message: &str| {
            (
                text.to_owned(),
                Some((code, field.to_owned(), message.to_owned())),
            )
        };
        use ErrorCode::*;
        let cases = [
            ok(r#"{"name": "a"}"#),
            ok(r#"{"name": "a", "inner": [{"color": "red", "shape": "dot"}]}"#),
            ok(r#"{"name": "a", "inner": [{"color": "red", "shape": {"circle": {"radius": 2}}}]}"#),
            ok(r#"{"name": "a", "inner": [{"color": "red", "shape": {"named": "x"}}]}"#),
            ok(r#"{"name": "a", "inner": [{"color": {"green": null}}]}"#),
            ok(r#"{"name": "a", "extra": {"a": {"b": 1}, "b": [{"a": 1}, {"a": 2}]}}"#),
            ok(r#"{"name": "a", "weights": {"x": 1, "y": 2}}"#),
            err(r#"{"name": "a""#, Parse, "", "EOF"),
            err(r#"{"name": "a"} x"#, Parse, "", "trailing"),
            err(
                r#"{"name": "a", "extra": 1e400}"#,
                Parse,
                "",
                "out of range",
            ),
            err(
                r#"["a"]"#,
                InvalidField,
                "",
                "invalid type: sequence, expected struct Outer",
            ),
            err(
                r#"{"name": "a", "inner": [["red"]]}"#,
                InvalidField,
                "inner[0]",
                "invalid type: sequence, expected struct Inner",
            ),
            err(
                r#"{"name": "a", "inner": [{"color": 5}]}"#,
                InvalidField,
                "inner[0].color",
                "invalid type: integer `5`, expected one of `red`, `green`",
            ),
            err(
                r#"{"name": "a", "inner": [{"color": true}]}"#,
                InvalidField,
                "inner[0].color",
                "invalid type: boolean `true`, expected one of `red`, `green`",
            ),
            err(
                r#"{"name": "a", "inner": [{"color": {}}]}"#,
                InvalidField,
                "inner[0].color",
                "invalid type: map, expected one of `red`, `green`",
            ),
            err(
                r#"{"name": "a", "inner": [{"color": null}]}"#,
                InvalidField,
                "inner[0].color",
                "invalid type: null, expected one of `red`, `green`",
            ),
            err(
                r#"{"name": "a", "inner": [{"color": {"red": null, "green": null}}]}"#,
                InvalidField,
                "inner[0].color",
                "invalid type: map",
            ),
            err(
                r#"{"name": "a", "inner": [{"color": "blue"}]}"#,
                InvalidField,
                "inner[0].color",
                "unknown variant `blue`, expected `red` or `green`",
            ),
            err(
                r#"{"name": "a", "inner": [{"color": "red", "shape": {"circle": [2]}}]}"#,
                InvalidField,
                "inner[0].shape.circle",
                "invalid type: sequence, expected struct variant Shape::Circle",
            ),
            err(
                r#"{"name": "a", "name": "b"}"#,
                DuplicateKey,
                "name",
                "duplicate key `name`",
            ),
            err(
                r#"{"name": "a", "weights": {"on": 1, "off": 2, "on": 3}}"#,
                DuplicateKey,
                "weights.on",
                "duplicate key `on`",
            ),
            err(
                r#"{"name": "a", "extra": {"b": [{"a": 1, "a": 2}]}}"#,
                DuplicateKey,
                "extra.b[0].a",
                "duplicate key `a`",
            ),
            err(
                // Escapes are decoded before keys are compared.
                r#"{"name": "a", "extra": {"\u0061": 1, "a": 2}}"#,
                DuplicateKey,
                "extra.a",
                "duplicate key `a`",
            ),
            err(
                r#"{"name": 5}"#,
                InvalidField,
                "name",
                "invalid type: integer `5`, expected a string",
            ),
        ];
        let mut failures = Vec::new();
        for (text, want) in cases {
            let got = from_str::<Outer>(&text);
            let matches = match (&got, &want) {
                (Ok(_), None) => true,
                (Err(e), Some((code, field, message))) => {
                    e.code() == *code && e.field() == field && e.message().contains(message)
                }
                _ => false,
            };
            if !matches {
                failures.push(format!(
                    "{text}\n  want {want:?}\n  got  {:?}",
                    got.map(|_| ())
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn many_keys_are_checked_through_the_hash_set() {
        let members: Vec<String> = (0..100).map(|i| format!("\"k{i}\": {i}")).collect();
        let text = format!("{{{}}}", members.join(", "));
        let parsed: IndexMap<String, u32> = from_str(&text).expect("100 distinct keys");
        assert_eq!(parsed.len(), 100);
        let text = format!("{{{}, \"k3\": 0}}", members.join(", "));
        let error = from_str::<IndexMap<String, u32>>(&text).expect_err("k3 twice");
        assert_eq!(
            (error.code(), error.field()),
            (ErrorCode::DuplicateKey, "k3")
        );
    }

    #[test]
    fn deep_nesting_fits_a_tokio_worker_stack_and_deeper_is_refused() {
        // serde_json stops at 128 levels. At 127, even the error path (a second parse with
        // path tracking) fits in tokio's default 2 MiB worker stack in a debug build.
        let run = |depth: usize, innermost: &'static str| {
            std::thread::Builder::new()
                .stack_size(2 << 20)
                .spawn(move || {
                    let text = format!("{}{innermost}{}", "[".repeat(depth), "]".repeat(depth));
                    from_str::<Value>(&text).map(|_| ()).map_err(|e| e.code())
                })
                .expect("spawn")
                .join()
                .expect("no stack overflow")
        };
        assert_eq!(run(126, ""), Ok(()));
        assert_eq!(
            run(126, r#"{"a": 1, "a": 2}"#),
            Err(ErrorCode::DuplicateKey)
        );
        assert_eq!(run(10_000, ""), Err(ErrorCode::Parse));
    }
}
