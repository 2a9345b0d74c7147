//! The `analysis` section as users write it: flat comparison and guardrail forms with
//! per-metric defaults, round trips, and refusals that say what was wrong.

use rampart_judge::{AnalysisSpec, ComparisonMetric, GuardrailMetric, Judge, NoData};
use serde_json::json;

fn parse(value: serde_json::Value) -> Result<AnalysisSpec, String> {
    serde_json::from_value(value).map_err(|e| e.to_string())
}

#[test]
fn an_empty_section_is_the_trusted_default() {
    let spec = parse(json!({})).unwrap();
    assert_eq!(spec, AnalysisSpec::default());
    assert_eq!(spec.alpha, 0.05);
    assert_eq!(spec.no_data, NoData::Hold);
    assert!(!spec.pass_on_soak);
    let names: Vec<String> = spec.comparisons.iter().map(|c| c.name()).collect();
    assert_eq!(names, ["error_rate", "latency_p99"]);
    assert_eq!(spec.comparisons[0].tolerance, 0.5);
    assert_eq!(spec.comparisons[1].tolerance, 1.0);
}

#[test]
fn flat_forms_take_per_metric_defaults_and_round_trip() {
    let spec = parse(json!({
        "alpha": 0.01,
        "no_data": "fail",
        "comparisons": [
            {"metric": "error_rate"},
            {"metric": "latency", "quantile": 0.95, "tolerance": 0.5},
            {"metric": "counter", "counter": "checkout_failed"},
            {"metric": "traffic_share"}
        ],
        "guardrails": [
            {"metric": "error_rate", "limit": 0.02, "for": "30s"},
            {"metric": "latency", "quantile": 0.95, "limit": 500, "for": "1m", "range": "10s", "min_requests": 50}
        ]
    }))
    .unwrap();
    assert_eq!(spec.no_data, NoData::Fail);
    assert_eq!(
        spec.comparisons[1].metric,
        ComparisonMetric::Latency {
            quantile: 0.95,
            min_baseline_samples: 1_000
        }
    );
    assert_eq!(spec.comparisons[2].tolerance, 0.5);
    assert_eq!(spec.comparisons[3].tolerance, 0.2);
    let latency = &spec.guardrails[1];
    assert_eq!(
        latency.metric,
        GuardrailMetric::LatencyQuantile { quantile: 0.95 }
    );
    assert_eq!(
        (latency.for_ms, latency.range_ms, latency.min_requests),
        (60_000, 10_000, 50)
    );
    assert_eq!(
        (spec.guardrails[0].range_ms, spec.guardrails[0].min_requests),
        (30_000, 20)
    );
    assert!(Judge::try_new(spec.clone()).is_ok());
    let again: AnalysisSpec = serde_json::from_value(serde_json::to_value(&spec).unwrap()).unwrap();
    assert_eq!(again, spec);
}

#[test]
fn mistakes_are_refused_with_what_was_wrong() {
    let cases = [
        (json!({"alpah": 0.1}), "unknown field `alpah`"),
        (
            json!({"comparisons": [{"metric": "errors"}]}),
            "unknown variant `errors`",
        ),
        (
            json!({"comparisons": [{"metric": "error_rate", "quantile": 0.9}]}),
            "`quantile` applies only to `metric: latency`",
        ),
        (
            json!({"comparisons": [{"metric": "counter"}]}),
            "needs `counter: NAME`",
        ),
        (
            json!({"comparisons": [{"metric": "error_rate", "tolerence": 1}]}),
            "unknown field `tolerence`",
        ),
        (
            json!({"guardrails": [{"metric": "error_rate", "limit": 0.1, "for": "soon"}]}),
            "soon",
        ),
        (
            json!({"guardrails": [{"metric": "latency"}]}),
            "missing field `limit`",
        ),
    ];
    for (value, expected) in cases {
        let error = parse(value.clone()).expect_err(&value.to_string());
        assert!(error.contains(expected), "{value}: {error}");
    }
    // Well-formed but out of range: refused by the judge with the field's path.
    let spec = parse(json!({"guardrails": [{"metric": "error_rate", "limit": 5}]})).unwrap();
    let error = Judge::try_new(spec).unwrap_err().to_string();
    assert!(
        error.contains("guardrails[0].limit") && error.contains("0.01 is 1%"),
        "{error}"
    );
    let spec = parse(json!({"comparisons": [{"metric": "latency", "quantile": 1.5}]})).unwrap();
    let error = Judge::try_new(spec).unwrap_err().to_string();
    assert!(error.contains("comparisons[0].quantile"), "{error}");
}
