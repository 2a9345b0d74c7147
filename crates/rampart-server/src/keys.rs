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
