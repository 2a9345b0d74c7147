//! The split hash: which of 10 000 buckets a (salt, bucket value) pair falls into.

use std::fmt::Write as _;
use std::hash::Hasher as _;

use serde_json::Value;

/// The number of buckets; split weights are basis points of it.
pub const BUCKETS: u32 = rampart_model::TOTAL_WEIGHT;

/// The bucket of `bucket_value` under `salt`, in `0..10_000`:
/// `(murmur3_x86_32(salt ++ bucket_value, seed 0) as u64 * 10_000) >> 32`.
///
/// This matches flagd's `fractional` v2 hashing whenever the weights scale exactly.
pub fn bucket(salt: &str, bucket_value: &str) -> u32 {
    bucket_bytes(salt.as_bytes(), bucket_value.as_bytes())
}

/// Hashes the salt and the value as one byte string without concatenating them: the
/// streaming hasher gives the same result as hashing `salt ++ value`.
fn bucket_bytes(salt: &[u8], value: &[u8]) -> u32 {
    let mut hasher = mur3::Hasher32::with_seed(0);
    hasher.write(salt);
    hasher.write(value);
    scale(hasher.finish32())
}

/// Maps a 32-bit hash onto `0..BUCKETS` by multiply-shift, which keeps the order of hashes
/// (and so the monotonicity of splits) and has no modulo bias to speak of.
fn scale(hash: u32) -> u32 {
    let scaled = (u64::from(hash) * u64::from(BUCKETS)) >> 32;
    // `scaled` < BUCKETS by construction, so the conversion cannot fail.
    u32::try_from(scaled).unwrap_or(BUCKETS - 1)
}

/// The bucket of a context attribute value: strings as they are, numbers in their JSON text
/// form. `None` for anything else, including the empty string, since bucketing everyone
/// without a key into the same bucket would silently skew the split.
pub(crate) fn bucket_of_value(salt: &str, value: &Value) -> Option<u32> {
    match value {
        Value::String(text) if !text.is_empty() => Some(bucket(salt, text)),
        Value::Number(number) => {
            let mut text = StackText::default();
            write!(text, "{number}").ok()?;
            Some(bucket_bytes(salt.as_bytes(), text.as_bytes()))
        }
        _ => None,
    }
}

/// A fixed-size text buffer, so rendering a number for hashing allocates nothing. The
/// longest JSON number serde_json renders (`-1.7976931348623157e308`, `u64::MAX`) fits.
struct StackText {
    bytes: [u8; 48],
    len: usize,
}

impl Default for StackText {
    fn default() -> Self {
        StackText {
            bytes: [0; 48],
            len: 0,
        }
    }
}

impl StackText {
    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        let end = self.len + text.len();
        let slot = self.bytes.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(text.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Expected values computed independently with Python's `mmh3`:
    /// `h = mmh3.hash(salt + value, 0, signed=False); (h * 10000) >> 32`.
    #[test]
    fn buckets_match_pinned_reference_values() {
        let pinned = [
            ("new-checkout", "user-1", 4549),
            ("new-checkout", "user-2", 2297),
            ("flag", "alice", 7109),
            ("salt-x", "12345", 3954),
            ("abc", "héllo", 9003),
            ("search-ranker", "bob", 8755),
            ("", "", 0),
        ];
        for (salt, value, expected) in pinned {
            assert_eq!(bucket(salt, value), expected, "bucket({salt:?}, {value:?})");
        }
    }

    #[test]
    fn murmur3_matches_the_reference_hash() {
        assert_eq!(mur3::murmurhash3_x86_32(b"hello", 0), 613_153_351);
    }

    #[test]
    fn streaming_equals_hashing_the_concatenation() {
        let samples = [
            "",
            "a",
            "ab",
            "abc",
            "abcd",
            "abcde",
            "new-checkout",
            "ü-ñ",
            "0123456789",
        ];
        for salt in samples {
            for value in samples {
                let joined = format!("{salt}{value}");
                let expected = scale(mur3::murmurhash3_x86_32(joined.as_bytes(), 0));
                assert_eq!(bucket(salt, value), expected, "{salt:?} ++ {value:?}");
            }
        }
    }

    #[test]
    fn numbers_bucket_as_their_json_text() {
        assert_eq!(
            bucket_of_value("s", &json!(12345)),
            Some(bucket("s", "12345"))
        );
        assert_eq!(bucket_of_value("s", &json!(-7)), Some(bucket("s", "-7")));
        assert_eq!(bucket_of_value("s", &json!(1.5)), Some(bucket("s", "1.5")));
        assert_eq!(
            bucket_of_value("s", &json!(u64::MAX)),
            Some(bucket("s", &u64::MAX.to_string()))
        );
        assert_eq!(
            bucket_of_value("s", &json!(-1.797_693_134_862_315_7e308)),
            Some(bucket(
                "s",
                &json!(-1.797_693_134_862_315_7e308).to_string()
            ))
        );
    }

    #[test]
    fn non_keys_have_no_bucket() {
        for value in [
            json!(""),
            json!(null),
            json!(true),
            json!([1]),
            json!({"a": 1}),
        ] {
            assert_eq!(bucket_of_value("s", &value), None, "{value}");
        }
    }

    #[test]
    fn buckets_stay_in_range() {
        assert_eq!(scale(u32::MAX), BUCKETS - 1);
        assert_eq!(scale(0), 0);
    }
}
