//! Wire types of the admin API, shared by the server and the SDK so the two can't drift.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Revision;
use crate::flag::FlagSpec;
use crate::segment::SegmentSpec;

/// Metadata the server keeps for every flag and segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ObjectMeta {
    /// The config revision that last changed this object; use it as `If-Match`.
    pub revision: Revision,
    /// RFC 3339.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    /// RFC 3339.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub updated_at: String,
    pub updated_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlagResource {
    pub flag: FlagSpec,
    #[serde(flatten)]
    pub meta: ObjectMeta,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SegmentResource {
    pub segment: SegmentSpec,
    #[serde(flatten)]
    pub meta: ObjectMeta,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlagList {
    pub revision: Revision,
    pub flags: Vec<FlagResource>,
    /// More flags follow: ask again with `?after=` this key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SegmentList {
    pub revision: Revision,
    pub segments: Vec<SegmentResource>,
    /// More segments follow: ask again with `?after=` this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// One version in an object's history. `value` is absent for a deletion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryItem<T> {
    pub revision: Revision,
    /// RFC 3339.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub at: String,
    pub actor: String,
    /// `created`, `updated` or `deleted`.
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::history_op))]
    pub op: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<T>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct History<T> {
    pub key: String,
    pub history: Vec<HistoryItem<T>>,
    /// More versions follow: ask again with `?after=` this revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<Revision>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevertRequest {
    pub to_revision: Revision,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deleted {
    pub key: String,
    pub revision: Revision,
}

/// The whole configuration, as `GET /v1/snapshot` serves it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SnapshotBody {
    pub revision: Revision,
    pub segments: Vec<SegmentSpec>,
    pub flags: Vec<FlagSpec>,
}

/// `POST /v1/apply`: make the server's config match a document, atomically.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApplyRequest {
    pub document: crate::Document,
    /// Compute and return the plan without changing anything.
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PlannedAction {
    Create,
    Update,
    Unchanged,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlannedChange {
    /// `flag` or `segment`.
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::planned_kind))]
    pub kind: String,
    pub key: String,
    pub action: PlannedAction,
    /// Top-level fields that differ, for updates (`rules`, `fallthrough`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApplyResponse {
    /// The revision after the apply (unchanged for a dry run or a no-op).
    pub revision: Revision,
    pub applied: bool,
    pub changes: Vec<PlannedChange>,
}

/// The admin API's error envelope: `{"error": {"code", "message", "field"?}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::ErrorCode))]
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An OFREP evaluation result: a success or a failure, as the OFREP OpenAPI spec shapes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OfrepResult {
    Failure(OfrepFailure),
    Success(OfrepSuccess),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfrepSuccess {
    pub key: String,
    pub value: Value,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub metadata: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OfrepFailure {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub error_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_details: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfrepBulk {
    pub flags: Vec<OfrepResult>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub metadata: serde_json::Map<String, Value>,
}

/// The most events one `POST /v1/events` request may carry.
pub const MAX_EVENTS_PER_BATCH: usize = 10_000;

/// How a request that used a flag ended, as reported in a [`HealthEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventOutcome {
    Success,
    Error,
}

/// When an event happened: milliseconds since the Unix epoch, or RFC 3339 text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventTime {
    Millis(u64),
    Text(String),
}

/// One health event, as services (or the SDK's reporter) send them to `POST /v1/events`:
/// the outcome of one request served with `variant` of `flag`. `shadow` marks the outcome
/// of a candidate path run in the dark during a shadow step; `values` are custom counters
/// (non-negative integer counts, e.g. `{"checkout_failed": 1}`); `ts` defaults to receipt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthEvent {
    pub flag: String,
    pub variant: String,
    pub outcome: EventOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub values: IndexMap<String, f64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shadow: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<EventTime>,
}

/// Why one event of a batch was refused; `index` is its position in the batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventRejection {
    pub index: usize,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::ErrorCode))]
    pub code: String,
    pub message: String,
}

/// The answer to `POST /v1/events`: every valid event is accepted even when others in the
/// batch are rejected. `judged` counts the accepted events that fed an active rollout's
/// analysis (the rest name a flag or variant no rollout is comparing right now).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventsResponse {
    pub accepted: u64,
    pub judged: u64,
    pub rejected: Vec<EventRejection>,
}

/// Schemas of fields whose Rust type is wider than what they hold.
#[cfg(feature = "openapi")]
mod schema {
    use utoipa::openapi::schema::{ObjectBuilder, Type};

    fn string_enum(values: &[&str]) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(values.iter().copied()))
    }

    pub fn history_op() -> ObjectBuilder {
        string_enum(&["created", "updated", "deleted"])
    }

    pub fn planned_kind() -> ObjectBuilder {
        string_enum(&["flag", "segment"])
    }
}

/// Formats Unix milliseconds as RFC 3339 (UTC), as the API shows times. A time out of
/// range shows as its number of milliseconds.
pub fn rfc3339(at_ms: i64) -> String {
    let nanos = i128::from(at_ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| at_ms.to_string())
}
