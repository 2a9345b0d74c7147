//! Rust client for Rampart.
//!
//! Layout:
//! - [`Client`]: the typed HTTP client for the admin API and OFREP evaluation.
//! - [`SdkError`]: transport failures and the server's `{"error": {code, message, field}}`.
//! - [`reporter`]: [`Reporter`], which batches health events to `POST /v1/events` from a
//!   background task; recording never blocks, memory is bounded, overflow is counted.
//!
//! Local evaluation with SSE sync and the OpenFeature provider come in later issues.

mod client;
pub mod reporter;

pub use client::{BulkEvaluation, Client, LedgerPage, SdkError};
pub use reporter::{Reporter, ReporterConfig, ReporterError, ReporterStats, ReporterTask};
