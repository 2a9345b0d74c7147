//! Health windows: saved outside the config's revisions, read back whole, replaced on a
//! second save, refused for an unknown rollout, and gone with nothing else.

use std::sync::Arc;

use serde_json::json;

use crate::error::StoreError;
use crate::rollout::{Arm, HealthWindow};
use crate::store::Store;

use super::fixtures::checkout_rollout;

fn window(arm: Arm, index: u64, requests: u64) -> HealthWindow {
    HealthWindow {
        arm,
        window: index,
        aggregate: json!({"requests": requests, "errors": 0}),
    }
}

pub(super) async fn health_windows_round_trip_without_a_revision(store: Arc<dyn Store>) {
    let created = checkout_rollout(&*store, "alice").await;
    let id = created.created_rollouts[0];
    assert_eq!(store.health(id).await.expect("read"), Vec::new());
    let revision = store.load().await.expect("load").revision;

    let first = vec![
        window(Arm::Candidate, 1_800_000_000, 7),
        window(Arm::Baseline, 1_800_000_001, 9),
        window(Arm::Baseline, 1_800_000_000, 3),
    ];
    store.save_health(id, &first).await.expect("save");
    // The same window again (after a restart) replaces it; new ones add up.
    store
        .save_health(
            id,
            &[
                window(Arm::Baseline, 1_800_000_001, 10),
                window(Arm::Candidate, 1_800_000_001, 4),
            ],
        )
        .await
        .expect("save again");
    store
        .save_health(id, &[])
        .await
        .expect("an empty save is fine");
    assert_eq!(
        store.health(id).await.expect("read"),
        vec![
            window(Arm::Baseline, 1_800_000_000, 3),
            window(Arm::Baseline, 1_800_000_001, 10),
            window(Arm::Candidate, 1_800_000_000, 7),
            window(Arm::Candidate, 1_800_000_001, 4),
        ]
    );
    assert_eq!(
        store.load().await.expect("load").revision,
        revision,
        "observations are not config changes"
    );
    assert!(store.health(id + 1).await.expect("read").is_empty());
    assert!(matches!(
        store.save_health(id + 1, &first).await,
        Err(StoreError::NotFound {
            kind: "rollout",
            ..
        })
    ));
}
