//! Time, injected: the real clock in production, a manual one that tests move by hand.

use std::fmt::Debug;
use std::sync::atomic::{AtomicI64, Ordering};

/// Unix milliseconds.
pub type Millis = i64;

pub trait Clock: Send + Sync + Debug + 'static {
    fn now(&self) -> Millis;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Millis::try_from(since_epoch.as_millis()).unwrap_or(Millis::MAX)
    }
}

/// A clock that only moves when told: a whole `safe` rollout runs in milliseconds.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn starting_at(now: Millis) -> ManualClock {
        ManualClock(AtomicI64::new(now))
    }

    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
}
