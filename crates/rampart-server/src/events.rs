//! `POST /v1/events`: health events from services (or the SDK's reporter) into the judge.
//!
//! The body is a JSON array of events, at most [`MAX_EVENTS_PER_BATCH`] of them (an
//! oversized batch is refused after reading one event past the limit). Each event is validated on its own: a bad one is listed
//! in `rejected` with its index, a code and a message, and never drops the good ones.

use std::cell::Cell;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use rampart_judge::Outcome;
use rampart_model::api::{EventOutcome, EventRejection, EventTime, EventsResponse, HealthEvent};
use rampart_model::{Catalog, ErrorCode};
use serde::de::{DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::controller::Controller;
use crate::error::ApiError;
use crate::extract::body_bytes;
use crate::health::Sample;
use crate::openapi::tags;
use crate::state::Live;
use rampart_model::api::ErrorBody;

pub use rampart_model::api::MAX_EVENTS_PER_BATCH;
/// 8 MiB: 10 000 events with a few custom values each, with room to spare.
pub const DEFAULT_MAX_EVENTS_BODY_BYTES: usize = 8 << 20;
/// Latencies above an hour are not request latencies.
const MAX_LATENCY_MS: f64 = 3_600_000.0;
/// Events may be this late (ms) …
const MAX_AGE_MS: u64 = 3_600_000;
/// … or this far ahead of the server's clock (clock skew).
const MAX_SKEW_MS: u64 = 300_000;
/// Custom values are counts; larger ones are certainly a mistake.
const MAX_VALUE: f64 = 1e9;
/// Custom values one event may carry.
const MAX_VALUES: usize = 16;

/// Reads a JSON array of raw events, but stops at [`MAX_EVENTS_PER_BATCH`] + 1 elements:
/// an oversized batch costs no more memory than a full one.
struct Bounded<'c>(&'c Cell<bool>);

impl<'de> DeserializeSeed<'de> for Bounded<'_> {
    type Value = Vec<&'de RawValue>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Bounded<'_> {
    type Value = Vec<&'de RawValue>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON array of events")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut events = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1_024));
        while let Some(event) = seq.next_element::<&RawValue>()? {
            if events.len() == MAX_EVENTS_PER_BATCH {
                self.0.set(true);
                return Err(serde::de::Error::custom("too many events"));
            }
            events.push(event);
        }
        Ok(events)
    }
}

fn parse_batch(bytes: &[u8]) -> Result<Vec<&RawValue>, ApiError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if first != Some(b'[') {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidBody,
            None,
            "expected a JSON array of events: [{\"flag\": …, \"variant\": …, \"outcome\": …}, …]",
        ));
    }
    let overflow = Cell::new(false);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = Bounded(&overflow)
        .deserialize(&mut deserializer)
        .and_then(|events| deserializer.end().map(|()| events));
    parsed.map_err(|e| {
        if overflow.get() {
            ApiError::TooManyEvents {
                count: MAX_EVENTS_PER_BATCH + 1,
            }
        } else {
            ApiError::bad_request(
                ErrorCode::InvalidJson,
                None,
                format!("request body is not a valid event batch: {e}"),
            )
        }
    })
}

/// The request body of `POST /v1/events`, for the OpenAPI document: an array of at most
/// [`MAX_EVENTS_PER_BATCH`] items that should be [`HealthEvent`]s. An item that is not one is
/// rejected by index (`rejected`), not refused with the batch, so the schema of an item is
/// "a `HealthEvent`, or anything".
#[derive(Debug)]
pub struct EventBatch;

impl utoipa::PartialSchema for EventBatch {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder, ObjectBuilder, SchemaType};
        let anything = ObjectBuilder::new().schema_type(SchemaType::AnyValue);
        let item = AnyOfBuilder::new()
            .item(utoipa::openapi::Ref::from_schema_name("HealthEvent"))
            .item(anything)
            .description(Some(
                "A `HealthEvent`. Anything else is listed in `rejected` with its index and code.",
            ));
        ArrayBuilder::new()
            .items(item)
            .max_items(Some(MAX_EVENTS_PER_BATCH))
            .into()
    }
}

impl utoipa::ToSchema for EventBatch {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        schemas.push((
            "HealthEvent".to_owned(),
            <HealthEvent as utoipa::PartialSchema>::schema(),
        ));
        <HealthEvent as utoipa::ToSchema>::schemas(schemas);
    }
}

/// A shape error's code, from the path of the field that failed.
fn shape_code(path: &str) -> ErrorCode {
    match path.split(['.', '[']).next().unwrap_or_default() {
        "ts" => ErrorCode::InvalidTs,
        "latency_ms" => ErrorCode::InvalidLatency,
        "values" => ErrorCode::InvalidValue,
        "outcome" => ErrorCode::InvalidOutcome,
        _ => ErrorCode::InvalidEvent,
    }
}

/// Parses one event, strictly (`rampart_model::json`): a shape error names the field and
/// gets that field's code; a key given twice is `DUPLICATE_KEY`. Only a bad event pays for
/// the detailed error: a good one takes one pass.
fn parse_event(raw: &RawValue) -> Result<HealthEvent, (ErrorCode, String)> {
    rampart_model::json::from_str(raw.get()).map_err(|e| {
        let code = match e.code() {
            ErrorCode::DuplicateKey => ErrorCode::DuplicateKey,
            _ if e.field().is_empty() => ErrorCode::InvalidEvent,
            _ => shape_code(e.field()),
        };
        (code, e.to_string())
    })
}

fn reject(index: usize, code: ErrorCode, message: String) -> EventRejection {
    EventRejection {
        index,
        code: code.as_str().to_owned(),
        message,
    }
}

/// The event's time in ms since the epoch; receipt time when absent.
fn timestamp(ts: Option<&EventTime>, now_ms: u64) -> Result<u64, (ErrorCode, String)> {
    let at_ms = match ts {
        None => return Ok(now_ms),
        Some(EventTime::Millis(ms)) => *ms,
        Some(EventTime::Text(text)) => {
            let parsed = time::OffsetDateTime::parse(
                text,
                &time::format_description::well_known::Rfc3339,
            )
            .map_err(|e| {
                (
                    ErrorCode::InvalidTs,
                    format!(
                        "ts: {text:?} is not RFC 3339 ({e}); or send milliseconds since the epoch"
                    ),
                )
            })?;
            u64::try_from(parsed.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
        }
    };
    if at_ms.saturating_add(MAX_AGE_MS) < now_ms || at_ms > now_ms.saturating_add(MAX_SKEW_MS) {
        return Err((
            ErrorCode::TsOutOfRange,
            format!(
                "ts: {at_ms} ms is more than {} min before or {} min after the server's clock ({now_ms} ms)",
                MAX_AGE_MS / 60_000,
                MAX_SKEW_MS / 60_000
            ),
        ));
    }
    Ok(at_ms.min(now_ms))
}

fn valid_value_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
}

/// Checks one parsed event against the catalog and turns it into a sample.
fn check<'e>(
    catalog: &Catalog,
    event: &'e HealthEvent,
    now_ms: u64,
) -> Result<Sample<'e>, (ErrorCode, String)> {
    let Some(flag) = catalog.flag(&event.flag) else {
        return Err((
            ErrorCode::UnknownFlag,
            format!("flag: no flag `{}`", event.flag),
        ));
    };
    if !flag.spec().variants.contains_key(&event.variant) {
        return Err((
            ErrorCode::UnknownVariant,
            format!(
                "variant: flag `{}` has no variant `{}`",
                event.flag, event.variant
            ),
        ));
    }
    if let Some(latency) = event.latency_ms
        && !(latency.is_finite() && (0.0..=MAX_LATENCY_MS).contains(&latency))
    {
        return Err((
            ErrorCode::InvalidLatency,
            format!(
                "latency_ms: {latency} is not a latency; expected milliseconds from 0 to {MAX_LATENCY_MS}"
            ),
        ));
    }
    if event.values.len() > MAX_VALUES {
        return Err((
            ErrorCode::InvalidValue,
            format!(
                "values: {} custom values; an event carries at most {MAX_VALUES}",
                event.values.len()
            ),
        ));
    }
    let mut counters = Vec::with_capacity(event.values.len());
    for (name, value) in &event.values {
        if !valid_value_name(name) {
            return Err((
                ErrorCode::InvalidValue,
                format!("values: {name:?} is not a valid name (1-64 of A-Z a-z 0-9 _ - . :)"),
            ));
        }
        if !(value.is_finite() && *value >= 0.0 && value.fract() == 0.0 && *value <= MAX_VALUE) {
            return Err((
                ErrorCode::InvalidValue,
                format!("values.{name}: {value} is not a count; expected a whole number >= 0"),
            ));
        }
        counters.push((name.as_str(), *value as u64));
    }
    let at_ms = timestamp(event.ts.as_ref(), now_ms)?;
    Ok(Sample {
        flag: &event.flag,
        variant: &event.variant,
        outcome: match event.outcome {
            EventOutcome::Success => Outcome::Success,
            EventOutcome::Error => Outcome::Error,
        },
        latency_ms: event.latency_ms,
        counters,
        shadow: event.shadow,
        at_ms,
    })
}

#[utoipa::path(post, path = "/v1/events", tag = tags::EVENTS,
    request_body(content = EventBatch, description = "A JSON array of at most 10,000 health events. \
        Each is validated on its own: one that is not a valid `HealthEvent` (or names an unknown \
        flag or variant) is listed in `rejected` by index, and the others are accepted."),
    responses(
        (status = 200, description = "What was accepted, judged and rejected.", body = EventsResponse),
        (status = 400, description = "The body is not a JSON array (`INVALID_BODY`, `INVALID_JSON`).", body = ErrorBody),
        (status = 413, description = "More than 10,000 events (`BATCH_TOO_LARGE`), or too many bytes.", body = ErrorBody),
    ))]
pub async fn ingest(
    State(live): State<Live>,
    State(controller): State<Arc<Controller>>,
    request: Request,
) -> Result<Json<EventsResponse>, ApiError> {
    let bytes = body_bytes(request, &()).await?;
    let published = live.load();
    let ((accepted, judged), rejected) = validate_batch(
        &bytes,
        published.catalog(),
        || u64::try_from(controller.now()).unwrap_or(0),
        |samples| (samples.len() as u64, controller.health().ingest(samples)),
    )?;
    Ok(Json(EventsResponse {
        accepted,
        judged,
        rejected,
    }))
}

/// The pure part of `POST /v1/events`: parses a batch body and checks each event against
/// `catalog`, as [`ingest`] does, without recording anything. `now_ms` is read once the
/// body has parsed; `accept` gets the valid events as samples, and its output comes back
/// with the rejections (sorted by index). Public so the fuzz targets run exactly this.
pub fn validate_batch<R>(
    bytes: &[u8],
    catalog: &Catalog,
    now_ms: impl FnOnce() -> u64,
    accept: impl FnOnce(&[Sample<'_>]) -> R,
) -> Result<(R, Vec<EventRejection>), ApiError> {
    let raw = parse_batch(bytes)?;
    let now_ms = now_ms();
    let mut rejected = Vec::new();
    let mut events = Vec::with_capacity(raw.len());
    for (index, raw) in raw.iter().enumerate() {
        match parse_event(raw) {
            Ok(event) => events.push((index, event)),
            Err((code, message)) => rejected.push(reject(index, code, message)),
        }
    }
    let mut samples = Vec::with_capacity(events.len());
    for (index, event) in &events {
        match check(catalog, event, now_ms) {
            Ok(sample) => samples.push(sample),
            Err((code, message)) => rejected.push(reject(*index, code, message)),
        }
    }
    rejected.sort_by_key(|r| r.index);
    Ok((accept(&samples), rejected))
}
