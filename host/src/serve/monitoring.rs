//! The monitors of served models, run inside `sluice serve`: each window
//! of each model whose `production` version declares a monitor is
//! evaluated once it has closed and its log is written, its results
//! recorded and shown in `/metrics`; and the rollouts going on are
//! carried out ([`crate::rollout`]).
//!
//! A monitor whose window is a count of requests is evaluated each time
//! that many more requests are logged: its first window starts where the
//! model's last recorded result ended, else at the first logged request of
//! the version `production` holds.

use super::AppState;
use crate::monitor::{Monitor, Span, last_closed, next_requests};
use crate::registry::Registry;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How often the monitors look for a closed window.
const TICK: Duration = Duration::from_millis(500);

/// Evaluate every served model's monitor window by window, until
/// aborted. A window is evaluated once the log's flush interval (and a
/// margin) has passed since it closed, so that its requests are written.
pub(super) async fn run(state: Arc<AppState>) {
    let lag_ms = state.options.log.flush_every.as_millis() as i64 + 500;
    // The end of the last window evaluated, by (tenant, model).
    let mut done: HashMap<(String, String), i64> = HashMap::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for caller in state.tenancy.served() {
            let rollouts = crate::rollout::Rollouts {
                registry: &caller.registry,
                runtime: &caller.runtime,
                limits: caller.limits,
            };
            crate::rollout::tick(&rollouts, lag_ms).await;
            let models = match caller.registry.list().await {
                Ok(models) => models,
                Err(e) => {
                    tracing::warn!(tenant = %caller.tenant, error = %e, "monitors: listing the models");
                    continue;
                }
            };
            for model in models {
                let Some(&production) = model.aliases.get(super::models::DEFAULT_ALIAS) else {
                    continue;
                };
                let Some(spec) = caller
                    .models
                    .monitor_spec(&caller.registry, &model.name, production)
                    .await
                else {
                    continue;
                };
                let Ok(span) = spec.span() else {
                    continue;
                };
                let now = chrono::Utc::now().timestamp_millis();
                let key = (caller.tenant.clone(), model.name.clone());
                let window = match span {
                    Span::Time(window_ms) => last_closed(window_ms, now - lag_ms),
                    Span::Requests(count) => {
                        let since = match done.get(&key) {
                            Some(end) => Some(*end),
                            None => requests_since(&caller.registry, &model.name, production)
                                .await
                                .inspect_err(|e| {
                                    tracing::warn!(
                                        tenant = %caller.tenant,
                                        model = %model.name,
                                        error = %e,
                                        "monitor: where its windows of requests start"
                                    );
                                })
                                .ok()
                                .flatten(),
                        };
                        let Some(since) = since else {
                            continue;
                        };
                        match next_requests(
                            &caller.registry,
                            &model.name,
                            since,
                            now - lag_ms,
                            count,
                        )
                        .await
                        {
                            Ok(Some(window)) => window,
                            Ok(None) => {
                                done.insert(key, since);
                                continue;
                            }
                            Err(e) => {
                                tracing::warn!(
                                    tenant = %caller.tenant,
                                    model = %model.name,
                                    error = %e,
                                    "monitor: counting the requests of a window"
                                );
                                continue;
                            }
                        }
                    }
                };
                if done.get(&key).is_some_and(|end| *end >= window.end_ms) {
                    continue;
                }
                done.insert(key, window.end_ms);
                let monitor = Monitor {
                    registry: &caller.registry,
                    runtime: &caller.runtime,
                    limits: caller.limits,
                    record: true,
                };
                match monitor.evaluate(&model.name, window).await {
                    Ok(evaluation) => state.metrics.monitor().observe(&evaluation),
                    Err(e) => tracing::warn!(
                        tenant = %caller.tenant,
                        model = %model.name,
                        error = %e,
                        "monitor: the window could not be evaluated"
                    ),
                }
            }
        }
    }
}

/// Where the next window of requests of `model` starts when this process
/// has evaluated none: the end of the last window recorded, else the
/// first request the `production` version logged (`None`: none yet).
async fn requests_since(
    registry: &Registry,
    model: &str,
    production: i64,
) -> Result<Option<i64>, String> {
    let last = registry
        .meta
        .monitor_results(registry.tenant(), model, None, 1)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(r) = last.first() {
        return Ok(Some(r.window_end_ms));
    }
    Ok(registry
        .meta
        .inference_logs(registry.tenant(), model, None)
        .await
        .map_err(|e| e.to_string())?
        .iter()
        .filter(|f| f.version == production)
        .map(|f| f.first_ms)
        .min())
}
