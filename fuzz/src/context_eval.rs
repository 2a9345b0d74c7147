//! `context_eval`: an OFREP evaluation request body against rich snapshots.
//!
//! Input (or structure-aware, see `generate`): the body of `POST /ofrep/v1/evaluate/flags[/{key}]`,
//! read by the server's own `ofrep::parse_body` (blank means an empty context; otherwise a
//! strict `{"context": ...}` whose context, unless absent or null, goes through
//! `Context::from_json`). Every context that
//! reads is evaluated against one snapshot per spec-vector file in `testdata/eval/` (every
//! operator, segments, prerequisites up to and past the depth limit, splits, shadow
//! splits, disabled flags), the model's rich example, the demo's flags, and prerequisites
//! that share flags 17 layers deep, and:
//! - every flag evaluates to a value or an error code, never a panic (totality), within
//!   the invariants of `fixtures::check_resolution`;
//! - evaluation is deterministic, and bulk evaluation agrees with one-by-one evaluation;
//! - the context read twice from the same body evaluates the same.

use std::sync::LazyLock;

use rampart_eval::{Context, Snapshot};
use rampart_model::Document;
use serde::Deserialize;
use serde_json::Value;

use crate::{fixtures, generate};

/// The spec vectors' catalogs, and the model's rich example.
const SOURCES: &[&str] = &[
    include_str!("../../testdata/eval/operators.json"),
    include_str!("../../testdata/eval/prerequisites.json"),
    include_str!("../../testdata/eval/reasons.json"),
    include_str!("../../testdata/eval/segments.json"),
    include_str!("../../testdata/eval/shadow.json"),
    include_str!("../../testdata/eval/splits.json"),
    include_str!("../../crates/rampart-model/tests/testdata/rich.json"),
];

static SNAPSHOTS: LazyLock<Vec<Snapshot>> = LazyLock::new(|| {
    SOURCES
        .iter()
        .map(|source| {
            #[derive(Deserialize)]
            struct Vectors {
                #[serde(default)]
                segments: Vec<rampart_model::SegmentSpec>,
                flags: Vec<rampart_model::FlagSpec>,
            }
            let vectors: Vectors = serde_json::from_str(source).expect("a fixture parses");
            let document = Document {
                segments: vectors.segments,
                flags: vectors.flags,
            };
            let (flags, segments) = document.validate().expect("a fixture is valid");
            // As the eval vectors do: some files hold catalogs that writes refuse (a chain
            // past the depth limit, dangling references) but a store may hold.
            let (catalog, _) = rampart_model::Catalog::recover(7, flags, segments);
            Snapshot::compile(&catalog)
        })
        .chain([
            Snapshot::compile(fixtures::demo_catalog()),
            Snapshot::compile(&diamonds()),
        ])
        .collect()
});

/// Prerequisites that share flags, 17 layers deep (the limit) and 3 wide, each flag with a
/// rule on the context, so which prerequisites hold depends on the request.
fn diamonds() -> rampart_model::Catalog {
    const LAYERS: usize = rampart_eval::MAX_PREREQUISITE_DEPTH as usize + 1;
    let attributes = ["plan", "country", "email", "beta", "age"];
    let flags: Vec<rampart_model::Flag> = (0..LAYERS)
        .flat_map(|layer| (0..3).map(move |i| (layer, i)))
        .map(|(layer, i)| {
            let prerequisites: Vec<Value> = if layer + 1 < LAYERS {
                (0..3)
                    .map(|j| serde_json::json!({"flag": format!("d{}-{j}", layer + 1), "variant": "on"}))
                    .collect()
            } else {
                Vec::new()
            };
            let attribute = attributes[(layer + i) % attributes.len()];
            let spec = serde_json::json!({
                "key": format!("d{layer}-{i}"),
                "kind": "boolean",
                "variants": {"on": true, "off": false},
                "default_variant": "off",
                "prerequisites": prerequisites,
                "rules": [{"when": [{"attribute": attribute, "op": "in", "values": ["x", 1, true]}],
                           "serve": {"variant": "off"}}],
                "fallthrough": {"variant": "on"},
            });
            let spec = serde_json::from_value(spec).expect("a diamond flag parses");
            rampart_model::Flag::try_new(spec).expect("a diamond flag is valid")
        })
        .collect();
    fixtures::catalog_of(3, &flags, []).expect("the diamonds make a catalog")
}

pub fn init() {
    fixtures::init();
    LazyLock::force(&SNAPSHOTS);
}

/// Reads a body as the OFREP handlers do; `None` where they answer 400.
pub fn parse_request(body: &[u8]) -> Option<Context> {
    rampart_server::fuzzing::parse_ofrep_request(body)
        .ok()
        .map(|parsed| parsed.context)
}

/// Returns whether the body read as a context (so the flags were evaluated).
pub fn run(data: &[u8]) -> bool {
    let data = generate::input(
        data,
        |g| serde_json::json!({"context": generate::context(g)}),
    );
    let Some(context) = parse_request(&data) else {
        return false;
    };
    assert_eq!(
        parse_request(&data).as_ref(),
        Some(&context),
        "the same body read twice gives different contexts"
    );
    for snapshot in SNAPSHOTS.iter() {
        fixtures::check_snapshot(snapshot, &context);
    }
    true
}
