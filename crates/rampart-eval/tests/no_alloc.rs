//! "Evaluation never allocates on the success path": every success case of the shared
//! vectors (`testdata/eval/*.json`) is evaluated under a counting allocator, which must
//! count nothing. The only test of its binary, so no other test's allocations are counted.
#![allow(
    clippy::disallowed_methods,
    reason = "the test loads the shared vectors from disk; the IO ban guards the library"
)]

use rampart_eval::{Context, Snapshot};
use rampart_model::{Catalog, Flag, FlagSpec, Segment, SegmentSpec};
use serde::Deserialize;
use serde_json::Value;

const VECTOR_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/eval");

/// The parts of a vector file this test needs; the vectors test checks the rest.
#[derive(Deserialize)]
struct VectorFile {
    #[serde(default)]
    segments: Vec<SegmentSpec>,
    flags: Vec<FlagSpec>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    flag: String,
    context: Value,
}

#[test]
fn issue_9_successful_evaluations_allocate_nothing() {
    let mut checked = 0;
    let mut allocating = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(VECTOR_DIR)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    for path in files {
        let file: VectorFile =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let flags: Vec<Flag> = file
            .flags
            .into_iter()
            .map(|f| Flag::try_new(f).unwrap())
            .collect();
        let segments: Vec<Segment> = file
            .segments
            .into_iter()
            .map(|s| Segment::try_new(s).unwrap())
            .collect();
        let (catalog, _) = Catalog::recover(1, flags, segments);
        let snapshot = Snapshot::compile(&catalog);
        for case in file.cases {
            let Ok(context) = Context::from_json(case.context) else {
                continue;
            };
            // Warm up once (lazily built state, if any, is not the success path's cost).
            let warm = snapshot.evaluate(&case.flag, &context);
            if warm.is_error() {
                continue;
            }
            let counted = allocation_counter::measure(|| {
                let resolution = snapshot.evaluate(&case.flag, &context);
                std::hint::black_box(&resolution);
            });
            checked += 1;
            if counted.count_total != 0 {
                allocating.push(format!(
                    "{} / {}: {} allocations, {} bytes",
                    path.file_name().unwrap().to_string_lossy(),
                    case.name,
                    counted.count_total,
                    counted.bytes_total
                ));
            }
        }
    }
    assert!(checked > 50, "only {checked} success cases found");
    assert!(
        allocating.is_empty(),
        "successful evaluations that allocate:\n{}",
        allocating.join("\n")
    );
}
