//! Monitoring: what a model's versions do with live traffic, judged window
//! by window from the inference log and the labels sent for it.
//!
//! A model declares its monitor with the model, and each version keeps
//! the declaration it was registered with (its plugins by sha256):
//!
//! ```toml
//! [models.churn.monitoring]
//! window = "10m"          # the span of one evaluation (s, m, h, d)
//! min_rows = 200          # fewer rows: every check inconclusive
//! failure_limit = 2       # failing windows in a row before on_alert acts
//! on_alert = "rollback"   # or "log" (the default)
//! command = ["/usr/local/bin/page", "--team", "ml"]   # run at each alert
//!
//! [[models.churn.monitoring.checks]]
//! kind = "drift"                      # logged inputs vs the training rows
//! params = { method = "psi", threshold = 0.2 }
//!
//! [[models.churn.monitoring.checks]]
//! kind = "prediction_drift"           # outputs vs the holdout predictions
//!
//! [[models.churn.monitoring.checks]]
//! kind = "performance"                # labelled rows, scored by an evaluator
//! params = { min_accuracy = 0.8 }
//! min_rows = 50                       # labelled rows
//!
//! [[models.churn.monitoring.checks]]
//! kind = "cbpe"                       # accuracy estimated without labels
//!
//! [[models.churn.monitoring.checks]]
//! kind = "service"                    # the server's own figures
//! params = { max_error_rate = 0.01, max_p99_ms = 50 }
//!
//! [[models.churn.monitoring.checks]]
//! name = "ranges"
//! kind = "custom"                     # any validator of the tenant's
//! plugin = "plugins/range_check.wasm"
//! ```
//!
//! Every check but `service` runs a validator plugin in the sandbox, as a
//! pipeline step would (see [`CheckKind`] for the tables each kind hands
//! it). A check passes when every condition of the validator's report
//! holds, fails otherwise (an alert), and is inconclusive when the window
//! has fewer rows than `min_rows` or the validator says so (metric
//! `inconclusive` = 1): never passed or failed on no data.
//!
//! [`Monitor::evaluate`] judges one window; `sluice serve` evaluates each window of
//! every served model as it closes, and `sluice monitor run` on demand.
//! Results are a time series in the metadata store ([`MonitorRecord`]),
//! alerts too ([`MonitorAlert`]). With `on_alert = "rollback"`, a check
//! failing `failure_limit` windows in a row for the version `production`
//! holds moves `production` back to the version it held before, audited
//! as a `rollback` by actor `monitor` with the numbers.

mod build_report;
pub mod check;
pub mod reference;
pub mod report;
pub mod spec;
pub mod window;

pub use check::{CheckResult, Status};
pub use spec::{CheckKind, CheckSpec, MonitorSpec, OnAlert, Span};
pub use window::{Window, last_requests, next_requests, read_window};

use crate::meta::{MonitorAlert, MonitorRecord};
use crate::registry::{ModelVersion, Registry};
use crate::runtime::{Runtime, StepLimits};
use serde::Serialize;

/// The actor of what a monitor does in the registry's audit history.
pub const ACTOR: &str = "monitor";

/// One version's checks in one window.
#[derive(Debug, Clone, Serialize)]
pub struct VersionEvaluation {
    /// The version.
    pub version: i64,
    /// Its answered rows in the window.
    pub rows: u64,
    /// How many of them have a label.
    pub labelled: u64,
    /// Its requests.
    pub requests: u64,
    /// Each check's result, in the monitor's order (empty when the
    /// version declares no monitor).
    pub results: Vec<CheckResult>,
    /// The alerts raised, with what was done.
    pub alerts: Vec<MonitorAlert>,
}

/// How long the parts of an evaluation took, in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    /// Reading the window's log and labels, split by version.
    pub read_ms: f64,
    /// Everything, the checks included.
    pub total_ms: f64,
}

/// A model's evaluation of one window.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// The model.
    pub model: String,
    /// The window.
    pub window: Window,
    /// Every version with traffic in the window.
    pub versions: Vec<VersionEvaluation>,
    /// How long it took.
    pub timings: Timings,
}

/// Where an evaluation runs and what it may do.
pub struct Monitor<'a> {
    /// The tenant's registry (its log, labels, versions and records).
    pub registry: &'a Registry,
    /// Where the validators run.
    pub runtime: &'a Runtime,
    /// The bounds of each plugin call.
    pub limits: StepLimits,
    /// Record results and alerts and act on them (`false`: a dry run
    /// that only reports).
    pub record: bool,
}

impl Monitor<'_> {
    /// Judge `model`'s traffic in `window`: each version with traffic by
    /// its own monitor, else by the monitor of the version `production`
    /// holds. Errors only when the log cannot be read or the model does
    /// not exist; a check that cannot run is an `error` result.
    pub async fn evaluate(&self, model: &str, window: Window) -> Result<Evaluation, String> {
        let registry = self.registry;
        let aliases = registry.aliases(model).await.map_err(|e| e.to_string())?;
        let production = match aliases.get("production") {
            Some(v) => Some(
                registry
                    .version(model, *v)
                    .await
                    .map_err(|e| e.to_string())?,
            ),
            None => None,
        };
        let started = std::time::Instant::now();
        let traffic = read_window(registry, model, window).await?;
        let read_ms = started.elapsed().as_secs_f64() * 1e3;
        let mut versions = Vec::new();
        for (v, traffic) in traffic {
            let version = registry
                .version(model, v)
                .await
                .map_err(|e| e.to_string())?;
            let spec = version
                .monitoring
                .clone()
                .or_else(|| production.as_ref().and_then(|p| p.monitoring.clone()));
            let mut evaluation = VersionEvaluation {
                version: v,
                rows: traffic.rows() as u64,
                labelled: traffic.labelled() as u64,
                requests: traffic.service.requests,
                results: Vec::new(),
                alerts: Vec::new(),
            };
            if let Some(spec) = spec {
                evaluation.results = self.run_checks(&version, &spec, &traffic).await;
                if self.record {
                    self.record(
                        &version,
                        &spec,
                        window,
                        &mut evaluation,
                        aliases.get("production").copied(),
                    )
                    .await?;
                }
            }
            versions.push(evaluation);
        }
        Ok(Evaluation {
            model: model.to_owned(),
            window,
            versions,
            timings: Timings {
                read_ms,
                total_ms: started.elapsed().as_secs_f64() * 1e3,
            },
        })
    }

    async fn run_checks(
        &self,
        version: &ModelVersion,
        spec: &MonitorSpec,
        traffic: &window::VersionTraffic,
    ) -> Vec<CheckResult> {
        let ctx = check::CheckContext {
            registry: self.registry,
            runtime: self.runtime,
            limits: self.limits,
            version,
        };
        let prepared = if spec.checks.iter().any(|c| c.kind == CheckKind::Performance) {
            self.registry.prepare(self.runtime, version).await.ok()
        } else {
            None
        };
        let mut results = Vec::with_capacity(spec.checks.len());
        for c in &spec.checks {
            results.push(check::run_check(&ctx, spec, c, traffic, prepared.as_ref()).await);
        }
        results
    }

    /// Store the results, raise alerts for the failures and act.
    async fn record(
        &self,
        version: &ModelVersion,
        spec: &MonitorSpec,
        window: Window,
        evaluation: &mut VersionEvaluation,
        production: Option<i64>,
    ) -> Result<(), String> {
        let meta = &self.registry.meta;
        let tenant = self.registry.tenant();
        let now = chrono::Utc::now().timestamp_millis();
        for r in &evaluation.results {
            meta.record_monitor_result(
                tenant,
                &MonitorRecord {
                    model: version.name.clone(),
                    version: version.version,
                    check: r.check.clone(),
                    kind: r.kind.as_str().to_owned(),
                    window_start_ms: window.start_ms,
                    window_end_ms: window.end_ms,
                    status: r.status.as_str().to_owned(),
                    rows: r.rows as i64,
                    metrics: r.metrics.clone(),
                    detail: r.detail.clone(),
                    at_ms: now,
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        }
        let mut role = None;
        for r in evaluation
            .results
            .iter()
            .filter(|r| r.status == Status::Fail)
        {
            let role = match &role {
                Some(role) => role,
                None => role.insert(self.role(version, window, production).await?),
            };
            let mut action = "log".to_owned();
            if spec.on_alert == OnAlert::Rollback {
                action = self
                    .maybe_roll_back(version, spec, r, production)
                    .await
                    .unwrap_or_else(|e| format!("rollback refused: {e}"));
            }
            if !spec.command.is_empty() {
                action.push_str(&format!("; command `{}` started", spec.command[0]));
            }
            let alert = MonitorAlert {
                model: version.name.clone(),
                version: version.version,
                check: r.check.clone(),
                window_end_ms: window.end_ms,
                at_ms: now,
                detail: r.detail.clone(),
                action,
                role: role.to_string(),
            };
            let new = meta
                .record_monitor_alert(tenant, &alert)
                .await
                .map_err(|e| e.to_string())?;
            if new {
                tracing::warn!(
                    tenant,
                    model = %alert.model,
                    version = alert.version,
                    check = %alert.check,
                    detail = %alert.detail,
                    action = %alert.action,
                    "monitor alert"
                );
                if !spec.command.is_empty() {
                    run_command(&spec.command, &alert);
                }
                evaluation.alerts.push(alert);
            }
        }
        Ok(())
    }

    /// What `version` was doing in `window`: `rollout` when a rollout of
    /// the model ran during it (its alerts are the rollout's to judge),
    /// else `production` when it holds production, else `other`.
    async fn role(
        &self,
        version: &ModelVersion,
        window: Window,
        production: Option<i64>,
    ) -> Result<&'static str, String> {
        let during = self
            .registry
            .meta
            .rollout_during(
                self.registry.tenant(),
                &version.name,
                window.start_ms,
                window.end_ms,
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok(if during {
            "rollout"
        } else if production == Some(version.version) {
            "production"
        } else {
            "other"
        })
    }

    /// Roll `production` back when `version` holds it and `result`'s check
    /// failed its last `failure_limit` windows; what was done, in words.
    async fn maybe_roll_back(
        &self,
        version: &ModelVersion,
        spec: &MonitorSpec,
        result: &CheckResult,
        production: Option<i64>,
    ) -> Result<String, String> {
        if production != Some(version.version) {
            return Ok("log (the version does not hold production)".into());
        }
        let streak = self
            .registry
            .meta
            .monitor_streak(
                self.registry.tenant(),
                &version.name,
                version.version,
                &result.check,
                i64::from(spec.failure_limit),
            )
            .await
            .map_err(|e| e.to_string())?;
        let failing = streak.iter().take_while(|s| *s == "fail").count();
        if failing < spec.failure_limit as usize {
            return Ok(format!(
                "log ({failing} of {} failing windows before rollback)",
                spec.failure_limit
            ));
        }
        let reason = format!(
            "monitor check `{}` failed {failing} window(s) in a row: {}",
            result.check, result.detail
        );
        let done = self
            .registry
            .rollback(&version.name, "production", &reason, ACTOR)
            .await
            .map_err(|e| e.to_string())?;
        Ok(format!(
            "rollback: production v{} -> v{}",
            version.version, done.to_version
        ))
    }
}

/// Start `command` for `alert`, its details in `SLUICE_ALERT_*`; its exit
/// is logged by a thread of its own, never waited for.
fn run_command(command: &[String], alert: &MonitorAlert) {
    let mut cmd = std::process::Command::new(&command[0]);
    cmd.args(&command[1..])
        .env("SLUICE_ALERT_MODEL", &alert.model)
        .env("SLUICE_ALERT_VERSION", alert.version.to_string())
        .env("SLUICE_ALERT_CHECK", &alert.check)
        .env("SLUICE_ALERT_DETAIL", &alert.detail)
        .env("SLUICE_ALERT_ACTION", &alert.action)
        .env(
            "SLUICE_ALERT_WINDOW_END",
            crate::serve::log::rfc3339(alert.window_end_ms),
        )
        .stdin(std::process::Stdio::null());
    let program = command[0].clone();
    match cmd.spawn() {
        Ok(mut child) => {
            std::thread::spawn(move || match child.wait() {
                Ok(status) if status.success() => {}
                Ok(status) => tracing::warn!(%program, %status, "alert command failed"),
                Err(e) => tracing::warn!(%program, error = %e, "alert command"),
            });
        }
        Err(e) => tracing::warn!(%program, error = %e, "starting the alert command"),
    }
}

/// The window of length `window_ms` that ended last at or before `now_ms`
/// (windows are aligned to whole multiples of their length since the Unix
/// epoch, so every process agrees on them).
pub fn last_closed(window_ms: i64, now_ms: i64) -> Window {
    let end = now_ms.div_euclid(window_ms) * window_ms;
    Window {
        start_ms: end - window_ms,
        end_ms: end,
    }
}
