//! The evaluator: walks a compiled flag (prerequisites, rules, fallthrough) for a context.
//!
//! Internally an evaluation produces an [`Outcome`] of indices; names, values and error
//! messages are looked up only when it becomes a public [`Resolution`], so the prerequisite
//! recursion and the success path allocate nothing.

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
    fn serve(variant: usize, reason: Reason) -> Outcome {
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

impl Snapshot {
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
        let outcome = self.evaluate_flag(flag, context, 0);
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

    fn evaluate_flag(&self, flag: &CompiledFlag, context: &Context, depth: u32) -> Outcome {
        if depth > MAX_PREREQUISITE_DEPTH {
            return Outcome::failed(flag, Failure::TooDeep);
        }
        if !flag.enabled {
            return Outcome::serve(flag.default_variant, Reason::Disabled);
        }
        for (position, prerequisite) in flag.prerequisites.iter().enumerate() {
            let target = prerequisite.flag.and_then(|index| self.flags.get(index));
            let held = match target {
                // A missing flag would resolve to FLAG_NOT_FOUND, which never holds.
                None => false,
                Some(target) => {
                    let outcome = self.evaluate_flag(target, context, depth + 1);
                    if outcome.failure == Some(Failure::TooDeep) {
                        return Outcome::failed(flag, Failure::TooDeep);
                    }
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
