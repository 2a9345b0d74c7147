//! Rules for flag keys, segment names and variant names.

use crate::error::{ErrorCode, Result, ValidationError};

/// The longest key or name we accept. Keys appear in URLs, metrics labels and logs.
pub const MAX_KEY_LEN: usize = 128;

/// Checks a flag key, segment name or variant name: 1 to 128 characters of
/// `A-Z a-z 0-9 . _ -`, starting with a letter or digit. URL-safe without escaping.
pub fn check_key(field: &str, what: &str, key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(ValidationError::new(
            ErrorCode::Required,
            field,
            format!("{what} is empty"),
        ));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(ValidationError::new(
            ErrorCode::InvalidKey,
            field,
            format!("{what} `{key}` is longer than {MAX_KEY_LEN} characters"),
        ));
    }
    let first_ok = key.as_bytes()[0].is_ascii_alphanumeric();
    let rest_ok = key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !first_ok || !rest_ok {
        return Err(ValidationError::new(
            ErrorCode::InvalidKey,
            field,
            format!(
                "{what} `{key}` may only use letters, digits, `.`, `_` and `-`, \
                 and must start with a letter or digit"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_key;

    #[test]
    fn accepts_ordinary_keys_and_rejects_the_rest() {
        for good in ["new-checkout", "a", "v2.search_ranker", "9lives"] {
            assert!(check_key("key", "flag key", good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "-leading",
            "has space",
            "slash/y",
            "ünïcode",
            &"x".repeat(129),
        ] {
            assert!(check_key("key", "flag key", bad).is_err(), "{bad}");
        }
    }
}
