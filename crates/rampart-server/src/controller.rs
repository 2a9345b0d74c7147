//! The rollout controller runtime: feeds the closed `Event` enum into the pure
//! `rampart_rollout::step`, and commits each transition — the flag's new weights, the
//! rollout's new state and its history — in one store transaction. Effects (notifications,
//! verification) run after the commit.
//!
//! Transitions are serialized by one lock per process; the store's rollout version check
//! keeps replicas from losing updates. Crash safety follows: the persisted state is the
//! whole truth, so a restarted server resumes exactly where the last commit left off.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rampart_judge::Observations;
use rampart_model::{Flag, FlagSpec};
use rampart_rollout::actuate::{flag_effect, materialize};
use rampart_rollout::view::{HistoryEvent, RolloutList, RolloutView, progress};
use rampart_rollout::{
    Action, Decision, Event, Evidence, Gate, Millis, Plan, PlanSpec, RollbackTimings, RolloutState,
    SoakGate, Verdict, combine, step_contexts,
};
use rampart_store::{Change, NewRolloutEvent, Precondition, RolloutId, RolloutRecord};
use serde_json::{Value, json};

use crate::clock::Clock;
use crate::error::ApiError;
use crate::health::{Health, WINDOW_MS};
use crate::state::AppState;
use rampart_model::api::rfc3339;

#[derive(Debug)]
pub struct Controller {
    state: AppState,
    clock: Arc<dyn Clock>,
    /// The health events of every active rollout, fed by `POST /v1/events`.
    health: Arc<Health>,
    lock: tokio::sync::Mutex<()>,
    /// The latest gate decision per rollout, for display. Not persisted.
    decisions: Mutex<HashMap<RolloutId, Decision>>,
}

/// A persisted rollout, decoded.
struct Loaded {
    record: RolloutRecord,
    plan: Plan,
    base: FlagSpec,
    state: RolloutState,
}

fn decode(record: RolloutRecord) -> Result<Loaded, ApiError> {
    let corrupt = |what: &str, e: String| {
        ApiError::Internal(format!(
            "rollout {} has an unreadable {what}: {e}",
            record.id
        ))
    };
    let spec: PlanSpec =
        serde_json::from_value(record.plan.clone()).map_err(|e| corrupt("plan", e.to_string()))?;
    // Not re-validated against today's catalog: a rollout must stay readable and
    // controllable (rollback, abort) even if a flag or segment it named changed since.
    let plan = Plan::restore(spec).map_err(|e| corrupt("plan", e.to_string()))?;
    let base: FlagSpec = serde_json::from_value(record.base.clone())
        .map_err(|e| corrupt("base flag", e.to_string()))?;
    let state: RolloutState = serde_json::from_value(record.state.clone())
        .map_err(|e| corrupt("state", e.to_string()))?;
    Ok(Loaded {
        record,
        plan,
        base,
        state,
    })
}

fn flag_not_found(plan: &Plan) -> ApiError {
    ApiError::NotFound {
        kind: "flag",
        key: plan.flag().to_owned(),
    }
}

/// The custom values a plan's analysis compares.
fn counters(plan: &Plan) -> Vec<String> {
    plan.judge()
        .spec()
        .comparisons
        .iter()
        .filter_map(|c| match &c.metric {
            rampart_judge::ComparisonMetric::Counter { name } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

/// History detail: the machine's records plus the event's own payload.
fn event_detail(event: &Event, actions: &[Action]) -> Value {
    let records: Vec<Value> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Ledger { event, detail } => Some(json!({"event": event, "detail": detail})),
            _ => None,
        })
        .collect();
    let mut detail = json!({"records": records});
    match event {
        Event::Tick(decision) => detail["decision"] = json!(decision),
        Event::Rollback { mode, reason } => {
            detail["mode"] = json!(mode.as_str());
            detail["reason"] = json!(reason);
        }
        _ => {}
    }
    detail
}

impl Controller {
    pub fn new(state: AppState, clock: Arc<dyn Clock>) -> Controller {
        Controller {
            state,
            clock,
            health: Arc::new(Health::default()),
            lock: tokio::sync::Mutex::new(()),
            decisions: Mutex::new(HashMap::new()),
        }
    }

    /// The controller's clock, in ms since the epoch.
    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    /// The health events of the active rollouts.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// Validates a plan, creates the rollout and starts it, in one transaction.
    pub async fn create(&self, spec: PlanSpec, actor: &str) -> Result<RolloutView, ApiError> {
        let _guard = self.lock.lock().await;
        let now = self.clock.now();
        let published = self.state.published();
        let active = published.active_rollouts.keys().map(String::as_str);
        let plan = Plan::try_new(spec, published.catalog(), active)?;
        let flag = published
            .catalog()
            .flag(plan.flag())
            .cloned()
            .ok_or_else(|| flag_not_found(&plan))?;
        let base = flag.spec().clone();
        let pending = RolloutState::pending();
        let (state, actions) = rampart_rollout::step(&plan, &pending, &Event::Start, now)
            .map_err(ApiError::Transition)?;
        let events = vec![
            NewRolloutEvent {
                event: "create".into(),
                from_phase: "none".into(),
                to_phase: "pending".into(),
                detail: json!({"plan": plan.spec()}),
            },
            NewRolloutEvent {
                event: "start".into(),
                from_phase: pending.phase.as_str().into(),
                to_phase: state.phase.as_str().into(),
                detail: event_detail(&Event::Start, &actions),
            },
        ];
        let create = Change::CreateRollout {
            flag: plan.flag().to_owned(),
            plan: json!(plan.persisted()),
            base: json!(base),
            state: json!(state),
            phase: state.phase.as_str().to_owned(),
            active: !state.phase.is_terminal(),
            events,
        };
        let created = self.commit(&plan, &base, &actions, create, actor).await?;
        let id =
            created.ok_or_else(|| ApiError::Internal("the store assigned no rollout id".into()))?;
        self.after_commit(id, &plan, &base, &state, &actions);
        if !state.phase.is_terminal() {
            self.track(id, &plan);
        }
        self.view(id, false).await
    }

    /// Applies an operator's event (approve, pause, resume, promote, rollback, abort).
    pub async fn act(
        &self,
        id: RolloutId,
        event: Event,
        actor: &str,
    ) -> Result<RolloutView, ApiError> {
        let _guard = self.lock.lock().await;
        self.transition(id, event, actor, Instant::now()).await?;
        self.view(id, false).await
    }

    async fn record(&self, id: RolloutId) -> Result<RolloutRecord, ApiError> {
        self.state
            .store()
            .rollout(id)
            .await?
            .ok_or_else(|| ApiError::NotFound {
                kind: "rollout",
                key: id.to_string(),
            })
    }

    /// Applies `event`, decided at `decided` (monotonic), and commits the result. A rollback
    /// that begins here records its timings: the first bad sample behind a failing gate, the
    /// decision, and (in a second commit, once published) when the weights were served.
    async fn transition(
        &self,
        id: RolloutId,
        event: Event,
        actor: &str,
        decided: Instant,
    ) -> Result<bool, ApiError> {
        let record = self.record(id).await?;
        let loaded = decode(record)?;
        let now = self.clock.now();
        let (mut next, actions) = rampart_rollout::step(&loaded.plan, &loaded.state, &event, now)
            .map_err(ApiError::Transition)?;
        if next == loaded.state && actions.is_empty() {
            return Ok(false);
        }
        let rollback_began = loaded.state.rollback.is_none();
        // An operator escalating a running rollback (gradual → immediate) keeps its timeline.
        if let (Some(before), Some(rollback)) = (&loaded.state.rollback, next.rollback.as_mut())
            && rollback.timings.is_none()
        {
            rollback.timings = before.timings.clone();
        }
        if rollback_began && let Some(rollback) = next.rollback.as_mut() {
            let first_bad = match &event {
                Event::Tick(decision) => decision
                    .evidence_since_ms()
                    .and_then(|ms| Millis::try_from(ms).ok()),
                _ => None,
            };
            rollback.timings = Some(RollbackTimings {
                first_bad_sample_at: first_bad,
                decided_at: now,
                served_at: None,
                decision_to_served_us: None,
            });
        }
        let update = Change::UpdateRollout {
            id,
            expected_version: loaded.record.version,
            state: json!(next),
            phase: next.phase.as_str().to_owned(),
            active: !next.phase.is_terminal(),
            events: vec![NewRolloutEvent {
                event: event.name().to_owned(),
                from_phase: loaded.state.phase.as_str().to_owned(),
                to_phase: next.phase.as_str().to_owned(),
                detail: event_detail(&event, &actions),
            }],
        };
        self.commit(&loaded.plan, &loaded.base, &actions, update, actor)
            .await?;
        // Committed and published: the rollback's weights are being served.
        let served = decided.elapsed();
        self.after_commit(id, &loaded.plan, &loaded.base, &next, &actions);
        if rollback_began && next.rollback.is_some() {
            self.record_served(id, next, served).await;
        }
        Ok(true)
    }

    /// Second half of a rollback's timings: when its weights were served. Best effort: the
    /// rollback itself is already committed, so a failure here is only logged.
    async fn record_served(
        &self,
        id: RolloutId,
        mut state: RolloutState,
        served: std::time::Duration,
    ) {
        let served_at = self.clock.now();
        let Some(timings) = state.rollback.as_mut().and_then(|r| r.timings.as_mut()) else {
            return;
        };
        timings.served_at = Some(served_at);
        timings.decision_to_served_us = Some(u64::try_from(served.as_micros()).unwrap_or(u64::MAX));
        let detail = json!({"timings": timings});
        tracing::info!(
            rollout = id,
            decision_to_served_us = timings.decision_to_served_us,
            "rollback weights served"
        );
        let result = async {
            let record = self.record(id).await?;
            let update = Change::UpdateRollout {
                id,
                expected_version: record.version,
                state: json!(state),
                phase: state.phase.as_str().to_owned(),
                active: !state.phase.is_terminal(),
                events: vec![NewRolloutEvent {
                    event: "rollback_served".to_owned(),
                    from_phase: state.phase.as_str().to_owned(),
                    to_phase: state.phase.as_str().to_owned(),
                    detail,
                }],
            };
            self.state
                .mutate("controller", |_, _| Ok((vec![update], ())))
                .await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(rollout = id, error = %e, "could not record the rollback's timings");
        }
    }

    /// Commits the flag change implied by `actions` together with the rollout change.
    async fn commit(
        &self,
        plan: &Plan,
        base: &FlagSpec,
        actions: &[Action],
        rollout: Change,
        actor: &str,
    ) -> Result<Option<RolloutId>, ApiError> {
        let mutation = self
            .state
            .mutate(actor, |catalog, current| {
                let mut changes = Vec::new();
                let flag = catalog
                    .flag(plan.flag())
                    .cloned()
                    .ok_or_else(|| flag_not_found(plan))?;
                // A new rollout captured `base` before the write lock: if the flag changed
                // since, starting would overwrite that edit (and restore a stale flag later).
                if matches!(rollout, Change::CreateRollout { .. }) && flag.spec() != base {
                    return Err(ApiError::ConcurrentChange(format!(
                        "flag `{}` changed while the rollout was starting; start it again",
                        plan.flag()
                    )));
                }
                if let Some(spec) = flag_effect(plan, base, flag.spec(), actions) {
                    let flag = Flag::try_new(spec).map_err(|e| {
                        ApiError::Internal(format!("rollout produced an invalid flag: {e}"))
                    })?;
                    catalog.upsert_flag(flag.clone())?;
                    let expected = current
                        .flag_meta
                        .get(plan.flag())
                        .map_or(Precondition::MustExist, |m| {
                            Precondition::Revision(m.revision)
                        });
                    changes.push(Change::PutFlag { flag, expected });
                }
                changes.push(rollout);
                Ok((changes, ()))
            })
            .await?;
        Ok(mutation.created_rollouts.first().copied())
    }

    /// Effects after the commit: verify what is served, log notifications, reset samples.
    fn after_commit(
        &self,
        id: RolloutId,
        plan: &Plan,
        base: &FlagSpec,
        state: &RolloutState,
        actions: &[Action],
    ) {
        for action in actions {
            match action {
                Action::Notify(message) => {
                    tracing::info!(rollout = id, flag = plan.flag(), "{message}")
                }
                Action::Verify(target) => {
                    let published = self.state.published();
                    let served = published
                        .catalog()
                        .flag(plan.flag())
                        .map(|f| f.spec().fallthrough.clone());
                    let wanted = materialize(base, plan, target).fallthrough;
                    let matches = match target {
                        rampart_rollout::Target::Restored => true,
                        _ => served.as_ref() == Some(&wanted),
                    };
                    if !matches {
                        tracing::error!(
                            rollout = id,
                            flag = plan.flag(),
                            ?served,
                            ?wanted,
                            "verification failed: the flag does not serve the rollout's target"
                        );
                    }
                }
                _ => {}
            }
        }
        if let Ok(mut decisions) = self.decisions.lock() {
            decisions.remove(&id);
        }
        // A new rollout starts collecting in `create`; after a restart the next tick
        // restores what was saved. Tracking here would start an existing rollout afresh.
        if state.phase.is_terminal() {
            self.health.untrack(plan.flag(), id);
        }
    }

    /// Makes sure the rollout's events are collected before it is judged: after a restart,
    /// from its saved health windows (afresh if they can't be read).
    async fn restore_health(&self, id: RolloutId, plan: &Plan) {
        if self.health.tracks(plan.flag(), id) {
            return;
        }
        let restored = match self.state.store().health(id).await {
            Ok(windows) => self.health.restore(
                plan.flag(),
                id,
                (plan.baseline(), plan.candidate()),
                counters(plan),
                &windows,
            ),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = restored {
            tracing::error!(rollout = id, error = %e, "cannot restore the rollout's health windows; its analysis starts afresh");
            self.track(id, plan);
        }
    }

    /// Saves the windows the last decision sealed. A failure is retried next tick.
    async fn save_health(&self, id: RolloutId, plan: &Plan) {
        let Some((windows, previous)) = self.health.take_unsaved(plan.flag(), id) else {
            return;
        };
        if let Err(e) = self.state.store().save_health(id, &windows).await {
            tracing::warn!(rollout = id, error = %e, "cannot save health windows; retrying next tick");
            self.health.unsave(plan.flag(), id, previous);
        }
    }

    /// Collects the rollout's events: its two arms and the custom values its analysis uses.
    fn track(&self, id: RolloutId, plan: &Plan) {
        self.health.track(
            plan.flag(),
            id,
            plan.baseline(),
            plan.candidate(),
            counters(plan),
        );
    }

    /// One controller pass over every active rollout. Returns the number of transitions.
    pub async fn tick(&self) -> Result<usize, ApiError> {
        let _guard = self.lock.lock().await;
        let active = self.state.store().rollouts(None, true).await?;
        let mut transitions = 0;
        for record in active {
            let id = record.id;
            let loaded = match decode(record) {
                Ok(loaded) => loaded,
                Err(e) => {
                    tracing::error!(rollout = id, error = %e, "skipping a rollout that cannot be decoded");
                    continue;
                }
            };
            self.restore_health(id, &loaded.plan).await;
            let decision = self.decide(id, &loaded);
            let decided = Instant::now();
            let outcome = self
                .transition(id, Event::Tick(decision), "controller", decided)
                .await;
            self.save_health(id, &loaded.plan).await;
            match outcome {
                Ok(true) => transitions += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(rollout = id, error = %e, "tick failed; retrying next tick")
                }
            }
        }
        Ok(transitions)
    }

    /// The gate for the current step: the plan's judge over the rollout's health events,
    /// combined with the step's soak and `min_samples`.
    fn decide(&self, id: RolloutId, loaded: &Loaded) -> Decision {
        let now = self.clock.now();
        let now_ms = u64::try_from(now).unwrap_or(0);
        let plan = &loaded.plan;
        let steps = step_contexts(plan, &loaded.state);
        let step_started_ms = steps
            .get(loaded.state.step)
            .map_or(now_ms, |s| s.started_at_ms);
        let judged = self.health.with_arms(plan.flag(), |arms| {
            let observations = Observations {
                baseline: &arms.baseline,
                candidate: &arms.candidate,
                steps: &steps,
            };
            let decision = plan.judge().decide(&observations, now_ms);
            // Windows up to `now` are judged: later events land after them.
            arms.judged_until_ms = arms.judged_until_ms.max(now_ms / WINDOW_MS * WINDOW_MS);
            (decision, arms.candidate_requests(step_started_ms, now_ms))
        });
        let (health, samples) = judged.unwrap_or_else(|| {
            let mut decision = Decision::bare(Verdict::Inconclusive);
            decision
                .blockers
                .push("health events are not being collected yet".to_owned());
            (decision, 0)
        });
        let step = plan.steps().get(loaded.state.step);
        let evidence = Evidence {
            soak_elapsed_ms: loaded.state.soak.elapsed_ms(now),
            soak_required_ms: step.map_or(0, |s| s.soak.as_millis()),
            samples,
            min_samples: step.map_or(0, |s| s.min_samples),
        };
        let decision = combine(health, SoakGate.decide(&evidence));
        if let Ok(mut decisions) = self.decisions.lock() {
            decisions.insert(id, decision.clone());
        }
        decision
    }

    pub async fn view(&self, id: RolloutId, with_history: bool) -> Result<RolloutView, ApiError> {
        let record = self.record(id).await?;
        let history = if with_history {
            self.state.store().rollout_events(id).await?
        } else {
            Vec::new()
        };
        let mut view = self.render(record)?;
        view.history = history
            .into_iter()
            .map(|e| HistoryEvent {
                seq: e.seq,
                at: rfc3339(e.at),
                actor: e.actor,
                event: e.event,
                from: e.from_phase,
                to: e.to_phase,
                detail: e.detail,
            })
            .collect();
        Ok(view)
    }

    /// A page of rollouts, newest first: at most `limit`, older than `before` when given.
    pub async fn list(
        &self,
        flag: Option<&str>,
        active_only: bool,
        before: Option<RolloutId>,
        limit: u32,
    ) -> Result<RolloutList, ApiError> {
        // One more than asked says whether another page follows.
        let records = self
            .state
            .store()
            .rollout_page(flag, active_only, before, limit.saturating_add(1))
            .await?;
        let (records, next_before) =
            crate::page::take(records.into_iter(), limit, |record| record.id);
        Ok(RolloutList {
            rollouts: records
                .into_iter()
                .map(|r| self.render(r))
                .collect::<Result<_, _>>()?,
            next_before,
        })
    }

    fn render(&self, record: RolloutRecord) -> Result<RolloutView, ApiError> {
        let id = record.id;
        let loaded = decode(record)?;
        let progress = progress(&loaded.plan, &loaded.state, self.clock.now());
        let gate = if loaded.state.phase.is_terminal() {
            None
        } else {
            self.decisions.lock().ok().and_then(|d| d.get(&id).cloned())
        };
        let Loaded {
            record,
            plan,
            state,
            ..
        } = loaded;
        Ok(RolloutView {
            id,
            flag: plan.flag().to_owned(),
            baseline: plan.baseline().to_owned(),
            candidate: plan.candidate().to_owned(),
            strategy: plan.spec().strategy.as_str().to_owned(),
            phase: state.phase,
            active: record.active,
            step: state.step,
            steps: progress.steps,
            target: state.target,
            soak_elapsed_ms: progress.soak_elapsed_ms,
            soak_required_ms: progress.soak_required_ms,
            gate,
            rollback: state.rollback,
            plan: plan.spec().clone(),
            created_at: rfc3339(record.created_at),
            created_by: record.created_by,
            updated_at: rfc3339(record.updated_at),
            version: record.version,
            history: Vec::new(),
        })
    }
}
