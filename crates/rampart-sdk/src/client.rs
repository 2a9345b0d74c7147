//! The typed HTTP client. One method per admin endpoint; OFREP results are values, not errors.

use std::time::Duration;

use rampart_ledger::{Entry, Head, Report};
use rampart_model::api::{
    ApplyRequest, ApplyResponse, Deleted, ErrorBody, EventsResponse, FlagList, FlagResource,
    HealthEvent, History, OfrepBulk, OfrepResult, RevertRequest, SegmentList, SegmentResource,
    SnapshotBody,
};
use rampart_model::{Document, FlagSpec, Revision, SegmentSpec};
use rampart_rollout::view::{RolloutList, RolloutView};
use rampart_rollout::{PlanSpec, RollbackMode};
use reqwest::header::{ETAG, HeaderValue, IF_MATCH, IF_NONE_MATCH};
use reqwest::{Method, RequestBuilder, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    /// The server answered with an error envelope.
    #[error("{message} ({code}{})", field.as_deref().map(|f| format!(", field `{f}`")).unwrap_or_default())]
    Api {
        status: u16,
        code: String,
        message: String,
        field: Option<String>,
    },
    /// The server could not be reached, or the connection failed.
    #[error("cannot reach the Rampart server at {url}: {source}")]
    Transport { url: String, source: reqwest::Error },
    /// The server's answer was not what this client understands.
    #[error("unexpected answer from {url} (HTTP {status}): {detail}")]
    Decode {
        url: String,
        status: u16,
        detail: String,
    },
    #[error("invalid server URL `{0}`: expected e.g. http://127.0.0.1:4242")]
    InvalidUrl(String),
}

impl SdkError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            SdkError::Api { status, .. } | SdkError::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A page of the ledger and its current head.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct LedgerPage {
    pub entries: Vec<Entry>,
    pub head: Head,
}

/// The result of a bulk evaluation: `None` body when the server said 304 Not Modified.
#[derive(Debug, Clone)]
pub struct BulkEvaluation {
    pub etag: Option<String>,
    pub body: Option<OfrepBulk>,
}

/// A client for one Rampart server. Cheap to clone; connections are pooled.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
    actor: Option<String>,
}

impl Client {
    /// A client for `base_url` (e.g. `http://127.0.0.1:4242`) with a 10 s request timeout.
    pub fn new(base_url: &str) -> Result<Client, SdkError> {
        let base = Url::parse(base_url).map_err(|_| SdkError::InvalidUrl(base_url.to_owned()))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(SdkError::InvalidUrl(base_url.to_owned()));
        }
        // Rampart's API never redirects: a redirect is someone else answering, and following
        // it would send the bearer token on to wherever it points.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(3))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|source| SdkError::Transport {
                url: base_url.to_owned(),
                source,
            })?;
        Ok(Client {
            http,
            base,
            token: None,
            actor: None,
        })
    }

    /// Sends `Authorization: Bearer TOKEN` with every request.
    pub fn with_token(mut self, token: impl Into<String>) -> Client {
        self.token = Some(token.into());
        self
    }

    /// Names who makes changes (`X-Rampart-Actor`), recorded in history.
    pub fn with_actor(mut self, actor: impl Into<String>) -> Client {
        self.actor = Some(actor.into());
        self
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    fn request(&self, method: Method, segments: &[&str]) -> (Url, RequestBuilder) {
        let url = self.url(segments);
        let builder = self.identify(self.http.request(method, url.clone()));
        (url, builder)
    }

    /// Adds the bearer token and the actor, when set.
    fn identify(&self, mut builder: RequestBuilder) -> RequestBuilder {
        if let Some(token) = &self.token {
            builder = builder.bearer_auth(token);
        }
        if let Some(actor) = &self.actor {
            builder = builder.header("x-rampart-actor", actor);
        }
        builder
    }

    async fn send(
        &self,
        url: &Url,
        builder: RequestBuilder,
    ) -> Result<reqwest::Response, SdkError> {
        builder.send().await.map_err(|source| SdkError::Transport {
            url: url.to_string(),
            source,
        })
    }

    async fn call<T: DeserializeOwned>(
        &self,
        url: Url,
        builder: RequestBuilder,
    ) -> Result<T, SdkError> {
        let response = self.send(&url, builder).await?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|source| SdkError::Transport {
                url: url.to_string(),
                source,
            })?;
        if !status.is_success() {
            return Err(match serde_json::from_slice::<ErrorBody>(&bytes) {
                Ok(body) => SdkError::Api {
                    status: status.as_u16(),
                    code: body.error.code,
                    message: body.error.message,
                    field: body.error.field,
                },
                Err(_) => decode_error(&url, status, &bytes),
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| SdkError::Decode {
            url: url.to_string(),
            status: status.as_u16(),
            detail: e.to_string(),
        })
    }

    async fn get<T: DeserializeOwned>(&self, segments: &[&str]) -> Result<T, SdkError> {
        let (url, builder) = self.request(Method::GET, segments);
        self.call(url, builder).await
    }

    pub async fn health(&self) -> Result<Value, SdkError> {
        self.get(&["healthz"]).await
    }

    /// Every flag, following the server's pages.
    pub async fn list_flags(&self) -> Result<FlagList, SdkError> {
        let mut all: FlagList = self.get(&["v1", "flags"]).await?;
        while let Some(after) = all.next.take() {
            let page: FlagList = self
                .get_with(&["v1", "flags"], &[("after", &after)])
                .await?;
            all.flags.extend(page.flags);
            all.next = page.next;
        }
        Ok(all)
    }

    /// GET with query parameters.
    async fn get_with<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<T, SdkError> {
        let mut url = self.url(segments);
        url.query_pairs_mut().extend_pairs(query);
        let builder = self.identify(self.http.get(url.clone()));
        self.call(url, builder).await
    }

    /// Every version of an object, following the server's pages.
    async fn whole_history<T: DeserializeOwned>(
        &self,
        segments: &[&str],
    ) -> Result<History<T>, SdkError> {
        let mut all: History<T> = self.get(segments).await?;
        while let Some(after) = all.next.take() {
            let page: History<T> = self
                .get_with(segments, &[("after", &after.to_string())])
                .await?;
            all.history.extend(page.history);
            all.next = page.next;
        }
        Ok(all)
    }

    pub async fn get_flag(&self, key: &str) -> Result<FlagResource, SdkError> {
        self.get(&["v1", "flags", key]).await
    }

    pub async fn create_flag(&self, spec: &FlagSpec) -> Result<FlagResource, SdkError> {
        let (url, builder) = self.request(Method::POST, &["v1", "flags"]);
        self.call(url, builder.json(spec)).await
    }

    /// Replaces a flag. With `if_match`, fails with 412 if someone changed it since.
    pub async fn update_flag(
        &self,
        spec: &FlagSpec,
        if_match: Option<Revision>,
    ) -> Result<FlagResource, SdkError> {
        let (url, builder) = self.request(Method::PUT, &["v1", "flags", &spec.key]);
        self.call(url, with_if_match(builder.json(spec), if_match))
            .await
    }

    pub async fn delete_flag(
        &self,
        key: &str,
        if_match: Option<Revision>,
    ) -> Result<Deleted, SdkError> {
        let (url, builder) = self.request(Method::DELETE, &["v1", "flags", key]);
        self.call(url, with_if_match(builder, if_match)).await
    }

    /// Enables a flag, or disables it: the kill switch.
    pub async fn set_flag_enabled(
        &self,
        key: &str,
        enabled: bool,
        if_match: Option<Revision>,
    ) -> Result<FlagResource, SdkError> {
        let action = if enabled { "enable" } else { "disable" };
        let (url, builder) = self.request(Method::POST, &["v1", "flags", key, action]);
        self.call(url, with_if_match(builder, if_match)).await
    }

    pub async fn flag_history(&self, key: &str) -> Result<History<FlagSpec>, SdkError> {
        self.whole_history(&["v1", "flags", key, "history"]).await
    }

    pub async fn revert_flag(
        &self,
        key: &str,
        to_revision: Revision,
    ) -> Result<FlagResource, SdkError> {
        let (url, builder) = self.request(Method::POST, &["v1", "flags", key, "revert"]);
        self.call(url, builder.json(&RevertRequest { to_revision }))
            .await
    }

    /// Every segment, following the server's pages.
    pub async fn list_segments(&self) -> Result<SegmentList, SdkError> {
        let mut all: SegmentList = self.get(&["v1", "segments"]).await?;
        while let Some(after) = all.next.take() {
            let page: SegmentList = self
                .get_with(&["v1", "segments"], &[("after", &after)])
                .await?;
            all.segments.extend(page.segments);
            all.next = page.next;
        }
        Ok(all)
    }

    pub async fn get_segment(&self, name: &str) -> Result<SegmentResource, SdkError> {
        self.get(&["v1", "segments", name]).await
    }

    pub async fn create_segment(&self, spec: &SegmentSpec) -> Result<SegmentResource, SdkError> {
        let (url, builder) = self.request(Method::POST, &["v1", "segments"]);
        self.call(url, builder.json(spec)).await
    }

    pub async fn update_segment(
        &self,
        spec: &SegmentSpec,
        if_match: Option<Revision>,
    ) -> Result<SegmentResource, SdkError> {
        let (url, builder) = self.request(Method::PUT, &["v1", "segments", &spec.name]);
        self.call(url, with_if_match(builder.json(spec), if_match))
            .await
    }

    pub async fn delete_segment(
        &self,
        name: &str,
        if_match: Option<Revision>,
    ) -> Result<Deleted, SdkError> {
        let (url, builder) = self.request(Method::DELETE, &["v1", "segments", name]);
        self.call(url, with_if_match(builder, if_match)).await
    }

    pub async fn segment_history(&self, name: &str) -> Result<History<SegmentSpec>, SdkError> {
        self.whole_history(&["v1", "segments", name, "history"])
            .await
    }

    pub async fn snapshot(&self) -> Result<SnapshotBody, SdkError> {
        self.get(&["v1", "snapshot"]).await
    }

    /// Plans (`dry_run`) or applies a flags-as-code document atomically.
    pub async fn apply(
        &self,
        document: &Document,
        dry_run: bool,
    ) -> Result<ApplyResponse, SdkError> {
        let (url, builder) = self.request(Method::POST, &["v1", "apply"]);
        let request = ApplyRequest {
            document: document.clone(),
            dry_run,
        };
        self.call(url, builder.json(&request)).await
    }

    /// Creates and starts a rollout.
    pub async fn start_rollout(&self, plan: &PlanSpec) -> Result<RolloutView, SdkError> {
        let (url, builder) = self.request(Method::POST, &["v1", "rollouts"]);
        self.call(url, builder.json(plan)).await
    }

    /// Rollouts, newest first; optionally one flag's, optionally only those in progress.
    /// Follows the server's pages up to `limit` rollouts (all of them when `None`).
    pub async fn list_rollouts(
        &self,
        flag: Option<&str>,
        active_only: bool,
        limit: Option<usize>,
    ) -> Result<Vec<RolloutView>, SdkError> {
        let mut rollouts = Vec::new();
        let mut before = None;
        loop {
            let mut query = Vec::new();
            if let Some(flag) = flag {
                query.push(("flag", flag.to_owned()));
            }
            if active_only {
                query.push(("active", "true".to_owned()));
            }
            if let Some(before) = before {
                query.push(("before", format!("{before}")));
            }
            let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let page: RolloutList = self.get_with(&["v1", "rollouts"], &query).await?;
            rollouts.extend(page.rollouts);
            before = page.next_before;
            if let Some(limit) = limit
                && rollouts.len() >= limit
            {
                rollouts.truncate(limit);
                break;
            }
            if before.is_none() {
                break;
            }
        }
        Ok(rollouts)
    }

    /// One rollout with its history.
    pub async fn get_rollout(&self, id: u64) -> Result<RolloutView, SdkError> {
        self.get(&["v1", "rollouts", &id.to_string()]).await
    }

    /// `pause`, `resume`, `approve`, `promote` or `abort`.
    pub async fn rollout_action(&self, id: u64, action: &str) -> Result<RolloutView, SdkError> {
        let (url, builder) =
            self.request(Method::POST, &["v1", "rollouts", &id.to_string(), action]);
        self.call(url, builder).await
    }

    pub async fn rollback(
        &self,
        id: u64,
        mode: RollbackMode,
        reason: &str,
    ) -> Result<RolloutView, SdkError> {
        let (url, builder) = self.request(
            Method::POST,
            &["v1", "rollouts", &id.to_string(), "rollback"],
        );
        self.call(
            url,
            builder.json(&serde_json::json!({"mode": mode, "reason": reason})),
        )
        .await
    }

    /// Sends one batch of health events (at most 10 000). Events the server refuses are
    /// listed in the answer's `rejected`; the valid ones are accepted regardless.
    pub async fn send_events(&self, events: &[HealthEvent]) -> Result<EventsResponse, SdkError> {
        let (url, builder) = self.request(Method::POST, &["v1", "events"]);
        self.call(url, builder.json(events)).await
    }

    /// Evaluations served per variant, and shadow (counterfactual) counts.
    pub async fn flag_counts(&self, key: &str) -> Result<Value, SdkError> {
        self.get(&["v1", "flags", key, "counts"]).await
    }

    /// Ledger entries after `after`, oldest first, with the current head.
    pub async fn ledger_page(&self, after: u64, limit: u32) -> Result<LedgerPage, SdkError> {
        let mut url = self.url(&["v1", "ledger"]);
        url.query_pairs_mut()
            .append_pair("after", &after.to_string())
            .append_pair("limit", &limit.to_string());
        let builder = self.identify(self.http.get(url.clone()));
        self.call(url, builder).await
    }

    /// The whole ledger, page by page.
    pub async fn ledger_all(&self) -> Result<Vec<Entry>, SdkError> {
        let mut entries: Vec<Entry> = Vec::new();
        loop {
            let after = entries.last().map_or(0, |e| e.seq);
            let page = self.ledger_page(after, 1_000).await?;
            if page.entries.is_empty() {
                return Ok(entries);
            }
            entries.extend(page.entries);
        }
    }

    pub async fn ledger_head(&self) -> Result<Head, SdkError> {
        self.get(&["v1", "ledger", "head"]).await
    }

    /// The current signing key and every key the ledger has used (`key_id`, `public_key`,
    /// `public_keys`).
    pub async fn ledger_key(&self) -> Result<Value, SdkError> {
        self.get(&["v1", "ledger", "key"]).await
    }

    /// Asks the server to verify its ledger, trusting `public_keys` (its genesis key if empty).
    pub async fn ledger_verify(
        &self,
        public_keys: &[String],
        expect_head: Option<&str>,
    ) -> Result<Report, SdkError> {
        let (url, builder) = self.request(Method::POST, &["v1", "ledger", "verify"]);
        let body = serde_json::json!({"public_keys": public_keys, "expect_head": expect_head});
        self.call(url, builder.json(&body)).await
    }

    pub async fn ledger_rotate_key(&self) -> Result<Value, SdkError> {
        let (url, builder) = self.request(Method::POST, &["v1", "ledger", "rotate-key"]);
        self.call(url, builder).await
    }

    /// OFREP single-flag evaluation. Evaluation failures (404 FLAG_NOT_FOUND, 400
    /// TARGETING_KEY_MISSING, ...) come back as `OfrepResult::Failure`, not as errors. The
    /// context is a JSON object (`{}` for none); anything else, `null` included, is answered
    /// with `INVALID_CONTEXT`.
    pub async fn evaluate(&self, key: &str, context: &Value) -> Result<OfrepResult, SdkError> {
        let (url, builder) = self.request(Method::POST, &["ofrep", "v1", "evaluate", "flags", key]);
        let response = self
            .send(
                &url,
                builder.json(&serde_json::json!({ "context": context })),
            )
            .await?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|source| SdkError::Transport {
                url: url.to_string(),
                source,
            })?;
        serde_json::from_slice(&bytes).map_err(|_| decode_error(&url, status, &bytes))
    }

    /// OFREP bulk evaluation. Pass the last `etag` to get `body: None` when nothing changed.
    pub async fn evaluate_all(
        &self,
        context: &Value,
        etag: Option<&str>,
    ) -> Result<BulkEvaluation, SdkError> {
        let (url, mut builder) = self.request(Method::POST, &["ofrep", "v1", "evaluate", "flags"]);
        if let Some(etag) = etag.and_then(|e| HeaderValue::from_str(e).ok()) {
            builder = builder.header(IF_NONE_MATCH, etag);
        }
        let response = self
            .send(
                &url,
                builder.json(&serde_json::json!({ "context": context })),
            )
            .await?;
        let status = response.status();
        let etag = response
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if status == StatusCode::NOT_MODIFIED {
            return Ok(BulkEvaluation { etag, body: None });
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|source| SdkError::Transport {
                url: url.to_string(),
                source,
            })?;
        if !status.is_success() {
            return Err(decode_error(&url, status, &bytes));
        }
        let body =
            serde_json::from_slice(&bytes).map_err(|_| decode_error(&url, status, &bytes))?;
        Ok(BulkEvaluation {
            etag,
            body: Some(body),
        })
    }
}

fn with_if_match(builder: RequestBuilder, if_match: Option<Revision>) -> RequestBuilder {
    match if_match {
        Some(revision) => builder.header(IF_MATCH, format!("\"{revision}\"")),
        None => builder,
    }
}

fn decode_error(url: &Url, status: StatusCode, bytes: &[u8]) -> SdkError {
    let text = String::from_utf8_lossy(bytes);
    let detail: String = text.chars().take(300).collect();
    SdkError::Decode {
        url: url.to_string(),
        status: status.as_u16(),
        detail,
    }
}
