//! Structure-aware inputs: the fuzzer's bytes as choices that build a flag, segment,
//! document, context or plan, always well-formed JSON and mostly close to valid.
//!
//! Byte-level mutation of JSON spends most of its time in the parser's error paths; an
//! input that starts with a NUL byte is instead read by [`Gen`] as a sequence of choices
//! (names from the fixtures' vocabulary, every operator, typed edge-case values, weights
//! near 10 000), and the JSON it describes goes through the same target as raw input
//! would. Coverage still guides the choices, so both halves of a target are explored.

use serde_json::{Map, Value, json};

/// The prefix that selects structure-aware input.
pub const STRUCTURED: u8 = 0;

/// Choices read from bytes; once the bytes run out every choice is the first option, so
/// any input describes a finite value.
#[derive(Debug)]
pub struct Gen<'a> {
    bytes: &'a [u8],
}

impl<'a> Gen<'a> {
    pub fn new(bytes: &'a [u8]) -> Gen<'a> {
        Gen { bytes }
    }

    pub fn byte(&mut self) -> u8 {
        match self.bytes.split_first() {
            Some((&first, rest)) => {
                self.bytes = rest;
                first
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    fn u64(&mut self) -> u64 {
        let mut bytes = [0; 8];
        bytes.iter_mut().for_each(|b| *b = self.byte());
        u64::from_le_bytes(bytes)
    }

    /// A number below `bound` (which must not be 0).
    pub fn below(&mut self, bound: usize) -> usize {
        usize::from(self.byte()) % bound
    }

    pub fn flip(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    /// One of `options`, which must not be empty.
    pub fn pick<T: Clone>(&mut self, options: &[T]) -> T {
        options[self.below(options.len())].clone()
    }

    /// Up to `max` items made by `make`.
    pub fn list<T>(&mut self, max: usize, mut make: impl FnMut(&mut Gen<'a>) -> T) -> Vec<T> {
        let count = self.below(max + 1);
        (0..count).map(|_| make(self)).collect()
    }

    /// A short string: mostly from `pool`, sometimes raw bytes (lossy UTF-8).
    pub fn text(&mut self, pool: &[&str]) -> String {
        if self.below(8) == 0 {
            let len = self.below(12);
            let bytes: Vec<u8> = (0..len).map(|_| self.byte()).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            self.pick(pool).to_owned()
        }
    }

    /// A number, often at an edge.
    pub fn number(&mut self) -> Value {
        match self.below(10) {
            0 => json!(0),
            1 => json!(-0.0),
            2 => json!(self.u64()),
            3 => json!(-(i64::from(self.u16()))),
            4 => json!(f64::from(self.u16()) / 7.0),
            5 => json!(f64::from_bits(self.u64())),
            6 => json!(u64::MAX),
            7 => json!(1e21),
            8 => json!(5e-324),
            _ => json!(f64::from(self.byte()) + 0.5),
        }
    }

    /// Any JSON value, nested at most `depth` deep.
    pub fn value(&mut self, depth: usize, strings: &[&str]) -> Value {
        match self.below(if depth == 0 { 4 } else { 6 }) {
            0 => Value::Null,
            1 => Value::Bool(self.flip()),
            2 => self.number(),
            3 => Value::String(self.text(strings)),
            4 => Value::Array(self.list(3, |g| g.value(depth - 1, strings))),
            _ => {
                let mut members = Map::new();
                for _ in 0..self.below(4) {
                    let key = self.text(strings);
                    let value = self.value(depth - 1, strings);
                    members.insert(key, value);
                }
                Value::Object(members)
            }
        }
    }
}

/// Flag keys, segment names and variants of the fixtures; [`name`] mixes in bad ones.
const KEYS: &[&str] = &[
    "new-checkout",
    "returns-banner",
    "search-ranker",
    "checkout-timeout-ms",
    "new-search",
    "payments-v2",
    "fuzz-flag",
    "a",
];
const SEGMENTS: &[&str] = &["internal", "beta", "eu"];
const VARIANTS: &[&str] = &[
    "on", "off", "shown", "hidden", "fast", "patient", "classic", "neural", "control", "yes",
    "null", "x",
];
const BAD_NAMES: &[&str] = &["", "-bad", "has space", "ünï", "a/b"];
const ATTRIBUTES: &[&str] = &[
    "targetingKey",
    "email",
    "country",
    "plan",
    "app_version",
    "beta",
    "ip",
    "age",
    "signup",
    "ua",
    "user.plan",
    "user.org.id",
    "a.b",
    "accountId",
    ".",
];
const STRINGS: &[&str] = &[
    "@acme.example",
    "ada@acme.example",
    "DE",
    "pro",
    "2.3.0",
    "",
    "on",
    "~",
    "1e3",
];
const REGEXES: &[&str] = &[
    "^Mozilla/5\\.0",
    "a|b",
    "(?i)acme",
    "^$",
    "(",
    "\\p{Greek}+",
];
const TIMESTAMPS: &[&str] = &[
    "2026-01-01T00:00:00Z",
    "2025-12-31T23:59:60+01:00",
    "1970-01-01T00:00:00.000000001-23:59",
    "9999-12-31T23:59:59Z",
    "yesterday",
];
const SEMVERS: &[&str] = &["2.3.0", "v2.4.0-beta.1+build.5", "V0.0.0", "1.x", "01.2.3"];
const CIDRS: &[&str] = &[
    "10.0.0.0/8",
    "::ffff:10.0.0.1",
    "2001:db8::/32",
    "192.168.1.7",
    "10.0.0.0/33",
    "::/0",
];
const OPERATORS: &[&str] = &[
    "in",
    "not_in",
    "eq",
    "neq",
    "starts_with",
    "ends_with",
    "contains",
    "matches",
    "lt",
    "lte",
    "gt",
    "gte",
    "before",
    "after",
    "semver_eq",
    "semver_lt",
    "semver_gt",
    "in_cidr",
];

/// A name from `good`, or now and then a bad one.
fn name(g: &mut Gen<'_>, good: &[&str]) -> String {
    if g.below(32) == 0 {
        g.text(BAD_NAMES)
    } else {
        g.pick(good).to_owned()
    }
}

/// A value of the type `op` compares, or now and then any value.
fn operand(g: &mut Gen<'_>, op: &str) -> Value {
    if g.below(24) == 0 {
        return g.value(1, STRINGS);
    }
    match op {
        "in" | "not_in" | "eq" | "neq" => match g.below(3) {
            0 => g.number(),
            1 => Value::Bool(g.flip()),
            _ => json!(g.text(STRINGS)),
        },
        "matches" => json!(g.pick(REGEXES)),
        "lt" | "lte" | "gt" | "gte" => g.number(),
        "before" | "after" => json!(g.pick(TIMESTAMPS)),
        "semver_eq" | "semver_lt" | "semver_gt" => json!(g.pick(SEMVERS)),
        "in_cidr" => json!(g.pick(CIDRS)),
        _ => json!(g.text(STRINGS)),
    }
}

/// A context value an attribute may hold: any operand type, or anything.
fn attribute_value(g: &mut Gen<'_>) -> Value {
    match g.below(8) {
        0 => g.value(2, STRINGS),
        1 => json!({"plan": g.text(STRINGS), "org": {"id": g.number()}}),
        _ => {
            let op = g.pick(OPERATORS);
            operand(g, op)
        }
    }
}

fn condition(g: &mut Gen<'_>, allow_segment: bool) -> Value {
    let mut condition = Map::new();
    if allow_segment && g.below(4) == 0 {
        condition.insert("segment".into(), json!(name(g, SEGMENTS)));
    } else {
        condition.insert("attribute".into(), json!(name(g, ATTRIBUTES)));
        let op = g.pick(OPERATORS);
        condition.insert("op".into(), json!(op));
        let count = match g.below(8) {
            0 => g.below(4),
            _ if matches!(
                op,
                "in" | "not_in" | "starts_with" | "ends_with" | "contains" | "matches" | "in_cidr"
            ) =>
            {
                1 + g.below(3)
            }
            _ => 1,
        };
        let values: Vec<Value> = (0..count).map(|_| operand(g, op)).collect();
        condition.insert("values".into(), Value::Array(values));
    }
    if g.below(4) == 0 {
        condition.insert("negate".into(), json!(true));
    }
    Value::Object(condition)
}

/// Weights over `variants` that usually sum to 10 000.
fn weights(g: &mut Gen<'_>, variants: &[String]) -> Value {
    let mut left: u32 = 10_000;
    let mut split = Map::new();
    let count = 1 + g.below(variants.len().max(1));
    for index in 0..count {
        let name = if g.below(16) == 0 {
            g.pick(VARIANTS).to_owned()
        } else {
            variants.get(index).cloned().unwrap_or_else(|| "x".into())
        };
        let weight = if index + 1 == count && g.below(8) != 0 {
            left
        } else {
            u32::from(g.u16()) % (left + 1)
        };
        left -= weight.min(left);
        split.insert(name, json!(weight));
    }
    Value::Object(split)
}

fn serve(g: &mut Gen<'_>, variants: &[String]) -> Value {
    let mut serve = Map::new();
    if g.below(3) == 0 {
        serve.insert("split".into(), weights(g, variants));
    } else {
        let variant = if g.below(16) == 0 {
            g.pick(VARIANTS).to_owned()
        } else {
            g.pick(variants)
        };
        serve.insert("variant".into(), json!(variant));
    }
    if g.below(4) == 0 {
        serve.insert("shadow".into(), weights(g, variants));
    }
    // `bucket_by` and `salt` belong to splits; now and then they come without one.
    let splits = serve.contains_key("split") || serve.contains_key("shadow");
    if g.below(if splits { 3 } else { 16 }) == 0 {
        serve.insert("bucket_by".into(), json!(name(g, ATTRIBUTES)));
    }
    if g.below(if splits { 4 } else { 16 }) == 0 {
        serve.insert("salt".into(), json!(g.text(STRINGS)));
    }
    Value::Object(serve)
}

/// A flag spec as JSON: mostly valid, often with cross-references into the demo catalog.
pub fn flag(g: &mut Gen<'_>) -> Value {
    let key = name(g, KEYS);
    let (kind, make): (&str, fn(&mut Gen<'_>) -> Value) = match g.below(4) {
        0 => ("boolean", |g| Value::Bool(g.flip())),
        1 => ("string", |g| json!(g.text(STRINGS))),
        2 => ("number", |g| g.number()),
        _ => ("object", |g| {
            let mut object = Map::new();
            object.insert("text".into(), g.value(2, STRINGS));
            Value::Object(object)
        }),
    };
    let mut names: Vec<String> = Vec::new();
    for _ in 0..1 + g.below(4) {
        let variant = name(g, VARIANTS);
        if !names.contains(&variant) {
            names.push(variant);
        }
    }
    let mut variants = Map::new();
    for name in &names {
        // Now and then a value of the wrong kind.
        let value = if g.below(16) == 0 {
            g.value(1, STRINGS)
        } else {
            make(g)
        };
        variants.insert(name.clone(), value);
    }
    let default = if g.below(16) == 0 {
        g.pick(VARIANTS).to_owned()
    } else {
        g.pick(&names)
    };
    let mut spec = Map::new();
    spec.insert("key".into(), json!(key));
    spec.insert("kind".into(), json!(kind));
    spec.insert("variants".into(), Value::Object(variants));
    spec.insert("default_variant".into(), json!(default));
    if g.below(4) == 0 {
        spec.insert("state".into(), json!("disabled"));
    }
    let rules = g.list(3, |g| {
        let when = g.list(3, |g| condition(g, true));
        json!({"when": when, "serve": serve(g, &names)})
    });
    if !rules.is_empty() {
        spec.insert("rules".into(), Value::Array(rules));
    }
    if g.flip() {
        spec.insert("fallthrough".into(), serve(g, &names));
    }
    let prerequisites = g.list(
        2,
        |g| json!({"flag": name(g, KEYS), "variant": name(g, VARIANTS)}),
    );
    if !prerequisites.is_empty() {
        spec.insert("prerequisites".into(), Value::Array(prerequisites));
    }
    if g.below(4) == 0 {
        spec.insert(
            "tags".into(),
            json!(g.list(2, |g| name(g, &["checkout", "payments"]))),
        );
    }
    Value::Object(spec)
}

/// A segment spec as JSON.
pub fn segment(g: &mut Gen<'_>) -> Value {
    let conditions = {
        let mut list = g.list(3, |g| condition(g, false));
        if list.is_empty() && g.below(4) != 0 {
            list.push(condition(g, false));
        }
        list
    };
    json!({"name": name(g, SEGMENTS), "conditions": conditions})
}

/// A flags-as-code document as JSON.
pub fn document(g: &mut Gen<'_>) -> Value {
    let segments = g.list(2, segment);
    let flags = g.list(4, flag);
    json!({"segments": segments, "flags": flags})
}

/// An evaluation context as JSON: the attributes the fixtures test, with typed values.
pub fn context(g: &mut Gen<'_>) -> Value {
    let mut context = Map::new();
    if g.below(4) != 0 {
        context.insert("targetingKey".into(), json!(g.text(&["u1", "user-2", ""])));
    }
    for _ in 0..g.below(6) {
        let attribute = name(g, ATTRIBUTES);
        let value = attribute_value(g);
        context.insert(attribute, value);
    }
    Value::Object(context)
}

/// A rollout plan as JSON for a demo flag, with steps and an analysis section.
pub fn plan(g: &mut Gen<'_>) -> Value {
    let (flag, candidates): (&str, &[&str]) = g.pick(&[
        ("new-checkout", &["on", "off"][..]),
        ("new-search", &["on", "off"]),
        ("search-ranker", &["neural", "classic"]),
        ("checkout-timeout-ms", &["fast", "patient"]),
        ("returns-banner", &["shown", "hidden"]),
    ]);
    let spans = [
        "0",
        "0s",
        "1ms",
        "30s",
        "5m",
        "1h30m",
        "1d",
        "18446744073709551615ms",
    ];
    let mut plan = Map::new();
    plan.insert("flag".into(), json!(flag));
    plan.insert("candidate".into(), json!(g.pick(candidates)));
    if g.below(4) == 0 {
        plan.insert("baseline".into(), json!(g.pick(candidates)));
    }
    let strategy = g.pick(&["custom", "custom", "safe", "fast", "canary", "instant"]);
    plan.insert("strategy".into(), json!(strategy));
    if strategy == "custom" {
        let mut steps: Vec<Value> = g.list(5, |g| {
            let mut step = Map::new();
            if g.below(6) == 0 {
                step.insert("shadow".into(), json!(true));
            }
            if g.below(8) != 0 {
                let percent = match g.below(4) {
                    0 => json!(f64::from(g.u16() % 10_001) / 100.0),
                    1 => json!(g.pick(&[1, 5, 10, 25, 50, 100])),
                    2 => g.number(),
                    _ => json!(f64::from(g.u16()) / 1000.0),
                };
                step.insert("percent".into(), percent);
            }
            if g.below(4) == 0 {
                step.insert("segment".into(), json!(name(g, SEGMENTS)));
            }
            if g.below(4) == 0 {
                step.insert("approval".into(), json!("required"));
            }
            if g.below(4) == 0 {
                step.insert("soak".into(), json!(g.pick(&spans)));
            }
            if g.below(4) == 0 {
                step.insert("min_samples".into(), json!(g.u16()));
            }
            Value::Object(step)
        });
        if g.below(4) != 0 {
            steps.push(json!({"percent": 100}));
        }
        plan.insert("steps".into(), Value::Array(steps));
    }
    if g.flip() {
        plan.insert("soak".into(), json!(g.pick(&spans)));
    }
    if g.below(4) == 0 {
        let mode = g.pick(&["immediate", "gradual", "kill"]);
        plan.insert(
            "rollback".into(),
            json!({"mode": mode, "step_interval": g.pick(&spans)}),
        );
    }
    if g.flip() {
        let mut analysis = Map::new();
        for field in ["alpha", "alpha_pass"] {
            if g.below(3) == 0 {
                analysis.insert(field.into(), g.number());
            }
        }
        if g.below(3) == 0 {
            analysis.insert("no_data".into(), json!(g.pick(&["hold", "fail", "pass"])));
        }
        let comparisons = g.list(4, |g| {
            let metric = g.pick(&["error_rate", "latency", "counter", "traffic_share"]);
            let mut comparison = Map::new();
            comparison.insert("metric".into(), json!(metric));
            if g.flip() {
                comparison.insert("tolerance".into(), g.number());
            }
            if metric == "latency" || g.below(8) == 0 {
                comparison.insert("quantile".into(), g.number());
            }
            if metric == "counter" || g.below(8) == 0 {
                comparison.insert("counter".into(), json!(g.text(&["checkout_failed", ""])));
            }
            Value::Object(comparison)
        });
        analysis.insert("comparisons".into(), Value::Array(comparisons));
        let guardrails = g.list(3, |g| {
            let metric = g.pick(&["error_rate", "latency"]);
            let mut guardrail = Map::new();
            guardrail.insert("metric".into(), json!(metric));
            guardrail.insert("limit".into(), g.number());
            if metric == "latency" || g.below(8) == 0 {
                guardrail.insert("quantile".into(), g.number());
            }
            for field in ["for", "range"] {
                if g.flip() {
                    guardrail.insert(field.into(), json!(g.pick(&spans)));
                }
            }
            Value::Object(guardrail)
        });
        analysis.insert("guardrails".into(), Value::Array(guardrails));
        plan.insert("analysis".into(), Value::Object(analysis));
    }
    Value::Object(plan)
}

/// The JSON text an input stands for: itself, or for structure-aware input (a leading NUL)
/// the value `make` builds from the rest of the bytes.
pub fn input(data: &[u8], make: impl FnOnce(&mut Gen<'_>) -> Value) -> std::borrow::Cow<'_, [u8]> {
    match data.split_first() {
        Some((&STRUCTURED, rest)) => {
            let value = make(&mut Gen::new(rest));
            std::borrow::Cow::Owned(serde_json::to_vec(&value).unwrap_or_default())
        }
        _ => std::borrow::Cow::Borrowed(data),
    }
}
