//! rampart-server.
