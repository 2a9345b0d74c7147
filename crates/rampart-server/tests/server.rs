//! End-to-end tests of the server over real HTTP on loopback, with SQLite in a temp dir.

mod server {
    pub mod admin;
    pub mod analysis;
    pub mod apply;
    pub mod consistency;
    pub mod faults;
    pub mod ledger;
    pub mod limits;
    pub mod ofrep;
    pub mod openapi;
    pub mod rollouts;
    pub mod strict;
    pub mod support;
}
