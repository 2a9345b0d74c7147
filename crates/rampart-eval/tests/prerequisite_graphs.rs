//! Prerequisite graphs that share flags (diamonds): each flag must be evaluated once per
//! evaluation, not once per path to it. Found while writing the fuzz targets (`fuzz/`) and
//! reproduced through the `document` target: a valid 11 KB document of 17 layers of 3
//! flags, each requiring the 3 flags of the next layer, made one evaluation walk 3^16 paths
//! and take minutes.

#![allow(
    clippy::disallowed_methods,
    reason = "the test runs the check on a thread to bound its time; the bans guard the library"
)]

use std::sync::mpsc;
use std::time::Duration;

use rampart_eval::{Context, ErrorCode, MAX_PREREQUISITE_DEPTH, Reason, Snapshot};
use rampart_model::{Catalog, Flag, FlagSpec, Prerequisite};
use serde_json::json;

/// `layers` layers of `width` boolean flags `L-I`; every flag of a layer requires every
/// flag of the next layer to be `on`, and serves `on` when they are (its default is `off`).
/// `off_at` makes the last flag of that layer serve `off`.
fn layered(layers: usize, width: usize, off_at: Option<usize>) -> Snapshot {
    let mut flags = Vec::new();
    for layer in 0..layers {
        for i in 0..width {
            let mut spec: FlagSpec = serde_json::from_value(json!({
                "key": format!("{layer}-{i}"),
                "kind": "boolean",
                "variants": {"on": true, "off": false},
                "default_variant": "off",
                "fallthrough": {
                    "variant": if off_at == Some(layer) && i + 1 == width { "off" } else { "on" }
                },
            }))
            .unwrap();
            if layer + 1 < layers {
                spec.prerequisites = (0..width)
                    .map(|j| Prerequisite {
                        flag: format!("{}-{j}", layer + 1),
                        variant: "on".to_owned(),
                    })
                    .collect();
            }
            flags.push(Flag::try_new(spec).unwrap());
        }
    }
    // `recover`: a graph one layer past the depth limit is one a store may hold but writes
    // refuse, and evaluation must stay quick on it too.
    Snapshot::compile(&Catalog::recover(1, flags, []).0)
}

/// Runs `check` on another thread and fails if it takes longer than a generous bound: an
/// exponential walk would take minutes to hours, a linear one milliseconds.
fn finishes_quickly(check: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        check();
        let _ = done.send(());
    });
    match finished.recv_timeout(Duration::from_secs(60)) {
        Ok(()) => {}
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("evaluation over shared prerequisites did not finish within 60 s")
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the check failed"),
    }
}

#[test]
fn diamond_prerequisites_are_evaluated_once_per_flag_not_per_path() {
    finishes_quickly(|| {
        let depth = MAX_PREREQUISITE_DEPTH as usize + 1;
        let snapshot = layered(depth, 4, None);
        let context = Context::new(Some("user-1".to_owned()));
        let top = snapshot.evaluate("0-0", &context);
        assert_eq!(top.error_code, None);
        assert_eq!(top.reason, Reason::Default);
        assert_eq!(top.value, Some(&json!(true)));
        // Every flag, in bulk, agrees with one-by-one evaluation.
        for (key, resolution) in snapshot.evaluate_all(&context) {
            assert_eq!(resolution, snapshot.evaluate(key, &context), "{key}");
            assert_eq!(resolution.value, Some(&json!(true)), "{key}");
        }
    });
}

#[test]
fn a_failing_shared_prerequisite_fails_every_path_the_same_way() {
    finishes_quickly(|| {
        let depth = MAX_PREREQUISITE_DEPTH as usize + 1;
        let snapshot = layered(depth, 4, Some(9));
        let context = Context::new(None);
        for layer in 0..depth {
            let resolution = snapshot.evaluate(&format!("{layer}-0"), &context);
            if layer < 9 {
                assert_eq!(resolution.reason, Reason::Default, "{layer}");
                assert_eq!(resolution.value, Some(&json!(false)), "{layer}");
                let failed = resolution.metadata.prerequisite_failed.unwrap();
                let expected = if layer == 8 {
                    "9-3"
                } else {
                    &format!("{}-0", layer + 1)
                };
                assert_eq!(failed, expected, "layer {layer}");
            } else {
                assert_eq!(resolution.error_code, None, "{layer}");
                assert_eq!(resolution.value, Some(&json!(true)), "{layer}");
            }
        }
    });
}

#[test]
fn a_shared_chain_one_layer_too_deep_is_too_deep_from_every_path() {
    finishes_quickly(|| {
        let depth = MAX_PREREQUISITE_DEPTH as usize + 2;
        let snapshot = layered(depth, 3, None);
        let context = Context::new(None);
        let top = snapshot.evaluate("0-0", &context);
        assert_eq!(top.error_code, Some(ErrorCode::General));
        assert_eq!(top.reason, Reason::Error);
        // One layer down the chain fits.
        let next = snapshot.evaluate("1-0", &context);
        assert_eq!(next.error_code, None);
        assert_eq!(next.value, Some(&json!(true)));
    });
}
