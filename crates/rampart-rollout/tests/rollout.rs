//! The rollout crate's behaviour: plan validation, strategies run to completion, approval,
//! rollback modes, and properties over random event sequences.

use proptest::prelude::*;
use rampart_model::{Catalog, Flag, FlagSpec, Segment, SegmentSpec};
use rampart_rollout::actuate::materialize;
use rampart_rollout::{
    Action, Decision, Event, Phase, Plan, PlanSpec, RollbackMode, RolloutState, Span,
    Strategy as Preset, Target, Verdict, step,
};
use serde_json::{Value, json};

fn catalog() -> Catalog {
    let flag = Flag::try_new(FlagSpec::boolean("checkout")).unwrap();
    let segment = |name: &str| {
        Segment::try_new(SegmentSpec {
            name: name.into(),
            description: None,
            conditions: vec![rampart_model::Condition::attribute(
                "tier",
                rampart_model::Operator::Eq,
                vec![json!(name)],
            )],
        })
        .unwrap()
    };
    Catalog::try_new(1, [flag], [segment("internal"), segment("beta")]).unwrap()
}

fn plan(spec: Value) -> Result<Plan, (String, String)> {
    let spec: PlanSpec =
        serde_json::from_value(spec).map_err(|e| ("parse".to_owned(), e.to_string()))?;
    Plan::try_new(spec, &catalog(), std::iter::empty())
        .map_err(|e| (e.field().to_owned(), e.message().to_owned()))
}

#[test]
fn bad_plans_name_the_field() {
    let cases = [
        (json!({"flag": "nope", "candidate": "on"}), "flag"),
        (
            json!({"flag": "checkout", "candidate": "maybe"}),
            "candidate",
        ),
        (json!({"flag": "checkout", "candidate": "off"}), "candidate"),
        (
            json!({"flag": "checkout", "candidate": "on", "baseline": "gone"}),
            "baseline",
        ),
        (
            json!({"flag": "checkout", "candidate": "on", "steps": [{"percent": 5}, {"percent": 100}]}),
            "steps",
        ),
        (
            json!({"flag": "checkout", "candidate": "on", "strategy": "custom"}),
            "steps",
        ),
        (
            json!({"flag": "checkout", "candidate": "on", "strategy": "custom", "steps": [{"percent": 25}, {"percent": 5}, {"percent": 100}]}),
            "steps[1].percent",
        ),
        (
            json!({"flag": "checkout", "candidate": "on", "strategy": "custom", "steps": [{"percent": 5}, {"percent": 50}]}),
            "steps[1]",
        ),
        (
            json!({"flag": "checkout", "candidate": "on", "strategy": "custom", "steps": [{"percent": 0}, {"percent": 100}]}),
            "steps[0].percent",
        ),
        (
            json!({"flag": "checkout", "candidate": "on", "strategy": "custom", "steps": [{"percent": 0.001}, {"percent": 100}]}),
            "steps[0].percent",
        ),
        (
            json!({"flag": "checkout", "candidate": "on", "strategy": "custom", "steps": [{"percent": 5}, {"shadow": true}, {"percent": 100}]}),
            "steps[1].shadow",
        ),
        (
            json!({"flag": "checkout", "candidate": "on", "strategy": "custom", "steps": [{"percent": 100, "segment": "ghosts"}, {"percent": 100}]}),
            "steps[0].segment",
        ),
        (
            json!({"flag": "checkout", "candidate": "on", "strategy": "custom", "steps": [{"percent": 100, "segment": "beta"}]}),
            "steps[0]",
        ),
    ];
    for (spec, field) in cases {
        let (got, message) = plan(spec.clone()).expect_err(&spec.to_string());
        assert_eq!(got, field, "{spec}: {message}");
        assert!(!message.is_empty());
    }
    let spec: PlanSpec =
        serde_json::from_value(json!({"flag": "checkout", "candidate": "on"})).unwrap();
    let error = Plan::try_new(spec, &catalog(), ["checkout"].into_iter()).unwrap_err();
    assert_eq!(error.field(), "flag");
    assert!(error.message().contains("already has an active rollout"));
    let error = serde_json::from_value::<PlanSpec>(
        json!({"flag": "checkout", "candidate": "on", "soak": "5 minutes"}),
    )
    .unwrap_err();
    assert!(error.to_string().contains("unknown unit"), "{error}");
}

/// Runs a plan by ticking with passing decisions, jumping the clock by each step's soak.
fn run_to_end(plan: &Plan) -> (RolloutState, Vec<Target>) {
    let mut now = 1_000_000;
    let (mut state, actions) = step(plan, &RolloutState::pending(), &Event::Start, now).unwrap();
    let mut targets = set_weights(&actions);
    for _ in 0..100 {
        if state.phase.is_terminal() {
            break;
        }
        if state.phase == Phase::AwaitingApproval {
            let (next, actions) = step(
                plan,
                &state,
                &Event::Approve {
                    actor: "sre".into(),
                },
                now,
            )
            .unwrap();
            targets.extend(set_weights(&actions));
            state = next;
            continue;
        }
        let soak = plan.steps()[state.step].soak.as_millis() as i64;
        // Before the soak ends the step holds, whatever the gate says.
        let (held, actions) = step(
            plan,
            &state,
            &Event::Tick(Decision::bare(Verdict::Pass)),
            now + soak - 1,
        )
        .unwrap();
        if soak > 0 {
            assert_eq!(held, state);
            assert!(actions.is_empty());
        }
        now += soak;
        let (next, actions) = step(
            plan,
            &state,
            &Event::Tick(Decision::bare(Verdict::Pass)),
            now,
        )
        .unwrap();
        targets.extend(set_weights(&actions));
        state = next;
    }
    (state, targets)
}

fn set_weights(actions: &[Action]) -> Vec<Target> {
    actions
        .iter()
        .filter_map(|a| {
            if let Action::SetWeights(t) = a {
                Some(t.clone())
            } else {
                None
            }
        })
        .collect()
}

#[test]
fn every_strategy_runs_to_completion() {
    for (strategy, expected) in [
        ("safe", vec![500, 1000, 2500, 5000, 7500, 10_000]),
        ("fast", vec![2500, 5000, 10_000]),
        ("canary", vec![0, 100, 500, 1000, 2500, 5000, 10_000]),
        ("instant", vec![10_000]),
    ] {
        let plan =
            plan(json!({"flag": "checkout", "candidate": "on", "strategy": strategy})).unwrap();
        let (state, targets) = run_to_end(&plan);
        assert_eq!(state.phase, Phase::Completed, "{strategy}");
        assert_eq!(targets.last(), Some(&Target::Completed), "{strategy}");
        let weights: Vec<u32> = targets[..targets.len() - 1]
            .iter()
            .map(Target::candidate_weight)
            .collect();
        assert_eq!(weights, expected, "{strategy}");
    }
    let safe = plan(json!({"flag": "checkout", "candidate": "on"})).unwrap();
    assert!(
        safe.steps().iter().all(|s| s.soak == Span::from_secs(300)),
        "safe soaks 5 min per step"
    );
}

#[test]
fn rings_stay_exposed_and_approval_waits() {
    let plan = plan(
        json!({"flag": "checkout", "candidate": "on", "strategy": "custom", "soak": "1m", "steps": [
            {"percent": 100, "segment": "internal", "approval": "required"},
            {"percent": 100, "segment": "beta"},
            {"percent": 10}, {"percent": 100}
        ]}),
    )
    .unwrap();
    let (state, _) = step(&plan, &RolloutState::pending(), &Event::Start, 0).unwrap();
    let (waiting, actions) = step(
        &plan,
        &state,
        &Event::Tick(Decision::bare(Verdict::Pass)),
        60_000,
    )
    .unwrap();
    assert_eq!(waiting.phase, Phase::AwaitingApproval);
    assert!(
        set_weights(&actions).is_empty(),
        "waiting for approval changes no weights"
    );
    // Ticks while waiting do nothing; approving moves on to the beta ring.
    let (same, _) = step(
        &plan,
        &waiting,
        &Event::Tick(Decision::bare(Verdict::Pass)),
        999_999,
    )
    .unwrap();
    assert_eq!(same, waiting);
    let error = step(&plan, &state, &Event::Approve { actor: "x".into() }, 1).unwrap_err();
    assert!(
        error.to_string().contains("nothing awaits approval"),
        "{error}"
    );
    let (beta, actions) = step(
        &plan,
        &waiting,
        &Event::Approve {
            actor: "sre".into(),
        },
        70_000,
    )
    .unwrap();
    assert_eq!(beta.step, 1);
    let Target::Weights(weights) = &set_weights(&actions)[0] else {
        panic!("weights")
    };
    assert_eq!(
        weights.rings.get("internal"),
        Some(&10_000),
        "the internal ring stays exposed"
    );
    assert_eq!(weights.rings.get("beta"), Some(&10_000));
    assert_eq!(weights.everyone, 0);

    let base = catalog().flag("checkout").unwrap().spec().clone();
    let flag = materialize(&base, &plan, &Target::Weights(weights.clone()));
    assert_eq!(flag.rules.len(), 2);
    assert!(Flag::try_new(flag).is_ok(), "a materialized flag is valid");
}

#[test]
fn rollback_modes() {
    let plan = plan(json!({"flag": "checkout", "candidate": "on", "strategy": "safe", "rollback": {"mode": "gradual", "step_interval": "10s"}})).unwrap();
    let mut state = step(&plan, &RolloutState::pending(), &Event::Start, 0)
        .unwrap()
        .0;
    let mut now = 0;
    for _ in 0..3 {
        now += 300_000;
        state = step(
            &plan,
            &state,
            &Event::Tick(Decision::bare(Verdict::Pass)),
            now,
        )
        .unwrap()
        .0;
    }
    assert_eq!(state.target.candidate_weight(), 5000);

    // Immediate: straight to the restored flag.
    let (immediate, actions) = step(
        &plan,
        &state,
        &Event::Rollback {
            mode: RollbackMode::Immediate,
            reason: "bad".into(),
        },
        now,
    )
    .unwrap();
    assert_eq!(immediate.phase, Phase::RolledBack);
    assert_eq!(set_weights(&actions), vec![Target::Restored]);

    // Kill: disable the flag too.
    let (killed, actions) = step(
        &plan,
        &state,
        &Event::Rollback {
            mode: RollbackMode::Kill,
            reason: "fire".into(),
        },
        now,
    )
    .unwrap();
    assert_eq!(killed.phase, Phase::RolledBack);
    assert!(actions.contains(&Action::DisableFlag));

    // Gradual: 25 → 10 → 5 → restored, one step per interval; a failing gate uses the plan's mode.
    let fail = Decision {
        verdict: Verdict::Fail,
        criteria: vec![],
        blockers: vec!["error rate 4%".into()],
    };
    let (mut rolling, actions) = step(&plan, &state, &Event::Tick(fail), now).unwrap();
    let mut seen = set_weights(&actions)
        .iter()
        .map(Target::candidate_weight)
        .collect::<Vec<_>>();
    assert_eq!(rolling.phase, Phase::RollingBack);
    assert!(
        rolling
            .rollback
            .as_ref()
            .unwrap()
            .reason
            .contains("error rate 4%")
    );
    let early = step(
        &plan,
        &rolling,
        &Event::Tick(Decision::bare(Verdict::Pass)),
        now + 9_999,
    )
    .unwrap();
    assert_eq!(early.0, rolling, "the next step down waits for the pace");
    while rolling.phase == Phase::RollingBack {
        now += 10_000;
        let (next, actions) = step(
            &plan,
            &rolling,
            &Event::Tick(Decision::bare(Verdict::Pass)),
            now,
        )
        .unwrap();
        seen.extend(set_weights(&actions).iter().map(Target::candidate_weight));
        rolling = next;
    }
    assert_eq!(seen, vec![2500, 1000, 500, 0]);
    assert_eq!(rolling.phase, Phase::RolledBack);
    let error = step(&plan, &rolling, &Event::Resume, now).unwrap_err();
    assert!(error.to_string().contains("rolled_back"), "{error}");
}

#[test]
fn pause_stops_the_soak_clock_and_abort_freezes() {
    let plan = plan(json!({"flag": "checkout", "candidate": "on", "strategy": "fast"})).unwrap();
    let state = step(&plan, &RolloutState::pending(), &Event::Start, 0)
        .unwrap()
        .0;
    let paused = step(&plan, &state, &Event::Pause, 30_000).unwrap().0;
    assert_eq!(paused.phase, Phase::Paused);
    // An hour paused counts for nothing.
    let resumed = step(&plan, &paused, &Event::Resume, 3_630_000).unwrap().0;
    assert_eq!(resumed.phase, Phase::Ramping);
    let still = step(
        &plan,
        &resumed,
        &Event::Tick(Decision::bare(Verdict::Pass)),
        3_659_999,
    )
    .unwrap()
    .0;
    assert_eq!(still.step, 0, "only 59.999 s of soak served");
    let next = step(
        &plan,
        &resumed,
        &Event::Tick(Decision::bare(Verdict::Pass)),
        3_660_000,
    )
    .unwrap()
    .0;
    assert_eq!(next.step, 1);
    let (aborted, actions) = step(&plan, &next, &Event::Abort, 3_700_000).unwrap();
    assert_eq!(aborted.phase, Phase::Aborted);
    assert_eq!(
        aborted.target, next.target,
        "abort leaves the weights as they are"
    );
    assert!(set_weights(&actions).is_empty());
}

fn any_event() -> impl Strategy<Value = Event> {
    prop_oneof![
        Just(Event::Start),
        prop_oneof![
            Just(Verdict::Pass),
            Just(Verdict::Fail),
            Just(Verdict::Inconclusive)
        ]
        .prop_map(|v| Event::Tick(Decision::bare(v))),
        Just(Event::Approve { actor: "a".into() }),
        Just(Event::Pause),
        Just(Event::Resume),
        Just(Event::Promote),
        prop_oneof![
            Just(RollbackMode::Immediate),
            Just(RollbackMode::Gradual),
            Just(RollbackMode::Kill)
        ]
        .prop_map(|mode| Event::Rollback {
            mode,
            reason: "r".into()
        }),
        Just(Event::Abort),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// No sequence of events reaches an invalid state, and while rolling back the candidate's
    /// weight never rises.
    #[test]
    fn no_event_sequence_breaks_the_invariants(
        strategy in prop_oneof![Just(Preset::Safe), Just(Preset::Fast), Just(Preset::Canary), Just(Preset::Instant)],
        events in proptest::collection::vec((any_event(), 0i64..400_000), 1..60),
    ) {
        let mut spec: PlanSpec = serde_json::from_value(json!({"flag": "checkout", "candidate": "on", "rollback": {"mode": "gradual", "step_interval": "10s"}})).unwrap();
        spec.strategy = strategy;
        let plan = Plan::try_new(spec, &catalog(), std::iter::empty()).unwrap();
        let mut state = RolloutState::pending();
        let mut now = 0;
        for (event, dt) in events {
            now += dt;
            let before = state.clone();
            let Ok((next, actions)) = step(&plan, &state, &event, now) else {
                continue;
            };
            prop_assert!(next.step < plan.steps().len());
            prop_assert_eq!(next.phase == Phase::Paused, next.resume_to.is_some());
            if let Some(resume) = next.resume_to {
                prop_assert!(matches!(resume, Phase::Shadow | Phase::Ramping | Phase::AwaitingApproval));
            }
            prop_assert_eq!(next.phase == Phase::RollingBack, next.rollback.as_ref().is_some_and(|r| r.next_at.is_some()));
            prop_assert!(next.target.candidate_weight() <= 10_000);
            if before.phase.is_terminal() {
                prop_assert_eq!(&next, &before, "terminal states never change");
            }
            match next.phase {
                Phase::Completed => prop_assert_eq!(&next.target, &Target::Completed),
                Phase::RolledBack => prop_assert_eq!(&next.target, &Target::Restored),
                _ => {}
            }
            if before.phase == Phase::RollingBack || next.phase == Phase::RollingBack || next.phase == Phase::RolledBack && before.phase != Phase::RolledBack {
                let mut last = before.target.candidate_weight();
                for target in set_weights(&actions) {
                    prop_assert!(target.candidate_weight() <= last, "weight rose while rolling back: {last} -> {}", target.candidate_weight());
                    last = target.candidate_weight();
                }
            }
            let base = catalog().flag("checkout").unwrap().spec().clone();
            prop_assert!(Flag::try_new(materialize(&base, &plan, &next.target)).is_ok());
            state = next;
        }
    }
}
