//! Rampart's evaluation engine: compile a catalog into a [`Snapshot`], evaluate flags.
//!
//! Layout:
//! - [`mod@bucket`]: the split hash, `b = (murmur3_x86_32(salt ++ value, 0) * 10_000) >> 32`.
//! - [`context`]: [`Context`], the targeting key plus attributes an evaluation sees.
//! - [`resolution`]: [`Resolution`], [`Reason`], [`ErrorCode`] and [`Metadata`].
//! - [`snapshot`]: [`Snapshot`], the compiled, immutable form of one catalog revision, and
//!   the evaluator that walks it.
//! - `compiled` and `condition` (private): flags, serves and conditions with every regex,
//!   CIDR, semver and timestamp pre-parsed and every reference resolved to an index.
//!
//! Architecture invariant: this crate is pure and synchronous. It does no IO, never reads
//! the clock or the environment, and never panics on any flag, context or key. Compilation
//! is infallible; evaluation allocates nothing on its success path.
//!
//! # Evaluation semantics
//!
//! 1. An unknown flag resolves to no value, reason `ERROR`, error `FLAG_NOT_FOUND`.
//! 2. A `disabled` flag (the kill switch) serves its default variant, reason `DISABLED`.
//! 3. Prerequisites are checked in order. Each prerequisite flag is evaluated with the same
//!    context and holds only if it resolves without error, not disabled, to the named
//!    variant. The first that fails serves the default variant, reason `DEFAULT`, with
//!    `metadata.prerequisite_failed` naming it. A prerequisite chain deeper than
//!    [`MAX_PREREQUISITE_DEPTH`] serves the default variant, reason `ERROR`, error
//!    `GENERAL`; that error propagates to every flag up the chain, so the configuration
//!    problem is never masked as an ordinary `DEFAULT`. A prerequisite cycle is such a
//!    chain.
//! 4. Rules are tried in order; a rule matches when all of its `when` conditions hold (an
//!    empty `when` always matches). A matched rule serving a variant gives
//!    `TARGETING_MATCH`; serving a split gives `SPLIT` with the bucket. Both set
//!    `metadata.rule_index`.
//! 5. When no rule matches, the fallthrough serves: the default variant when absent, else
//!    its variant with reason `DEFAULT`, or `STATIC` when the flag has no rules and no
//!    prerequisites at all. A fallthrough split gives `SPLIT` with the bucket.
//! 6. A split buckets by the context attribute `bucket_by` (default `targetingKey`): strings
//!    as they are, numbers in their JSON text form (`42`, `1.5`). A missing, empty, or other
//!    value serves the default variant, reason `ERROR`, error `TARGETING_KEY_MISSING`, with
//!    the attribute named in the message (never a random pick); `metadata.rule_index` still
//!    names the rule when the split was a rule's. The salt defaults to the flag key. The
//!    variant served is the first, in split order, whose cumulative weight exceeds the
//!    bucket, so zero weights are never served and raising one variant's share only ever
//!    moves contexts into it.
//! 7. A condition on an attribute that is missing or `null` does not match, and `negate` is
//!    not applied: missing data never opts anyone in. Neither is it applied when the
//!    attribute has the wrong type for the operator or does not parse (a number for
//!    `starts_with`, `"soon"` for `before`, `"1.x"` for `semver_gt`, `"nope"` for
//!    `in_cidr`). Otherwise the result is `op(attribute, values) XOR negate`. A
//!    `segment: NAME` condition holds when all the segment's conditions hold; `negate`
//!    applies to it normally.
//!
//! Operators, given an attribute that is present:
//! - `in` / `not_in`: the attribute equals any / none of the values. Strings, booleans and
//!   numbers compare as JSON, except that numbers compare by value (`3 == 3.0`). An array
//!   attribute is `in` when any element is; an object attribute never matches.
//! - `eq` / `neq`: the same equality against the single value; arrays and objects never
//!   match.
//! - `starts_with` / `ends_with` / `contains` / `matches`: a string attribute against any
//!   value; `matches` is an unanchored regex search, compiled once with the model's
//!   `parse_regex`.
//! - `lt` / `lte` / `gt` / `gte`: a number, or a string that parses as a finite number.
//! - `before` / `after`: an RFC 3339 string or a number of Unix seconds, strictly before or
//!   after the value's instant.
//! - `semver_eq` / `semver_lt` / `semver_gt`: semver precedence (build metadata ignored),
//!   a leading `v` allowed.
//! - `in_cidr`: an IP address string inside any block; IPv4-mapped IPv6 addresses
//!   (`::ffff:10.0.0.1`) count as their IPv4 address.
//!
//! Attribute names resolve through [`Context::attribute`]: `targetingKey` is the targeting
//! key, and `a.b` reaches into nested objects when no attribute is named `a.b` exactly.
//!
//! # Catalogs that validation refuses
//!
//! Writes never produce them, but `Catalog::recover` keeps what is stored even when a newer
//! release's checks refuse it (see `rampart_model::catalog`). Compiling such a catalog
//! never fails and evaluating it never panics:
//! - a condition naming a missing segment never holds, even negated (nobody is opted in);
//! - a prerequisite naming a missing flag, or a variant its flag does not have, never holds:
//!   the default variant, reason `DEFAULT`, `metadata.prerequisite_failed` naming it;
//! - a flag on a prerequisite cycle, or above a chain deeper than
//!   [`MAX_PREREQUISITE_DEPTH`], evaluates to its default variant, reason `ERROR`, error
//!   `GENERAL` (point 3), unless an earlier prerequisite already fails.
//!
//! The vectors in `testdata/eval/recovered.json` pin this.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod bucket;
mod compiled;
mod condition;
pub mod context;
pub mod resolution;
pub mod snapshot;

pub use bucket::bucket;
pub use context::{Context, ContextError};
pub use resolution::{ErrorCode, Metadata, Reason, Resolution};
pub use snapshot::Snapshot;

/// The deepest prerequisite chain evaluation follows below the flag asked for. Defined by
/// the model, whose writes refuse deeper chains, so the two cannot disagree.
pub use rampart_model::MAX_PREREQUISITE_DEPTH;
