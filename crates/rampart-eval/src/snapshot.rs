//! [`Snapshot`]: one catalog revision, compiled once and evaluated many times.

mod evaluate;

use std::fmt;

use rampart_model::{Catalog, Revision};

use crate::compiled::{CompiledFlag, CompiledSegment};
use crate::context::Context;
use crate::resolution::Resolution;

/// An immutable, compiled catalog. Build one per revision with [`Snapshot::compile`] and
/// share it (e.g. behind an `ArcSwap`) between threads; evaluation takes `&self`.
pub struct Snapshot {
    catalog: Catalog,
    /// Sorted by key.
    flags: Vec<CompiledFlag>,
    /// In the catalog's (sorted) order; conditions refer to them by index.
    segments: Vec<CompiledSegment>,
}

impl Snapshot {
    /// Compiles a catalog: parses every regex, CIDR, semver and timestamp, and resolves
    /// segment and prerequisite references to indices. Never fails.
    pub fn compile(catalog: &Catalog) -> Snapshot {
        let (flags, segments) = crate::compiled::compile(catalog);
        Snapshot {
            catalog: catalog.clone(),
            flags,
            segments,
        }
    }

    pub fn revision(&self) -> Revision {
        self.catalog.revision()
    }

    /// The catalog this snapshot was compiled from.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn contains(&self, flag_key: &str) -> bool {
        self.position(flag_key).is_some()
    }

    /// Every flag key, sorted.
    pub fn flag_keys(&self) -> impl Iterator<Item = &str> {
        self.flags.iter().map(|flag| flag.key.as_str())
    }

    /// Evaluates one flag for a context. See the crate documentation for the semantics.
    pub fn evaluate<'s>(&'s self, flag_key: &str, context: &Context) -> Resolution<'s> {
        match self.position(flag_key) {
            Some(index) => self.resolve(index, context),
            None => Resolution {
                value: None,
                variant: None,
                reason: crate::Reason::Error,
                error_code: Some(crate::ErrorCode::FlagNotFound),
                error_message: Some(format!("flag `{flag_key}` not found")),
                metadata: crate::Metadata::default(),
            },
        }
    }

    /// Evaluates every flag for a context, sorted by key.
    pub fn evaluate_all<'s>(&'s self, context: &Context) -> Vec<(&'s str, Resolution<'s>)> {
        (0..self.flags.len())
            .filter_map(|index| {
                let flag = self.flags.get(index)?;
                Some((flag.key.as_str(), self.resolve(index, context)))
            })
            .collect()
    }

    fn position(&self, flag_key: &str) -> Option<usize> {
        self.flags
            .binary_search_by(|flag| flag.key.as_str().cmp(flag_key))
            .ok()
    }
}

impl Default for Snapshot {
    /// The snapshot of an empty catalog at revision 0.
    fn default() -> Self {
        Snapshot::compile(&Catalog::default())
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("revision", &self.revision())
            .field("flags", &self.flags.len())
            .field("segments", &self.segments.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Snapshot>();
        assert_send_sync::<Context>();
    }

    #[test]
    fn an_empty_snapshot_finds_nothing() {
        let snapshot = Snapshot::default();
        assert_eq!(snapshot.revision(), 0);
        assert!(!snapshot.contains("x"));
        assert_eq!(snapshot.flag_keys().count(), 0);
        let resolution = snapshot.evaluate("x", &Context::new(None));
        assert_eq!(resolution.error_code, Some(crate::ErrorCode::FlagNotFound));
        assert_eq!(
            resolution.error_message.as_deref(),
            Some("flag `x` not found")
        );
        assert!(snapshot.evaluate_all(&Context::new(None)).is_empty());
    }
}
