//! The ledger's signing key: generated into the data dir on first start (mode 0600), or
//! read from a file given by path. Rotation writes the next key beside the current one,
//! commits the `key_rotated` entry, then moves it into place; a crash in between is
//! resolved at the next start from what the ledger says.

use std::io::Write;
use std::path::{Path, PathBuf};

use rampart_ledger::{Entry, PublicKey, Signer};

/// The key file's name in the data dir.
pub const KEY_FILE: &str = "ledger.key";
/// Every public key this ledger has used, oldest first: the first is the genesis key an
/// auditor should trust (also served at `GET /v1/ledger/key`).
pub const PUBLIC_KEYS_FILE: &str = "ledger.pub";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or write the ledger key {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the ledger key {path} is not a 64-character hex seed")]
    Malformed { path: PathBuf },
    #[error("cannot generate a ledger key: {0}")]
    Random(String),
    #[error(
        "the ledger's current signing key is {expected}, but the key given is {given}; starting \
         would fork the chain (after a rotation, point --ledger-key at the new key)"
    )]
    Mismatch { expected: String, given: String },
}

/// The key id that must sign the next entry: the head's, or the one its rotation introduced.
pub fn current_key_id(head: &Entry) -> String {
    match head.detail.get("new_key_id").and_then(|id| id.as_str()) {
        Some(next) if head.action == rampart_ledger::ROTATION_ACTION => next.to_owned(),
        _ => head.key_id.clone(),
    }
}

/// Refuses a signer that is not the chain's current key.
pub fn check_matches_chain(signer: &Signer, head: Option<&Entry>) -> Result<(), KeyError> {
    match head.map(current_key_id) {
        Some(expected) if expected != signer.key_id() => Err(KeyError::Mismatch {
            expected,
            given: signer.key_id().to_owned(),
        }),
        _ => Ok(()),
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_owned(),
        source,
    }
}

pub fn generate() -> Result<Signer, KeyError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(Signer::from_seed(seed))
}

pub fn read(path: &Path) -> Result<Signer, KeyError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let bytes = hex::decode(text.trim()).map_err(|_| KeyError::Malformed {
        path: path.to_owned(),
    })?;
    let seed: [u8; 32] = bytes.try_into().map_err(|_| KeyError::Malformed {
        path: path.to_owned(),
    })?;
    Ok(Signer::from_seed(seed))
}

/// Writes a key file readable by its owner only, atomically (temp file, fsync, rename).
pub fn write(path: &Path, signer: &Signer) -> Result<(), KeyError> {
    let temp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temp).map_err(io(&temp))?;
    file.write_all(format!("{}\n", hex::encode(signer.seed())).as_bytes())
        .map_err(io(&temp))?;
    file.sync_all().map_err(io(&temp))?;
    std::fs::rename(&temp, path).map_err(io(path))
}

fn record_public_key(data_dir: &Path, key: &PublicKey) -> Result<(), KeyError> {
    let path = data_dir.join(PUBLIC_KEYS_FILE);
    let known = std::fs::read_to_string(&path).unwrap_or_default();
    if known.lines().any(|line| line.trim() == key.to_hex()) {
        return Ok(());
    }
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .map_err(io(&path))?;
    writeln!(file, "{}", key.to_hex()).map_err(io(&path))
}

/// The public keys recorded in the data dir, oldest (genesis) first.
pub fn public_keys(data_dir: &Path) -> Vec<PublicKey> {
    std::fs::read_to_string(data_dir.join(PUBLIC_KEYS_FILE))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| PublicKey::from_hex(line.trim()).ok())
        .collect()
}

/// The key for this data dir: the explicit file when given, else `<data_dir>/ledger.key`,
/// generated on first start. Finishes a rotation interrupted by a crash: if the ledger's head
/// shows the pending next key was introduced, it becomes current; otherwise it is dropped.
pub fn load_or_create(
    data_dir: &Path,
    explicit: Option<&Path>,
    head: Option<&Entry>,
) -> Result<Signer, KeyError> {
    if let Some(path) = explicit {
        let signer = read(path)?;
        record_public_key(data_dir, &signer.public_key())?;
        return Ok(signer);
    }
    std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
    let current = data_dir.join(KEY_FILE);
    let next = next_path(data_dir);
    if next.exists() {
        let pending = read(&next)?;
        // Committed if the head is the rotation entry, or was signed by the new key.
        let committed = head.is_some_and(|e| {
            e.key_id == pending.key_id() || e.detail["new_key_id"] == pending.key_id()
        });
        if committed {
            std::fs::rename(&next, &current).map_err(io(&current))?;
        } else {
            std::fs::remove_file(&next).map_err(io(&next))?;
        }
    }
    let signer = if current.exists() {
        read(&current)?
    } else {
        let signer = generate()?;
        write(&current, &signer)?;
        signer
    };
    record_public_key(data_dir, &signer.public_key())?;
    Ok(signer)
}

pub fn next_path(data_dir: &Path) -> PathBuf {
    data_dir.join("ledger.key.next")
}

/// After the rotation entry committed: the next key becomes the current key file.
pub fn promote_next(data_dir: &Path, next: &Signer) -> Result<(), KeyError> {
    record_public_key(data_dir, &next.public_key())?;
    let path = next_path(data_dir);
    std::fs::rename(&path, data_dir.join(KEY_FILE)).map_err(io(&path))
}

#[cfg(test)]
mod tests {
    use rampart_ledger::{Draft, GENESIS_HASH, Signer, rotation_draft, seal};
    use serde_json::json;

    use super::*;

    fn entry_by(signer: &Signer) -> Entry {
        let draft = Draft {
            actor: "t".into(),
            action: "flag.put".into(),
            subject: "flag:x".into(),
            detail: json!({}),
        };
        seal(draft, 1, 0, GENESIS_HASH, signer)
    }

    #[test]
    fn first_start_generates_an_owner_only_key_and_reuses_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path(), None, None).unwrap();
        let again = load_or_create(dir.path(), None, None).unwrap();
        assert_eq!(first.key_id(), again.key_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(public_keys(dir.path()), vec![first.public_key()]);
    }

    #[test]
    fn a_rotation_interrupted_after_its_commit_is_finished_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let old = load_or_create(dir.path(), None, None).unwrap();
        let next = Signer::from_seed([9; 32]);
        write(&next_path(dir.path()), &next).unwrap();
        // The rotation entry committed (signed by the old key), then the process died.
        let rotation = seal(
            rotation_draft("t", &next.public_key()),
            2,
            0,
            GENESIS_HASH,
            &old,
        );
        let loaded = load_or_create(dir.path(), None, Some(&rotation)).unwrap();
        assert_eq!(loaded.key_id(), next.key_id());
        assert!(!next_path(dir.path()).exists());
        assert!(check_matches_chain(&loaded, Some(&rotation)).is_ok());
    }

    #[test]
    fn a_rotation_interrupted_before_its_commit_is_dropped_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let old = load_or_create(dir.path(), None, None).unwrap();
        write(&next_path(dir.path()), &Signer::from_seed([9; 32])).unwrap();
        let head = entry_by(&old);
        let loaded = load_or_create(dir.path(), None, Some(&head)).unwrap();
        assert_eq!(loaded.key_id(), old.key_id());
        assert!(!next_path(dir.path()).exists());
    }

    #[test]
    fn a_key_that_is_not_the_chains_current_key_is_refused() {
        let chain_key = Signer::from_seed([1; 32]);
        let other = Signer::from_seed([2; 32]);
        let head = entry_by(&chain_key);
        let error = check_matches_chain(&other, Some(&head)).unwrap_err();
        assert!(
            error.to_string().contains("would fork the chain"),
            "{error}"
        );
        assert!(check_matches_chain(&chain_key, Some(&head)).is_ok());
        assert!(
            check_matches_chain(&other, None).is_ok(),
            "an empty ledger takes any key"
        );
    }
}
