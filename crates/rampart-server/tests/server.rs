//! End-to-end tests of the server over real HTTP on loopback, with SQLite in a temp dir.

mod server {
    pub mod admin;
    pub mod analysis;
    pub mod apply;
    pub mod ledger;
    pub mod ofrep;
    pub mod rollouts;
    pub mod strict;
    pub mod support;
}
