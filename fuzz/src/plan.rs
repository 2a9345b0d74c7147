//! `plan`: a rollout plan, as `POST /v1/rollouts` reads and validates it.
//!
//! Input: JSON bytes (or structure-aware, see `generate`), read with the server's body parser into a `PlanSpec` (its `analysis`
//! section is the judge's `AnalysisSpec`) and validated against the demo catalog with
//! `Plan::try_new`, as the controller does. For a valid plan:
//! - validation is deterministic, and refused while the flag has an active rollout;
//! - the resolved steps keep the plan invariants (shadow steps first, percents never go
//!   down per audience, the last step is 100% for everyone);
//! - the persisted spec survives the store (JSON) and `Plan::restore` to the same plan;
//! - the state machine, driven from `Start` through promotions and approvals to the end,
//!   and in a second run rolled back (mode and step chosen from the input) to the end,
//!   always terminates, only ever asks for flags that validate and fit the catalog
//!   (what the controller commits), never raises the candidate's weight while rolling
//!   back, and ends on the candidate (completed) or the base flag (rolled back).

use rampart_model::{Catalog, Flag, FlagSpec, FlagState};
use rampart_rollout::actuate::{flag_effect, materialize};
use rampart_rollout::view::progress;
use rampart_rollout::{
    Action, Decision, Event, Millis, Phase, Plan, PlanSpec, RollbackMode, RolloutState, StepKind,
    Target, Verdict, step, step_contexts,
};
use rampart_server::fuzzing::parse_json;

use crate::{fixtures, generate};

/// 2026-01-01T00:00:00Z: the rollouts start here.
const START: Millis = 1_767_225_600_000;

pub fn init() {
    fixtures::init();
}

/// Returns whether the input was a valid plan (so the deeper properties were checked).
pub fn run(data: &[u8]) -> bool {
    let data = generate::input(data, generate::plan);
    let Ok(spec) = parse_json::<PlanSpec>(&data) else {
        return false;
    };
    let catalog = fixtures::demo_catalog();
    let verdict = Plan::try_new(spec.clone(), catalog, std::iter::empty());
    assert_eq!(
        verdict,
        Plan::try_new(spec.clone(), catalog, std::iter::empty()),
        "plan validation is not deterministic"
    );
    let Ok(plan) = verdict else {
        return false;
    };
    assert!(
        Plan::try_new(
            spec.clone(),
            catalog,
            ["other", spec.flag.as_str()].into_iter()
        )
        .is_err(),
        "a plan for a flag under an active rollout was accepted"
    );
    check_steps(&plan);
    check_persisted(&plan, catalog);
    let seed = fnv(&data);
    drive(&plan, catalog, None);
    let modes = [
        RollbackMode::Immediate,
        RollbackMode::Gradual,
        RollbackMode::Kill,
    ];
    let mode = modes[(seed % 3) as usize];
    let at = (seed / 3) as usize % (plan.steps().len() + 1);
    drive(&plan, catalog, Some((at, mode)));
    true
}

fn check_steps(plan: &Plan) {
    let steps = plan.steps();
    let last = steps.last().expect("a valid plan has steps");
    assert_eq!(
        last.kind,
        StepKind::Percent(10_000),
        "the last step is not 100%"
    );
    assert_eq!(last.segment, None, "the last step is not for everyone");
    let first_percent = steps
        .iter()
        .position(|s| matches!(s.kind, StepKind::Percent(_)))
        .unwrap_or(steps.len());
    for (index, step) in steps.iter().enumerate() {
        let bp = match step.kind {
            StepKind::Shadow(bp) => {
                assert!(index < first_percent, "a shadow step after a percent step");
                bp
            }
            StepKind::Percent(bp) => {
                let earlier = steps[..index].iter().filter_map(|s| match s.kind {
                    StepKind::Percent(p) if s.segment == step.segment => Some(p),
                    _ => None,
                });
                for p in earlier {
                    assert!(p <= bp, "step {index}: percent goes down from {p} to {bp}");
                }
                bp
            }
        };
        assert!(
            (1..=10_000).contains(&bp),
            "step {index}: {bp} basis points"
        );
    }
}

/// What the controller stores is what it restores after a restart.
fn check_persisted(plan: &Plan, catalog: &Catalog) {
    let persisted = plan.persisted();
    assert_eq!(persisted.baseline.as_deref(), Some(plan.baseline()));
    let stored = serde_json::to_value(&persisted).expect("a plan serializes");
    let read: PlanSpec = match serde_json::from_value(stored.clone()) {
        Ok(spec) => spec,
        Err(e) => panic!("a persisted plan does not read back: {e}\n{stored}"),
    };
    assert_eq!(read, persisted, "a persisted plan changed through JSON");
    let restored = match Plan::restore(read.clone()) {
        Ok(plan) => plan,
        Err(e) => panic!("a persisted plan does not restore: {e}\n{stored}"),
    };
    assert_eq!(restored.steps(), plan.steps(), "restored steps differ");
    assert_eq!(restored.baseline(), plan.baseline());
    assert_eq!(restored.judge(), plan.judge(), "restored analysis differs");
    // Resubmitting the persisted plan is the same plan.
    match Plan::try_new(read, catalog, std::iter::empty()) {
        Ok(again) => assert_eq!(again.steps(), plan.steps()),
        Err(e) => panic!("a persisted plan no longer validates: {e}"),
    }
}

/// Runs the machine to a terminal phase, committing each flag change the way the
/// controller does. `rollback`: after how many transitions to roll back, and how.
fn drive(plan: &Plan, catalog: &Catalog, rollback: Option<(usize, RollbackMode)>) {
    let base = catalog
        .flag(plan.flag())
        .expect("a valid plan names a flag")
        .clone();
    let mut catalog = catalog.clone();
    let mut state = RolloutState::pending();
    let mut now = START;
    let mut event = Event::Start;
    let mut transitions = 0usize;
    // Every step takes at most an approval and a promotion; a gradual rollback one tick
    // per step; a few more for the start and the rollback itself.
    let budget = plan.steps().len() * 4 + 8;
    loop {
        let (next, actions) = match step(plan, &state, &event, now) {
            Ok(outcome) => outcome,
            Err(e) => panic!("{} refused in {:?}: {e}", event.name(), state.phase),
        };
        if state.phase == Phase::RollingBack || next.phase == Phase::RollingBack {
            assert!(
                next.target.candidate_weight() <= state.target.candidate_weight()
                    || state.phase == Phase::Pending,
                "the candidate's weight rose while rolling back: {:?} -> {:?}",
                state.target,
                next.target
            );
        }
        commit(plan, base.spec(), &mut catalog, &actions);
        state = next;
        let _ = progress(plan, &state, now);
        let _ = step_contexts(plan, &state);
        transitions += 1;
        if state.phase.is_terminal() {
            break;
        }
        assert!(
            transitions <= budget,
            "no end after {transitions} transitions: {state:?}"
        );
        now = now.saturating_add(1_000);
        event = match (state.phase, rollback) {
            (Phase::Ramping | Phase::Shadow | Phase::AwaitingApproval, Some((at, mode)))
                if transitions > at =>
            {
                Event::Rollback {
                    mode,
                    reason: "fuzz".to_owned(),
                }
            }
            (Phase::AwaitingApproval, _) => Event::Approve {
                actor: "fuzz".to_owned(),
            },
            (Phase::RollingBack, _) => {
                if let Some(at) = state.rollback.as_ref().and_then(|r| r.next_at) {
                    now = now.max(at);
                }
                Event::Tick(Decision::bare(Verdict::Pass))
            }
            (Phase::Paused, _) => Event::Resume,
            _ => Event::Promote,
        };
    }
    let served = catalog.flag(plan.flag()).expect("the flag stays").spec();
    match state.phase {
        Phase::Completed => {
            assert_eq!(state.target, Target::Completed);
            let wanted = materialize(base.spec(), plan, &Target::Completed);
            assert_eq!(
                served.fallthrough, wanted.fallthrough,
                "completed, not on the candidate"
            );
        }
        Phase::RolledBack => {
            assert_eq!(state.target, Target::Restored);
            let mut expected = base.spec().clone();
            if rollback.is_some_and(|(_, mode)| mode == RollbackMode::Kill) {
                expected.state = FlagState::Disabled;
            }
            assert_eq!(served, &expected, "rolled back, but not to the base flag");
        }
        other => panic!("ended in {other:?}"),
    }
}

/// The flag change implied by `actions`, as the controller commits it: it must be a valid
/// flag that fits the catalog, and what `Verify` later expects.
fn commit(plan: &Plan, base: &FlagSpec, catalog: &mut Catalog, actions: &[Action]) {
    let current = catalog.flag(plan.flag()).expect("the flag stays").clone();
    if let Some(spec) = flag_effect(plan, base, current.spec(), actions) {
        let flag = match Flag::try_new(spec) {
            Ok(flag) => flag,
            Err(e) => panic!("the rollout produced an invalid flag: {e}"),
        };
        if let Err(e) = catalog.upsert_flag(flag) {
            panic!("the rollout produced a flag the catalog refuses: {e}");
        }
        fixtures::check_evaluation(catalog);
    }
    for action in actions {
        if let Action::Verify(target) = action
            && *target != Target::Restored
        {
            let served = catalog.flag(plan.flag()).expect("the flag stays");
            assert_eq!(
                served.spec().fallthrough,
                materialize(base, plan, target).fallthrough,
                "Verify({target:?}) would fail right after the commit"
            );
        }
    }
}

/// 64-bit FNV-1a of the input: a stable source of choices that follow the input.
fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
