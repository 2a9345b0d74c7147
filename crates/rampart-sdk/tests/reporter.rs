//! The event reporter against a real server on 127.0.0.1:0 (and, for retries, a fake one
//! whose answers the test scripts).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rampart_model::FlagSpec;
use rampart_model::api::{EventOutcome, HealthEvent};
use rampart_sdk::{Client, Reporter, ReporterConfig, ReporterError, ReporterStats};
use serde_json::{Value, json};

/// The sizes of the event batches the server received, in order.
type Batches = Arc<Mutex<Vec<usize>>>;

struct TestServer {
    client: Client,
    batches: Batches,
}

/// A real server (in-memory store, controller loop off) with a boolean flag `checkout`
/// (variants on/off). A middleware notes the size of every event batch.
async fn start_server() -> TestServer {
    let mut config = rampart_server::config::Config::in_memory();
    config.run_controller = false;
    let app = rampart_server::App::open(&config).await.unwrap();
    let batches = Batches::default();
    let router = app.router().layer(axum::middleware::from_fn_with_state(
        batches.clone(),
        note_batch_size,
    ));
    let client = serve(router).await;
    client
        .create_flag(&FlagSpec::boolean("checkout"))
        .await
        .unwrap();
    TestServer { client, batches }
}

async fn note_batch_size(State(batches): State<Batches>, request: Request, next: Next) -> Response {
    if request.uri().path() != "/v1/events" {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let events: Vec<Value> = serde_json::from_slice(&bytes).unwrap();
    batches.lock().unwrap().push(events.len());
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Serves `router` on 127.0.0.1:0 until the test's runtime ends; a client for it.
async fn serve(router: axum::Router) -> Client {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    Client::new(&url).unwrap()
}

/// A client for a port nothing listens on: every connection is refused at once.
fn unreachable_client() -> Client {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    Client::new(&url).unwrap()
}

fn event(flag: &str, variant: &str, i: usize) -> HealthEvent {
    HealthEvent {
        flag: flag.to_owned(),
        variant: variant.to_owned(),
        outcome: if i.is_multiple_of(100) {
            EventOutcome::Error
        } else {
            EventOutcome::Success
        },
        latency_ms: Some(5.0 + (i % 40) as f64),
        values: Default::default(),
        shadow: false,
        ts: None,
    }
}

fn quick_config() -> ReporterConfig {
    ReporterConfig {
        retry_backoff: Duration::from_millis(5),
        ..ReporterConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivers_every_event_in_batches_no_larger_than_batch_size() {
    let server = start_server().await;
    let config = ReporterConfig {
        batch_size: 500,
        ..quick_config()
    };
    let reporter = Reporter::start(server.client.clone(), config).unwrap();
    for i in 0..1_200 {
        let variant = if i % 2 == 0 { "on" } else { "off" };
        assert!(reporter.record(event("checkout", variant, i)));
    }
    reporter.flush().await;

    let stats = reporter.stats();
    assert_eq!(
        stats,
        ReporterStats {
            sent: 1_200,
            ..ReporterStats::default()
        }
    );
    let batches = server.batches.lock().unwrap().clone();
    assert_eq!(batches.iter().sum::<usize>(), 1_200, "{batches:?}");
    assert!(batches.iter().all(|&size| size <= 500), "{batches:?}");
}

#[tokio::test]
async fn full_buffer_drops_and_counts_the_overflow_exactly() {
    // The task is not running yet, so nothing drains the buffer while we record.
    let config = ReporterConfig {
        capacity: 10,
        max_retries: 2,
        ..quick_config()
    };
    let (reporter, task) = Reporter::new(unreachable_client(), config).unwrap();
    let recorded = (0..25)
        .filter(|&i| reporter.success("checkout", "on", Duration::from_millis(i)))
        .count();
    assert_eq!(recorded, 10);
    let stats = reporter.stats();
    assert_eq!((stats.queued, stats.dropped), (10, 15));

    // Once the task runs, the buffered events fail against the closed port.
    let task = tokio::spawn(task.run());
    reporter.flush().await;
    let stats = reporter.stats();
    assert_eq!(
        (stats.queued, stats.sent, stats.failed, stats.dropped),
        (0, 0, 10, 15)
    );
    let last_error = stats.last_error.unwrap();
    assert!(
        last_error.contains("10 events not delivered") && last_error.contains("cannot reach"),
        "{last_error}"
    );
    drop(reporter);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn rejected_events_are_counted_and_the_good_ones_in_the_same_batch_sent() {
    let server = start_server().await;
    let reporter = Reporter::start(server.client.clone(), quick_config()).unwrap();
    for i in 0..10 {
        reporter.record(event("checkout", "on", i));
        if i % 4 == 1 {
            reporter.record(event("checkout", "blue", i));
        }
    }
    reporter.record(event("no-such-flag", "on", 0));
    reporter.flush().await;

    let stats = reporter.stats();
    assert_eq!(
        (stats.queued, stats.sent, stats.rejected, stats.failed),
        (0, 10, 4, 0)
    );
    assert_eq!(*server.batches.lock().unwrap(), [14]);
    let last_error = stats.last_error.unwrap();
    assert!(
        last_error.starts_with("4 of 14 events rejected; event 2:")
            && last_error.contains("UNKNOWN_VARIANT"),
        "{last_error}"
    );
}

#[tokio::test]
async fn shutdown_flushes_and_later_events_are_dropped() {
    let server = start_server().await;
    // An hour-long interval: only the shutdown can send these.
    let config = ReporterConfig {
        flush_interval: Duration::from_secs(3_600),
        ..quick_config()
    };
    let reporter = Reporter::start(server.client.clone(), config).unwrap();
    let other_handle = reporter.clone();
    for i in 0..37 {
        reporter.record(event("checkout", "off", i));
    }
    reporter.shutdown().await;
    assert_eq!(reporter.stats().sent, 37);

    assert!(!other_handle.error("checkout", "on", Duration::from_millis(3)));
    // Neither waits for the stopped task.
    other_handle.flush().await;
    other_handle.shutdown().await;
    assert_eq!(
        other_handle.stats(),
        ReporterStats {
            sent: 37,
            dropped: 1,
            ..ReporterStats::default()
        }
    );
}

#[tokio::test]
async fn flush_interval_sends_without_a_flush() {
    let server = start_server().await;
    let config = ReporterConfig {
        flush_interval: Duration::from_millis(20),
        ..quick_config()
    };
    let reporter = Reporter::start(server.client.clone(), config).unwrap();
    for i in 0..3 {
        reporter.record(event("checkout", "on", i));
    }
    let waited = tokio::time::timeout(Duration::from_secs(5), async {
        while reporter.stats().sent < 3 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "{:?}", reporter.stats());
    assert_eq!(*server.batches.lock().unwrap(), [3]);
}

#[tokio::test]
async fn dropping_every_handle_delivers_the_buffer_and_ends_the_task() {
    let server = start_server().await;
    let (reporter, task) = Reporter::new(server.client.clone(), quick_config()).unwrap();
    let task = tokio::spawn(task.run());
    for i in 0..5 {
        reporter.record(event("checkout", "on", i));
    }
    drop(reporter);
    let stats = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the task ends once every handle is dropped")
        .unwrap();
    assert_eq!(stats.sent, 5);
}

#[tokio::test]
async fn dropping_a_reporter_whose_task_never_ran_is_fine() {
    let (reporter, task) = Reporter::new(unreachable_client(), quick_config()).unwrap();
    reporter.success("checkout", "on", Duration::from_millis(1));
    drop(task);
    // The task is gone, so neither waits.
    reporter.flush().await;
    reporter.shutdown().await;
    assert!(!reporter.success("checkout", "on", Duration::from_millis(1)));
    drop(reporter);
}

/// A fake events endpoint that answers the scripted statuses in turn, then 200.
#[derive(Default)]
struct Script {
    statuses: Vec<u16>,
    attempts: AtomicUsize,
}

async fn scripted(State(script): State<Arc<Script>>, body: axum::body::Bytes) -> Response {
    let attempt = script.attempts.fetch_add(1, Ordering::SeqCst);
    let events: Vec<Value> = serde_json::from_slice(&body).unwrap();
    match script.statuses.get(attempt) {
        Some(&status) => (
            StatusCode::from_u16(status).unwrap(),
            axum::Json(json!({"error": {"code": "SCRIPTED", "message": "scripted failure"}})),
        )
            .into_response(),
        None => axum::Json(json!({"accepted": events.len(), "judged": 0, "rejected": []}))
            .into_response(),
    }
}

#[tokio::test]
async fn retries_only_batches_the_server_certainly_did_not_ingest() {
    // (scripted statuses, attempts expected, delivered?) with max_retries = 2.
    let cases: &[(&[u16], usize, bool)] = &[
        (&[], 1, true),
        (&[503, 500], 3, true),
        (&[500, 503, 503], 3, false),
        // A refused batch is not sent again.
        (&[400], 1, false),
        // A proxy's 502 or 504 may come after the server ingested the batch.
        (&[502], 1, false),
        (&[504], 1, false),
    ];
    for &(statuses, expected_attempts, delivered) in cases {
        let script = Arc::new(Script {
            statuses: statuses.to_vec(),
            ..Script::default()
        });
        let router = axum::Router::new()
            .route("/v1/events", axum::routing::post(scripted))
            .with_state(script.clone());
        let reporter = Reporter::start(serve(router).await, quick_config()).unwrap();
        for i in 0..7 {
            reporter.record(event("checkout", "on", i));
        }
        reporter.flush().await;

        let stats = reporter.stats();
        let context = format!("statuses {statuses:?}: {stats:?}");
        assert_eq!(
            script.attempts.load(Ordering::SeqCst),
            expected_attempts,
            "{context}"
        );
        let expected = if delivered { (7, 0) } else { (0, 7) };
        assert_eq!((stats.sent, stats.failed), expected, "{context}");
        assert_eq!(stats.last_error.is_some(), !delivered, "{context}");
    }
}

#[test]
fn invalid_configs_are_refused() {
    let cases = [
        (
            ReporterConfig {
                capacity: 0,
                ..ReporterConfig::default()
            },
            ReporterError::Capacity(0),
        ),
        (
            ReporterConfig {
                batch_size: 0,
                ..ReporterConfig::default()
            },
            ReporterError::BatchSize(0),
        ),
        (
            ReporterConfig {
                batch_size: 10_001,
                ..ReporterConfig::default()
            },
            ReporterError::BatchSize(10_001),
        ),
        (
            ReporterConfig {
                flush_interval: Duration::ZERO,
                ..ReporterConfig::default()
            },
            ReporterError::ZeroFlushInterval,
        ),
    ];
    for (config, expected) in cases {
        let error = Reporter::new(unreachable_client(), config.clone()).unwrap_err();
        assert_eq!(error, expected, "{config:?}");
    }
    let largest = ReporterConfig {
        batch_size: 10_000,
        ..ReporterConfig::default()
    };
    assert!(Reporter::new(unreachable_client(), largest).is_ok());
}

#[test]
fn start_outside_a_tokio_runtime_is_an_error() {
    let error = Reporter::start(unreachable_client(), ReporterConfig::default()).unwrap_err();
    assert_eq!(error, ReporterError::NoRuntime);
}
