//! Evaluation counters per flag: how often each variant was served, and in a shadow step,
//! what would have been served versus what was (the counterfactual counts).
//!
//! The hot path does one lock-free map load and relaxed atomic increments. Counters live
//! in memory (they restart from zero with the process) and survive snapshot swaps: a
//! flag's counters are kept as long as its variant list is unchanged.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use rampart_eval::Snapshot;
use serde::Serialize;

#[derive(Debug)]
pub struct FlagCounters {
    variants: Vec<String>,
    served: Vec<AtomicU64>,
    /// Row = served variant, column = would-serve (shadow) variant.
    shadow: Vec<AtomicU64>,
}

impl FlagCounters {
    fn new(variants: Vec<String>) -> FlagCounters {
        let n = variants.len();
        FlagCounters {
            served: (0..n).map(|_| AtomicU64::new(0)).collect(),
            shadow: (0..n * n).map(|_| AtomicU64::new(0)).collect(),
            variants,
        }
    }

    fn index(&self, variant: &str) -> Option<usize> {
        self.variants.iter().position(|v| v == variant)
    }

    fn record(&self, served: &str, shadow: Option<&str>) {
        let Some(row) = self.index(served) else {
            return;
        };
        if let Some(cell) = self.served.get(row) {
            cell.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(column) = shadow.and_then(|s| self.index(s))
            && let Some(cell) = self.shadow.get(row * self.variants.len() + column)
        {
            cell.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Times `variant` was served.
    pub fn served(&self, variant: &str) -> u64 {
        self.index(variant)
            .and_then(|i| self.served.get(i))
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Times the shadow split would have served `variant` (whatever was served).
    pub fn would_serve(&self, variant: &str) -> u64 {
        let Some(column) = self.index(variant) else {
            return 0;
        };
        let n = self.variants.len();
        (0..n)
            .filter_map(|row| self.shadow.get(row * n + column))
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    pub fn report(&self, flag: &str) -> CountsReport {
        let n = self.variants.len();
        let mut shadow = Vec::new();
        for (row, served) in self.variants.iter().enumerate() {
            for (column, would_serve) in self.variants.iter().enumerate() {
                let count = self
                    .shadow
                    .get(row * n + column)
                    .map_or(0, |c| c.load(Ordering::Relaxed));
                if count > 0 {
                    shadow.push(ShadowCount {
                        served: served.clone(),
                        would_serve: would_serve.clone(),
                        count,
                    });
                }
            }
        }
        CountsReport {
            flag: flag.to_owned(),
            served: self
                .variants
                .iter()
                .map(|v| (v.clone(), self.served(v)))
                .collect(),
            shadow,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CountsReport {
    pub flag: String,
    /// Evaluations served per variant since the server started.
    pub served: indexmap::IndexMap<String, u64>,
    /// Dark launch: how often each (served, would-serve) pair occurred.
    pub shadow: Vec<ShadowCount>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ShadowCount {
    pub served: String,
    pub would_serve: String,
    pub count: u64,
}

#[derive(Debug, Default)]
pub struct Counters {
    flags: ArcSwap<HashMap<String, Arc<FlagCounters>>>,
}

impl Counters {
    /// Called whenever a snapshot is published: adds new flags, keeps existing counters.
    pub fn sync(&self, snapshot: &Snapshot) {
        let current = self.flags.load();
        let next: HashMap<String, Arc<FlagCounters>> = snapshot
            .catalog()
            .flags()
            .iter()
            .map(|(key, flag)| {
                let variants: Vec<String> = flag.spec().variants.keys().cloned().collect();
                let counters = match current.get(key) {
                    Some(existing) if existing.variants == variants => existing.clone(),
                    _ => Arc::new(FlagCounters::new(variants)),
                };
                (key.clone(), counters)
            })
            .collect();
        self.flags.store(Arc::new(next));
    }

    pub fn record(&self, flag: &str, served: &str, shadow: Option<&str>) {
        if let Some(counters) = self.flags.load().get(flag) {
            counters.record(served, shadow);
        }
    }

    pub fn get(&self, flag: &str) -> Option<Arc<FlagCounters>> {
        self.flags.load().get(flag).cloned()
    }
}
