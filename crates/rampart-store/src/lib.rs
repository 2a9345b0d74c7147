//! rampart-store.
