//! `rampart demo`: starts an embedded server (SQLite in a temporary data dir), applies
//! example flags and segments, evaluates them for sample users over real HTTP (OFREP),
//! explains each result, pulls the kill switch, and shuts down cleanly.

use anyhow::Context as _;
use rampart_model::Document;
use rampart_model::api::{OfrepResult, PlannedAction};
use rampart_rollout::PlanSpec;
use rampart_sdk::Client;
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
    println!("   hash bucket (0-9999) chose the variant; DEFAULT/STATIC = nothing targeted them.");
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

/// Starts a canary rollout of `new-search` with 1 s soaks, drives it with simulated users
/// from a background task, and follows it in the live view until it completes.
async fn rollout_rehearsal(client: &Client) -> anyhow::Result<()> {
    heading(
        "6. Rolled out new-search with the canary strategy (shadow, 1, 5, 10, 25, 50, 100%; 1 s soaks)",
    );
    println!(
        "   `rampart rollout start new-search --candidate on --strategy canary --soak 1s --watch`"
    );
    println!(
        "   Simulated users evaluate the flag in the background; each step's gate needs samples.\n"
    );
    let plan: PlanSpec = serde_json::from_value(
        json!({"flag": "new-search", "candidate": "on", "strategy": "canary", "soak": "1s"}),
    )?;
    let started = client.start_rollout(&plan).await?;
    let traffic_client = client.clone();
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let traffic = tokio::spawn(async move {
        let mut user: u64 = 0;
        // Bounded: at most 60 s of traffic, about 400 evaluations a second.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        while tokio::time::Instant::now() < deadline && !*stopped.borrow_and_update() {
            for _ in 0..20 {
                user += 1;
                let _ = traffic_client
                    .evaluate(
                        "new-search",
                        &json!({"targetingKey": format!("shopper-{user}")}),
                    )
                    .await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        user
    });
    let outcome = crate::commands::rollout::watch_until_done(
        client,
        started.id,
        std::time::Duration::from_millis(250),
    )
    .await;
    let _ = stop.send(true);
    let evaluations = traffic.await.unwrap_or(0);
    outcome?;
    let counts = client.flag_counts("new-search").await?;
    println!(
        "   {evaluations} simulated evaluations; served per variant: {}",
        counts["served"]
    );
    if let Some(shadow) = counts["shadow"].as_array().filter(|s| !s.is_empty()) {
        println!(
            "   shadow step (dark launch) counterfactuals: {}",
            serde_json::Value::Array(shadow.clone())
        );
    }
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
