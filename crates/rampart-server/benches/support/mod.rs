//! What the server benchmarks share: a real server on loopback, JSON calls, and a summary.
#![allow(dead_code, reason = "each benchmark uses a part of it")]

use std::time::Duration;

use serde_json::Value;

/// A server serving `config` on 127.0.0.1, until `stop`.
pub struct BenchServer {
    pub url: String,
    pub controller: std::sync::Arc<rampart_server::Controller>,
    http: reqwest::Client,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), rampart_server::ServerError>>,
}

impl BenchServer {
    pub async fn start(config: &rampart_server::Config) -> BenchServer {
        let app = rampart_server::App::open(config)
            .await
            .expect("server opens");
        let controller = app.controller();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.serve(listener, async {
            let _ = stopped.await;
        }));
        BenchServer {
            url,
            controller,
            http: reqwest::Client::new(),
            stop,
            task,
        }
    }

    /// Sends `body` (if any) as JSON; returns the status and the JSON answer.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (reqwest::StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: &Value) -> (reqwest::StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// `(median, p90, max)` in milliseconds.
pub fn summary(samples: &mut [Duration]) -> (f64, f64, f64) {
    samples.sort();
    let at =
        |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0;
    (at(0.5), at(0.9), at(1.0))
}
