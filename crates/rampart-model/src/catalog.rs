//! The whole configuration at one revision: flags and segments, cross-checked.
//!
//! Every check here is linear in flags + prerequisites (the graph work is in [`graph`]):
//! [`Catalog::try_new`] and [`Catalog::recover`] check the whole catalog in one pass, and a
//! write ([`Catalog::upsert_flag`], [`Catalog::upsert_flags`]) checks the catalog it would
//! produce once, however many flags it changes.
//!
//! A write refuses only the problems it would introduce. A catalog from
//! [`Catalog::recover`] may hold problems that a newer release's checks find in what was
//! stored. A write that names nothing missing that the flag did not already name, and keeps
//! its prerequisite flags, is not blocked by them (the kill switch, a rollout step, most
//! edits); a flag whose prerequisites change must end up on no cycle and no over-deep chain,
//! and a variant a dependent names may not be dropped.

mod graph;

use std::collections::{BTreeMap, BTreeSet};

use crate::Revision;
use crate::error::{ErrorCode, Result, ValidationError};
use crate::flag::Flag;
use crate::segment::Segment;

use graph::{Graph, View};

/// The deepest prerequisite chain evaluation follows below the flag asked for, in levels:
/// a flag may sit on top of at most this many prerequisites, one below the other. Writes
/// refuse deeper chains (`PREREQUISITE_TOO_DEEP`); evaluation of one found in a recovered
/// catalog is an error.
pub const MAX_PREREQUISITE_DEPTH: u32 = 16;

const MAX_DEPTH: usize = MAX_PREREQUISITE_DEPTH as usize;

/// Every flag and segment at one revision. Invariant (kept by [`Catalog::try_new`] and the
/// mutators): every segment reference resolves, every prerequisite names an existing flag
/// and variant, prerequisites form no cycle and no chain deeper than
/// [`MAX_PREREQUISITE_DEPTH`]. A catalog from [`Catalog::recover`] may break this, exactly
/// where its diagnostics say, and mutations never add to that.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    revision: Revision,
    flags: BTreeMap<String, Flag>,
    segments: BTreeMap<String, Segment>,
}

impl Catalog {
    /// Builds a catalog and checks every cross-reference, in time linear in flags and
    /// prerequisites. The first problem is the error, prefixed with `flags.KEY`: references
    /// (flags in key order), then cycles, then over-deep chains.
    pub fn try_new(
        revision: Revision,
        flags: impl IntoIterator<Item = Flag>,
        segments: impl IntoIterator<Item = Segment>,
    ) -> Result<Catalog> {
        let catalog = Catalog::assemble(revision, flags, segments);
        match catalog.diagnose(true).into_iter().next() {
            Some(error) => Err(error),
            None => Ok(catalog),
        }
    }

    /// Builds a catalog from what is already stored, keeping every flag and segment, and
    /// returns every cross-reference problem as a diagnostic (paths such as
    /// `flags.KEY.prerequisites[0].flag`), in the order [`Catalog::try_new`] would report
    /// them; `try_new` fails exactly when there are some, with the first.
    ///
    /// Use it where refusing is worse than serving: loading the store at start-up or on
    /// reload, where a configuration that a newer release's checks refuse must not stop the
    /// server or keep it on a stale snapshot. Evaluation stays total on such a catalog (see
    /// `rampart_eval`): a condition on a missing segment never holds, a prerequisite on a
    /// missing flag or variant never holds, and a flag on a cycle or an over-deep chain
    /// evaluates to an error. Reported: each dangling reference; each cycle once, at its
    /// first flag in key order; each over-deep region once per flag at the prerequisite where
    /// the chain below first exceeds [`MAX_PREREQUISITE_DEPTH`] levels.
    pub fn recover(
        revision: Revision,
        flags: impl IntoIterator<Item = Flag>,
        segments: impl IntoIterator<Item = Segment>,
    ) -> (Catalog, Vec<ValidationError>) {
        let catalog = Catalog::assemble(revision, flags, segments);
        let diagnostics = catalog.diagnose(false);
        (catalog, diagnostics)
    }

    fn assemble(
        revision: Revision,
        flags: impl IntoIterator<Item = Flag>,
        segments: impl IntoIterator<Item = Segment>,
    ) -> Catalog {
        Catalog {
            revision,
            flags: flags.into_iter().map(|f| (f.key().to_owned(), f)).collect(),
            segments: segments
                .into_iter()
                .map(|s| (s.name().to_owned(), s))
                .collect(),
        }
    }

    /// Every cross-reference problem of the catalog, as [`Catalog::recover`] reports them:
    /// empty for any catalog built by [`Catalog::try_new`] and changed only by the checked
    /// mutators.
    pub fn diagnostics(&self) -> Vec<ValidationError> {
        self.diagnose(false)
    }

    /// Every problem of the whole catalog (or just the first), prefixed with `flags.KEY`.
    fn diagnose(&self, first_only: bool) -> Vec<ValidationError> {
        let mut found = Vec::new();
        let view = View::of(&self.flags);
        for flag in self.flags.values() {
            for error in references(&view, &self.segments, flag, None) {
                found.push(error.within(&format!("flags.{}", flag.key())));
                if first_only {
                    return found;
                }
            }
        }
        let graph = Graph::new(view);
        let mut cycles_reported = BTreeSet::new();
        for node in 0..graph.len() {
            if graph.in_cycle(node) && cycles_reported.insert(graph.component(node)) {
                found.extend(
                    cycle_error(&graph, node)
                        .map(|e| e.within(&format!("flags.{}", graph.key(node)))),
                );
                if first_only && !found.is_empty() {
                    return found;
                }
            }
        }
        for node in 0..graph.len() {
            // The prerequisite where the chain below first exceeds the limit: its target is
            // exactly at the limit. Every over-deep chain passes one such prerequisite.
            let crossing = graph.edges(node).iter().find(|edge| {
                graph.counts(node, edge.target) && graph.below(edge.target) == MAX_DEPTH
            });
            if let Some(edge) = crossing {
                let mut chain = vec![node];
                chain.extend(graph.chain_below(edge.target));
                found.push(
                    too_deep(&graph, &chain, 0, edge.position)
                        .within(&format!("flags.{}", graph.key(node))),
                );
                if first_only {
                    return found;
                }
            }
        }
        found
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

    /// Checks a flag as if it were inserted (or replaced) in this catalog: its references,
    /// the variants its dependents need, and cycles and chain depths through it, dependents
    /// included. Field paths are relative to the flag. The same checks as
    /// [`Catalog::upsert_flag`], which this does not change.
    pub fn check_flag(&self, flag: &Flag) -> Result<()> {
        self.check_changes(std::slice::from_ref(flag))
            .map_err(|(_, error)| error)
    }

    /// Checks replacing or inserting `changes` all at once. On error, the index of the flag
    /// the error is about (the flag whose field is wrong, or the flag a dependent needs).
    fn check_changes(&self, changes: &[Flag]) -> std::result::Result<(), (usize, ValidationError)> {
        let mut sorted: Vec<(&str, usize)> = changes
            .iter()
            .enumerate()
            .map(|(index, flag)| (flag.key(), index))
            .collect();
        sorted.sort_unstable();
        if let Some(pair) = sorted.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            let (key, index) = pair[1];
            return Err((
                index,
                ValidationError::new(
                    ErrorCode::Conflict,
                    "key",
                    format!("flag `{key}` appears twice"),
                ),
            ));
        }
        let sorted: Vec<&Flag> = sorted.iter().map(|&(_, index)| &changes[index]).collect();
        let view = View::with(&self.flags, &sorted);
        for (index, flag) in changes.iter().enumerate() {
            let old = self.flags.get(flag.key());
            if let Some(error) = references(&view, &self.segments, flag, old)
                .into_iter()
                .next()
            {
                return Err((index, error));
            }
        }
        self.check_dropped_variants(&view, changes)?;
        let rewired: Vec<usize> = changes
            .iter()
            .enumerate()
            .filter(|(_, flag)| {
                self.flags.get(flag.key()).is_none_or(|old| {
                    !old.spec().prerequisites.iter().map(|p| &p.flag).eq(flag
                        .spec()
                        .prerequisites
                        .iter()
                        .map(|p| &p.flag))
                })
            })
            .map(|(index, _)| index)
            .collect();
        if rewired.is_empty() {
            // No prerequisite edge changed, so no cycle or chain depth did either.
            return Ok(());
        }
        let graph = Graph::new(view);
        let node_of =
            |index: usize| -> Option<usize> { graph.view.node(changes.get(index)?.key()) };
        for &index in &rewired {
            let Some(node) = node_of(index) else { continue };
            if graph.in_cycle(node)
                && let Some(error) = cycle_error(&graph, node)
            {
                return Err((index, error));
            }
        }
        let (above, above_previous) = graph.above();
        for &index in &rewired {
            let Some(node) = node_of(index) else { continue };
            if above[node] + graph.below(node) <= MAX_DEPTH {
                continue;
            }
            let mut chain = vec![node];
            let mut current = node;
            while let Some(previous) = above_previous[current] {
                chain.push(previous);
                current = previous;
            }
            chain.reverse();
            let at = chain.len() - 1;
            chain.extend(graph.chain_below(node).into_iter().skip(1));
            let position = chain.get(at + 1).and_then(|&next| {
                graph
                    .edges(node)
                    .iter()
                    .find(|edge| edge.target == next)
                    .map(|edge| edge.position)
            });
            let error = match position {
                Some(position) => too_deep(&graph, &chain, at, position),
                // The flag is the bottom of the chain: a flag that depended on it as a
                // missing prerequisite now reaches it.
                None => ValidationError::new(
                    ErrorCode::PrerequisiteTooDeep,
                    "key",
                    too_deep_message(&graph, &chain, at),
                ),
            };
            return Err((index, error));
        }
        Ok(())
    }

    /// Refuses dropping a variant that a dependent names as its prerequisite's, unless that
    /// reference was already dangling.
    fn check_dropped_variants(
        &self,
        view: &View<'_>,
        changes: &[Flag],
    ) -> std::result::Result<(), (usize, ValidationError)> {
        let dropped: BTreeMap<&str, (usize, BTreeSet<&str>)> = changes
            .iter()
            .enumerate()
            .filter_map(|(index, flag)| {
                let old = self.flags.get(flag.key())?;
                let gone: BTreeSet<&str> = old
                    .spec()
                    .variants
                    .keys()
                    .filter(|v| !flag.spec().variants.contains_key(*v))
                    .map(String::as_str)
                    .collect();
                (!gone.is_empty()).then_some((flag.key(), (index, gone)))
            })
            .collect();
        if dropped.is_empty() {
            return Ok(());
        }
        for dependent in view.flags() {
            for prerequisite in &dependent.spec().prerequisites {
                if let Some((index, gone)) = dropped.get(prerequisite.flag.as_str())
                    && gone.contains(prerequisite.variant.as_str())
                {
                    return Err((
                        *index,
                        ValidationError::new(
                            ErrorCode::UnknownVariant,
                            "variants",
                            format!(
                                "flag `{}` needs variant `{}` of this flag as a prerequisite",
                                dependent.key(),
                                prerequisite.variant
                            ),
                        ),
                    ));
                }
            }
        }
        Ok(())
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

    /// Inserts or replaces a flag after [`Catalog::check_flag`]. The revision is unchanged;
    /// the store assigns revisions. On error the catalog is unchanged.
    pub fn upsert_flag(&mut self, flag: Flag) -> Result<()> {
        self.check_flag(&flag)?;
        self.flags.insert(flag.key().to_owned(), flag);
        Ok(())
    }

    /// Inserts or replaces several flags as one change, checking the catalog they produce
    /// once: linear in the catalog's flags and prerequisites however many flags change, and
    /// independent of their order (a flag may name a prerequisite that comes later). A key
    /// may appear once. Errors name the flag by its position: `[3].prerequisites[0].flag`.
    /// On error the catalog is unchanged.
    pub fn upsert_flags(&mut self, flags: Vec<Flag>) -> Result<()> {
        self.check_changes(&flags)
            .map_err(|(index, error)| error.within(&format!("[{index}]")))?;
        for flag in flags {
            self.flags.insert(flag.key().to_owned(), flag);
        }
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

/// A flag's segment and prerequisite references that don't resolve in `view`, with paths
/// relative to the flag. With `old` (the version being replaced), a reference that was
/// already dangling there is not reported: a write refuses only what it introduces.
fn references(
    view: &View<'_>,
    segments: &BTreeMap<String, Segment>,
    flag: &Flag,
    old: Option<&Flag>,
) -> Vec<ValidationError> {
    let spec = flag.spec();
    let mut found = Vec::new();
    // Paths are formatted only for the references that fail: this runs for every flag.
    for (i, rule) in spec.rules.iter().enumerate() {
        for (j, condition) in rule.when.iter().enumerate() {
            let Some(name) = condition.segment.as_deref() else {
                continue;
            };
            let inherited =
                || old.is_some_and(|o| o.spec().segment_references().any(|(_, n)| n == name));
            if !segments.contains_key(name) && !inherited() {
                found.push(ValidationError::new(
                    ErrorCode::UnknownSegment,
                    format!("rules[{i}].when[{j}].segment"),
                    format!("unknown segment `{name}`"),
                ));
            }
        }
    }
    let old_prerequisites = old
        .map(|o| o.spec().prerequisites.as_slice())
        .unwrap_or_default();
    for (i, prerequisite) in spec.prerequisites.iter().enumerate() {
        match view.get(&prerequisite.flag) {
            None => {
                if !old_prerequisites
                    .iter()
                    .any(|p| p.flag == prerequisite.flag)
                {
                    found.push(ValidationError::new(
                        ErrorCode::UnknownFlag,
                        format!("prerequisites[{i}].flag"),
                        format!("unknown prerequisite flag `{}`", prerequisite.flag),
                    ));
                }
            }
            Some(target) => {
                if !target.spec().variants.contains_key(&prerequisite.variant)
                    && !old_prerequisites.contains(prerequisite)
                {
                    found.push(ValidationError::new(
                        ErrorCode::UnknownVariant,
                        format!("prerequisites[{i}].variant"),
                        format!(
                            "flag `{}` has no variant `{}`",
                            prerequisite.flag, prerequisite.variant
                        ),
                    ));
                }
            }
        }
    }
    found
}

/// The cycle through `node`, reported at the prerequisite it leaves `node` by.
fn cycle_error(graph: &Graph<'_>, node: usize) -> Option<ValidationError> {
    let (position, path) = graph.cycle_through(node)?;
    let keys: Vec<&str> = path.iter().map(|&n| graph.key(n)).collect();
    Some(ValidationError::new(
        ErrorCode::PrerequisiteCycle,
        format!("prerequisites[{position}].flag"),
        format!("prerequisite cycle: {}", describe_chain(&keys, &[])),
    ))
}

/// An over-deep chain, reported at prerequisite `position` of the flag at `chain[at]`.
fn too_deep(graph: &Graph<'_>, chain: &[usize], at: usize, position: usize) -> ValidationError {
    ValidationError::new(
        ErrorCode::PrerequisiteTooDeep,
        format!("prerequisites[{position}].flag"),
        too_deep_message(graph, chain, at),
    )
}

fn too_deep_message(graph: &Graph<'_>, chain: &[usize], at: usize) -> String {
    let keys: Vec<&str> = chain.iter().map(|&n| graph.key(n)).collect();
    format!(
        "prerequisite chain is {} levels deep; evaluation follows at most {MAX_DEPTH}: {}",
        keys.len().saturating_sub(1),
        describe_chain(&keys, &[at, at + 1])
    )
}

/// `a -> b -> c`. A long chain keeps its first and last three flags and those at `keep`;
/// each run of more than one other flag becomes `… (N more)`.
fn describe_chain(keys: &[&str], keep: &[usize]) -> String {
    const ENDS: usize = 3;
    let mut shown: Vec<bool> = (0..keys.len())
        .map(|i| i < ENDS || i + ENDS >= keys.len() || keep.contains(&i))
        .collect();
    // A lone hidden flag is shown: `… (1 more)` would be no shorter.
    for i in 1..keys.len().saturating_sub(1) {
        if !shown[i] && shown[i - 1] && shown[i + 1] {
            shown[i] = true;
        }
    }
    let mut parts: Vec<String> = Vec::new();
    let mut hidden = 0;
    for (key, show) in keys.iter().zip(shown) {
        if show {
            if hidden > 0 {
                parts.push(format!("… ({hidden} more)"));
                hidden = 0;
            }
            parts.push((*key).to_owned());
        } else {
            hidden += 1;
        }
    }
    parts.join(" -> ")
}
