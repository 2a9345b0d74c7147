//! Rust client for Rampart.
//!
//! Layout:
//! - [`Client`]: the typed HTTP client for the admin API and OFREP evaluation.
//! - [`SdkError`]: transport failures and the server's `{"error": {code, message, field}}`.
//!
//! Local evaluation with SSE sync, the event reporter and the OpenFeature provider come in
//! later issues.

mod client;

pub use client::{BulkEvaluation, Client, LedgerPage, SdkError};
