//! Connection limits over raw TCP (issue #9): header and body timeouts, the connection cap,
//! and a shutdown that can't be held open by a stalled client. Timeouts are set to a few
//! hundred milliseconds so the tests stay quick.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::support::TestServer;

async fn server_with(configure: impl FnOnce(&mut rampart_server::Config)) -> TestServer {
    TestServer::start_configured(tempfile::tempdir().unwrap(), configure).await
}

async fn connect(server: &TestServer) -> TcpStream {
    TcpStream::connect(server.url.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads until the server closes the connection (or `limit` passes): what it sent, and how
/// long it took.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        match tokio::time::timeout(
            limit.saturating_sub(started.elapsed()),
            stream.read(&mut buffer),
        )
        .await
        {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
            Err(_) => panic!(
                "the server kept the connection open for {limit:?}; received {:?}",
                String::from_utf8_lossy(&received)
            ),
        }
    }
    (
        String::from_utf8_lossy(&received).into_owned(),
        started.elapsed(),
    )
}

fn status_and_body(response: &str) -> (u16, Value) {
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn issue_9_partial_headers_are_cut_off_after_the_header_timeout() {
    let server = server_with(|c| c.header_timeout = Duration::from_millis(300)).await;
    let mut stream = connect(&server).await;
    stream
        .write_all(b"POST /ofrep/v1/evaluate/flags/x HTTP/1.1\r\nhost: rampart\r\n")
        .await
        .unwrap();
    let (_, took) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(
        took >= Duration::from_millis(250),
        "closed too early: {took:?}"
    );
}

#[tokio::test]
async fn issue_9_an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let server = server_with(|c| c.header_timeout = Duration::from_millis(300)).await;
    let mut stream = connect(&server).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: rampart\r\n\r\n")
        .await
        .unwrap();
    let (response, _) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

#[tokio::test]
async fn issue_9_a_stalled_body_answers_408_in_each_api_shape() {
    let server = server_with(|c| c.request_timeout = Duration::from_millis(300)).await;
    for (path, expected_code) in [
        ("/v1/flags", "REQUEST_TIMEOUT"),
        ("/v1/events", "REQUEST_TIMEOUT"),
        ("/ofrep/v1/evaluate/flags/x", "GENERAL"),
    ] {
        let mut stream = connect(&server).await;
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: rampart\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"key\":"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let (response, took) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
        let (status, body) = status_and_body(&response);
        assert_eq!(status, 408, "{path}: {response}");
        let code = body["error"]["code"]
            .as_str()
            .or(body["errorCode"].as_str())
            .unwrap_or_default();
        assert_eq!(code, expected_code, "{path}: {response}");
        assert!(took < Duration::from_secs(3), "{path}: took {took:?}");
    }
}

#[tokio::test]
async fn issue_9_a_trickled_body_is_cut_off_at_an_absolute_deadline() {
    let server = server_with(|c| c.request_timeout = Duration::from_millis(400)).await;
    let mut stream = connect(&server).await;
    stream
        .write_all(b"POST /v1/flags HTTP/1.1\r\nhost: rampart\r\ncontent-length: 1000\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    // One byte every 50 ms would reset a per-chunk timer forever.
    let mut response = Vec::new();
    let mut buffer = [0_u8; 4096];
    while started.elapsed() < Duration::from_secs(5) {
        if stream.write_all(b" ").await.is_err() {
            break;
        }
        if let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(50), stream.read(&mut buffer)).await
        {
            if n == 0 {
                break;
            }
            response.extend_from_slice(&buffer[..n]);
            if response.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
    }
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn issue_9_connections_past_the_cap_get_503_with_retry_after() {
    let server = server_with(|c| {
        c.max_connections = 2;
        c.header_timeout = Duration::from_secs(30);
    })
    .await;
    let _first = connect(&server).await;
    let _second = connect(&server).await;
    // Give the server a moment to accept both before the third arrives.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = connect(&server).await;
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: rampart\r\n\r\n")
        .await
        .unwrap();
    let (response, _) = read_until_closed(&mut third, Duration::from_secs(5)).await;
    let (status, body) = status_and_body(&response);
    assert_eq!(status, 503, "{response}");
    assert!(
        response.to_ascii_lowercase().contains("retry-after: 1"),
        "{response}"
    );
    assert_eq!(body["error"]["code"], "UNAVAILABLE", "{response}");
    drop(_first);
    // A slot frees when a connection closes: serving resumes.
    let mut served = None;
    for _ in 0..50 {
        let reply = server
            .http
            .get(format!("{}/healthz", server.url))
            .send()
            .await;
        if let Ok(reply) = reply
            && reply.status() == 200
        {
            served = Some(reply);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(served.is_some(), "serving never resumed after a slot freed");
}

#[tokio::test]
async fn issue_9_shutdown_is_not_held_open_by_a_stalled_client() {
    let server = server_with(|c| {
        c.shutdown_timeout = Duration::from_millis(300);
        c.request_timeout = Duration::from_secs(60);
        c.header_timeout = Duration::from_secs(60);
    })
    .await;
    let mut stalled = connect(&server).await;
    stalled
        .write_all(b"POST /v1/flags HTTP/1.1\r\nhost: rampart\r\ncontent-length: 100\r\n\r\n{")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), server.stop())
        .await
        .expect("the server stopped despite the stalled client");
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    let (_, _) = read_until_closed(&mut stalled, Duration::from_secs(5)).await;
}
