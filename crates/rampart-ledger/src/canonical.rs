//! Canonical JSON: the one byte form of a JSON value that is hashed, following the JSON
//! Canonicalization Scheme (RFC 8785, "JCS") with one documented deviation for integers.
//!
//! - Object members are sorted by their keys' UTF-16 code units; duplicate keys cannot occur
//!   because the input is a parsed [`serde_json::Value`].
//! - There is no insignificant whitespace.
//! - Strings escape only what JSON requires: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, and every
//!   other control character below U+0020 as `\u00xx` with lowercase hex. Everything else,
//!   including non-ASCII text, is written as UTF-8.
//! - Integers that fit `i64` or `u64` are written in plain decimal, exactly. (JCS would first
//!   round them to an IEEE double; Rampart's sequence numbers and counters are exact integers,
//!   so they stay exact.)
//! - Every other number is written as ECMAScript's `Number.prototype.toString` does, see
//!   [`number`].

pub mod number;

use std::cmp::Ordering;

use serde_json::Value;

/// Returns the canonical JSON text of `value` (RFC 8785 key order and number form, see the
/// module documentation).
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

/// Appends the canonical JSON text of `value` to `out`.
pub fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => number::write_number(out, number),
        Value::String(text) => write_string(out, text),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(members) => {
            let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
            sorted.sort_unstable_by(|left, right| utf16_order(left.0, right.0));
            out.push('{');
            for (index, (key, member)) in sorted.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_value(out, member);
            }
            out.push('}');
        }
    }
}

/// Orders two strings by their UTF-16 code units, as JCS requires.
///
/// This differs from byte (and `char`) order only for characters above U+FFFF, whose
/// surrogates (0xD800..0xDFFF) sort before U+E000..U+FFFF.
pub fn utf16_order(left: &str, right: &str) -> Ordering {
    left.encode_utf16().cmp(right.encode_utf16())
}

/// Appends `text` as a JSON string literal with the minimal escapes.
pub fn write_string(out: &mut String, text: &str) {
    const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    // Copy runs of characters that need no escape in one go; only ASCII needs escaping, so
    // byte positions found here are always char boundaries.
    let mut run_start = 0;
    for (position, byte) in text.bytes().enumerate() {
        let escape: Option<&str> = match byte {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            0x08 => Some("\\b"),
            0x0c => Some("\\f"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0x00..=0x1f => Some(""),
            _ => None,
        };
        let Some(escape) = escape else { continue };
        out.push_str(text.get(run_start..position).unwrap_or_default());
        run_start = position + 1;
        if escape.is_empty() {
            out.push_str("\\u00");
            for nibble in [byte >> 4, byte & 0x0f] {
                let digit = HEX_DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0');
                out.push(char::from(digit));
            }
        } else {
            out.push_str(escape);
        }
    }
    out.push_str(text.get(run_start..).unwrap_or_default());
    out.push('"');
}

#[cfg(test)]
mod tests;
