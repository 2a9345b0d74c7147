//! Rebuilds the crate when a migration file changes, so `sqlx::migrate!` re-embeds them.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
