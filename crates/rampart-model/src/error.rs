//! Stable error codes, and validation errors that name the offending field path (e.g.
//! `rules[2].serve.split.on`).

use std::fmt;

/// Declares [`ErrorCode`] from one table, so the code string, the HTTP status and the
/// meaning of every code are written exactly once.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $status:literal, $meaning:literal;)+) => {
        /// Every stable, machine-readable error code the admin API answers with (in
        /// `{"error": {"code": …}}`, and in `/v1/events` rejections). Clients switch on
        /// these strings; the set is pinned by a test and listed in the README.
        ///
        /// OFREP answers with OpenFeature's own error codes instead (`rampart_eval`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)+
        }

        impl ErrorCode {
            /// Every code, in the order of the README's table.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The stable code string used in API errors.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)+
                }
            }

            /// The HTTP status a request that fails with this code answers. Codes that
            /// only ever reject one event of a batch say 400, though the batch answers 200.
            pub fn http_status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status,)+
                }
            }

            /// What the code means, in one sentence (the README's table).
            pub fn meaning(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $meaning,)+
                }
            }

            /// The code with this string, if any.
            pub fn parse(code: &str) -> Option<ErrorCode> {
                match code {
                    $($code => Some(ErrorCode::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    // The request itself.
    /// The body is not syntactically valid JSON.
    InvalidJson = "INVALID_JSON", 400, "The body is not valid JSON (the message gives line and column).";
    /// A field has the wrong type or shape.
    InvalidField = "INVALID_FIELD", 400, "A field has the wrong type or shape, e.g. a number where a string or an array where an object is expected; `field` has its path.";
    /// An object names the same key twice.
    DuplicateKey = "DUPLICATE_KEY", 400, "An object names the same key twice (`field` is the path of the second); JSON objects in Rampart's API have unique keys.";
    /// The body is missing or of the wrong overall shape.
    InvalidBody = "INVALID_BODY", 400, "The body could not be read, or is not the JSON value the endpoint takes (e.g. not an array of events).";
    /// A header has a value that can't be used.
    InvalidHeader = "INVALID_HEADER", 400, "A header (`field` names it: `If-Match`, `X-Rampart-Actor`) has a value that can't be used.";
    /// A path parameter is malformed.
    InvalidPath = "INVALID_PATH", 400, "A path parameter is malformed, e.g. a rollout id that is not a number.";
    /// A query parameter is malformed or out of range.
    InvalidQuery = "INVALID_QUERY", 400, "A query parameter is malformed or out of range (`field` names it).";
    // Validation of flags, segments, documents and plans.
    /// A required field is missing or empty.
    Required = "REQUIRED", 400, "A required field is missing or empty.";
    /// A key or name has characters or a length that is not allowed.
    InvalidKey = "INVALID_KEY", 400, "A flag key, segment name or variant name has characters or a length that is not allowed.";
    /// A variant value does not match the flag's kind.
    WrongKind = "WRONG_KIND", 400, "A variant value does not match the flag's kind.";
    /// A rule, split, default, prerequisite or event names a variant that does not exist.
    UnknownVariant = "UNKNOWN_VARIANT", 400, "A rule, split, default, prerequisite, plan or event names a variant the flag does not have.";
    /// Split weights are out of range or do not sum to 10 000.
    InvalidWeights = "INVALID_WEIGHTS", 400, "Split weights are out of range or do not sum to 10000 basis points.";
    /// A condition's values do not fit its operator (count, type, regex, semver, CIDR, time).
    InvalidCondition = "INVALID_CONDITION", 400, "A condition's values do not fit its operator (count, type, regex, semver, CIDR, time).";
    /// A condition references a segment that does not exist.
    UnknownSegment = "UNKNOWN_SEGMENT", 400, "A condition or a rollout ring names a segment that does not exist.";
    /// A prerequisite, plan or event names a flag that does not exist.
    UnknownFlag = "UNKNOWN_FLAG", 400, "A prerequisite, plan or event names a flag that does not exist.";
    /// Prerequisites form a cycle.
    PrerequisiteCycle = "PREREQUISITE_CYCLE", 400, "Prerequisites would form a cycle; the message shows it.";
    /// A prerequisite chain is longer than evaluation follows.
    PrerequisiteTooDeep = "PREREQUISITE_TOO_DEEP", 400, "A prerequisite chain would be longer than evaluation follows (16 levels); the message shows it.";
    /// Two mutually exclusive fields are both set, or neither is; or an entry appears twice.
    Conflict = "CONFLICTING_FIELDS", 400, "Two mutually exclusive fields are both set or neither is, or a document lists the same flag or segment twice.";
    /// The document could not be parsed at all.
    Parse = "PARSE_ERROR", 400, "A flags-as-code document (YAML or JSON) could not be parsed.";
    /// A number is outside its allowed range.
    OutOfRange = "OUT_OF_RANGE", 400, "A number is outside its allowed range (α, tolerances, quantiles, limits, durations).";
    /// The body's key differs from the key in the URL.
    KeyMismatch = "KEY_MISMATCH", 400, "The key or name in the body differs from the one in the URL.";
    /// A revert names a revision at which the object has no version.
    RevisionNotFound = "REVISION_NOT_FOUND", 400, "A revert names a revision at which the object has no version; see its history.";
    /// A revert names the revision that deleted the object.
    RevisionIsDeletion = "REVISION_IS_DELETION", 400, "A revert names the revision that deleted the object; pick an earlier one.";
    /// An expected ledger head is not `SEQ:HASH`.
    InvalidHead = "INVALID_HEAD", 400, "An expected ledger head is not `SEQ:HASH`.";
    /// A ledger public key is not 32 bytes of hex.
    InvalidPublicKey = "INVALID_PUBLIC_KEY", 400, "A ledger public key is not an Ed25519 public key in hex.";
    // Events: each of these rejects one event of a batch, listed by index in `rejected`.
    /// An event's `outcome` is not `success` or `error`.
    InvalidOutcome = "INVALID_OUTCOME", 400, "Event: `outcome` is not `success` or `error`.";
    /// An event's `latency_ms` is not a latency.
    InvalidLatency = "INVALID_LATENCY", 400, "Event: `latency_ms` is not a number of milliseconds from 0 to one hour.";
    /// An event's custom `values` are malformed.
    InvalidValue = "INVALID_VALUE", 400, "Event: a custom value has a bad name, is not a whole count, or there are more than 16.";
    /// An event's `ts` is not a time.
    InvalidTs = "INVALID_TS", 400, "Event: `ts` is neither RFC 3339 nor milliseconds since the epoch.";
    /// An event's `ts` is too old or too far ahead.
    TsOutOfRange = "TS_OUT_OF_RANGE", 400, "Event: `ts` is more than an hour old or more than 5 minutes ahead of the server's clock.";
    /// An event is malformed in another way.
    InvalidEvent = "INVALID_EVENT", 400, "Event: not an object of the event shape (a missing or unknown field).";
    // The state of the world.
    /// The object or route does not exist.
    NotFound = "NOT_FOUND", 404, "The flag, segment, rollout or route does not exist.";
    /// The method is not allowed on the route.
    MethodNotAllowed = "METHOD_NOT_ALLOWED", 405, "The route exists but not with this HTTP method.";
    /// The client sent its request too slowly.
    RequestTimeout = "REQUEST_TIMEOUT", 408, "The request's headers or body did not arrive in time (serve --request-timeout).";
    /// A create names an object that exists, or a flag already has an active rollout.
    AlreadyExists = "ALREADY_EXISTS", 409, "A create names an object that exists, or the flag already has an active rollout.";
    /// Other objects depend on this one.
    InUse = "IN_USE", 409, "Other objects depend on this one (a prerequisite, a segment reference, a rollout ring); the message names them.";
    /// The flag is owned by an active rollout.
    RolloutActive = "ROLLOUT_ACTIVE", 409, "The flag is being rolled out: pause, roll back or abort the rollout first (enable/disable still work).";
    /// The rollout can't take that action in its current phase.
    IllegalTransition = "ILLEGAL_TRANSITION", 409, "The rollout can't take that action in its current phase; the message says why.";
    /// The object changed while the request ran; nothing was written.
    ConcurrentChange = "CONCURRENT_CHANGE", 409, "The object changed while this request ran (another writer or the rollout controller); nothing was written: read it again and retry.";
    /// The ledger key belongs to its owner, not to Rampart.
    KeyNotRotatable = "KEY_NOT_ROTATABLE", 409, "The ledger key was given by path (--ledger-key); its owner rotates it, not Rampart.";
    /// An If-Match revision is not the object's current one.
    RevisionMismatch = "REVISION_MISMATCH", 412, "The `If-Match` revision is not the object's current one: someone changed it since you read it.";
    /// The body is larger than the server accepts.
    PayloadTooLarge = "PAYLOAD_TOO_LARGE", 413, "The body is larger than the server accepts (serve --max-body-bytes, --max-events-body-bytes).";
    /// An event batch has more events than one request may carry.
    BatchTooLarge = "BATCH_TOO_LARGE", 413, "An event batch has more than 10000 events.";
    /// Something failed inside the server.
    Internal = "INTERNAL", 500, "Something failed inside the server; the detail is in the server's log.";
    /// The server can't take the request now.
    Unavailable = "UNAVAILABLE", 503, "The server can't take the request now (too many connections, or shutting down); retry after `Retry-After`.";
    /// The database can't be read or written.
    StorageUnavailable = "STORAGE_UNAVAILABLE", 503, "The database could not be read or written (a failing disk, a read-only filesystem); nothing was written. Retry after `Retry-After`.";
    /// The data directory's disk is full.
    StorageFull = "STORAGE_FULL", 507, "The data directory's disk is full: nothing was written; reads keep serving. Free space and retry.";
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The code as a string enum of every [`ErrorCode::ALL`] value, so the document can't list a
/// code the server does not have or miss one it has.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        ErrorCode::schema_of(ErrorCode::ALL.iter().copied())
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ErrorCode {}

#[cfg(feature = "openapi")]
impl ErrorCode {
    /// A string enum of these codes (for example those of one HTTP status).
    pub fn schema_of(
        codes: impl IntoIterator<Item = ErrorCode>,
    ) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(codes.into_iter().map(ErrorCode::as_str)))
            .description(Some(
                "A stable, machine-readable error code; the README's table says what each means.",
            ))
            .into()
    }
}

/// Why a flag, segment or document was rejected, and where. Displays as `field: message`,
/// or just the message when it is about the whole input (an empty field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}{}", .field, if .field.is_empty() { "" } else { ": " }, .message)]
pub struct ValidationError {
    code: ErrorCode,
    field: String,
    message: String,
}

impl ValidationError {
    pub fn new(code: ErrorCode, field: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationError {
            code,
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The field path, relative to the object that was validated (`rules[0].when[1].values`).
    pub fn field(&self) -> &str {
        &self.field
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// Prefixes the field path, so nested validators can report full paths.
    pub fn within(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() {
            parent.to_owned()
        } else if self.field.starts_with('[') {
            format!("{parent}{}", self.field)
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}

pub(crate) type Result<T, E = ValidationError> = std::result::Result<T, E>;
