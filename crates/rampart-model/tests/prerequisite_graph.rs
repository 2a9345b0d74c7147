//! Prerequisite cycles and depth at scale (issue 9: a 1,200-deep chain took 25 s to apply),
//! and `Catalog::recover`, which keeps what is stored and reports every problem.

use proptest::prelude::*;
use rampart_model::{
    Catalog, ErrorCode, Flag, FlagSpec, FlagState, MAX_PREREQUISITE_DEPTH, Prerequisite, Rule,
    Segment, ValidationError,
};

/// A boolean flag (`on`/`off`, default `off`) needing each `(flag, variant)`.
fn flag(key: &str, prerequisites: &[(&str, &str)]) -> Flag {
    let mut spec = FlagSpec::boolean(key);
    spec.prerequisites = prerequisites
        .iter()
        .map(|(flag, variant)| Prerequisite {
            flag: (*flag).to_owned(),
            variant: (*variant).to_owned(),
        })
        .collect();
    Flag::try_new(spec).unwrap_or_else(|e| panic!("{key} is valid on its own: {e}"))
}

fn chain_key(i: usize) -> String {
    format!("f{i:06}")
}

/// `f000000 -> f000001 -> … -> f{length}`: `length` levels below the first flag.
fn chain(length: usize) -> Vec<Flag> {
    (0..=length)
        .map(|i| {
            let below = chain_key(i + 1);
            let prerequisites: &[(&str, &str)] = if i < length { &[(&below, "off")] } else { &[] };
            flag(&chain_key(i), prerequisites)
        })
        .collect()
}

fn describe(error: &ValidationError) -> String {
    format!(
        "{} at `{}`: {}",
        error.code(),
        error.field(),
        error.message()
    )
}

/// Runs `f` on a thread with a small stack: a recursive walk of a long chain would overflow.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(f)
        .expect("spawn a thread")
        .join()
        .expect("no stack overflow or panic")
}

#[test]
fn issue_9_a_100_000_deep_chain_is_refused_where_it_crosses_the_limit_without_recursion() {
    on_small_stack(|| {
        let flags = chain(99_999);
        let error = Catalog::try_new(1, flags.clone(), []).expect_err("far too deep");
        // The chain below f099983 is exactly 16 levels; f099982's prerequisite crosses.
        assert_eq!(
            (error.code(), error.field()),
            (
                ErrorCode::PrerequisiteTooDeep,
                "flags.f099982.prerequisites[0].flag"
            ),
            "{}",
            describe(&error)
        );
        assert_eq!(
            error.message(),
            "prerequisite chain is 17 levels deep; evaluation follows at most 16: \
             f099982 -> f099983 -> f099984 -> … (12 more) -> f099997 -> f099998 -> f099999"
        );
        let (recovered, diagnostics) = Catalog::recover(1, flags.clone(), []);
        assert_eq!(recovered.flags().len(), 100_000, "recover keeps every flag");
        assert_eq!(
            diagnostics,
            [error],
            "one diagnostic for the one over-deep chain"
        );

        // Applying the chain as one change: the first flag of the document is reported.
        let mut catalog = Catalog::default();
        let error = catalog.upsert_flags(flags).expect_err("far too deep");
        assert_eq!(
            (error.code(), error.field()),
            (ErrorCode::PrerequisiteTooDeep, "[0].prerequisites[0].flag"),
        );
        assert_eq!(
            error.message(),
            "prerequisite chain is 99999 levels deep; evaluation follows at most 16: \
             f000000 -> f000001 -> f000002 -> … (99994 more) -> f099997 -> f099998 -> f099999"
        );
        assert_eq!(
            catalog,
            Catalog::default(),
            "a refused change changes nothing"
        );
    });
}

#[test]
fn issue_9_a_100_000_flag_cycle_is_reported_with_its_path_without_recursion() {
    on_small_stack(|| {
        let mut flags = chain(99_999);
        flags.pop();
        flags.push(flag(&chain_key(99_999), &[("f000000", "off")]));
        let error = Catalog::try_new(1, flags, []).expect_err("a cycle");
        assert_eq!(
            (error.code(), error.field()),
            (
                ErrorCode::PrerequisiteCycle,
                "flags.f000000.prerequisites[0].flag"
            ),
        );
        assert_eq!(
            error.message(),
            "prerequisite cycle: f000000 -> f000001 -> f000002 -> … (99995 more) -> \
             f099998 -> f099999 -> f000000"
        );
    });
}

/// 16 levels below a flag are what evaluation follows
/// (`rampart_eval` pins the same boundary); 17 are refused by every constructor.
#[test]
fn issue_9_chains_of_16_levels_are_accepted_and_17_refused() {
    assert_eq!(MAX_PREREQUISITE_DEPTH, 16);
    for (length, accepted) in [(15, true), (16, true), (17, false), (1_200, false)] {
        let flags = chain(length);
        let built = Catalog::try_new(1, flags.clone(), []);
        assert_eq!(built.is_ok(), accepted, "try_new, {length} levels");
        let mut batch = Catalog::default();
        assert_eq!(
            batch.upsert_flags(flags.clone()).is_ok(),
            accepted,
            "upsert_flags, {length} levels"
        );
        // One flag at a time, bottom up, as a client creating them one by one would.
        let mut one_by_one = Catalog::default();
        let refused = flags.iter().rev().find_map(|f| {
            one_by_one
                .upsert_flag(f.clone())
                .err()
                .map(|e| (f.key(), e))
        });
        match (accepted, refused) {
            (true, None) => {}
            (false, Some((key, error))) => {
                // Creating the flag 17 levels above the bottom is the first refusal.
                assert_eq!(key, chain_key(length - 17), "{length} levels");
                assert_eq!(
                    (error.code(), error.field()),
                    (ErrorCode::PrerequisiteTooDeep, "prerequisites[0].flag")
                );
            }
            (accepted, refused) => panic!(
                "{length} levels: accepted {accepted}, but one by one: {:?}",
                refused.map(|(key, e)| format!("{key}: {}", describe(&e)))
            ),
        }
    }
}

#[test]
fn issue_9_replacing_a_middle_flag_checks_the_chains_of_its_dependents() {
    // top -> mid, and a separate 15-level chain f000000 -> … -> f000015.
    let mut flags = chain(15);
    flags.push(flag("top", &[("mid", "on")]));
    flags.push(flag("mid", &[]));
    let catalog = Catalog::try_new(1, flags, []).expect("valid");

    // mid -> f000000 puts 16 levels below mid, but 17 below its dependent `top`.
    let mut refused = catalog.clone();
    let error = refused
        .upsert_flag(flag("mid", &[("f000000", "on")]))
        .expect_err("top's chain would be 17 levels");
    assert_eq!(
        (error.code(), error.field()),
        (ErrorCode::PrerequisiteTooDeep, "prerequisites[0].flag")
    );
    assert!(
        error.message().contains("top -> mid -> f000000"),
        "{}",
        describe(&error)
    );
    assert_eq!(refused, catalog, "a refused change changes nothing");

    // One level less is fine; and a cycle through the dependent is refused at `mid`.
    let mut accepted = catalog.clone();
    accepted
        .upsert_flag(flag("mid", &[("f000001", "on")]))
        .expect("16 levels below top");
    let error = accepted
        .upsert_flag(flag("mid", &[("top", "on")]))
        .expect_err("mid -> top -> mid");
    assert_eq!(
        (error.code(), error.field(), error.message()),
        (
            ErrorCode::PrerequisiteCycle,
            "prerequisites[0].flag",
            "prerequisite cycle: mid -> top -> mid"
        )
    );
}

#[test]
fn upsert_flags_takes_flags_in_any_order_and_reports_the_flag_by_position() {
    let mut catalog = Catalog::default();
    // Dependents before their prerequisites: one check of the result, not an order to find.
    catalog
        .upsert_flags(vec![
            flag("a", &[("b", "on")]),
            flag("b", &[("c", "on")]),
            flag("c", &[]),
        ])
        .expect("all three resolve once all are in");
    let cases: [(Vec<Flag>, ErrorCode, &str); 4] = [
        (
            vec![flag("x", &[]), flag("y", &[("ghost", "on")])],
            ErrorCode::UnknownFlag,
            "[1].prerequisites[0].flag",
        ),
        (
            vec![flag("x", &[]), flag("x", &[])],
            ErrorCode::Conflict,
            "[1].key",
        ),
        (
            vec![flag("x", &[]), flag("c", &[("a", "on")])],
            ErrorCode::PrerequisiteCycle,
            "[1].prerequisites[0].flag",
        ),
        (
            // Dropping `on` from c while b (not in the change) needs it.
            vec![{
                let mut spec = FlagSpec::boolean("c");
                spec.variants.shift_remove("on");
                Flag::try_new(spec).expect("valid on its own")
            }],
            ErrorCode::UnknownVariant,
            "[0].variants",
        ),
    ];
    for (flags, code, field) in cases {
        let before = catalog.clone();
        let error = catalog.upsert_flags(flags).expect_err(field);
        assert_eq!(
            (error.code(), error.field()),
            (code, field),
            "{}",
            describe(&error)
        );
        assert_eq!(catalog, before, "{field}: a refused change changes nothing");
    }
}

fn segment(name: &str) -> Segment {
    serde_json::from_value(serde_json::json!({"name": name, "conditions": [
        {"attribute": "email", "op": "ends_with", "values": ["@acme.com"]},
    ]}))
    .expect("a valid segment")
}

/// Flags as a newer release might find them in the store: every kind of problem at once.
fn broken_flags() -> Vec<Flag> {
    let mut in_ghost_segment = FlagSpec::boolean("in-ghost-segment");
    in_ghost_segment.rules = vec![
        Rule {
            when: vec![rampart_model::Condition::segment("internal")],
            ..Rule::default()
        },
        Rule {
            when: vec![rampart_model::Condition::segment("ghost")],
            ..Rule::default()
        },
    ];
    for rule in &mut in_ghost_segment.rules {
        rule.serve = rampart_model::Serve::variant("on");
    }
    let mut flags = vec![
        Flag::try_new(in_ghost_segment).expect("valid on its own"),
        flag("needs-ghost", &[("ghost-flag", "on")]),
        flag("needs-purple", &[("mid", "purple")]),
        flag("cycle-a", &[("cycle-b", "on")]),
        flag("cycle-b", &[("cycle-a", "on")]),
        flag("top", &[("mid", "on")]),
        flag("mid", &[]),
    ];
    flags.extend(chain(17));
    flags
}

#[test]
fn recover_keeps_everything_and_reports_every_problem() {
    let (catalog, diagnostics) = Catalog::recover(4, broken_flags(), [segment("internal")]);
    assert_eq!(catalog.revision(), 4);
    assert_eq!(catalog.flags().len(), broken_flags().len());
    assert_eq!(catalog.segments().len(), 1);
    let got: Vec<(ErrorCode, &str)> = diagnostics.iter().map(|d| (d.code(), d.field())).collect();
    assert_eq!(
        got,
        [
            (
                ErrorCode::UnknownSegment,
                "flags.in-ghost-segment.rules[1].when[0].segment"
            ),
            (
                ErrorCode::UnknownFlag,
                "flags.needs-ghost.prerequisites[0].flag"
            ),
            (
                ErrorCode::UnknownVariant,
                "flags.needs-purple.prerequisites[0].variant"
            ),
            (
                ErrorCode::PrerequisiteCycle,
                "flags.cycle-a.prerequisites[0].flag"
            ),
            (
                ErrorCode::PrerequisiteTooDeep,
                "flags.f000000.prerequisites[0].flag"
            ),
        ],
        "{diagnostics:#?}"
    );
    // try_new refuses the same catalog with the first diagnostic.
    let refused = Catalog::try_new(4, broken_flags(), [segment("internal")]);
    assert_eq!(refused, Err(diagnostics[0].clone()));
    // A consistent catalog recovers with no diagnostics and equals try_new's.
    let good = vec![flag("top", &[("mid", "on")]), flag("mid", &[])];
    let (recovered, none) = Catalog::recover(1, good.clone(), []);
    assert!(none.is_empty(), "{none:?}");
    assert_eq!(Ok(recovered), Catalog::try_new(1, good, []));
}

/// Writes to a recovered catalog refuse only what they would introduce: the kill switch and
/// edits that leave a flag's references as they were keep working on a broken flag.
#[test]
fn writes_to_a_recovered_catalog_refuse_only_new_problems() {
    let (recovered, _) = Catalog::recover(4, broken_flags(), [segment("internal")]);
    let allowed: Vec<(&str, Flag)> = vec![
        (
            "kill switch on a flag in a missing segment",
            recovered.flags()["in-ghost-segment"]
                .clone()
                .with_state(FlagState::Disabled),
        ),
        (
            "kill switch on a flag in a cycle",
            recovered.flags()["cycle-a"]
                .clone()
                .with_state(FlagState::Disabled),
        ),
        (
            "kill switch on a flag on an over-deep chain",
            recovered.flags()["f000000"]
                .clone()
                .with_state(FlagState::Disabled),
        ),
        ("a flag that keeps its missing prerequisite", {
            let mut spec = recovered.flags()["needs-ghost"].spec().clone();
            spec.description = Some("still waiting for ghost-flag".to_owned());
            Flag::try_new(spec).expect("valid on its own")
        }),
        ("fixing the cycle", flag("cycle-a", &[])),
        ("creating the missing prerequisite", flag("ghost-flag", &[])),
    ];
    for (name, change) in allowed {
        let mut catalog = recovered.clone();
        if let Err(e) = catalog.upsert_flag(change) {
            panic!("{name}: refused: {}", describe(&e));
        }
    }
    let refused: Vec<(&str, Flag, ErrorCode, &str)> = vec![
        (
            "a new missing prerequisite",
            flag(
                "needs-ghost",
                &[("ghost-flag", "on"), ("other-ghost", "on")],
            ),
            ErrorCode::UnknownFlag,
            "prerequisites[1].flag",
        ),
        (
            "rewiring a flag that stays on a cycle",
            flag("cycle-a", &[("mid", "on"), ("cycle-b", "on")]),
            ErrorCode::PrerequisiteCycle,
            "prerequisites[1].flag",
        ),
        (
            "rewiring a flag that stays on an over-deep chain",
            flag("f000000", &[("mid", "on"), ("f000001", "on")]),
            ErrorCode::PrerequisiteTooDeep,
            "prerequisites[1].flag",
        ),
        (
            "a new flag on top of the over-deep chain",
            flag("above", &[("f000001", "on")]),
            ErrorCode::PrerequisiteTooDeep,
            "prerequisites[0].flag",
        ),
    ];
    for (name, change, code, field) in refused {
        let mut catalog = recovered.clone();
        let error = catalog.upsert_flag(change).expect_err(name);
        assert_eq!(
            (error.code(), error.field()),
            (code, field),
            "{name}: {}",
            describe(&error)
        );
    }
}

/// A flag's prerequisites as generated: targets by index (past the last flag, a missing
/// flag) and variants by index (2 is a variant no flag has).
type Generated = Vec<Vec<(usize, usize)>>;

fn generated_flags(graph: &Generated) -> Vec<Flag> {
    let n = graph.len();
    graph
        .iter()
        .enumerate()
        .map(|(i, prerequisites)| {
            let named: Vec<(String, &str)> = prerequisites
                .iter()
                .filter(|(target, _)| *target != i)
                .map(|&(target, variant)| {
                    let key = if target < n {
                        format!("g{target:02}")
                    } else {
                        format!("ghost{target}")
                    };
                    (key, ["on", "off", "nope"][variant])
                })
                .collect();
            let pairs: Vec<(&str, &str)> = named.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            flag(&format!("g{i:02}"), &pairs)
        })
        .collect()
}

/// What the catalog must decide, computed the slow, obvious way.
fn reference_verdict(graph: &Generated) -> bool {
    let n = graph.len();
    let edges = |i: usize| {
        graph[i]
            .iter()
            .filter(move |(target, _)| *target != i)
            .copied()
    };
    let dangling = (0..n).any(|i| edges(i).any(|(target, variant)| target >= n || variant == 2));
    // Longest chain below each flag by recursion with a visiting mark; None means a cycle.
    fn depth(
        i: usize,
        graph: &Generated,
        memo: &mut Vec<Option<usize>>,
        visiting: &mut Vec<bool>,
    ) -> Option<usize> {
        if let Some(d) = memo[i] {
            return Some(d);
        }
        if visiting[i] {
            return None;
        }
        visiting[i] = true;
        let mut best = 0;
        for &(target, _) in &graph[i] {
            if target != i && target < graph.len() {
                best = best.max(depth(target, graph, memo, visiting)? + 1);
            }
        }
        visiting[i] = false;
        memo[i] = Some(best);
        Some(best)
    }
    let mut memo = vec![None; n];
    let mut visiting = vec![false; n];
    let deepest = (0..n).try_fold(0, |deepest, i| {
        depth(i, graph, &mut memo, &mut visiting).map(|d| deepest.max(d))
    });
    !dangling && deepest.is_some_and(|d| d <= MAX_PREREQUISITE_DEPTH as usize)
}

/// Mostly forward edges (long chains), some backward ones (cycles), a few missing targets
/// and variants.
fn graphs() -> impl Strategy<Value = Generated> {
    (2usize..26).prop_flat_map(|n| {
        let edge = (
            prop_oneof![
                8 => Just(1usize),
                2 => 2usize..4,
                1 => 0usize..30,
            ],
            prop_oneof![12 => 0usize..2, 1 => Just(2usize)],
        );
        proptest::collection::vec(proptest::collection::vec(edge, 0..3), n).prop_map(move |flags| {
            flags
                .into_iter()
                .enumerate()
                .map(|(i, edges)| {
                    edges
                        .into_iter()
                        .map(|(step, variant)| {
                            // Steps of 1..4 go forward; 0..30 lands anywhere, or nowhere.
                            let target = if step < 4 { i + step } else { step };
                            (target.min(n + 1), variant)
                        })
                        .collect()
                })
                .collect()
        })
    })
}

proptest! {
    /// try_new, recover and upsert_flags agree with each other and with the obvious
    /// recursive definition, on random graphs with chains, cycles and dangling references.
    #[test]
    fn every_constructor_agrees_with_the_obvious_definition(graph in graphs()) {
        let flags = generated_flags(&graph);
        let valid = reference_verdict(&graph);
        let built = Catalog::try_new(1, flags.clone(), []);
        prop_assert_eq!(built.is_ok(), valid);
        let (recovered, diagnostics) = Catalog::recover(1, flags.clone(), []);
        prop_assert_eq!(diagnostics.is_empty(), valid);
        prop_assert_eq!(recovered.flags().len(), flags.len());
        if let Err(error) = &built {
            prop_assert_eq!(Some(error), diagnostics.first());
        }
        let mut batch = Catalog::default();
        prop_assert_eq!(batch.upsert_flags(flags).is_ok(), valid);
    }
}
