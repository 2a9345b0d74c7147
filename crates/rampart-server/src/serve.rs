//! Serving connections with the limits a server exposed to real clients needs.
//!
//! hyper serves each connection (HTTP/1.1 and HTTP/2) with a header read timeout, so a client
//! that opens a connection and sends a partial request, or idles between keep-alive requests,
//! is closed after `header_timeout`. [`deadline`](crate::deadline) bounds the body. At most
//! `max_connections` connections are served at once: past the cap a connection gets a `503`
//! with `Retry-After` and is closed, so one misbehaving client can't exhaust the process's
//! file descriptors. On shutdown the listener closes, idle connections close, in-flight
//! requests get up to `shutdown_timeout` to finish, and whatever is still open then is cut.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// Connection-level limits.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// The longest a client may take to send a request's headers, counted from the end of
    /// the previous response on a kept-alive connection (so it is also the idle timeout).
    pub header_timeout: Duration,
    /// At most this many connections are served at once.
    pub max_connections: usize,
    /// How long shutdown waits for in-flight requests before closing their connections.
    pub shutdown_timeout: Duration,
}

/// Connections refused at once past the cap; beyond that a new one is closed unanswered.
const MAX_REFUSING: usize = 64;
/// How long a refused connection gets to take its 503.
const REFUSAL_DEADLINE: Duration = Duration::from_secs(1);

/// Serves `router` on `listener` until `shutdown` resolves, then drains (see the module doc).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let builder = connection_builder(limits.header_timeout);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    let (draining_tx, draining) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut refusals = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            Some(_) = refusals.join_next(), if !refusals.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    // Out of file descriptors or a connection reset before accept: back off
                    // briefly rather than spin, and keep serving the connections we have.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            if let Ok(refusing) = refusing.clone().try_acquire_owned() {
                refusals.spawn(async move {
                    let _refusing = refusing;
                    refuse(stream).await;
                });
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let builder = builder.clone();
        let service = TowerToHyperService::new(router.clone());
        let mut draining = draining.clone();
        connections.spawn(async move {
            let _slot = slot;
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            tokio::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = async { draining.wait_for(|draining| *draining).await.map(|_| ()) } => {
                    // Finishes the request in flight, if any, then closes.
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = result {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    let _ = draining_tx.send(true);
    let drained = tokio::time::timeout(limits.shutdown_timeout, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "shutdown deadline passed (serve --shutdown-timeout); closing the connections still open"
        );
        connections.abort_all();
    }
    refusals.abort_all();
    Ok(())
}

fn connection_builder(header_timeout: Duration) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(header_timeout))
        .keep_alive_timeout(header_timeout);
    builder
}

/// Answers a connection over the cap with `503` and `Retry-After`, then closes it. The
/// request is read (briefly) and discarded first: closing a socket with unread input
/// resets it, and the client would see a reset instead of the answer.
async fn refuse(mut stream: TcpStream) {
    let body = br#"{"error":{"code":"UNAVAILABLE","message":"too many connections (serve --max-connections); retry after Retry-After"}}"#;
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let answered = tokio::time::timeout(REFUSAL_DEADLINE, async {
        let mut request = [0_u8; 4096];
        let _ = tokio::time::timeout(Duration::from_millis(100), stream.read(&mut request)).await;
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body).await?;
        stream.shutdown().await?;
        // Drain what the client still sends until it closes, within the deadline.
        while stream.read(&mut request).await? > 0 {}
        Ok::<(), std::io::Error>(())
    })
    .await;
    if !matches!(answered, Ok(Ok(()))) {
        tracing::debug!("a refused connection did not take its 503 in time");
    }
}
