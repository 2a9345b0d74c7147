//! `/v1/ledger`: read the signed, hash-chained audit ledger, its head and public key;
//! verify it server-side; rotate the signing key.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use axum::Json;
use axum::extract::State;
use rampart_ledger::{Entry, GENESIS_HASH, Head, PublicKey, Report, Signer, Verifier};
use rampart_store::Change;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::extract::{Actor, ApiQuery, parse_json};
use crate::keys;
use crate::openapi::{ActorHeader, tags};
use crate::state::AppState;
use rampart_model::ErrorCode;
use rampart_model::api::ErrorBody;

/// The ledger's key material as the server holds it.
#[derive(Debug)]
pub struct LedgerKeys {
    data_dir: Option<PathBuf>,
    /// False when the key was given by path: its owner rotates it, not Rampart.
    rotatable: bool,
    /// One rotation at a time, from writing the next key to installing it.
    rotating: tokio::sync::Mutex<()>,
    /// One server-side verification at a time: each costs seconds of CPU on a long ledger.
    verifying: tokio::sync::Semaphore,
    signer: RwLock<Signer>,
    /// Every public key used, oldest (genesis) first.
    public_keys: RwLock<Vec<PublicKey>>,
}

impl LedgerKeys {
    pub fn new(data_dir: Option<PathBuf>, signer: Signer, rotatable: bool) -> LedgerKeys {
        let mut public_keys = data_dir
            .as_deref()
            .map(keys::public_keys)
            .unwrap_or_default();
        if !public_keys.contains(&signer.public_key()) {
            public_keys.push(signer.public_key());
        }
        LedgerKeys {
            data_dir,
            rotatable,
            rotating: tokio::sync::Mutex::new(()),
            verifying: tokio::sync::Semaphore::new(1),
            signer: RwLock::new(signer),
            public_keys: RwLock::new(public_keys),
        }
    }

    fn current(&self) -> Option<PublicKey> {
        self.signer.read().ok().map(|s| s.public_key())
    }

    fn genesis(&self) -> Vec<PublicKey> {
        self.public_keys
            .read()
            .ok()
            .and_then(|keys| keys.first().cloned())
            .into_iter()
            .collect()
    }
}

/// Entries verified per page: the chain is read and checked a page at a time, so verifying
/// a long ledger holds one page in memory, not the whole chain.
const VERIFY_PAGE: u32 = 2_000;

/// Verifies the whole chain page by page. The CPU-heavy part (hashing and Ed25519 checks,
/// about 45 µs an entry) runs on the blocking pool, never on the threads that serve requests.
async fn verify_chain(
    state: &AppState,
    trusted: Vec<PublicKey>,
    expected: Option<Head>,
) -> Result<Report, ApiError> {
    let Ok(_one_at_a_time) = state.ledger_keys().verifying.try_acquire() else {
        return Err(ApiError::Unavailable(
            "a ledger verification is already running; retry when it is done".to_owned(),
        ));
    };
    let mut verifier = Verifier::new(&trusted, expected);
    let mut after = 0;
    loop {
        let page = state.store().ledger(after, VERIFY_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        let (checked, still_ok) = tokio::task::spawn_blocking(move || {
            let still_ok = verifier.feed(&page);
            (verifier, still_ok)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("ledger verification failed: {e}")))?;
        verifier = checked;
        if !still_ok {
            break;
        }
    }
    Ok(verifier.finish())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Entries after this `seq` (0, the default, starts at the first).
    #[serde(default)]
    after: u64,
    /// At most this many (100 by default).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EntryPage {
    pub entries: Vec<Entry>,
    pub head: Head,
}

#[utoipa::path(get, path = "/v1/ledger", tag = tags::LEDGER, params(ListQuery),
    responses(
        (status = 200, description = "A page of entries, oldest first, and the head.", body = EntryPage),
        (status = 400, description = "A malformed `after` or `limit`.", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<EntryPage>, ApiError> {
    let limit = crate::page::limit(query.limit, 100)?;
    let entries = state.store().ledger(query.after, limit).await?;
    Ok(Json(EntryPage {
        entries,
        head: head_of(&state).await?,
    }))
}

async fn head_of(state: &AppState) -> Result<Head, ApiError> {
    Ok(state.store().ledger_head().await?.unwrap_or(Head {
        seq: 0,
        hash: GENESIS_HASH.to_owned(),
    }))
}

/// `SEQ` and `HASH` of the newest entry, to anchor elsewhere (a ticket, a git tag).
#[utoipa::path(get, path = "/v1/ledger/head", tag = tags::LEDGER,
    responses((status = 200, description = "The newest entry's `seq` and `hash` (0 and 64 zeros when empty).", body = Head)))]
pub async fn head(State(state): State<AppState>) -> Result<Json<Head>, ApiError> {
    Ok(Json(head_of(&state).await?))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyInfo {
    pub key_id: String,
    pub public_key: String,
    /// Every key this ledger used, oldest first; the first is the one to trust.
    pub public_keys: Vec<String>,
}

#[utoipa::path(get, path = "/v1/ledger/key", tag = tags::LEDGER,
    responses((status = 200, description = "The current public key and every key the ledger used.", body = KeyInfo)))]
pub async fn key(State(state): State<AppState>) -> Result<Json<KeyInfo>, ApiError> {
    let keys = state.ledger_keys();
    let current = keys
        .current()
        .ok_or_else(|| ApiError::Internal("ledger key unavailable".into()))?;
    let public_keys = keys
        .public_keys
        .read()
        .map(|k| k.iter().map(PublicKey::to_hex).collect())
        .unwrap_or_default();
    Ok(Json(KeyInfo {
        key_id: current.key_id(),
        public_key: current.to_hex(),
        public_keys,
    }))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// Keys to trust for the first entry (64 hex characters each); the server's genesis key
    /// by default.
    #[serde(default)]
    public_keys: Vec<String>,
    /// `SEQ:HASH` recorded earlier: proves the history up to it was not rewritten.
    #[schema(pattern = r"^\s*[0-9]+:[0-9A-Fa-f]{64}\s*$")]
    expect_head: Option<String>,
}

#[utoipa::path(post, path = "/v1/ledger/verify", tag = tags::LEDGER,
    request_body(content = Option<VerifyRequest>, description = "Optional: an empty body verifies with the server's genesis key."),
    responses(
        (status = 200, description = "The verification report (`ok: false` names the first bad entry).", body = Report),
        (status = 400, description = "A malformed body, key or head.", body = ErrorBody),
        (status = 503, description = "A verification is already running (`UNAVAILABLE`).", body = ErrorBody),
    ))]
pub async fn verify(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<Report>, ApiError> {
    // An empty body verifies with the server's genesis key.
    let request: VerifyRequest = if body.iter().all(u8::is_ascii_whitespace) {
        VerifyRequest::default()
    } else {
        parse_json(&body)?
    };
    let trusted = if request.public_keys.is_empty() {
        state.ledger_keys().genesis()
    } else {
        request
            .public_keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                PublicKey::from_hex(k).map_err(|e| {
                    ApiError::bad_request(
                        ErrorCode::InvalidPublicKey,
                        Some(&format!("public_keys[{i}]")),
                        e.to_string(),
                    )
                })
            })
            .collect::<Result<_, _>>()?
    };
    let expected = request
        .expect_head
        .map(|text| {
            Head::parse(&text).map_err(|e| {
                ApiError::bad_request(ErrorCode::InvalidHead, Some("expect_head"), e.to_string())
            })
        })
        .transpose()?;
    Ok(Json(verify_chain(&state, trusted, expected).await?))
}

/// Rotates the signing key: a `key_rotated` entry signed by the old key introduces the new
/// one, and every later entry is signed by the new key.
#[utoipa::path(post, path = "/v1/ledger/rotate-key", tag = tags::LEDGER, params(ActorHeader),
    responses(
        (status = 200, description = "Rotated: the new key signs every later entry.", body = KeyInfo),
        (status = 400, description = "A malformed header.", body = ErrorBody),
        (status = 409, description = "The key was given by path (`KEY_NOT_ROTATABLE`).", body = ErrorBody),
        (status = 507, description = "The data directory's disk is full; nothing was written.", body = ErrorBody),
    ))]
pub async fn rotate(
    State(state): State<AppState>,
    Actor(actor): Actor,
) -> Result<Json<KeyInfo>, ApiError> {
    let keys: Arc<LedgerKeys> = state.ledger_keys().clone();
    if !keys.rotatable {
        return Err(ApiError::KeyNotRotatable);
    }
    let _one_at_a_time = keys.rotating.lock().await;
    let next = keys::generate().map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Some(dir) = &keys.data_dir {
        keys::write(&keys::next_path(dir), &next).map_err(|e| ApiError::Internal(e.to_string()))?;
    }
    let new_key = next.public_key();
    let store_handle = state.clone();
    let swap = || {
        store_handle.store().set_ledger_signer(next.clone());
        if let Ok(mut signer) = keys.signer.write() {
            *signer = next.clone();
        }
        if let Ok(mut known) = keys.public_keys.write() {
            known.push(next.public_key());
        }
        if let Some(dir) = &keys.data_dir {
            keys::promote_next(dir, &next).map_err(|e| ApiError::Internal(e.to_string()))?;
        }
        Ok(())
    };
    state
        .mutate_then(
            &actor,
            |_, _| Ok((vec![Change::RotateLedgerKey { new_key }], ())),
            swap,
        )
        .await?;
    tracing::info!(key_id = next.key_id(), "ledger key rotated");
    key(State(state)).await
}
