//! Rollouts (progressive delivery): a candidate version takes a growing
//! share of an alias's traffic, step by step, each interval judged
//! against the version the alias holds on the same window.
//!
//! ```toml
//! [models.churn.rollout]
//! steps = [10, 50, 100]       # the candidate's share at each step, in percent
//! interval = "10m"            # each step lasts at least this; each judgement looks at one
//! min_requests = 500          # fewer candidate requests: inconclusive, the rollout holds
//! failure_limit = 2           # failed intervals before it rolls back
//! checks = [
//!   "performance.accuracy >= production - 0.01",
//!   "service.p99_ms <= 1.2 * production",
//!   "service.error_rate <= 0.01",
//!   "drift.drift_share <= 0.5",
//! ]
//! ```
//!
//! `sluice models rollout NAME VERSION --to production` starts one (with
//! the candidate's declared plan, or flags); `sluice serve` carries it out:
//! it routes the step's share of the alias's traffic to the candidate
//! (the model's traffic policy, restored when the rollout ends), and at
//! the end of each interval evaluates the model's monitor on that window
//! ([`crate::monitor`]) and compares the candidate's numbers with the
//! alias's version's (see [`spec`]). An interval is
//!
//! - **inconclusive** when the candidate had fewer than `min_requests`
//!   requests, a check was inconclusive (too few labels), or production
//!   has no number to compare with: the rollout holds at its step and
//!   says so; it never promotes or fails on no data;
//! - **failed** when a check does not hold (or cannot run, or does not
//!   produce the number named): after `failure_limit` failed intervals the
//!   rollout rolls back at once (the policy as it was, the candidate
//!   marked failed);
//! - **passed** otherwise: the next step begins, and after the last the
//!   candidate is promoted to the alias (its gates checked).
//!
//! Every weight change, the promotion and the rollback are in the model's
//! audit history with actor `rollout` and the interval's numbers. The
//! whole state is one row of the metadata store, so a server killed during
//! a rollout resumes it when restarted.

pub mod spec;

pub use spec::{Check, RolloutSpec, parse_check};

use crate::meta::{MetaError, RolloutRow};
use crate::monitor::{CheckKind, CheckSpec, Evaluation, Monitor, MonitorSpec, Status, Window};
use crate::registry::{Registry, ServingPolicy};
use crate::runtime::{Runtime, StepLimits};
use std::collections::BTreeMap;

/// The actor of what a rollout does in the audit history.
pub const ACTOR: &str = "rollout";

/// How an interval came out.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Every check held.
    Pass,
    /// A check failed.
    Fail,
    /// Too little data to judge.
    Inconclusive,
}

/// An interval's judgement, in words with its numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// How it came out.
    pub verdict: Verdict,
    /// Each check's numbers, or why there were none.
    pub detail: String,
}

/// Where rollouts are carried out.
pub struct Rollouts<'a> {
    /// The tenant's registry.
    pub registry: &'a Registry,
    /// Where the monitors' validators run.
    pub runtime: &'a Runtime,
    /// The bounds of each plugin call.
    pub limits: StepLimits,
}

fn meta(e: MetaError) -> String {
    e.to_string()
}

/// The monitor of a model that declares none: the server's own figures.
fn service_only() -> MonitorSpec {
    MonitorSpec {
        window: "1h".into(),
        min_rows: 1,
        failure_limit: 1,
        on_alert: crate::monitor::OnAlert::Log,
        command: Vec::new(),
        checks: vec![CheckSpec {
            name: "service".into(),
            kind: CheckKind::Service,
            plugin: None,
            params: BTreeMap::new(),
            min_rows: Some(1),
            sha256: None,
            regression_sha256: None,
        }],
    }
}

/// The policy with the candidate at `share` percent of `alias`'s traffic
/// (its key, mirror and passthrough kept from `before`).
fn policy_at(
    before: Option<&ServingPolicy>,
    alias: &str,
    candidate: i64,
    share: f64,
) -> ServingPolicy {
    let mut p = before.cloned().unwrap_or_default();
    p.split = BTreeMap::new();
    if share < 100.0 {
        p.split.insert(alias.to_owned(), 100.0 - share);
    }
    p.split.insert(format!("v{candidate}"), share);
    p
}

impl Rollouts<'_> {
    fn monitor(&self, record: bool) -> Monitor<'_> {
        Monitor {
            registry: self.registry,
            runtime: self.runtime,
            limits: self.limits,
            record,
        }
    }

    /// Start rolling `candidate` of `model` out to `alias` with `spec`: the
    /// first step's share goes to it at once.
    pub async fn start(
        &self,
        model: &str,
        candidate: i64,
        alias: &str,
        spec: &RolloutSpec,
        actor: &str,
    ) -> Result<RolloutRow, String> {
        spec.validate()?;
        let version = self
            .registry
            .version(model, candidate)
            .await
            .map_err(|e| e.to_string())?;
        let aliases = self
            .registry
            .aliases(model)
            .await
            .map_err(|e| e.to_string())?;
        let holder = *aliases.get(alias).ok_or_else(|| {
            format!(
                "`{model}` has no alias `{alias}` to roll out to: promote a version to it first"
            )
        })?;
        if holder == candidate {
            return Err(format!("{model}:{candidate} already holds `{alias}`"));
        }
        let holder_version = self
            .registry
            .version(model, holder)
            .await
            .map_err(|e| e.to_string())?;
        let monitor = version
            .monitoring
            .clone()
            .or(holder_version.monitoring)
            .unwrap_or_else(service_only);
        for check in spec.parsed_checks()? {
            if !monitor.checks.iter().any(|c| c.name == check.check) {
                return Err(format!(
                    "rollout check `{}` reads monitor check `{}`, which {model}'s monitor does not \
                     have (its checks: {})",
                    check.text,
                    check.check,
                    monitor
                        .checks
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        let before = self
            .registry
            .serving(model)
            .await
            .map_err(|e| e.to_string())?;
        let now = chrono::Utc::now().timestamp_millis();
        let mut row = RolloutRow {
            id: 0,
            model: model.to_owned(),
            candidate,
            alias: alias.to_owned(),
            spec_json: serde_json::to_string(spec).expect("a plan serializes"),
            route_before_json: before
                .as_ref()
                .map(|p| serde_json::to_string(p).expect("a policy serializes")),
            state: "running".into(),
            step: 0,
            window_start_ms: now,
            failures: 0,
            inconclusive: 0,
            last: String::new(),
            actor: actor.to_owned(),
            started_ms: now,
            updated_ms: now,
        };
        row.id = self
            .registry
            .meta
            .start_rollout(self.registry.tenant(), &row)
            .await
            .map_err(meta)?;
        let policy = policy_at(before.as_ref(), alias, candidate, spec.steps[0]);
        let reason = format!(
            "rollout of v{candidate} to `{alias}` started by {actor}: step 1 of {}, {}%",
            spec.steps.len(),
            spec.steps[0]
        );
        if let Err(e) = self
            .registry
            .route(model, Some(&policy), &reason, ACTOR)
            .await
        {
            row.state = "aborted".into();
            row.last = format!("could not route traffic: {e}");
            self.registry
                .meta
                .update_rollout(&row)
                .await
                .map_err(meta)?;
            return Err(row.last);
        }
        Ok(row)
    }

    /// Put the policy from before the rollout back, audited with `reason`.
    async fn restore(&self, row: &RolloutRow, reason: &str) -> Result<(), String> {
        let before: Option<ServingPolicy> = row
            .route_before_json
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| format!("the stored route is invalid: {e}"))?;
        self.registry
            .route(&row.model, before.as_ref(), reason, ACTOR)
            .await
            .map_err(|e| e.to_string())
    }

    /// Judge `row`'s interval if it has closed (and `lag_ms` more passed,
    /// so its requests are written) and act; what happened, in words.
    pub async fn advance(
        &self,
        row: &mut RolloutRow,
        now_ms: i64,
        lag_ms: i64,
    ) -> Result<Option<String>, String> {
        if row.state != "running" {
            return Ok(None);
        }
        let spec: RolloutSpec = serde_json::from_str(&row.spec_json)
            .map_err(|e| format!("the stored rollout plan is invalid: {e}"))?;
        let interval = spec.interval_ms()?;
        let window = Window {
            start_ms: row.window_start_ms,
            end_ms: row.window_start_ms + interval,
        };
        if now_ms - lag_ms < window.end_ms {
            return Ok(None);
        }
        let evaluation = self.monitor(true).evaluate(&row.model, window).await?;
        let holder = self
            .registry
            .aliases(&row.model)
            .await
            .map_err(|e| e.to_string())?
            .get(&row.alias)
            .copied();
        let judgement = self.judge(&spec, row, &evaluation, holder).await?;
        let step_text = format!(
            "step {} of {} ({}%)",
            row.step + 1,
            spec.steps.len(),
            spec.steps[row.step as usize]
        );
        let now = chrono::Utc::now().timestamp_millis();
        row.updated_ms = now;
        let event = match judgement.verdict {
            Verdict::Inconclusive => {
                row.inconclusive += 1;
                row.window_start_ms = window.end_ms;
                format!("{step_text}: inconclusive, holding: {}", judgement.detail)
            }
            Verdict::Fail => {
                row.failures += 1;
                row.window_start_ms = window.end_ms;
                if row.failures >= i64::from(spec.failure_limit) {
                    let reason = format!(
                        "rollout of v{} failed at {step_text} ({} of {} intervals failed): {}",
                        row.candidate, row.failures, spec.failure_limit, judgement.detail
                    );
                    self.restore(row, &reason).await?;
                    row.state = "failed".into();
                    reason
                } else {
                    format!(
                        "{step_text}: failed ({} of {}): {}",
                        row.failures, spec.failure_limit, judgement.detail
                    )
                }
            }
            Verdict::Pass if row.step as usize + 1 == spec.steps.len() => {
                let reason = format!(
                    "rollout of v{} passed every step: {}",
                    row.candidate, judgement.detail
                );
                match self
                    .registry
                    .promote(&row.model, row.candidate, &row.alias, &reason, false, ACTOR)
                    .await
                {
                    Ok(_) => {
                        self.restore(row, &format!("rollout of v{} promoted", row.candidate))
                            .await?;
                        row.state = "promoted".into();
                        reason
                    }
                    Err(e) => {
                        let reason = format!(
                            "rollout of v{} passed but was not promoted: {e}",
                            row.candidate
                        );
                        self.restore(row, &reason).await?;
                        row.state = "failed".into();
                        reason
                    }
                }
            }
            Verdict::Pass => {
                row.step += 1;
                let share = spec.steps[row.step as usize];
                let before: Option<ServingPolicy> = row
                    .route_before_json
                    .as_deref()
                    .and_then(|j| serde_json::from_str(j).ok());
                let policy = policy_at(before.as_ref(), &row.alias, row.candidate, share);
                let reason = format!(
                    "rollout of v{}: {step_text} passed, step {} of {} at {share}%: {}",
                    row.candidate,
                    row.step + 1,
                    spec.steps.len(),
                    judgement.detail
                );
                self.registry
                    .route(&row.model, Some(&policy), &reason, ACTOR)
                    .await
                    .map_err(|e| e.to_string())?;
                row.window_start_ms = now;
                reason
            }
        };
        row.last = event.clone();
        self.registry.meta.update_rollout(row).await.map_err(meta)?;
        tracing::info!(model = %row.model, candidate = row.candidate, %event, "rollout");
        Ok(Some(event))
    }

    /// The interval's verdict: each check of the candidate against its
    /// bound, production's number taken from the same window (else its
    /// latest recorded during the rollout).
    async fn judge(
        &self,
        spec: &RolloutSpec,
        row: &RolloutRow,
        evaluation: &Evaluation,
        holder: Option<i64>,
    ) -> Result<Judgement, String> {
        let inconclusive = |detail: String| Judgement {
            verdict: Verdict::Inconclusive,
            detail,
        };
        let candidate = evaluation
            .versions
            .iter()
            .find(|v| v.version == row.candidate);
        let requests = candidate.map_or(0, |c| c.requests);
        if requests < spec.min_requests {
            return Ok(inconclusive(format!(
                "{requests} candidate request(s) in the interval, fewer than min_requests {}",
                spec.min_requests
            )));
        }
        let candidate = candidate.expect("requests were counted");
        let production = holder.and_then(|h| evaluation.versions.iter().find(|v| v.version == h));
        let mut failed = Vec::new();
        let mut held = Vec::new();
        for check in spec.parsed_checks()? {
            let name = check.name();
            let Some(result) = candidate.results.iter().find(|r| r.check == check.check) else {
                failed.push(format!(
                    "{}: no monitor check `{}` ran",
                    check.text, check.check
                ));
                continue;
            };
            match result.status {
                Status::Inconclusive => {
                    return Ok(inconclusive(format!(
                        "check `{}` is inconclusive: {}",
                        check.check, result.detail
                    )));
                }
                Status::Error => {
                    failed.push(format!(
                        "{}: check `{}` could not run: {}",
                        check.text, check.check, result.detail
                    ));
                    continue;
                }
                Status::Pass | Status::Fail => {}
            }
            let Some(&value) = result.metrics.get(&check.metric) else {
                failed.push(format!(
                    "{}: check `{}` has no number `{}` (it has: {})",
                    check.text,
                    check.check,
                    check.metric,
                    result
                        .metrics
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                continue;
            };
            let theirs = match production
                .and_then(|p| p.results.iter().find(|r| r.check == check.check))
                .filter(|r| matches!(r.status, Status::Pass | Status::Fail))
                .and_then(|r| r.metrics.get(&check.metric).copied())
            {
                Some(v) => Some(v),
                None => match holder {
                    Some(h) => self.recorded(row, h, &check).await?,
                    None => None,
                },
            };
            let Some(limit) = check.limit(theirs) else {
                return Ok(inconclusive(format!(
                    "production has no `{name}` to compare with yet"
                )));
            };
            let words = format!(
                "{name} {value:.4} {} {limit:.4}{}",
                if check.at_least { ">=" } else { "<=" },
                theirs
                    .map(|t| format!(" (production {t:.4})"))
                    .unwrap_or_default()
            );
            if check.holds(value, limit) {
                held.push(words);
            } else {
                failed.push(format!("{}: {words} does not hold", check.text));
            }
        }
        let counts = format!(
            "{requests} candidate request(s){}",
            production
                .map(|p| format!(", {} production", p.requests))
                .unwrap_or_default()
        );
        Ok(if failed.is_empty() {
            Judgement {
                verdict: Verdict::Pass,
                detail: format!("{counts}; {}", held.join("; ")),
            }
        } else {
            Judgement {
                verdict: Verdict::Fail,
                detail: format!("{counts}; {}", failed.join("; ")),
            }
        })
    }

    /// Production's latest recorded number of `check` since the rollout
    /// began (for the intervals where production has no traffic).
    async fn recorded(
        &self,
        row: &RolloutRow,
        holder: i64,
        check: &Check,
    ) -> Result<Option<f64>, String> {
        let results = self
            .registry
            .meta
            .monitor_results(
                self.registry.tenant(),
                &row.model,
                Some(row.started_ms),
                10_000,
            )
            .await
            .map_err(meta)?;
        Ok(results
            .iter()
            .rev()
            .filter(|r| r.version == holder && r.check == check.check)
            .filter(|r| r.status == "pass" || r.status == "fail")
            .find_map(|r| r.metrics.get(&check.metric).copied()))
    }

    /// Pause (`running` to `paused`), resume or abort `model`'s rollout;
    /// the rollout as it is now.
    pub async fn control(
        &self,
        model: &str,
        action: Control,
        actor: &str,
    ) -> Result<RolloutRow, String> {
        let mut row = self
            .registry
            .meta
            .latest_rollout(self.registry.tenant(), model)
            .await
            .map_err(meta)?
            .filter(|r| r.state == "running" || r.state == "paused")
            .ok_or_else(|| format!("model `{model}` has no rollout going on"))?;
        let now = chrono::Utc::now().timestamp_millis();
        match action {
            Control::Pause => {
                row.state = "paused".into();
                row.last = format!("paused by {actor}");
            }
            Control::Resume => {
                row.state = "running".into();
                // The interval starts again: what happened while paused
                // is not judged.
                row.window_start_ms = now;
                row.last = format!("resumed by {actor}");
            }
            Control::Abort => {
                let reason = format!("rollout of v{} aborted by {actor}", row.candidate);
                self.restore(&row, &reason).await?;
                row.state = "aborted".into();
                row.last = reason;
            }
        }
        row.updated_ms = now;
        self.registry
            .meta
            .update_rollout(&row)
            .await
            .map_err(meta)?;
        Ok(row)
    }
}

/// What `sluice models rollout pause|resume|abort` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Stop judging and changing; traffic stays as it is.
    Pause,
    /// Judge again, from a fresh interval.
    Resume,
    /// End it: the policy as it was before, the candidate not promoted.
    Abort,
}

/// Carry out every running rollout of `registry`'s tenant one tick.
pub async fn tick(rollouts: &Rollouts<'_>, lag_ms: i64) {
    let tenant = rollouts.registry.tenant();
    let rows = match rollouts.registry.meta.active_rollouts(tenant).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(tenant, error = %e, "reading the rollouts");
            return;
        }
    };
    for mut row in rows {
        let now = chrono::Utc::now().timestamp_millis();
        if let Err(e) = rollouts.advance(&mut row, now, lag_ms).await {
            tracing::warn!(tenant, model = %row.model, error = %e, "rollout");
        }
    }
}
