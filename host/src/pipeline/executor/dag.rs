//! The DAG loop: a run recorded, its datasets loaded, then its steps
//! started as their inputs are ready (independent ones at once), skipped
//! after a failure, and the run finished once every output is stored.
//! Not for what one step does (see [`step`](super::step)).

use super::error::{ExecError, StepAbort};
use super::{ModelToRegister, RunCtx, RunObserver, RunReport, StepReport, skipped_report};
use crate::artifacts::ArtifactDigest;
use crate::meta::{MetaError, NewRun, RunStatus};
use crate::pipeline::plan::PlannedStep;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use std::collections::HashSet;
use std::time::Instant;

impl RunCtx<'_> {
    pub(super) async fn run(&self, observer: &dyn RunObserver) -> Result<RunReport, ExecError> {
        let plan = self.plan;
        let run_id = self.run_id.clone();
        let started = Instant::now();
        if self.resumed.is_none() {
            self.meta
                .record_pipeline_version(
                    &plan.name,
                    &plan.version,
                    &plan.definition_sha256,
                    &plan.definition,
                )
                .await?;
            let path = std::path::absolute(&plan.path).unwrap_or_else(|_| plan.path.clone());
            let dirs: Vec<String> = plan
                .plugin_dirs
                .iter()
                .map(|d| {
                    std::path::absolute(d)
                        .unwrap_or_else(|_| d.clone())
                        .display()
                        .to_string()
                })
                .collect();
            // One write: a kill never leaves a run without its source.
            self.meta
                .create_run(&NewRun {
                    id: run_id.clone(),
                    tenant: self.tenant.name.clone(),
                    pipeline_name: plan.name.clone(),
                    pipeline_version: plan.version.clone(),
                    pipeline_sha256: plan.definition_sha256.clone(),
                    seed: plan.seed as i64,
                    pipeline_path: Some(path.display().to_string()),
                    plugin_dirs_json: Some(
                        serde_json::to_string(&dirs).expect("strings serialize"),
                    ),
                    unique_definition: self.unique_definition,
                    overrides_json: (!plan.overrides.is_empty()).then(|| {
                        serde_json::to_string(&plan.overrides).expect("strings serialize")
                    }),
                })
                .await
                .map_err(|e| match e {
                    MetaError::OtherDefinition { recorded, .. } => ExecError::VersionChanged {
                        tenant: self.tenant.name.clone(),
                        name: plan.name.clone(),
                        version: plan.version.clone(),
                        recorded,
                        current: plan.definition_sha256.clone(),
                    },
                    e => e.into(),
                })?;
        }
        observer.run_started(&run_id, plan.datasets.len() + plan.steps.len());
        let mut reports = Vec::new();
        let mut failure: Option<String> = None;
        // Nodes (datasets and steps) whose outputs exist, and nodes that
        // failed or were skipped: their dependents are skipped.
        let mut done: HashSet<String> = HashSet::new();
        let mut blocked: HashSet<String> = HashSet::new();

        if let Err(abort) = self.keep_plugins().await {
            failure = Some(abort.into_failure()?);
            blocked.extend(plan.datasets.iter().map(|d| d.name.clone()));
        }
        for (position, ds) in plan.datasets.iter().enumerate() {
            if failure.is_some() && blocked.contains(&ds.name) {
                continue;
            }
            let report = self.load_dataset(position as i64, ds, observer).await?;
            observer.step_finished(&report);
            match &report.error {
                Some(e) => {
                    failure.get_or_insert_with(|| format!("dataset '{}': {e}", ds.name));
                    blocked.insert(ds.name.clone());
                }
                None => {
                    done.insert(ds.name.clone());
                }
            }
            reports.push(report);
        }

        let first = plan.datasets.len() as i64;
        let mut step_reports: Vec<Option<StepReport>> = vec![None; plan.steps.len()];
        let mut pending: Vec<usize> = (0..plan.steps.len()).collect();
        let mut running = FuturesUnordered::new();
        loop {
            // Skip what depends on a failure; start what is ready.
            let mut changed = true;
            while changed {
                changed = false;
                let mut still = Vec::new();
                for i in pending.drain(..) {
                    if self.write_failed() {
                        still.push(i);
                        continue;
                    }
                    let step = &plan.steps[i];
                    let deps = dependencies(step);
                    let skip = deps.iter().any(|d| blocked.contains(*d));
                    if !skip && !deps.iter().all(|d| done.contains(*d)) {
                        still.push(i);
                        continue;
                    }
                    if skip {
                        blocked.insert(step.id.clone());
                        changed = true;
                    }
                    // Skips are recorded inside the stream too: awaiting
                    // the database here, while running steps sit unpolled
                    // (one of them perhaps inside a write transaction),
                    // would wait on a lock that cannot be released.
                    running.push(async move {
                        let position = first + i as i64;
                        let report = if skip {
                            self.skip(position, step)
                                .await
                                .map(|()| skipped_report(step))
                        } else {
                            self.run_step(position, step, observer).await
                        };
                        (i, skip, report)
                    });
                }
                pending = still;
            }
            let Some((i, skipped, report)) = running.next().await else {
                break;
            };
            let report = report?;
            if !skipped {
                observer.step_finished(&report);
                let step = &plan.steps[i];
                match &report.error {
                    Some(e) => {
                        failure.get_or_insert_with(|| e.clone());
                        blocked.insert(step.id.clone());
                    }
                    None => {
                        done.insert(step.id.clone());
                    }
                }
            }
            step_reports[i] = Some(report);
            self.release_tables(
                plan.steps
                    .iter()
                    .zip(&step_reports)
                    .filter(|(_, report)| report.is_none())
                    .map(|(step, _)| step),
            );
        }
        debug_assert!(
            pending.is_empty() || self.write_failed(),
            "every step ran or was skipped"
        );
        reports.extend(step_reports.into_iter().flatten());
        // Every output is stored before the run is recorded as ended.
        self.flush_writes().await?;

        let status = if failure.is_some() {
            RunStatus::Failed
        } else {
            RunStatus::Succeeded
        };
        // Models are registered before the run is recorded as ended: a
        // crash in between leaves a run that is not finished, which
        // `resume` takes up, and registering a run's step again returns
        // the version it has. (Recorded as succeeded first, a crash lost
        // the registration and left nothing to resume.)
        crate::crash::point("run-before-register");
        let mut registered = Vec::new();
        if failure.is_none()
            && let Some(registrar) = self.registrar
        {
            for step in plan.steps.iter().filter(|s| s.register.is_some()) {
                let name = step.register.as_deref().expect("filtered");
                let model = ModelToRegister {
                    meta: self.meta,
                    artifacts: &self.artifacts,
                    tenant: &self.tenant.name,
                    run_id: &run_id,
                    step: &step.id,
                    name,
                    gates: plan.model_gates.get(name).map(Vec::as_slice),
                    serving: plan.model_serving.get(name),
                    monitoring: plan.model_monitoring.get(name),
                    rollout: plan.model_rollouts.get(name),
                    pipeline: &plan.name,
                };
                let version = registrar
                    .register(&model)
                    .await
                    .map_err(ExecError::Registry)?;
                registered.push(version);
            }
        }
        crate::crash::point("run-before-finish");
        self.meta
            .finish_run(&run_id, status, failure.as_deref())
            .await?;
        Ok(RunReport {
            run_id,
            tenant: self.tenant.name.clone(),
            pipeline: plan.name.clone(),
            version: plan.version.clone(),
            status,
            duration_ms: started.elapsed().as_millis() as u64,
            steps: reports,
            registered,
            error: failure,
        })
    }

    /// Keep every plugin the plan runs in the artifact store, under its
    /// sha256, so a recorded step (and a registered model) can always be
    /// run again, even when the `.wasm` file has moved or changed.
    pub(super) async fn keep_plugins(&self) -> Result<(), StepAbort> {
        let mut seen = std::collections::HashSet::new();
        let monitors = self.plan.monitor_plugins.iter();
        for p in self.plan.steps.iter().map(|s| &s.plugin).chain(monitors) {
            if !seen.insert(p.sha256.clone()) {
                continue;
            }
            // Kept by an earlier run of this tenant: nothing to read.
            let digest = ArtifactDigest::parse(&p.sha256)?;
            if self
                .meta
                .tenant_has_artifact(&self.tenant.name, &digest)
                .await?
                && self.artifacts.exists(&digest).await?
            {
                continue;
            }
            let bytes = std::fs::read(&p.path).map_err(|e| ExecError::Plugin {
                path: p.path.display().to_string(),
                message: e.to_string(),
            })?;
            let stored = self
                .put_blob(&format!("plugin {}", p.label()), bytes, "application/wasm")
                .await?;
            if stored != digest {
                return Err(ExecError::Plugin {
                    path: p.path.display().to_string(),
                    message: format!("the file changed since it was loaded (now sha256 {stored})"),
                }
                .into());
            }
        }
        Ok(())
    }
}

/// The nodes a step reads: its input, its reference and its model's trainer.
pub(super) fn dependencies(step: &PlannedStep) -> Vec<&str> {
    let mut deps = vec![step.input.name()];
    if let Some(r) = &step.reference {
        deps.push(r.name());
    }
    if let Some(m) = &step.model {
        deps.push(m.as_str());
    }
    deps
}
