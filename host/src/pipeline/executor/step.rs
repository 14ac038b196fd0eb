//! One step: its inputs gathered, reused or run under a slot, its calls
//! made in the sandbox, and its record finished. Not for the order of
//! steps (see [`dag`](super::dag)).

use super::error::{ExecError, Failing, StepAbort};
use super::report::log_warnings;
use super::{Parts, RunCtx, RunObserver, StepKind, StepReport, lock};
use crate::artifacts::ArtifactDigest;
use crate::meta::{NewStep, StepEnd, StepStatus};
use crate::pipeline::cache;
use crate::pipeline::definition::Part;
use crate::pipeline::plan::PlannedStep;
use crate::runtime::{
    ModelBinding, Plugin, Runtime, StepContext, StepFailure, StepLimits, StepOutput, World,
};
use crate::wit;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// What one step's calls get: the step, its sandbox context and inputs.
pub(super) struct StepCall<'s> {
    pub(super) step: &'s PlannedStep,
    pub(super) ctx: StepContext,
    pub(super) limits: StepLimits,
    pub(super) input: &'s Parts,
    pub(super) reference: Option<&'s Parts>,
    pub(super) model: Option<&'s ArtifactDigest>,
    pub(super) observer: &'s dyn RunObserver,
}

/// What a step made: its outputs, metrics and plugin log (a failed step
/// keeps what it made before it failed), and its own failure.
#[derive(Default)]
pub(super) struct StepOutcome {
    pub(super) outputs: Vec<(String, ArtifactDigest)>,
    pub(super) metrics: BTreeMap<String, f64>,
    pub(super) log: String,
    pub(super) error: Option<String>,
}

/// Who a step record is about.
pub(super) struct StepInfo<'a> {
    pub(super) id: &'a str,
    pub(super) kind: StepKind,
    pub(super) plugin_name: &'a str,
    pub(super) plugin_version: &'a str,
    pub(super) plugin_sha256: &'a str,
    pub(super) params_json: String,
}

impl RunCtx<'_> {
    /// Record a step as started, with its inputs.
    pub(super) async fn record_start(
        &self,
        position: i64,
        info: &StepInfo<'_>,
        inputs: &[(String, ArtifactDigest)],
    ) -> Result<(), ExecError> {
        self.meta
            .start_step(
                &NewStep {
                    run_id: &self.run_id,
                    step_id: info.id,
                    position,
                    kind: info.kind.as_str(),
                    plugin_name: info.plugin_name,
                    plugin_version: info.plugin_version,
                    plugin_sha256: info.plugin_sha256,
                    params_json: &info.params_json,
                },
                inputs,
            )
            .await?;
        Ok(())
    }

    pub(super) async fn skip(&self, position: i64, step: &PlannedStep) -> Result<(), ExecError> {
        self.meta
            .skip_step(&NewStep {
                run_id: &self.run_id,
                step_id: &step.id,
                position,
                kind: step.world().name(),
                plugin_name: &step.plugin.info.name,
                plugin_version: &step.plugin.info.version,
                plugin_sha256: &step.plugin.sha256,
                params_json: &step.params_json.to_string(),
            })
            .await?;
        Ok(())
    }

    pub(super) async fn run_step(
        &self,
        position: i64,
        step: &PlannedStep,
        observer: &dyn RunObserver,
    ) -> Result<StepReport, ExecError> {
        let run_id = self.run_id.as_str();
        let index =
            usize::try_from(position).expect("positions are small") - self.plan.datasets.len();
        let limits = self.limits[index];
        let input = lock(&self.state.tables)
            .get(step.input.name())
            .cloned()
            .expect("the plan orders inputs first");
        let mut inputs: Vec<(String, ArtifactDigest)> = vec![("train".into(), input.train.clone())];
        if let Some(h) = &input.holdout {
            inputs.push(("holdout".into(), h.clone()));
        }
        let reference = step.reference.as_ref().map(|r| {
            lock(&self.state.tables)
                .get(r.name())
                .cloned()
                .expect("planned")
        });
        if let Some(r) = &reference {
            inputs.push(("reference".into(), r.train.clone()));
        }
        let model_digest = step
            .model
            .as_ref()
            .map(|m| lock(&self.state.models).get(m).cloned().expect("planned"));
        if let Some(m) = &model_digest {
            inputs.push(("model".into(), m.clone()));
        }
        let trainer_sha256 = step.model.as_ref().map(|m| {
            self.plan
                .steps
                .iter()
                .find(|s| &s.id == m)
                .expect("planned")
                .plugin
                .sha256
                .clone()
        });
        let key = cache::step_key(
            step,
            &inputs,
            trainer_sha256.as_deref(),
            self.runtime.nan_canonicalization(),
        );
        let info = StepInfo {
            id: &step.id,
            kind: step.world().into(),
            plugin_name: &step.plugin.info.name,
            plugin_version: &step.plugin.info.version,
            plugin_sha256: &step.plugin.sha256,
            params_json: step.params_json.to_string(),
        };
        if let Some(prev) = self.reusable(&step.id, key.as_deref()).await?
            && self.adopt(step, &input, &prev.outputs)
        {
            observer.step_started(&step.id, step.world().into(), &step.plugin.label());
            let mut report = self
                .record_reuse(position, &info, &inputs, key.as_deref(), &prev)
                .await?;
            report.plugin = step.plugin.label();
            return Ok(report);
        }
        // A search takes a slot per trial call instead (see `trials`).
        let _permit = match step.search {
            None => Some(
                self.scheduler
                    .acquire(&self.tenant.name, self.tenant.caps.concurrency)
                    .await,
            ),
            Some(_) => None,
        };
        observer.step_started(&step.id, step.world().into(), &step.plugin.label());
        let started = Instant::now();
        let span = tracing::info_span!("step", step = %step.id, plugin = %step.plugin.label());
        let _enter = span.enter();
        self.record_start(position, &info, &inputs).await?;
        if let Some(grants) = self.grants.get(&step.id) {
            let grants = serde_json::to_string(grants).expect("grants serialize");
            self.meta
                .record_step_grants(run_id, &step.id, &grants)
                .await?;
        }

        let ctx = StepContext {
            step: step.id.clone(),
            limits,
            seed: step.seed,
            model: None,
            grants: self.grants.get(&step.id).cloned().unwrap_or_default(),
            spare_slots: Some(
                self.scheduler
                    .spare_session_slots(&self.tenant.name, self.tenant.caps.concurrency),
            ),
        };
        let StepOutcome {
            outputs,
            metrics,
            log,
            error,
        } = self
            .execute(StepCall {
                step,
                ctx,
                limits,
                input: &input,
                reference: reference.as_ref(),
                model: model_digest.as_ref(),
                observer,
            })
            .await?;
        let report = StepReport {
            id: step.id.clone(),
            kind: step.world().into(),
            plugin: step.plugin.label(),
            plugin_sha256: step.plugin.sha256.clone(),
            status: if error.is_some() {
                StepStatus::Failed
            } else {
                StepStatus::Succeeded
            },
            duration_ms: started.elapsed().as_millis() as u64,
            outputs: outputs
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
            metrics: metrics.clone(),
            cached: false,
            cached_from: None,
            error: error.clone(),
            warnings: log_warnings(&log),
        };
        let metric_rows: Vec<(String, f64)> = metrics.into_iter().collect();
        if error.is_none()
            && let Some(k) = &key
        {
            self.meta.set_step_cache_key(run_id, &step.id, k).await?;
        }
        self.meta
            .finish_step(
                run_id,
                &step.id,
                &StepEnd {
                    status: report.status,
                    outputs: &outputs,
                    metrics: &metric_rows,
                    log: &log,
                    error: error.as_deref(),
                },
            )
            .await?;
        if let Some(e) = &error {
            tracing::warn!(error = %e, "step failed");
        }
        Ok(report)
    }

    /// Run one step's calls: what it made, and its own failure if any.
    pub(super) async fn execute(&self, call: StepCall<'_>) -> Result<StepOutcome, ExecError> {
        let mut made = StepOutcome::default();
        let result = match call.step.world() {
            World::Transform => self.transform(&call, &mut made).await,
            World::Trainer => self.train(&call, &mut made).await,
            World::Validator => self.validate(&call, &mut made).await,
            World::Explainer => self.explain(&call, &mut made).await,
        };
        if let Err(abort) = result {
            made.error = Some(abort.into_failure()?);
        }
        Ok(made)
    }

    /// The part a validator or explainer reads, and its context with the
    /// model of the trainer it names bound.
    pub(super) async fn evaluated_part(
        &self,
        call: &StepCall<'_>,
    ) -> Result<(ArtifactDigest, StepContext), StepAbort> {
        let StepCall {
            step,
            ctx,
            limits,
            input,
            model,
            ..
        } = call;
        let part = match step.on {
            Part::Train => input.train.clone(),
            Part::Holdout => input
                .holdout
                .clone()
                .ok_or("the input has no holdout part")
                .failed()?,
        };
        let mut ctx = ctx.clone();
        if let (Some(m), Some(trainer_step)) = (model, &step.model) {
            let bytes = self.blob(m).await?;
            let trainer = self
                .plan
                .steps
                .iter()
                .find(|s| &s.id == trainer_step)
                .expect("planned")
                .plugin
                .clone();
            ctx.model = Some(ModelBinding {
                trainer,
                model: Arc::new(bytes.to_vec()),
                limits: *limits,
                spare_sessions: Some(
                    self.scheduler
                        .spare_session_slots(&self.tenant.name, self.tenant.caps.concurrency),
                ),
            });
        }
        Ok((part, ctx))
    }

    /// Run a sandboxed call as a task of its own on the async runtime (the
    /// call yields at every epoch tick, so it holds no worker thread for
    /// long); a failure (or even a panic of the host code around it)
    /// becomes the step's error message.
    pub(super) async fn call<T, F>(
        &self,
        step: &PlannedStep,
        ctx: &StepContext,
        log: &mut String,
        f: impl FnOnce(Runtime, Arc<Plugin>, StepContext, Vec<wit::Param>) -> F,
    ) -> Result<T, String>
    where
        T: Send + 'static,
        F: Future<Output = Result<StepOutput<T>, StepFailure>> + Send + 'static,
    {
        self.call_with(step, ctx, step.params.clone(), log, f).await
    }

    /// [`call`](Self::call) with params other than the step's own (a
    /// search trial's).
    pub(super) async fn call_with<T, F>(
        &self,
        step: &PlannedStep,
        ctx: &StepContext,
        params: Vec<wit::Param>,
        log: &mut String,
        f: impl FnOnce(Runtime, Arc<Plugin>, StepContext, Vec<wit::Param>) -> F,
    ) -> Result<T, String>
    where
        T: Send + 'static,
        F: Future<Output = Result<StepOutput<T>, StepFailure>> + Send + 'static,
    {
        let (rt, plugin, ctx) = ((*self.runtime).clone(), step.plugin.clone(), ctx.clone());
        match tokio::spawn(f(rt, plugin, ctx, params)).await {
            Ok(Ok(out)) => {
                log.push_str(&out.log);
                Ok(out.value)
            }
            Ok(Err(failure)) => {
                log.push_str(&failure.log);
                Err(failure.to_string())
            }
            Err(join) => Err(format!(
                "step '{}': the host failed while running it: {join}",
                step.id
            )),
        }
    }
}
