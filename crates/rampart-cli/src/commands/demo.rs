//! `rampart demo`: starts an embedded server (SQLite in a temporary data dir), applies
//! example flags and segments, evaluates them for sample users over real HTTP (OFREP),
//! explains each result, pulls the kill switch, rehearses a healthy rollout (promoted) and a
//! faulty one (rolled back by the judge) under simulated traffic, and shuts down cleanly.

use anyhow::Context as _;
use rampart_model::Document;
use rampart_model::api::{EventOutcome, HealthEvent, OfrepResult, PlannedAction};
use rampart_rollout::view::RolloutView;
use rampart_rollout::{Phase, PlanSpec};
use rampart_sdk::{Client, Reporter, ReporterConfig};
use rampart_server::{App, Config};
use serde_json::json;

use crate::args::DemoArgs;
use crate::commands::eval::results_table;

const DEMO_FLAGS: &str = include_str!("../../demo/flags.yaml");

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    // A temporary dir unless --data-dir is given; then the data is kept for inspection.
    let temporary = match &args.data_dir {
        Some(_) => None,
        None => Some(tempfile::Builder::new().prefix("rampart-demo-").tempdir()?),
    };
    let data_dir = match (&args.data_dir, &temporary) {
        (Some(dir), _) => dir.clone(),
        (None, temp) => temp
            .as_ref()
            .map(|t| t.path().to_owned())
            .context("no temporary dir")?,
    };

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot bind a loopback port")?;
    let address = listener.local_addr()?;
    let mut config = Config::sqlite(&data_dir);
    // Rollouts in the demo use 1 s soaks; check them often so steps follow each other promptly.
    config.tick_interval = std::time::Duration::from_millis(200);
    let app = App::open(&config)
        .await
        .context("cannot start the embedded server")?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve(listener, async {
        let _ = stopped.await;
    }));
    let url = format!("http://{address}");
    heading(&format!(
        "1. Started an embedded Rampart server at {url} (SQLite in {})",
        data_dir.display()
    ));

    let client = Client::new(&url)?.with_actor("demo");
    let outcome = rehearse(&client).await;

    let _ = stop.send(());
    server.await.context("the server task failed")??;
    outcome?;
    heading("Done. The server drained its connections and stopped cleanly.");
    match &args.data_dir {
        Some(dir) => println!(
            "The data is kept in {}: `rampart serve --data-dir {}` serves it again.",
            dir.display(),
            dir.display()
        ),
        None => println!(
            "The temporary data dir was removed. Keep it with `rampart demo --data-dir DIR`."
        ),
    }
    Ok(())
}

fn heading(text: &str) {
    println!("\n== {text}");
}

async fn rehearse(client: &Client) -> anyhow::Result<()> {
    let document =
        Document::from_yaml(DEMO_FLAGS).context("the built-in demo document is invalid")?;
    let applied = client.apply(&document, false).await?;
    heading(&format!(
        "2. Applied {} segments and flags as code (config revision {})",
        applied.changes.len(),
        applied.revision
    ));
    for change in &applied.changes {
        let verb = if change.action == PlannedAction::Unchanged {
            "unchanged"
        } else {
            "created"
        };
        println!("   {verb:9} {:7} {}", change.kind, change.key);
    }

    heading("3. Evaluated every flag for sample users, over OFREP (POST /ofrep/v1/evaluate/flags)");
    let users = [
        (
            "alice, an employee in Germany",
            json!({"targetingKey": "alice", "email": "alice@acme.example", "country": "DE"}),
        ),
        (
            "bob, a beta customer on app 2.4.1",
            json!({"targetingKey": "bob", "beta": true, "app_version": "2.4.1", "country": "US"}),
        ),
        (
            "carol, a customer in France",
            json!({"targetingKey": "carol", "country": "FR", "app_version": "2.1.0"}),
        ),
        (
            "an anonymous request (no targetingKey)",
            json!({"country": "NL"}),
        ),
    ];
    for (who, context) in &users {
        let results = client
            .evaluate_all(context, None)
            .await?
            .body
            .map(|b| b.flags)
            .unwrap_or_default();
        println!("\n   {who}: {context}");
        println!("{}", results_table(&results));
    }
    println!("\n   Reasons: TARGETING_MATCH = a rule matched (DETAIL ruleIndex); SPLIT = a stable");
    println!("   hash bucket (0-9999) chose the variant; STATIC = the flag has no targeting, and");
    println!(
        "   TARGETING_MATCH without ruleIndex = no rule matched (fallthrough) or a prerequisite failed."
    );
    println!(
        "   Without a targetingKey a split cannot bucket, so it reports TARGETING_KEY_MISSING"
    );
    println!("   rather than guess; returns-banner needs new-checkout=on (a prerequisite).");

    heading("4. The split is stable and monotonic: share of 2,000 users getting new-checkout=on");
    let mut on = 0;
    for i in 0..2000 {
        let result = client
            .evaluate(
                "new-checkout",
                &json!({"targetingKey": format!("user-{i}")}),
            )
            .await?;
        if let OfrepResult::Success(s) = result
            && s.value == json!(true)
        {
            on += 1;
        }
    }
    println!(
        "   {on} of 2000 ({:.1}%) — the split asks for 10.0%",
        f64::from(on) / 20.0
    );

    heading("5. Pulled the kill switch: `rampart flag disable new-checkout`");
    let disabled = client.set_flag_enabled("new-checkout", false, None).await?;
    let result = client.evaluate("new-checkout", &users[0].1).await?;
    println!(
        "   revision {}: alice now gets {}",
        disabled.meta.revision,
        describe(&result)
    );
    let history = client.flag_history("new-checkout").await?;
    for item in &history.history {
        println!(
            "   history: revision {} {} by {} at {}",
            item.revision, item.op, item.actor, item.at
        );
    }
    let restored = client.set_flag_enabled("new-checkout", true, None).await?;
    println!("   re-enabled at revision {}", restored.meta.revision);

    rollout_rehearsal(client).await?;

    heading("Try it yourself against `rampart serve`:");
    println!("   curl -s -X POST localhost:4242/ofrep/v1/evaluate/flags/new-checkout \\");
    println!(
        "        -H 'content-type: application/json' -d '{{\"context\":{{\"targetingKey\":\"alice\",\"email\":\"alice@acme.example\"}}}}'"
    );
    Ok(())
}

/// How a simulated service behaves on each variant: error rate and latency scale.
#[derive(Debug, Clone, Copy)]
struct Behaviour {
    baseline_errors: f64,
    candidate_errors: f64,
    candidate_slowdown: f64,
}

/// A small deterministic generator for the simulated traffic (xorshift64*).
struct Dice(u64);

impl Dice {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1_u64 << 53) as f64
    }

    /// A log-normal latency around 80 ms (σ 0.4), via the sum of 12 uniforms.
    fn latency_ms(&mut self) -> f64 {
        let normal: f64 = (0..12).map(|_| self.unit()).sum::<f64>() - 6.0;
        80.0 * (0.4 * normal).exp()
    }
}

/// Simulated users of a service: each request evaluates `flag` over OFREP, runs the served
/// variant (and, in a shadow step, the candidate in the dark), and reports the outcome
/// through the SDK's batching reporter. Bounded: at most 120 s, about 2,000 requests a second.
fn simulate(
    client: &Client,
    reporter: &Reporter,
    plan: &PlanSpec,
    behaviour: Behaviour,
    stopped: tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<u64>> {
    let flag: std::sync::Arc<str> = plan.flag.as_str().into();
    let candidate: std::sync::Arc<str> = plan.candidate.as_str().into();
    (0..4_u64)
        .map(|worker| {
            let (flag, candidate) = (flag.clone(), candidate.clone());
            let client = client.clone();
            let reporter = reporter.clone();
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                let mut dice =
                    Dice(0x9E37_79B9_7F4A_7C15 ^ (worker + 1).wrapping_mul(0x1234_5678_9ABC));
                let mut requests = 0_u64;
                let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
                let mut pace = tokio::time::interval(std::time::Duration::from_millis(50));
                while tokio::time::Instant::now() < deadline && !*stopped.borrow_and_update() {
                    pace.tick().await;
                    for _ in 0..25 {
                        requests += 1;
                        let user = json!({"targetingKey": format!("shopper-{worker}-{requests}")});
                        let Ok(OfrepResult::Success(served)) = client.evaluate(&flag, &user).await
                        else {
                            continue;
                        };
                        let shadow = served
                            .metadata
                            .get("shadowVariant")
                            .and_then(|v| v.as_str());
                        let mut runs = vec![(served.variant.clone().unwrap_or_default(), false)];
                        if let Some(shadow) = shadow {
                            runs.push((shadow.to_owned(), true));
                        }
                        for (variant, dark) in runs {
                            let is_candidate = *variant == *candidate;
                            let (error_rate, slowdown) = if is_candidate {
                                (behaviour.candidate_errors, behaviour.candidate_slowdown)
                            } else {
                                (behaviour.baseline_errors, 1.0)
                            };
                            let outcome = if dice.unit() < error_rate {
                                EventOutcome::Error
                            } else {
                                EventOutcome::Success
                            };
                            reporter.record(HealthEvent {
                                flag: flag.to_string(),
                                variant,
                                outcome,
                                latency_ms: Some(dice.latency_ms() * slowdown),
                                values: Default::default(),
                                shadow: dark,
                                ts: None,
                            });
                        }
                    }
                }
                requests
            })
        })
        .collect()
}

/// Runs one rollout under simulated traffic until it ends; returns its final view.
async fn rehearse_rollout(
    client: &Client,
    reporter: &Reporter,
    plan: serde_json::Value,
    behaviour: Behaviour,
) -> anyhow::Result<RolloutView> {
    let plan: PlanSpec = serde_json::from_value(plan)?;
    let before = reporter.stats();
    let started = client.start_rollout(&plan).await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let workers = simulate(client, reporter, &plan, behaviour, stopped);
    // A rollback ends `watch` with exit code 3; here it is an outcome to show, not an error.
    let watched = crate::commands::rollout::watch_until_done(
        client,
        started.id,
        std::time::Duration::from_millis(250),
    )
    .await;
    let _ = stop.send(true);
    let mut requests = 0;
    for worker in workers {
        requests += worker.await.unwrap_or(0);
    }
    reporter.flush().await;
    let view = client.get_rollout(started.id).await?;
    if let Err(e) = watched
        && view.phase != Phase::RolledBack
    {
        return Err(e);
    }
    let stats = reporter.stats();
    println!(
        "   {requests} simulated requests; the SDK reporter sent {} events in batches ({} dropped)",
        stats.sent - before.sent,
        stats.dropped - before.dropped
    );
    Ok(view)
}

/// Two rollouts under simulated traffic: a healthy candidate promoted to 100%, then a
/// faulty one rolled back automatically by the judge.
async fn rollout_rehearsal(client: &Client) -> anyhow::Result<()> {
    let reporter = Reporter::start(client.clone(), ReporterConfig::default())?;
    heading("6. Rolled out a healthy new-search: shadow, 25, 50, 100% with 3 s soaks, judged live");
    println!(
        "   Simulated users evaluate the flag and report each request's outcome (POST /v1/events)."
    );
    println!("   Each gate needs the judge to show the candidate is no worse than the baseline:");
    println!(
        "   errors within +50%, p99-slow requests within 2x, with alpha 0.05 for the whole rollout.\n"
    );
    let healthy = Behaviour {
        baseline_errors: 0.02,
        candidate_errors: 0.02,
        candidate_slowdown: 1.0,
    };
    let plan = json!({"flag": "new-search", "candidate": "on", "strategy": "custom", "soak": "3s",
                      "steps": [{"shadow": true}, {"percent": 25}, {"percent": 50}, {"percent": 100}]});
    let view = rehearse_rollout(client, &reporter, plan, healthy).await?;
    anyhow::ensure!(
        view.phase == Phase::Completed,
        "the healthy rollout ended {}",
        view.phase.as_str()
    );
    let counts = client.flag_counts("new-search").await?;
    println!("   served per variant: {}", counts["served"]);
    if let Some(shadow) = counts["shadow"].as_array().filter(|s| !s.is_empty()) {
        println!(
            "   shadow step (dark launch) counterfactuals: {}",
            serde_json::Value::Array(shadow.clone())
        );
    }

    heading("7. Rolled out a faulty search-ranker: the neural ranker fails 10% of requests");
    println!("   Steps 10, 50, 100% with 30 s soaks; baseline errors are 1%. No one intervenes.\n");
    let faulty = Behaviour {
        baseline_errors: 0.01,
        candidate_errors: 0.10,
        candidate_slowdown: 1.0,
    };
    let plan = json!({"flag": "search-ranker", "candidate": "neural", "baseline": "classic",
                      "strategy": "custom", "soak": "30s",
                      "steps": [{"percent": 10}, {"percent": 50}, {"percent": 100}]});
    let view = rehearse_rollout(client, &reporter, plan, faulty).await?;
    anyhow::ensure!(
        view.phase == Phase::RolledBack,
        "the faulty rollout ended {}",
        view.phase.as_str()
    );
    let decision = view
        .history
        .iter()
        .find(|e| e.event == "tick" && e.to == "rolled_back")
        .and_then(|e| {
            serde_json::from_value::<rampart_rollout::Decision>(e.detail["decision"].clone()).ok()
        });
    println!(
        "   Rolled back automatically at step {}. The judge's decision:",
        view.step + 1
    );
    if let Some(decision) = decision {
        for line in crate::commands::rollout::gate_lines(&decision) {
            println!("{line}");
        }
    }
    if let Some(timings) = view.rollback.as_ref().and_then(|r| r.timings.as_ref()) {
        println!(
            "   timings: {}",
            crate::commands::rollout::describe_timings(timings)
        );
    }
    println!(
        "   `rampart rollout explain {}` replays this from the signed ledger.",
        view.id
    );
    reporter.shutdown().await;
    Ok(())
}

fn describe(result: &OfrepResult) -> String {
    match result {
        OfrepResult::Success(s) => format!(
            "{} (variant {}, reason {})",
            s.value,
            s.variant.as_deref().unwrap_or("-"),
            s.reason
        ),
        OfrepResult::Failure(f) => format!("error {}", f.error_code),
    }
}
