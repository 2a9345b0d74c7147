//! rampart-sdk.
