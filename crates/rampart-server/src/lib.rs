//! Rampart's HTTP server: OFREP evaluation and the admin JSON API over one shared state.
//!
//! Layout:
//! - [`config`]: the validated server configuration.
//! - `state`: the published snapshot (swapped atomically) and the serialized write path.
//! - `error`: `ApiError`, the one place errors become HTTP statuses and stable codes.
//! - `extract`: request extractors (JSON bodies with field paths, actor, `If-Match`).
//! - `ofrep`: `POST /ofrep/v1/evaluate/flags[/{key}]`.
//! - `flags`, `segments`, `apply`: the admin API.
//! - `ops`: `/healthz`, `/readyz`, `/v1/snapshot`.
//! - `rollouts`, [`controller`]: the rollout API and the controller runtime that drives
//!   rollouts with the pure state machine; [`clock`] injects time.
//! - `counters`: per-variant evaluation counts (rollout samples, shadow counterfactuals).
//! - `openapi`: the OpenAPI 3.1 document ([`openapi_document`], `GET /openapi.json`), built
//!   from the same route list as the router.
//!
//! [`run`] serves until `shutdown` resolves, so tests can bind `127.0.0.1:0` and stop the
//! server cleanly.

mod apply;
pub mod clock;
pub mod config;
pub mod controller;
mod counters;
mod deadline;
mod error;
pub mod events;
mod extract;
mod flags;
pub mod health;
mod keys;
mod ledger;
mod ofrep;
mod openapi;
mod ops;
mod page;
mod rollouts;
mod segments;
mod serve;
mod state;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::FromRef;
use rampart_store::{SqliteStore, Store, StoreError};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

/// The pure steps of request handling that the fuzz targets (`fuzz/`) drive directly, so
/// they exercise exactly what the handlers run: admin JSON bodies are read with
/// [`parse_json`](fuzzing::parse_json), `POST /v1/apply` inserts a document's flags with
/// [`upsert_all`](fuzzing::upsert_all), OFREP bodies with
/// [`parse_ofrep_request`](fuzzing::parse_ofrep_request), and `POST /v1/events` is
/// [`events::validate_batch`]. Not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::apply::upsert_all;
    pub use crate::extract::parse_json;
    pub use crate::ofrep::parse_body as parse_ofrep_request;
}

pub use config::{Config, Storage};
pub use controller::Controller;
pub use error::ApiError;
/// Formats Unix milliseconds as RFC 3339 (UTC), as the API shows times.
pub use rampart_model::api::rfc3339;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Its text includes the store's error, which is therefore not also its `source`: an
    /// error chain (`rampart serve`'s message) would print it twice.
    #[error("cannot open the store: {0}")]
    Store(StoreError),
    #[error("the stored configuration is inconsistent: {0}")]
    Inconsistent(String),
    #[error(transparent)]
    Key(#[from] keys::KeyError),
    #[error("cannot serve: {0}")]
    Io(#[from] std::io::Error),
}

impl From<StoreError> for ServerError {
    fn from(error: StoreError) -> ServerError {
        ServerError::Store(error)
    }
}

/// A ready-to-serve application: the store is open and the snapshot is compiled.
#[derive(Debug, Clone)]
pub struct App {
    state: state::AppState,
    controller: Arc<Controller>,
    max_body_bytes: usize,
    max_events_body_bytes: usize,
    tick_interval: std::time::Duration,
    run_controller: bool,
    request_timeout: std::time::Duration,
    limits: serve::ConnectionLimits,
}

/// The router's state; handlers extract the part they need.
#[derive(Debug, Clone)]
struct RouterState {
    app: state::AppState,
    controller: Arc<Controller>,
}

impl FromRef<RouterState> for state::AppState {
    fn from_ref(state: &RouterState) -> state::AppState {
        state.app.clone()
    }
}

impl FromRef<RouterState> for state::Live {
    fn from_ref(state: &RouterState) -> state::Live {
        state::Live::from_ref(&state.app)
    }
}

impl FromRef<RouterState> for Arc<Controller> {
    fn from_ref(state: &RouterState) -> Arc<Controller> {
        state.controller.clone()
    }
}

impl App {
    /// Opens the configured store, runs migrations and compiles the first snapshot.
    pub async fn open(config: &Config) -> Result<App, ServerError> {
        let store: Arc<dyn Store> = match &config.storage {
            Storage::Sqlite { data_dir } => Arc::new(SqliteStore::open(data_dir).await?),
            Storage::InMemory => Arc::new(SqliteStore::in_memory().await?),
        };
        App::with_store(store, config).await
    }

    /// Builds the app over an already-open store. Loads (or on first start generates) the
    /// ledger's signing key, so that no change can commit without its ledger entry.
    pub async fn with_store(store: Arc<dyn Store>, config: &Config) -> Result<App, ServerError> {
        let data_dir = match &config.storage {
            Storage::Sqlite { data_dir } => Some(data_dir.clone()),
            Storage::InMemory => None,
        };
        let head = match store.ledger_head().await? {
            Some(head) => store.ledger(head.seq.saturating_sub(1), 1).await?.pop(),
            None => None,
        };
        let signer = match (&data_dir, &config.ledger_key_file) {
            (Some(dir), explicit) => keys::load_or_create(dir, explicit.as_deref(), head.as_ref())?,
            (None, Some(path)) => keys::read(path)?,
            (None, None) => keys::generate()?,
        };
        keys::check_matches_chain(&signer, head.as_ref())?;
        store.set_ledger_signer(signer.clone());
        // Only a key Rampart generated into the data dir can be rotated by Rampart.
        let rotatable = config.ledger_key_file.is_none();
        let ledger_keys = Arc::new(ledger::LedgerKeys::new(data_dir, signer, rotatable));
        let counters = Arc::new(counters::Counters::default());
        let state =
            state::AppState::load(store, counters.clone(), ledger_keys, config.clock.clone())
                .await?;
        let controller = Arc::new(Controller::new(state.clone(), config.clock.clone()));
        Ok(App {
            state,
            controller,
            max_body_bytes: config.max_body_bytes,
            max_events_body_bytes: config.max_events_body_bytes,
            tick_interval: config.tick_interval,
            run_controller: config.run_controller,
            request_timeout: config.request_timeout,
            limits: serve::ConnectionLimits {
                header_timeout: config.header_timeout,
                max_connections: config.max_connections,
                shutdown_timeout: config.shutdown_timeout,
            },
        })
    }

    /// The config revision currently served.
    pub fn revision(&self) -> rampart_model::Revision {
        self.state.published().snapshot.revision()
    }

    /// The rollout controller, e.g. to run a tick by hand on a manual clock.
    pub fn controller(&self) -> Arc<Controller> {
        self.controller.clone()
    }

    pub fn router(&self) -> Router {
        let (router, _) = routes(self.max_events_body_bytes).split_for_parts();
        router
            .fallback(ops::no_route)
            .method_not_allowed_fallback(ops::method_not_allowed)
            .layer(DefaultBodyLimit::max(self.max_body_bytes))
            .layer(axum::middleware::from_fn_with_state(
                self.request_timeout,
                deadline::limit_body_time,
            ))
            .with_state(RouterState {
                app: self.state.clone(),
                controller: self.controller.clone(),
            })
    }

    /// Serves on `listener` until `shutdown` resolves, then drains in-flight requests.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let controller = self.run_controller.then(|| {
            tokio::spawn(run_controller(
                self.controller.clone(),
                self.tick_interval,
                stopped,
            ))
        });
        let shutdown = async move {
            shutdown.await;
            let _ = stop.send(true);
        };
        serve::serve(listener, self.router(), self.limits, shutdown).await?;
        if let Some(task) = controller {
            let _ = task.await;
        }
        Ok(())
    }
}

/// Every route the server serves, each registered with its handler's `#[utoipa::path]`: the
/// router and the OpenAPI document are both built from this one list, so neither can have a
/// route the other lacks (`tests/server/openapi.rs` checks the served server against the
/// document, and that routes are added nowhere else).
fn routes(max_events_body_bytes: usize) -> OpenApiRouter<RouterState> {
    OpenApiRouter::new()
        .routes(routes!(ofrep::evaluate_bulk))
        .routes(routes!(ofrep::evaluate_one))
        .routes(routes!(flags::list, flags::create))
        .routes(routes!(flags::get, flags::update, flags::delete))
        .routes(routes!(flags::history))
        .routes(routes!(flags::revert))
        .routes(routes!(flags::enable))
        .routes(routes!(flags::disable))
        .routes(routes!(rollouts::counts))
        .routes(routes!(segments::list, segments::create))
        .routes(routes!(segments::get, segments::update, segments::delete))
        .routes(routes!(segments::history))
        .routes(routes!(apply::apply))
        .routes(routes!(rollouts::list, rollouts::create))
        .routes(routes!(rollouts::get))
        .routes(routes!(rollouts::pause))
        .routes(routes!(rollouts::resume))
        .routes(routes!(rollouts::approve))
        .routes(routes!(rollouts::promote))
        .routes(routes!(rollouts::rollback))
        .routes(routes!(rollouts::abort))
        .routes(routes!(events::ingest).layer(DefaultBodyLimit::max(max_events_body_bytes)))
        .routes(routes!(ledger::list))
        .routes(routes!(ledger::head))
        .routes(routes!(ledger::key))
        .routes(routes!(ledger::verify))
        .routes(routes!(ledger::rotate))
        .routes(routes!(ops::snapshot))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(openapi::serve))
}

/// The OpenAPI 3.1 document of the whole HTTP API, as `GET /openapi.json` serves it.
pub fn openapi_document() -> serde_json::Value {
    let (_, document) = routes(events::DEFAULT_MAX_EVENTS_BODY_BYTES).split_for_parts();
    openapi::tidy(&openapi::finish(document))
}

/// Ticks the controller every `interval` until asked to stop. A failed tick is logged and
/// retried on the next one; a tick in flight finishes before the loop stops.
async fn run_controller(
    controller: Arc<Controller>,
    interval: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                if let Err(e) = controller.tick().await {
                    tracing::warn!(error = %e, "controller tick failed");
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// Opens the store described by `config` and serves on `listener` until `shutdown` resolves.
pub async fn run(
    listener: tokio::net::TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    App::open(&config).await?.serve(listener, shutdown).await
}
