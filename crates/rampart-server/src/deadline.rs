//! A deadline on reading each request's body, counted from when its headers arrived.
//!
//! A client that sends headers and then stalls, or trickles its body a byte at a time, is cut
//! off when the deadline passes: the extractor reading the body gets [`BodyDeadline`] and the
//! request answers `408 REQUEST_TIMEOUT` (OFREP: its own failure shape). The deadline is
//! absolute, not per chunk: tower-http's `RequestBodyTimeout` resets its timer on every frame,
//! so a trickle of one byte per interval would never trip it.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// The error a body read gets once the deadline has passed.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {} s (serve --request-timeout)", .0.as_secs())]
pub struct BodyDeadline(pub Duration);

/// Whether a body-reading error (anywhere in its source chain) is the deadline passing.
pub fn is_deadline(error: &(dyn std::error::Error + 'static)) -> Option<Duration> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(deadline) = error.downcast_ref::<BodyDeadline>() {
            return Some(deadline.0);
        }
        current = error.source();
    }
    None
}

/// Middleware: puts the deadline on the body of every request that has one.
pub async fn limit_body_time(
    State(timeout): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let has_body = !http_body::Body::is_end_stream(request.body());
    let request = if has_body {
        request.map(|body| {
            Body::new(DeadlineBody {
                inner: body,
                sleep: Box::pin(tokio::time::sleep_until(Instant::now() + timeout)),
                timeout,
            })
        })
    } else {
        request
    };
    next.run(request).await
}

struct DeadlineBody {
    inner: Body,
    sleep: Pin<Box<Sleep>>,
    timeout: Duration,
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        // Data already here is taken before the deadline is checked, so a body that arrived
        // in time is never refused for being read late.
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyDeadline(self.timeout)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl std::fmt::Debug for DeadlineBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadlineBody")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
