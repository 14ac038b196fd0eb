//! Reuse: a step's outputs taken from an earlier run with the same cache
//! key, or (resume) from this run before it stopped, made available to
//! the steps downstream and recorded. Not for computing cache keys (see
//! [`cache`](crate::pipeline::cache)).

use super::error::ExecError;
use super::{Parts, RunCtx, StepInfo, StepKind, StepReport, lock};
use crate::artifacts::ArtifactDigest;
use crate::meta::{StepEnd, StepOutputs, StepStatus};
use crate::pipeline::plan::PlannedStep;
use crate::runtime::World;

impl RunCtx<'_> {
    /// Outputs step `step_id` may take instead of running: its own, when
    /// resuming and it succeeded before with the same cache key; else the
    /// tenant's newest cache hit (`use_cache`) whose artifacts all still
    /// exist. A hit that lost an artifact is passed over, not an error.
    pub(super) async fn reusable(
        &self,
        step_id: &str,
        key: Option<&str>,
    ) -> Result<Option<StepOutputs>, ExecError> {
        if let Some(prev) = self.resumed.as_ref().and_then(|r| r.get(step_id)) {
            if prev.cache_key.as_deref() == key && self.all_stored(&prev.outputs).await? {
                return Ok(Some(prev.clone()));
            }
            // Its inputs changed, or an output is gone: it runs again.
            self.meta.forget_step(&self.run_id, step_id).await?;
        }
        let Some(key) = key.filter(|_| self.use_cache) else {
            return Ok(None);
        };
        for hit in self.meta.cache_hits(&self.tenant.name, key).await? {
            if hit.run_id == self.run_id {
                continue;
            }
            if self.all_stored(&hit.outputs).await? {
                return Ok(Some(hit));
            }
            tracing::info!(
                step = step_id,
                from_run = %hit.run_id,
                "a cache entry lost an artifact; the step runs again"
            );
        }
        Ok(None)
    }

    pub(super) async fn all_stored(
        &self,
        outputs: &[(String, ArtifactDigest)],
    ) -> Result<bool, ExecError> {
        for (_, d) in outputs {
            if !self.artifacts.exists(d).await? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Make reused outputs available to the steps downstream, as running
    /// the step would have. False if an output the kind needs is missing.
    pub(super) fn adopt(
        &self,
        step: &PlannedStep,
        input: &Parts,
        outputs: &[(String, ArtifactDigest)],
    ) -> bool {
        let out = |name: &str| output(outputs, name);
        match step.world() {
            World::Transform => {
                let Some(train) = out("train") else {
                    return false;
                };
                if input.holdout.is_some() && out("holdout").is_none() {
                    return false;
                }
                lock(&self.state.tables).insert(
                    step.id.clone(),
                    Parts {
                        train,
                        holdout: out("holdout"),
                    },
                );
            }
            World::Trainer => {
                let Some(model) = out("model") else {
                    return false;
                };
                lock(&self.state.models).insert(step.id.clone(), model);
            }
            World::Validator => {
                lock(&self.state.tables).insert(step.id.clone(), input.clone());
            }
            World::Explainer => {}
        }
        true
    }

    /// Record a step whose outputs are reused (a cache hit gets its own
    /// record, marked cached; a resumed step already has one) and report it.
    pub(super) async fn record_reuse(
        &self,
        position: i64,
        info: &StepInfo<'_>,
        inputs: &[(String, ArtifactDigest)],
        key: Option<&str>,
        from: &StepOutputs,
    ) -> Result<StepReport, ExecError> {
        let run_id = self.run_id.as_str();
        if from.run_id != run_id {
            self.record_start(position, info, inputs).await?;
            self.meta
                .mark_step_cached_from(run_id, info.id, &from.run_id)
                .await?;
            if info.kind == StepKind::Trainer {
                self.meta
                    .copy_trials((&from.run_id, &from.step_id), (run_id, info.id))
                    .await?;
            }
            if let Some(k) = key {
                self.meta.set_step_cache_key(run_id, info.id, k).await?;
            }
            let log = format!(
                "[sluice] outputs reused from step '{}' of run {} (same cache key)\n",
                from.step_id, from.run_id
            );
            self.meta
                .finish_step(
                    run_id,
                    info.id,
                    &StepEnd {
                        status: StepStatus::Succeeded,
                        outputs: &from.outputs,
                        metrics: &from.metrics,
                        log: &log,
                        error: None,
                    },
                )
                .await?;
        }
        Ok(StepReport {
            id: info.id.to_owned(),
            kind: info.kind,
            plugin: info.plugin_name.to_owned(),
            plugin_sha256: info.plugin_sha256.to_owned(),
            status: StepStatus::Succeeded,
            duration_ms: 0,
            outputs: from
                .outputs
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
            metrics: from.metrics.iter().cloned().collect(),
            cached: true,
            cached_from: Some(from.run_id.clone()),
            error: None,
            warnings: Vec::new(),
        })
    }
}

/// The digest of output `name`, if there is one.
pub(super) fn output(outputs: &[(String, ArtifactDigest)], name: &str) -> Option<ArtifactDigest> {
    outputs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, d)| d.clone())
}
