//! Rampart's domain model: flags, segments and the catalog that ties them together.
//!
//! Layout:
//! - [`error`]: [`ValidationError`], which names the offending field path.
//! - [`condition`]: targeting conditions (`attribute op values` or `segment: NAME`).
//! - [`flag`]: [`FlagSpec`] (plain data) and [`Flag`] (validated), rules, serves, splits.
//! - [`segment`]: reusable, named sets of conditions.
//! - [`api`]: wire types of the HTTP API, shared by server and SDK.
//! - [`catalog`]: the whole configuration; cross-references, prerequisite cycles and depth.
//! - [`document`]: the flags-as-code file format (JSON and YAML).
//! - [`json`]: strict JSON parsing (wrong types, arrays for objects and duplicate keys are
//!   errors with the field's path), used wherever JSON comes in.
//!
//! Every type here is pure data. Validation happens in constructors
//! (`Flag::try_new`, `Segment::try_new`, `Catalog::check_flag`), never at evaluation time.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod api;
pub mod catalog;
pub mod condition;
pub mod document;
pub mod error;
pub mod flag;
pub mod json;
pub mod key;
pub mod segment;
pub mod span;

pub use catalog::{Catalog, MAX_PREREQUISITE_DEPTH};
pub use condition::{Condition, Operator};
pub use document::Document;
pub use error::{ErrorCode, ValidationError};
pub use flag::{Flag, FlagKind, FlagSpec, FlagState, Prerequisite, Rule, Serve};
pub use segment::{Segment, SegmentSpec};
pub use span::Span;

/// A monotonically increasing number for the whole configuration, bumped by every change.
pub type Revision = u64;

/// Basis points: the unit of split weights. 10 000 basis points are 100%.
pub const TOTAL_WEIGHT: u32 = 10_000;
