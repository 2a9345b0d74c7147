//! The two versioned tables (flags, segments): their SQL, and how bodies encode and decode.
//!
//! Flags and segments are stored the same way, so one generic code path serves both; the
//! statements are `&'static str` built with `concat!`, never formatted at run time.

use rampart_model::{Flag, FlagSpec, Revision, Segment, SegmentSpec, ValidationError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::StoreError;

/// The statements for one kind of versioned object.
#[derive(Debug)]
pub(super) struct Table {
    /// "flag" or "segment", as used in errors.
    pub kind: &'static str,
    /// All current rows: `(key, revision, created_at, updated_at, updated_by, body)`.
    pub select_all: &'static str,
    /// One current row's revision, by key.
    pub select_one: &'static str,
    /// `(key, revision, created_at, updated_at, updated_by, body)`.
    pub insert: &'static str,
    /// `(key, revision, updated_at, updated_by, body)`.
    pub update: &'static str,
    /// `(key)`.
    pub delete: &'static str,
    /// `(key, revision, at, actor, op, body)`.
    pub insert_history: &'static str,
    /// One key's history, oldest first: `(revision, at, actor, op, body)`.
    pub select_history: &'static str,
}

macro_rules! table {
    ($kind:literal, $current:literal, $history:literal, $key:literal) => {
        Table {
            kind: $kind,
            select_all: concat!(
                "SELECT ",
                $key,
                ", revision, created_at, updated_at, updated_by, body FROM ",
                $current,
                " ORDER BY ",
                $key
            ),
            select_one: concat!("SELECT revision FROM ", $current, " WHERE ", $key, " = $1"),
            insert: concat!(
                "INSERT INTO ",
                $current,
                " (",
                $key,
                ", revision, created_at, updated_at, updated_by, body) \
                 VALUES ($1, $2, $3, $4, $5, $6)"
            ),
            update: concat!(
                "UPDATE ",
                $current,
                " SET revision = $2, updated_at = $3, updated_by = $4, body = $5 WHERE ",
                $key,
                " = $1"
            ),
            delete: concat!("DELETE FROM ", $current, " WHERE ", $key, " = $1"),
            insert_history: concat!(
                "INSERT INTO ",
                $history,
                " (",
                $key,
                ", revision, at, actor, op, body) VALUES ($1, $2, $3, $4, $5, $6)"
            ),
            select_history: concat!(
                "SELECT revision, at, actor, op, body FROM ",
                $history,
                " WHERE ",
                $key,
                " = $1 ORDER BY id"
            ),
        }
    };
}

pub(super) const FLAGS: Table = table!("flag", "flags", "flag_history", "key");
pub(super) const SEGMENTS: Table = table!("segment", "segments", "segment_history", "name");

/// A validated object stored as the JSON of its spec.
pub(super) trait Versioned: Sized {
    type Spec: Serialize + DeserializeOwned;
    const TABLE: &'static Table;

    fn validate(spec: Self::Spec) -> Result<Self, ValidationError>;
    fn spec_key(spec: &Self::Spec) -> &str;
}

impl Versioned for Flag {
    type Spec = FlagSpec;
    const TABLE: &'static Table = &FLAGS;

    fn validate(spec: FlagSpec) -> Result<Flag, ValidationError> {
        Flag::try_new(spec)
    }

    fn spec_key(spec: &FlagSpec) -> &str {
        &spec.key
    }
}

impl Versioned for Segment {
    type Spec = SegmentSpec;
    const TABLE: &'static Table = &SEGMENTS;

    fn validate(spec: SegmentSpec) -> Result<Segment, ValidationError> {
        Segment::try_new(spec)
    }

    fn spec_key(spec: &SegmentSpec) -> &str {
        &spec.name
    }
}

/// Names a stored object in a [`StoreError::Corrupt`].
pub(super) fn describe(table: &Table, key: &str) -> String {
    format!("{} `{key}`", table.kind)
}

pub(super) fn encode<S: Serialize>(
    table: &Table,
    key: &str,
    spec: &S,
) -> Result<String, StoreError> {
    serde_json::to_string(spec).map_err(|error| StoreError::Corrupt {
        what: describe(table, key),
        reason: format!("cannot encode as JSON: {error}"),
    })
}

/// Parses a stored body and checks it belongs to `key`; `what` names it in errors.
pub(super) fn decode_spec<T: Versioned>(
    key: &str,
    what: &str,
    body: &str,
) -> Result<T::Spec, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        what: what.to_owned(),
        reason,
    };
    let spec: T::Spec = serde_json::from_str(body)
        .map_err(|error| corrupt(format!("body is not valid: {error}")))?;
    let body_key = T::spec_key(&spec);
    if body_key != key {
        return Err(corrupt(format!("body is for `{body_key}`, not `{key}`")));
    }
    Ok(spec)
}

/// Parses and validates a current body.
pub(super) fn decode<T: Versioned>(key: &str, body: &str) -> Result<T, StoreError> {
    let what = describe(T::TABLE, key);
    let spec = decode_spec::<T>(key, &what, body)?;
    T::validate(spec).map_err(|error| StoreError::Corrupt {
        what,
        reason: format!("body fails validation: {error}"),
    })
}

/// Reads a revision column; revisions are never negative.
pub(super) fn revision_from_db(
    what: impl FnOnce() -> String,
    value: i64,
) -> Result<Revision, StoreError> {
    Revision::try_from(value).map_err(|_| StoreError::Corrupt {
        what: what(),
        reason: format!("negative revision {value}"),
    })
}

/// Writes a revision column. Revisions come from the database, so they always fit.
pub(super) fn revision_to_db(revision: Revision) -> Result<i64, StoreError> {
    i64::try_from(revision).map_err(|_| StoreError::Corrupt {
        what: "config revision".to_owned(),
        reason: format!("revision {revision} does not fit in a 64-bit signed integer"),
    })
}
