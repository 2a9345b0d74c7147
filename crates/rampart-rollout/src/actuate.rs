//! The actuator: what a rollout target does to the flag. The flag's own split is moved.
//!
//! The rollout owns the flag's fallthrough and appends one rule per exposed ring segment,
//! after the flag's own rules (explicit targeting wins). Splits list the candidate first,
//! so raising its weight keeps everyone who already had it (monotonic assignment).

use indexmap::IndexMap;
use rampart_model::{Condition, FlagSpec, FlagState, Rule, Serve, TOTAL_WEIGHT};

use crate::machine::{Action, Target};
use crate::plan::Plan;

/// The flag the actions of one step ask for, given the flag as it is now (`current`), or
/// `None` when they leave it as it is. The rollout owns the rules and fallthrough it
/// materializes; the flag's `state` stays the operator's, except that a kill rollback
/// disables it. What the controller commits, and what the `plan` fuzz target checks.
pub fn flag_effect(
    plan: &Plan,
    base: &FlagSpec,
    current: &FlagSpec,
    actions: &[Action],
) -> Option<FlagSpec> {
    let mut spec: Option<FlagSpec> = None;
    for action in actions {
        if let Action::SetWeights(target) = action {
            let mut next = materialize(base, plan, target);
            next.state = current.state;
            spec = Some(next);
        }
    }
    if actions.contains(&Action::DisableFlag) {
        spec.get_or_insert_with(|| current.clone()).state = FlagState::Disabled;
    }
    spec.filter(|s| s != current)
}

/// The flag as it must be to serve `target`. `base` is the flag as it was when the
/// rollout started; `Restored` returns it unchanged.
pub fn materialize(base: &FlagSpec, plan: &Plan, target: &Target) -> FlagSpec {
    let mut flag = base.clone();
    match target {
        Target::Restored => {}
        Target::Completed => flag.fallthrough = Some(Serve::variant(plan.candidate())),
        Target::Weights(weights) => {
            let (bucket_by, salt) = base
                .fallthrough
                .as_ref()
                .filter(|serve| serve.split.is_some())
                .map(|serve| (serve.bucket_by.clone(), serve.salt.clone()))
                .unwrap_or_default();
            let split = |bp: u32| {
                let mut serve = Serve::split([
                    (plan.candidate(), bp),
                    (plan.baseline(), TOTAL_WEIGHT - bp.min(TOTAL_WEIGHT)),
                ]);
                serve.bucket_by.clone_from(&bucket_by);
                serve.salt.clone_from(&salt);
                serve
            };
            for (segment, &bp) in &weights.rings {
                if bp > 0 {
                    flag.rules.push(Rule {
                        description: Some(format!(
                            "rollout ring `{segment}`: {}% {}",
                            f64::from(bp) / 100.0,
                            plan.candidate()
                        )),
                        when: vec![Condition::segment(segment.clone())],
                        serve: split(bp),
                    });
                }
            }
            let mut fallthrough = if weights.everyone > 0 {
                split(weights.everyone)
            } else {
                Serve::variant(plan.baseline())
            };
            if let Some(shadow_bp) = weights.shadow {
                let mut shadow = IndexMap::new();
                shadow.insert(plan.candidate().to_owned(), shadow_bp);
                shadow.insert(
                    plan.baseline().to_owned(),
                    TOTAL_WEIGHT - shadow_bp.min(TOTAL_WEIGHT),
                );
                fallthrough.shadow = Some(shadow);
                fallthrough.bucket_by.clone_from(&bucket_by);
                fallthrough.salt.clone_from(&salt);
            }
            flag.fallthrough = Some(fallthrough);
        }
    }
    flag
}
