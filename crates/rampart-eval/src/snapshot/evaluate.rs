//! The evaluator: walks a compiled flag (prerequisites, rules, fallthrough) for a context.
//!
//! Internally an evaluation produces an [`Outcome`] of indices; names, values and error
//! messages are looked up only when it becomes a public [`Resolution`], so the prerequisite
//! recursion and the success path allocate nothing.
//!
//! Prerequisites may share flags (A needs B and C, both need D). Each evaluation remembers
//! the outcome of every prerequisite flag it evaluated ([`Memo`]), so a flag is evaluated
//! once per evaluation rather than once per path to it: without that, a valid catalog of a
//! few dozen flags in layers could take 3^16 steps. The memo's slots live in a per-thread
//! scratch buffer that is reused, so the success path still allocates nothing once warm.

use std::cell::RefCell;

use crate::MAX_PREREQUISITE_DEPTH;
use crate::bucket::bucket_of_value;
use crate::compiled::{CompiledFlag, CompiledServe, CompiledSplit, Primary};
use crate::condition::all_hold;
use crate::context::Context;
use crate::resolution::{ErrorCode, Metadata, Reason, Resolution};

use super::Snapshot;

/// What evaluating one flag decided, in terms of the compiled flag's indices.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    /// Index into the flag's variants.
    variant: usize,
    reason: Reason,
    failure: Option<Failure>,
    rule_index: Option<u32>,
    bucket: Option<u32>,
    /// Index into the flag's prerequisites.
    prerequisite_failed: Option<usize>,
    /// What a shadow split would have served (dark launch), as a variant index.
    shadow_variant: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// The split's bucketing attribute is missing, empty or not a string or number. The
    /// attribute is read back from the serve when the message is built.
    BucketValueMissing,
    /// The prerequisite chain is deeper than [`MAX_PREREQUISITE_DEPTH`].
    TooDeep,
}

impl Outcome {
    const fn serve(variant: usize, reason: Reason) -> Outcome {
        Outcome {
            variant,
            reason,
            failure: None,
            rule_index: None,
            bucket: None,
            prerequisite_failed: None,
            shadow_variant: None,
        }
    }

    fn failed(flag: &CompiledFlag, failure: Failure) -> Outcome {
        Outcome {
            failure: Some(failure),
            ..Outcome::serve(flag.default_variant, Reason::Error)
        }
    }
}

/// The outcomes of the prerequisite flags one evaluation has evaluated so far.
///
/// An outcome depends on the depth it was evaluated at only through [`Failure::TooDeep`]:
/// an outcome that was not too deep at some depth is the same at any smaller depth (the same
/// flags are walked, each with more room), so a slot keeps the deepest depth its outcome
/// holds for. Too-deep outcomes are not kept; they end the whole evaluation anyway.
#[derive(Debug, Default)]
struct Memo {
    /// Bumped for each evaluation, so earlier evaluations' slots read as empty without
    /// clearing them. Slots of generation 0 are never current.
    generation: u32,
    /// By flag index in the snapshot.
    slots: Vec<Slot>,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    generation: u32,
    depth: u32,
    outcome: Outcome,
}

const EMPTY_SLOT: Slot = Slot {
    generation: 0,
    depth: 0,
    outcome: Outcome::serve(0, Reason::Default),
};

impl Memo {
    /// Starts a new evaluation over a snapshot of `flags` flags.
    fn begin(&mut self, flags: usize) {
        if self.slots.len() < flags {
            self.slots.resize(flags, EMPTY_SLOT);
        }
        self.generation = match self.generation.checked_add(1) {
            Some(generation) => generation,
            None => {
                self.slots.fill(EMPTY_SLOT);
                1
            }
        };
    }

    /// The outcome of flag `index` at `depth`, if this evaluation already knows it.
    fn get(&self, index: usize, depth: u32) -> Option<Outcome> {
        self.slots
            .get(index)
            .filter(|slot| slot.generation == self.generation && depth <= slot.depth)
            .map(|slot| slot.outcome)
    }

    /// Records the (not too deep) outcome of flag `index` evaluated at `depth`.
    fn put(&mut self, index: usize, depth: u32, outcome: Outcome) {
        let generation = self.generation;
        if let Some(slot) = self.slots.get_mut(index)
            && (slot.generation != generation || slot.depth < depth)
        {
            *slot = Slot {
                generation,
                depth,
                outcome,
            };
        }
    }
}

thread_local! {
    /// Each thread's reusable memo, so evaluations don't allocate one.
    static MEMO: RefCell<Memo> = RefCell::new(Memo::default());
}

impl Snapshot {
    /// Evaluates `flag` from the top, with a memo when it has prerequisites.
    fn evaluate_top(&self, flag: &CompiledFlag, context: &Context) -> Outcome {
        let fresh = |memo: &mut Memo| {
            memo.begin(self.flags.len());
            self.evaluate_flag(flag, context, 0, memo)
        };
        if flag.prerequisites.is_empty() {
            // No prerequisite is looked up, so an empty memo (no allocation) will do.
            return self.evaluate_flag(flag, context, 0, &mut Memo::default());
        }
        MEMO.try_with(|cell| match cell.try_borrow_mut() {
            Ok(mut memo) => fresh(&mut memo),
            Err(_) => fresh(&mut Memo::default()),
        })
        .unwrap_or_else(|_| fresh(&mut Memo::default()))
    }

    /// Evaluates the flag at `index` and turns the outcome into a [`Resolution`].
    pub(super) fn resolve<'s>(&'s self, index: usize, context: &Context) -> Resolution<'s> {
        let Some(flag) = self.flags.get(index) else {
            return Resolution {
                value: None,
                variant: None,
                reason: Reason::Error,
                error_code: Some(ErrorCode::General),
                error_message: Some("flag index out of range".to_owned()),
                metadata: Metadata::default(),
            };
        };
        let outcome = self.evaluate_top(flag, context);
        let variant = flag.variants.get(outcome.variant);
        let (error_code, error_message) = match outcome.failure {
            None => (None, None),
            Some(Failure::TooDeep) => (
                Some(ErrorCode::General),
                Some(format!(
                    "flag `{}`: prerequisite chain is deeper than {MAX_PREREQUISITE_DEPTH} levels, or a cycle",
                    flag.key
                )),
            ),
            Some(Failure::BucketValueMissing) => {
                let attribute = self.split_attribute(flag, outcome.rule_index);
                (
                    Some(ErrorCode::TargetingKeyMissing),
                    Some(format!(
                        "flag `{}` splits by context attribute `{attribute}`, which is missing, \
                         empty, or not a string or number",
                        flag.key
                    )),
                )
            }
        };
        Resolution {
            value: variant.map(|(_, value)| value),
            variant: variant.map(|(name, _)| name.as_str()),
            reason: outcome.reason,
            error_code,
            error_message,
            metadata: Metadata {
                rule_index: outcome.rule_index,
                bucket: outcome.bucket,
                prerequisite_failed: outcome
                    .prerequisite_failed
                    .and_then(|i| flag.prerequisites.get(i))
                    .map(|prerequisite| prerequisite.key.as_str()),
                shadow_variant: outcome
                    .shadow_variant
                    .and_then(|i| flag.variants.get(i))
                    .map(|(name, _)| name.as_str()),
            },
        }
    }

    /// The bucketing attribute of the split that failed: the matched rule's, or the
    /// fallthrough's when no rule matched.
    fn split_attribute<'s>(&'s self, flag: &'s CompiledFlag, rule_index: Option<u32>) -> &'s str {
        let serve = match rule_index {
            Some(i) => usize::try_from(i)
                .ok()
                .and_then(|i| flag.rules.get(i))
                .map(|rule| &rule.serve),
            None => Some(&flag.fallthrough),
        };
        match serve.map(|s| &s.primary) {
            Some(Primary::Split(split)) => &split.bucket_by.text,
            _ => crate::context::TARGETING_KEY,
        }
    }

    fn evaluate_flag(
        &self,
        flag: &CompiledFlag,
        context: &Context,
        depth: u32,
        memo: &mut Memo,
    ) -> Outcome {
        if depth > MAX_PREREQUISITE_DEPTH {
            return Outcome::failed(flag, Failure::TooDeep);
        }
        if !flag.enabled {
            return Outcome::serve(flag.default_variant, Reason::Disabled);
        }
        for (position, prerequisite) in flag.prerequisites.iter().enumerate() {
            let target = prerequisite
                .flag
                .and_then(|index| Some((index, self.flags.get(index)?)));
            let held = match target {
                // A missing flag would resolve to FLAG_NOT_FOUND, which never holds.
                None => false,
                Some((index, target)) => {
                    let outcome = match memo.get(index, depth + 1) {
                        Some(outcome) => outcome,
                        None => {
                            let outcome = self.evaluate_flag(target, context, depth + 1, memo);
                            if outcome.failure == Some(Failure::TooDeep) {
                                return Outcome::failed(flag, Failure::TooDeep);
                            }
                            memo.put(index, depth + 1, outcome);
                            outcome
                        }
                    };
                    outcome.failure.is_none()
                        && outcome.reason != Reason::Disabled
                        && prerequisite.variant == Some(outcome.variant)
                }
            };
            if !held {
                return Outcome {
                    prerequisite_failed: Some(position),
                    ..Outcome::serve(flag.default_variant, Reason::Default)
                };
            }
        }
        for (rule_index, rule) in flag.rules.iter().enumerate() {
            if all_hold(&rule.when, context, &self.segments) {
                let rule_index = u32::try_from(rule_index).ok();
                let outcome = serve(flag, &rule.serve, Reason::TargetingMatch, context);
                return Outcome {
                    rule_index,
                    ..outcome
                };
            }
        }
        let plain_reason = if flag.is_static {
            Reason::Static
        } else {
            Reason::Default
        };
        serve(flag, &flag.fallthrough, plain_reason, context)
    }
}

/// Serves a variant (with `plain_reason`) or a split (with reason SPLIT and the bucket),
/// and computes the shadow split's variant when there is one.
#[inline]
fn serve(
    flag: &CompiledFlag,
    serve: &CompiledServe,
    plain_reason: Reason,
    context: &Context,
) -> Outcome {
    let mut outcome = match &serve.primary {
        Primary::Variant(variant) => Outcome::serve(*variant, plain_reason),
        Primary::Split(split) => match bucket(split, context) {
            None => return Outcome::failed(flag, Failure::BucketValueMissing),
            Some(bucket) => Outcome {
                bucket: Some(bucket),
                ..Outcome::serve(
                    split.pick(bucket).unwrap_or(flag.default_variant),
                    Reason::Split,
                )
            },
        },
    };
    // A shadow assignment that can't be bucketed is simply absent: it is never served.
    outcome.shadow_variant = serve
        .shadow
        .as_ref()
        .and_then(|shadow| bucket(shadow, context).and_then(|b| shadow.pick(b)));
    outcome
}

fn bucket(split: &CompiledSplit, context: &Context) -> Option<u32> {
    context
        .lookup(&split.bucket_by.as_ref())
        .and_then(|value| bucket_of_value(&split.salt, value))
}
