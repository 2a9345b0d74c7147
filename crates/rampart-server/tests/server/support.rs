//! A real server on 127.0.0.1:0 with SQLite in a temporary directory, and request helpers.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub struct TestServer {
    pub url: String,
    /// The controller, ticked by hand (its loop does not run in tests).
    pub controller: std::sync::Arc<rampart_server::Controller>,
    /// The controller's clock; tests move it.
    pub clock: std::sync::Arc<rampart_server::clock::ManualClock>,
    pub http: reqwest::Client,
    data_dir: Option<tempfile::TempDir>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), rampart_server::ServerError>>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        let data_dir = tempfile::tempdir().unwrap();
        TestServer::start_in(data_dir).await
    }

    pub async fn start_in(data_dir: tempfile::TempDir) -> TestServer {
        TestServer::start_configured(data_dir, |_| {}).await
    }

    /// As `start_in`, with the config adjusted by `configure` first.
    pub async fn start_configured(
        data_dir: tempfile::TempDir,
        configure: impl FnOnce(&mut rampart_server::Config),
    ) -> TestServer {
        let clock = std::sync::Arc::new(rampart_server::clock::ManualClock::starting_at(
            1_800_000_000_000,
        ));
        let mut config = rampart_server::Config::sqlite(data_dir.path());
        configure(&mut config);
        config.clock = clock.clone();
        config.run_controller = false;
        let app = rampart_server::App::open(&config).await.unwrap();
        TestServer::serve(app, clock, Some(data_dir)).await
    }

    /// A server over a store the test built (e.g. one that fails on purpose).
    pub async fn start_with_store(store: std::sync::Arc<dyn rampart_store::Store>) -> TestServer {
        let clock = std::sync::Arc::new(rampart_server::clock::ManualClock::starting_at(
            1_800_000_000_000,
        ));
        let mut config = rampart_server::Config::in_memory();
        config.clock = clock.clone();
        config.run_controller = false;
        let app = rampart_server::App::with_store(store, &config)
            .await
            .unwrap();
        TestServer::serve(app, clock, None).await
    }

    async fn serve(
        app: rampart_server::App,
        clock: std::sync::Arc<rampart_server::clock::ManualClock>,
        data_dir: Option<tempfile::TempDir>,
    ) -> TestServer {
        let controller = app.controller();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.serve(listener, async {
            let _ = stopped.await;
        }));
        TestServer {
            url,
            controller,
            clock,
            http: reqwest::Client::new(),
            data_dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the server cleanly and hands back its data dir (to restart on the same data).
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
        self.data_dir.take().unwrap()
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        Reply::read(response).await
    }

    pub async fn raw(&self, path: &str, body: &'static str) -> Reply {
        self.send(Method::POST, path, body).await
    }

    /// A JSON body sent as written, so it can hold what `json!` cannot (a key given twice).
    pub async fn send(&self, method: Method, path: &str, body: &str) -> Reply {
        let response = self
            .http
            .request(method, format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        Reply::read(response).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body), &[]).await
    }

    pub async fn put(&self, path: &str, body: Value, if_match: Option<&str>) -> Reply {
        let headers: Vec<(&str, &str)> =
            if_match.map(|v| vec![("if-match", v)]).unwrap_or_default();
        self.call(Method::PUT, path, Some(body), &headers).await
    }

    pub async fn eval(&self, flag: &str, context: Value) -> Reply {
        self.post(
            &format!("/ofrep/v1/evaluate/flags/{flag}"),
            json!({ "context": context }),
        )
        .await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    async fn read(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an admin error envelope with this status, code and (optional) field.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str, field: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.body["error"]["code"], code, "body: {}", self.body);
        assert!(
            self.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "body: {}",
            self.body
        );
        match field {
            Some(field) => assert_eq!(self.body["error"]["field"], field, "body: {}", self.body),
            None => assert!(
                self.body["error"].get("field").is_none(),
                "body: {}",
                self.body
            ),
        }
    }
}

/// Segments and flags most tests share: `internal` by email domain, and `new-checkout`
/// (internal → on, everyone else 10% on by targetingKey).
pub async fn seed(server: &TestServer) {
    let reply = server
        .post(
            "/v1/segments",
            json!({"name": "internal", "conditions": [{"attribute": "email", "op": "ends_with", "values": ["@acme.example"]}]}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let reply = server.post("/v1/flags", checkout_flag()).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
}

pub fn checkout_flag() -> Value {
    json!({
        "key": "new-checkout",
        "kind": "boolean",
        "variants": {"on": true, "off": false},
        "default_variant": "off",
        "rules": [{"when": [{"segment": "internal"}], "serve": {"variant": "on"}}],
        "fallthrough": {"split": {"on": 1000, "off": 9000}}
    })
}

/// Creates the boolean flag `key` (variants on/off, default off).
pub async fn boolean_flag(server: &TestServer, key: &str) {
    let flag = json!({"key": key, "kind": "boolean", "variants": {"on": true, "off": false}, "default_variant": "off"});
    assert_eq!(server.post("/v1/flags", flag).await.status, 201);
}

/// The machine's records named `event` across a rollout view's history, oldest first.
pub fn records(view: &Value, event: &str) -> Vec<Value> {
    view["history"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| {
            e["detail"]["records"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|r| r["event"] == event)
        .collect()
}
