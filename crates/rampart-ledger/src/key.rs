//! Keys: [`Signer`] holds the Ed25519 secret that seals entries, [`PublicKey`] the half an
//! auditor trusts. A key's id is `ed25519:` plus the first 16 hex characters of the SHA-256
//! of its 32 public-key bytes.

use std::fmt;

use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::error::LedgerError;

/// The prefix of every key id.
pub const KEY_ID_PREFIX: &str = "ed25519:";

/// The secret key that signs ledger entries. The caller supplies the seed, so this crate
/// never touches a random source; `Debug` prints only the key id.
#[derive(Clone)]
pub struct Signer {
    signing_key: SigningKey,
    public_key: PublicKey,
    key_id: String,
}

impl Signer {
    /// The signer whose Ed25519 secret key is `seed` (RFC 8032's 32-byte private key).
    pub fn from_seed(seed: [u8; 32]) -> Signer {
        let signing_key = SigningKey::from_bytes(&seed);
        let public_key = PublicKey {
            verifying_key: signing_key.verifying_key(),
        };
        let key_id = public_key.key_id();
        Signer {
            signing_key,
            public_key,
            key_id,
        }
    }

    /// The 32-byte seed, for storing the key file. Handle it as a secret.
    pub fn seed(&self) -> [u8; 32] {
        self.signing_key.to_bytes()
    }

    /// The public half, to hand to auditors.
    pub fn public_key(&self) -> PublicKey {
        self.public_key.clone()
    }

    /// The id written into every entry this signer seals.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Signs `message` (a 32-byte entry hash) and returns the 64-byte signature.
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer as _;
        self.signing_key.sign(message).to_bytes()
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        f.debug_struct("Signer")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// An Ed25519 public key: a valid, non-weak curve point. Serialized as 64 lowercase hex
/// characters.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PublicKey {
    verifying_key: VerifyingKey,
}

impl PublicKey {
    /// Parses 64 hex characters (either case) as a public key, rejecting bytes that are not
    /// a curve point and small-order points, under which no strict signature verifies.
    pub fn from_hex(text: &str) -> Result<PublicKey, LedgerError> {
        let bytes: [u8; 32] = decode_hex_array("public key", text)?;
        let verifying_key =
            VerifyingKey::from_bytes(&bytes).map_err(|_| LedgerError::InvalidPoint)?;
        if verifying_key.is_weak() {
            return Err(LedgerError::WeakKey);
        }
        Ok(PublicKey { verifying_key })
    }

    /// The 32 key bytes as 64 lowercase hex characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.verifying_key.as_bytes())
    }

    /// `ed25519:` plus the first 16 hex characters of SHA-256 over the 32 key bytes.
    pub fn key_id(&self) -> String {
        let digest = hex::encode(Sha256::digest(self.verifying_key.as_bytes()));
        let short = digest.get(..16).unwrap_or(&digest);
        format!("{KEY_ID_PREFIX}{short}")
    }

    /// The key as the Ed25519 library sees it.
    pub(crate) fn verifying_key(&self) -> &VerifyingKey {
        &self.verifying_key
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PublicKey").field(&self.to_hex()).finish()
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl TryFrom<String> for PublicKey {
    type Error = LedgerError;

    fn try_from(text: String) -> Result<PublicKey, LedgerError> {
        PublicKey::from_hex(&text)
    }
}

impl From<PublicKey> for String {
    fn from(key: PublicKey) -> String {
        key.to_hex()
    }
}

/// Decodes exactly `2 * N` hex characters (either case) into `N` bytes.
pub(crate) fn decode_hex_array<const N: usize>(
    what: &'static str,
    text: &str,
) -> Result<[u8; N], LedgerError> {
    if text.len() != 2 * N {
        return Err(LedgerError::HexLength {
            what,
            expected: 2 * N,
            found: text.len(),
        });
    }
    let mut bytes = [0_u8; N];
    hex::decode_to_slice(text, &mut bytes).map_err(|source| LedgerError::Hex { what, source })?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_is_prefix_and_16_hex_of_sha256() {
        let signer = Signer::from_seed([7; 32]);
        let public = signer.public_key();
        let digest = hex::encode(Sha256::digest(public.verifying_key.as_bytes()));
        assert_eq!(signer.key_id(), format!("ed25519:{}", &digest[..16]));
        assert_eq!(public.key_id(), signer.key_id());
        assert_eq!(signer.key_id().len(), 8 + 16);
    }

    #[test]
    fn seed_round_trips() {
        let signer = Signer::from_seed([42; 32]);
        assert_eq!(signer.seed(), [42; 32]);
        assert_eq!(
            Signer::from_seed(signer.seed()).public_key(),
            signer.public_key()
        );
    }

    #[test]
    fn rfc_8032_test_vector_1_public_key() {
        let seed: [u8; 32] = decode_hex_array(
            "seed",
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        )
        .unwrap();
        let signer = Signer::from_seed(seed);
        assert_eq!(
            signer.public_key().to_hex(),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
    }

    #[test]
    fn debug_does_not_print_the_secret() {
        let signer = Signer::from_seed([0xab; 32]);
        let printed = format!("{signer:?}");
        assert!(printed.contains(signer.key_id()));
        assert!(!printed.contains("abab"), "{printed}");
        assert!(!printed.contains("171"), "{printed}");
    }

    #[test]
    fn public_key_hex_and_serde_round_trip() {
        let public = Signer::from_seed([1; 32]).public_key();
        let text = public.to_hex();
        assert_eq!(PublicKey::from_hex(&text).unwrap(), public);
        assert_eq!(PublicKey::from_hex(&text.to_uppercase()).unwrap(), public);
        let json = serde_json::to_string(&public).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<PublicKey>(&json).unwrap(), public);
        assert!(serde_json::from_str::<PublicKey>("\"00\"").is_err());
    }

    #[test]
    fn from_hex_rejects_bad_input() {
        assert!(matches!(
            PublicKey::from_hex("abc"),
            Err(LedgerError::HexLength {
                expected: 64,
                found: 3,
                ..
            })
        ));
        assert!(matches!(
            PublicKey::from_hex(&"zz".repeat(32)),
            Err(LedgerError::Hex { .. })
        ));
        // The identity point (y = 1) has small order.
        let identity = format!("01{}", "00".repeat(31));
        assert_eq!(PublicKey::from_hex(&identity), Err(LedgerError::WeakKey));
        // y = 2 is not on the curve.
        let off_curve = format!("02{}", "00".repeat(31));
        assert_eq!(
            PublicKey::from_hex(&off_curve),
            Err(LedgerError::InvalidPoint)
        );
        // A multi-byte character must not panic the length check.
        assert!(PublicKey::from_hex(&"é".repeat(32)).is_err());
    }
}
