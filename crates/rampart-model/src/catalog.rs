//! The whole configuration at one revision: flags and segments, cross-checked.

use std::collections::BTreeMap;

use crate::Revision;
use crate::error::{ErrorCode, Result, ValidationError};
use crate::flag::Flag;
use crate::segment::Segment;

/// Every flag and segment at one revision. Invariant (kept by the mutators): every segment
/// reference resolves, every prerequisite names an existing flag and variant, and
/// prerequisites form no cycle.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    revision: Revision,
    flags: BTreeMap<String, Flag>,
    segments: BTreeMap<String, Segment>,
}

impl Catalog {
    /// Builds a catalog and checks every cross-reference. Errors are prefixed with
    /// `flags.KEY` or `segments.NAME`.
    pub fn try_new(
        revision: Revision,
        flags: impl IntoIterator<Item = Flag>,
        segments: impl IntoIterator<Item = Segment>,
    ) -> Result<Catalog> {
        let catalog = Catalog {
            revision,
            flags: flags.into_iter().map(|f| (f.key().to_owned(), f)).collect(),
            segments: segments
                .into_iter()
                .map(|s| (s.name().to_owned(), s))
                .collect(),
        };
        for flag in catalog.flags.values() {
            catalog
                .check_flag(flag)
                .map_err(|e| e.within(&format!("flags.{}", flag.key())))?;
        }
        Ok(catalog)
    }

    pub fn revision(&self) -> Revision {
        self.revision
    }

    pub fn flags(&self) -> &BTreeMap<String, Flag> {
        &self.flags
    }

    pub fn segments(&self) -> &BTreeMap<String, Segment> {
        &self.segments
    }

    pub fn flag(&self, key: &str) -> Option<&Flag> {
        self.flags.get(key)
    }

    pub fn segment(&self, name: &str) -> Option<&Segment> {
        self.segments.get(name)
    }

    /// Checks a flag's references as if it were inserted (or replaced) in this catalog.
    /// Field paths are relative to the flag.
    pub fn check_flag(&self, flag: &Flag) -> Result<()> {
        let spec = flag.spec();
        for (field, name) in spec.segment_references() {
            if !self.segments.contains_key(name) {
                return Err(ValidationError::new(
                    ErrorCode::UnknownSegment,
                    field,
                    format!("unknown segment `{name}`"),
                ));
            }
        }
        for (i, prerequisite) in spec.prerequisites.iter().enumerate() {
            let field = format!("prerequisites[{i}]");
            let Some(target) = self.flags.get(&prerequisite.flag) else {
                return Err(ValidationError::new(
                    ErrorCode::UnknownFlag,
                    format!("{field}.flag"),
                    format!("unknown prerequisite flag `{}`", prerequisite.flag),
                ));
            };
            if !target.spec().variants.contains_key(&prerequisite.variant) {
                return Err(ValidationError::new(
                    ErrorCode::UnknownVariant,
                    format!("{field}.variant"),
                    format!(
                        "flag `{}` has no variant `{}`",
                        prerequisite.flag, prerequisite.variant
                    ),
                ));
            }
            if let Some(path) = self.path_to(&prerequisite.flag, flag.key(), flag) {
                return Err(ValidationError::new(
                    ErrorCode::PrerequisiteCycle,
                    format!("{field}.flag"),
                    format!(
                        "prerequisite cycle: {} -> {}",
                        flag.key(),
                        path.join(" -> ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// A prerequisite path from `from` to `to`, following the catalog's flags except that
    /// `replacement` stands in for its key. Depth-first; cycle-free by the invariant.
    fn path_to(&self, from: &str, to: &str, replacement: &Flag) -> Option<Vec<String>> {
        let mut stack = vec![vec![from.to_owned()]];
        let mut seen = std::collections::BTreeSet::new();
        while let Some(path) = stack.pop() {
            let Some(current) = path.last() else { continue };
            if current == to {
                return Some(path);
            }
            if !seen.insert(current.clone()) {
                continue;
            }
            let flag = if current == replacement.key() {
                Some(replacement)
            } else {
                self.flags.get(current.as_str())
            };
            for prerequisite in flag
                .map(|f| f.spec().prerequisites.as_slice())
                .unwrap_or_default()
            {
                let mut next = path.clone();
                next.push(prerequisite.flag.clone());
                stack.push(next);
            }
        }
        None
    }

    /// Flags that list `key` as a prerequisite; a flag can't be deleted while any do.
    pub fn dependents_of_flag<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.flags
            .values()
            .filter(move |f| f.spec().prerequisites.iter().any(|p| p.flag == key))
            .map(Flag::key)
    }

    /// Flags whose rules reference segment `name`; a segment can't be deleted while any do.
    pub fn dependents_of_segment<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = &'a str> + 'a {
        self.flags
            .values()
            .filter(move |f| f.spec().segment_references().any(|(_, s)| s == name))
            .map(Flag::key)
    }

    /// Inserts or replaces a flag after checking its references. The revision is unchanged;
    /// the store assigns revisions.
    pub fn upsert_flag(&mut self, flag: Flag) -> Result<()> {
        self.check_flag(&flag)?;
        // Replacing a flag could invalidate a dependent's prerequisite variant.
        for dependent in self.dependents_of_flag(flag.key()) {
            let Some(dependent) = self.flags.get(dependent) else {
                continue;
            };
            for prerequisite in &dependent.spec().prerequisites {
                if prerequisite.flag == flag.key()
                    && !flag.spec().variants.contains_key(&prerequisite.variant)
                {
                    return Err(ValidationError::new(
                        ErrorCode::UnknownVariant,
                        "variants",
                        format!(
                            "flag `{}` needs variant `{}` of this flag as a prerequisite",
                            dependent.key(),
                            prerequisite.variant
                        ),
                    ));
                }
            }
        }
        self.flags.insert(flag.key().to_owned(), flag);
        Ok(())
    }

    pub fn upsert_segment(&mut self, segment: Segment) {
        self.segments.insert(segment.name().to_owned(), segment);
    }

    /// Removes a flag. Fails with the dependents named if other flags require it.
    pub fn remove_flag(&mut self, key: &str) -> Result<Option<Flag>> {
        let dependents: Vec<&str> = self.dependents_of_flag(key).collect();
        if !dependents.is_empty() {
            return Err(ValidationError::new(
                ErrorCode::Conflict,
                "key",
                format!(
                    "flag `{key}` is a prerequisite of: {}",
                    dependents.join(", ")
                ),
            ));
        }
        Ok(self.flags.remove(key))
    }

    /// Removes a segment. Fails with the dependents named if flags reference it.
    pub fn remove_segment(&mut self, name: &str) -> Result<Option<Segment>> {
        let dependents: Vec<&str> = self.dependents_of_segment(name).collect();
        if !dependents.is_empty() {
            return Err(ValidationError::new(
                ErrorCode::Conflict,
                "name",
                format!(
                    "segment `{name}` is used by flags: {}",
                    dependents.join(", ")
                ),
            ));
        }
        Ok(self.segments.remove(name))
    }

    pub fn set_revision(&mut self, revision: Revision) {
        self.revision = revision;
    }
}
