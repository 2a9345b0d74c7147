//! [`Head`]: the `SEQ:HASH` anchor of a chain. Publishing or storing a head elsewhere lets a
//! later [`crate::verify_with_head`] prove that history up to it was not rewritten, even by
//! someone holding the signing key.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::LedgerError;

/// The sequence number and hash of one entry, printed and parsed as `SEQ:HASH`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Head {
    /// The entry's `seq`.
    pub seq: u64,
    /// The entry's `hash`: 64 lowercase hex characters.
    pub hash: String,
}

impl Head {
    /// Parses `SEQ:HASH`: a decimal sequence number, a colon and 64 hex characters. Surrounding
    /// whitespace is ignored and the hash is lowercased.
    pub fn parse(text: &str) -> Result<Head, LedgerError> {
        let invalid = |reason: &'static str| LedgerError::Head {
            text: text.to_owned(),
            reason,
        };
        let (seq_text, hash_text) = text
            .trim()
            .split_once(':')
            .ok_or_else(|| invalid("expected SEQ:HASH"))?;
        if seq_text.is_empty() || !seq_text.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(invalid("SEQ must be a decimal number"));
        }
        let seq = seq_text
            .parse::<u64>()
            .map_err(|_| invalid("SEQ is too large"))?;
        if hash_text.len() != 64 || !hash_text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(invalid("HASH must be 64 hex characters"));
        }
        Ok(Head {
            seq,
            hash: hash_text.to_ascii_lowercase(),
        })
    }
}

impl fmt::Display for Head {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

impl std::str::FromStr for Head {
    type Err = LedgerError;

    fn from_str(text: &str) -> Result<Head, LedgerError> {
        Head::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display_round_trip() {
        let text = format!("42:{}", "ab".repeat(32));
        let head = Head::parse(&text).unwrap();
        assert_eq!(head.seq, 42);
        assert_eq!(head.hash, "ab".repeat(32));
        assert_eq!(head.to_string(), text);
        assert_eq!(Head::parse(&format!(" {text}\n")).unwrap(), head);
        assert_eq!(Head::parse(&text.to_uppercase()).unwrap(), head);
    }

    #[test]
    fn parse_rejects_malformed_heads() {
        let hash = "0".repeat(64);
        for bad in [
            String::new(),
            hash.clone(),
            format!(":{hash}"),
            format!("-1:{hash}"),
            format!("+1:{hash}"),
            format!("1 :{hash}"),
            format!("99999999999999999999:{hash}"),
            "1:abc".to_owned(),
            format!("1:{}", "g".repeat(64)),
            format!("1:{hash}0"),
            format!("1:{}", "é".repeat(32)),
        ] {
            assert!(
                matches!(Head::parse(&bad), Err(LedgerError::Head { .. })),
                "{bad:?}"
            );
        }
    }
}
