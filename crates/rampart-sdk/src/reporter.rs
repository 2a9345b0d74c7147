//! The batching event reporter: records health events without ever blocking the caller, and
//! delivers them to `POST /v1/events` in batches from a background task.
//!
//! What it guarantees:
//! - **It never blocks.** [`Reporter::record`] is a non-blocking push into a bounded buffer:
//!   it never awaits, waits for a lock or does IO, so it is safe on the hottest request path.
//! - **Its memory is bounded.** At most `capacity` events wait in the buffer, plus the one
//!   batch (at most `batch_size` events) being delivered.
//! - **It drops, and counts what it drops.** When the buffer is full (the server is slow or
//!   unreachable) or the reporter has shut down, the event is dropped and `dropped` counts it.
//! - **Delivery is at most once.** No event is in two requests that the server may have
//!   ingested. A batch is sent again (up to `max_retries` times, with doubling backoff) only
//!   when the server certainly did not ingest it: the connection could not be opened, or the
//!   answer was 500 or 503 (the endpoint ingests and answers 200 in one step). A timeout, a
//!   proxy's 502 or 504, or a connection lost mid-request is not retried, because the server
//!   may have ingested the batch. Those events count as `failed`, like the events of a batch that still fails
//!   after its retries.
//!
//! Every event that entered the buffer ends in exactly one of `sent` (accepted by the
//! server), `rejected` (refused by the server: unknown flag or variant, bad latency, ...) or
//! `failed`. Until then it is `queued`. The last delivery failure or rejection message is
//! kept in [`ReporterStats::last_error`].
//!
//! The task sends a batch as soon as `batch_size` events are buffered, and whatever is
//! buffered every `flush_interval`. [`Reporter::flush`] waits until everything recorded
//! before it has been delivered (or has failed). [`Reporter::shutdown`] does the same and
//! stops the task. When every handle is dropped, the task delivers what is buffered and
//! ends; dropping never blocks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rampart_model::api::{EventOutcome, EventTime, EventsResponse, HealthEvent};
use tokio::sync::{mpsc, oneshot};
use tokio::time::MissedTickBehavior;

use crate::{Client, SdkError};

/// The most events the server takes in one request.
pub use rampart_model::api::MAX_EVENTS_PER_BATCH as MAX_BATCH_SIZE;
/// The largest buffer a reporter may have, in events.
pub const MAX_CAPACITY: usize = 10_000_000;

/// How a [`Reporter`] buffers and sends. Start from [`ReporterConfig::default`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReporterConfig {
    /// Events buffered while waiting to be sent; more are dropped. Default 50 000.
    pub capacity: usize,
    /// Events per request, 1 to [`MAX_BATCH_SIZE`]. Default 500.
    pub batch_size: usize,
    /// The longest an event waits in the buffer when traffic is light. Default 1 s.
    pub flush_interval: Duration,
    /// How often a batch that certainly was not ingested is sent again. Default 2.
    pub max_retries: u32,
    /// The wait before the first retry; it doubles for each further one. Default 100 ms.
    pub retry_backoff: Duration,
}

impl Default for ReporterConfig {
    fn default() -> ReporterConfig {
        ReporterConfig {
            capacity: 50_000,
            batch_size: 500,
            flush_interval: Duration::from_secs(1),
            max_retries: 2,
            retry_backoff: Duration::from_millis(100),
        }
    }
}

impl ReporterConfig {
    fn validate(&self) -> Result<(), ReporterError> {
        if !(1..=MAX_CAPACITY).contains(&self.capacity) {
            return Err(ReporterError::Capacity(self.capacity));
        }
        if !(1..=MAX_BATCH_SIZE).contains(&self.batch_size) {
            return Err(ReporterError::BatchSize(self.batch_size));
        }
        if self.flush_interval.is_zero() {
            return Err(ReporterError::ZeroFlushInterval);
        }
        Ok(())
    }
}

/// Why a reporter could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReporterError {
    #[error("capacity must be 1 to {MAX_CAPACITY} events, got {0}")]
    Capacity(usize),
    #[error("batch_size must be 1 to {MAX_BATCH_SIZE} events, got {0}")]
    BatchSize(usize),
    #[error("flush_interval must be longer than zero")]
    ZeroFlushInterval,
    #[error(
        "Reporter::start needs a Tokio runtime: call it from async code, or use Reporter::new \
         and spawn ReporterTask::run yourself"
    )]
    NoRuntime,
}

/// What a reporter has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReporterStats {
    /// Buffered or being delivered.
    pub queued: u64,
    /// Accepted by the server.
    pub sent: u64,
    /// Refused by the server, event by event.
    pub rejected: u64,
    /// Not buffered: the buffer was full, or the reporter had shut down.
    pub dropped: u64,
    /// In batches that could not be delivered.
    pub failed: u64,
    /// The last delivery failure, or the first rejection of the last batch with any.
    pub last_error: Option<String>,
}

#[derive(Debug, Default)]
struct Counters {
    /// Events that entered the buffer; every other counter but `dropped` is a share of it.
    buffered: AtomicU64,
    sent: AtomicU64,
    rejected: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Counters {
    fn snapshot(&self) -> ReporterStats {
        // Read the outcomes before `buffered`: `buffered` only grows and is counted before
        // an event can reach an outcome, so `queued` can't come out negative.
        let sent = self.sent.load(Ordering::SeqCst);
        let rejected = self.rejected.load(Ordering::SeqCst);
        let failed = self.failed.load(Ordering::SeqCst);
        let buffered = self.buffered.load(Ordering::SeqCst);
        ReporterStats {
            queued: buffered.saturating_sub(sent + rejected + failed),
            sent,
            rejected,
            dropped: self.dropped.load(Ordering::SeqCst),
            failed,
            last_error: self.lock_last_error().clone(),
        }
    }

    fn lock_last_error(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn set_last_error(&self, message: String) {
        *self.lock_last_error() = Some(message);
    }

    /// Books one delivered batch of `count` events. Whatever the answer does not account
    /// for (a server that disagrees with itself) counts as failed, so the totals still add up.
    fn delivered(&self, count: u64, response: &EventsResponse) {
        let sent = response.accepted.min(count);
        let rejected = (response.rejected.len() as u64).min(count - sent);
        self.sent.fetch_add(sent, Ordering::SeqCst);
        self.rejected.fetch_add(rejected, Ordering::SeqCst);
        self.failed
            .fetch_add(count - sent - rejected, Ordering::SeqCst);
        if let Some(first) = response.rejected.first() {
            self.set_last_error(format!(
                "{rejected} of {count} events rejected; event {}: {} ({})",
                first.index, first.message, first.code
            ));
        }
    }

    fn undelivered(&self, count: u64, error: &SdkError) {
        self.failed.fetch_add(count, Ordering::SeqCst);
        self.set_last_error(format!("{count} events not delivered: {error}"));
    }
}

#[derive(Debug)]
enum Control {
    Flush(oneshot::Sender<()>),
    Shutdown(oneshot::Sender<()>),
}

/// Records health events for the server's rollout analysis. Cheap to clone; every clone
/// feeds the same buffer and task.
#[derive(Debug, Clone)]
pub struct Reporter {
    events: mpsc::Sender<HealthEvent>,
    control: mpsc::UnboundedSender<Control>,
    counters: Arc<Counters>,
}

impl Reporter {
    /// A reporter whose task is spawned on the current Tokio runtime.
    pub fn start(client: Client, config: ReporterConfig) -> Result<Reporter, ReporterError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| ReporterError::NoRuntime)?;
        let (reporter, task) = Reporter::new(client, config)?;
        runtime.spawn(task.run());
        Ok(reporter)
    }

    /// A reporter and the task that delivers its events, for the caller to spawn where it
    /// likes. Until the task runs, events only fill the buffer, and [`Reporter::flush`] and
    /// [`Reporter::shutdown`] wait for it.
    pub fn new(
        client: Client,
        config: ReporterConfig,
    ) -> Result<(Reporter, ReporterTask), ReporterError> {
        config.validate()?;
        let (events, events_rx) = mpsc::channel(config.capacity);
        let (control, control_rx) = mpsc::unbounded_channel();
        let counters = Arc::new(Counters::default());
        let reporter = Reporter {
            events,
            control,
            counters: counters.clone(),
        };
        let task = ReporterTask {
            client,
            config,
            events: events_rx,
            control: control_rx,
            counters,
        };
        Ok((reporter, task))
    }

    /// Buffers `event` for the next batch; never blocks. Returns false when it was dropped
    /// because the buffer is full or the reporter has shut down.
    pub fn record(&self, mut event: HealthEvent) -> bool {
        // Stamped now, not when the batch arrives: the judge windows events by their time.
        if event.ts.is_none() {
            event.ts = Some(EventTime::Millis(now_ms()));
        }
        // Counted before the push so that the task can never book an outcome for an event
        // that is not yet counted as buffered.
        self.counters.buffered.fetch_add(1, Ordering::SeqCst);
        if self.events.try_send(event).is_ok() {
            return true;
        }
        self.counters.buffered.fetch_sub(1, Ordering::SeqCst);
        self.counters.dropped.fetch_add(1, Ordering::SeqCst);
        false
    }

    /// Records a request served with `variant` of `flag` that succeeded.
    pub fn success(&self, flag: &str, variant: &str, latency: Duration) -> bool {
        self.record(outcome_event(flag, variant, EventOutcome::Success, latency))
    }

    /// Records a request served with `variant` of `flag` that failed.
    pub fn error(&self, flag: &str, variant: &str, latency: Duration) -> bool {
        self.record(outcome_event(flag, variant, EventOutcome::Error, latency))
    }

    /// Delivers everything recorded before this call, and waits until it is sent or failed.
    pub async fn flush(&self) {
        let (done, finished) = oneshot::channel();
        if self.control.send(Control::Flush(done)).is_ok() {
            // An error means the task ended, which delivers what was buffered first.
            let _ = finished.await;
        }
    }

    /// Flushes, then stops the task. Later events (from any clone) are dropped.
    pub async fn shutdown(&self) {
        let (done, finished) = oneshot::channel();
        if self.control.send(Control::Shutdown(done)).is_ok() {
            let _ = finished.await;
        }
    }

    pub fn stats(&self) -> ReporterStats {
        self.counters.snapshot()
    }
}

/// Milliseconds since the Unix epoch, by the system clock.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

fn outcome_event(
    flag: &str,
    variant: &str,
    outcome: EventOutcome,
    latency: Duration,
) -> HealthEvent {
    HealthEvent {
        flag: flag.to_owned(),
        variant: variant.to_owned(),
        outcome,
        latency_ms: Some(latency.as_secs_f64() * 1_000.0),
        values: Default::default(),
        shadow: false,
        ts: None,
    }
}

/// The background half of a [`Reporter`]: drains the buffer and sends the batches.
#[derive(Debug)]
pub struct ReporterTask {
    client: Client,
    config: ReporterConfig,
    events: mpsc::Receiver<HealthEvent>,
    control: mpsc::UnboundedReceiver<Control>,
    counters: Arc<Counters>,
}

impl ReporterTask {
    /// Runs until [`Reporter::shutdown`], or until every [`Reporter`] handle is dropped and
    /// the buffer is delivered. Returns the final stats.
    pub async fn run(mut self) -> ReporterStats {
        let batch_size = self.config.batch_size;
        let mut batch = Vec::with_capacity(batch_size);
        let period = self.config.flush_interval;
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut control_open = true;
        loop {
            // Never zero: a full batch is delivered at once.
            let room = batch_size - batch.len();
            tokio::select! {
                // Flushes first, so that `flush()` is not kept waiting behind a busy buffer.
                biased;
                control = self.control.recv(), if control_open => match control {
                    Some(Control::Flush(done)) => {
                        self.drain(&mut batch).await;
                        let _ = done.send(());
                    }
                    Some(Control::Shutdown(done)) => {
                        self.events.close();
                        self.drain(&mut batch).await;
                        let _ = done.send(());
                        break;
                    }
                    // Every handle is gone; the buffer closes too and ends the loop below.
                    None => control_open = false,
                },
                received = self.events.recv_many(&mut batch, room) => {
                    if received == 0 {
                        // Closed and empty: every handle is gone.
                        self.deliver(&mut batch).await;
                        break;
                    }
                    if batch.len() >= batch_size {
                        self.deliver(&mut batch).await;
                    }
                }
                _ = ticker.tick() => self.deliver(&mut batch).await,
            }
        }
        self.counters.snapshot()
    }

    /// Delivers `batch` and what is buffered now. Events recorded meanwhile wait for the
    /// next batch, so a steady stream can't keep a flush from finishing.
    async fn drain(&mut self, batch: &mut Vec<HealthEvent>) {
        let mut remaining = self.events.len();
        loop {
            while batch.len() < self.config.batch_size && remaining > 0 {
                match self.events.try_recv() {
                    Ok(event) => {
                        batch.push(event);
                        remaining -= 1;
                    }
                    Err(_) => remaining = 0,
                }
            }
            self.deliver(batch).await;
            if remaining == 0 {
                return;
            }
        }
    }

    /// Sends `batch` (retrying only what certainly was not ingested), books the outcome and
    /// empties it.
    async fn deliver(&self, batch: &mut Vec<HealthEvent>) {
        if batch.is_empty() {
            return;
        }
        let count = batch.len() as u64;
        let mut retries = 0;
        let outcome = loop {
            match self.client.send_events(batch).await {
                Err(error) if retries < self.config.max_retries && not_ingested(&error) => {
                    tokio::time::sleep(backoff(self.config.retry_backoff, retries)).await;
                    retries += 1;
                }
                outcome => break outcome,
            }
        };
        match outcome {
            Ok(response) => self.counters.delivered(count, &response),
            Err(error) => self.counters.undelivered(count, &error),
        }
        batch.clear();
    }
}

/// Whether the server certainly did not ingest the batch, so that sending it again can't
/// count an event twice.
fn not_ingested(error: &SdkError) -> bool {
    match error {
        SdkError::Transport { source, .. } => source.is_connect(),
        _ => matches!(error.status(), Some(500 | 503)),
    }
}

/// `first`, doubled for each earlier retry (at most 2^10 times).
fn backoff(first: Duration, retries: u32) -> Duration {
    first.saturating_mul(1 << retries.min(10))
}
