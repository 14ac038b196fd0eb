//! Run a plan: datasets are read and split, each step runs in its own
//! sandbox, every output is stored content-addressed, and the metadata
//! store records the run as it goes, so a failure leaves the artifacts of
//! earlier steps and a record that says what happened.

use super::definition::Part;
use super::plan::{Plan, PlannedStep};
use crate::artifacts::{ArtifactDigest, ArtifactStore};
use crate::data;
use crate::meta::{MetaStore, NewRun, RunStatus, StepStatus};
use crate::runtime::{ModelBinding, Plugin, Runtime, StepContext, StepFailure, StepOutput, World};
use crate::wit;
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Failures of the machinery around the steps (store, database). A step's
/// own failure is not an error here: it is recorded and reported.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("artifact store: {0}")]
    Artifacts(#[from] crate::artifacts::ArtifactError),
    #[error("metadata store: {0}")]
    Meta(#[from] crate::meta::MetaError),
    #[error("model registry: {0}")]
    Registry(#[from] crate::registry::RegistryError),
    #[error("cannot keep plugin {path} in the artifact store: {message}")]
    Plugin { path: String, message: String },
}

/// What happened to one step, as `sluice run` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub id: String,
    pub kind: String,
    pub plugin: String,
    pub plugin_sha256: String,
    pub status: String,
    pub duration_ms: u64,
    pub outputs: BTreeMap<String, String>,
    pub metrics: BTreeMap<String, f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run_id: String,
    pub pipeline: String,
    pub version: String,
    pub status: String,
    pub duration_ms: u64,
    pub steps: Vec<StepReport>,
    /// Model versions this run registered.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub registered: Vec<Registered>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Registered {
    pub name: String,
    pub version: i64,
    pub step: String,
}

/// Told about each step as the run goes (the CLI draws progress from it).
pub trait RunObserver: Send + Sync {
    fn run_started(&self, _run_id: &str, _steps: usize) {}
    fn step_started(&self, _id: &str, _kind: &str, _plugin: &str) {}
    fn step_finished(&self, _step: &StepReport) {}
}

/// An observer that does nothing.
pub struct Quiet;
impl RunObserver for Quiet {}

/// Where a table-valued node's parts are.
#[derive(Debug, Clone)]
struct Parts {
    train: ArtifactDigest,
    holdout: Option<ArtifactDigest>,
}

pub struct Executor {
    pub runtime: Runtime,
    pub artifacts: ArtifactStore,
    pub meta: MetaStore,
}

struct RunState {
    tables: HashMap<String, Parts>,
    models: HashMap<String, ArtifactDigest>,
    batches: Mutex<HashMap<ArtifactDigest, Arc<RecordBatch>>>,
}

impl Executor {
    pub fn new(runtime: Runtime, artifacts: ArtifactStore, meta: MetaStore) -> Self {
        Executor {
            runtime,
            artifacts,
            meta,
        }
    }

    pub async fn run(
        &self,
        plan: &Plan,
        observer: &dyn RunObserver,
    ) -> Result<RunReport, ExecError> {
        let run_id = new_run_id();
        let started = Instant::now();
        let span = tracing::info_span!("run", run_id = %run_id, pipeline = %plan.name);
        let _enter = span.enter();
        self.meta
            .record_pipeline_version(
                &plan.name,
                &plan.version,
                &plan.definition_sha256,
                &plan.definition,
            )
            .await?;
        self.meta
            .create_run(&NewRun {
                id: run_id.clone(),
                pipeline_name: plan.name.clone(),
                pipeline_version: plan.version.clone(),
                pipeline_sha256: plan.definition_sha256.clone(),
                seed: plan.seed as i64,
            })
            .await?;
        observer.run_started(&run_id, plan.datasets.len() + plan.steps.len());
        self.keep_plugins(plan).await?;

        let mut state = RunState {
            tables: HashMap::new(),
            models: HashMap::new(),
            batches: Mutex::new(HashMap::new()),
        };
        let mut reports = Vec::new();
        let mut failure: Option<String> = None;
        let mut position = 0i64;

        for ds in &plan.datasets {
            let report = self
                .load_dataset(&run_id, position, ds, &mut state, observer)
                .await?;
            position += 1;
            observer.step_finished(&report);
            if let Some(e) = &report.error {
                failure = Some(format!("dataset '{}': {e}", ds.name));
            }
            reports.push(report);
            if failure.is_some() {
                break;
            }
        }

        for step in &plan.steps {
            if failure.is_some() {
                self.meta
                    .skip_step(
                        &run_id,
                        &step.id,
                        position,
                        step.world().name(),
                        &step.plugin.info.name,
                        &step.plugin.info.version,
                        &step.plugin.sha256,
                        &step.params_json.to_string(),
                    )
                    .await?;
                reports.push(StepReport {
                    id: step.id.clone(),
                    kind: step.world().name().into(),
                    plugin: step.plugin.label(),
                    plugin_sha256: step.plugin.sha256.clone(),
                    status: "skipped".into(),
                    duration_ms: 0,
                    outputs: BTreeMap::new(),
                    metrics: BTreeMap::new(),
                    error: None,
                });
                position += 1;
                continue;
            }
            observer.step_started(&step.id, step.world().name(), &step.plugin.label());
            let report = self
                .run_step(&run_id, position, plan, step, &mut state)
                .await?;
            position += 1;
            observer.step_finished(&report);
            if let Some(e) = &report.error {
                failure = Some(e.clone());
            }
            reports.push(report);
        }

        let status = if failure.is_some() {
            RunStatus::Failed
        } else {
            RunStatus::Succeeded
        };
        self.meta
            .finish_run(&run_id, status, failure.as_deref())
            .await?;
        let mut registered = Vec::new();
        if failure.is_none() {
            let registry =
                crate::registry::Registry::new(self.meta.clone(), self.artifacts.clone());
            let actor = crate::registry::default_actor();
            for step in plan.steps.iter().filter(|s| s.register.is_some()) {
                let name = step.register.as_deref().expect("filtered");
                let gates = plan.model_gates.get(name).map(Vec::as_slice);
                let v = registry
                    .register(&run_id, &step.id, name, gates, &actor)
                    .await?;
                registered.push(Registered {
                    name: name.to_string(),
                    version: v.version,
                    step: step.id.clone(),
                });
            }
        }
        Ok(RunReport {
            run_id,
            pipeline: plan.name.clone(),
            version: plan.version.clone(),
            status: status.as_str().into(),
            duration_ms: started.elapsed().as_millis() as u64,
            steps: reports,
            registered,
            error: failure,
        })
    }

    /// Keep every plugin the plan runs in the artifact store, under its
    /// sha256, so a recorded step (and a registered model) can always be
    /// run again, even when the `.wasm` file has moved or changed.
    async fn keep_plugins(&self, plan: &Plan) -> Result<(), ExecError> {
        let mut seen = std::collections::HashSet::new();
        for step in &plan.steps {
            let p = &step.plugin;
            if !seen.insert(p.sha256.clone()) {
                continue;
            }
            let digest = ArtifactDigest::parse(&p.sha256)?;
            if self.artifacts.exists(&digest).await? {
                continue;
            }
            let bytes = std::fs::read(&p.path).map_err(|e| ExecError::Plugin {
                path: p.path.display().to_string(),
                message: e.to_string(),
            })?;
            let size = bytes.len();
            let stored = self.artifacts.put(Bytes::from(bytes)).await?;
            if stored != digest {
                return Err(ExecError::Plugin {
                    path: p.path.display().to_string(),
                    message: format!("the file changed since it was loaded (now sha256 {stored})"),
                });
            }
            self.meta
                .record_artifact(&digest, size as i64, "application/wasm")
                .await?;
        }
        Ok(())
    }

    async fn put_batch(
        &self,
        batch: &RecordBatch,
    ) -> Result<Result<ArtifactDigest, String>, ExecError> {
        let bytes = match data::write_parquet(batch) {
            Ok(b) => b,
            Err(e) => return Ok(Err(e.to_string())),
        };
        let size = bytes.len();
        let digest = self.artifacts.put(Bytes::from(bytes)).await?;
        self.meta
            .record_artifact(&digest, size as i64, "application/vnd.apache.parquet")
            .await?;
        Ok(Ok(digest))
    }

    async fn put_blob(
        &self,
        bytes: Vec<u8>,
        media_type: &str,
    ) -> Result<ArtifactDigest, ExecError> {
        let size = bytes.len();
        let digest = self.artifacts.put(Bytes::from(bytes)).await?;
        self.meta
            .record_artifact(&digest, size as i64, media_type)
            .await?;
        Ok(digest)
    }

    async fn put_json(&self, value: &serde_json::Value) -> Result<ArtifactDigest, ExecError> {
        let bytes = serde_json::to_vec_pretty(value).expect("a JSON value serializes");
        self.put_blob(bytes, "application/json").await
    }

    async fn batch(
        &self,
        state: &RunState,
        digest: &ArtifactDigest,
    ) -> Result<Result<Arc<RecordBatch>, String>, ExecError> {
        if let Some(b) = state
            .batches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(digest)
        {
            return Ok(Ok(b.clone()));
        }
        let bytes = self.artifacts.get(digest).await?;
        match data::read_parquet(&bytes) {
            Ok(b) => {
                let b = Arc::new(b);
                state
                    .batches
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(digest.clone(), b.clone());
                Ok(Ok(b))
            }
            Err(e) => Ok(Err(format!("artifact {digest}: {e}"))),
        }
    }

    async fn load_dataset(
        &self,
        run_id: &str,
        position: i64,
        ds: &super::plan::PlannedDataset,
        state: &mut RunState,
        observer: &dyn RunObserver,
    ) -> Result<StepReport, ExecError> {
        let started = Instant::now();
        let id = format!("dataset:{}", ds.name);
        observer.step_started(&id, "dataset", "sluice:read+split");
        let params = serde_json::json!({
            "path": ds.path.display().to_string(),
            "target": ds.target,
            "split": ds.split.as_ref().map(|s| serde_json::json!({"holdout": s.holdout, "seed": s.seed, "stratify": s.stratify})),
        });
        let mut report = StepReport {
            id: id.clone(),
            kind: "dataset".into(),
            plugin: "sluice:read+split".into(),
            plugin_sha256: String::new(),
            status: "succeeded".into(),
            duration_ms: 0,
            outputs: BTreeMap::new(),
            metrics: BTreeMap::new(),
            error: None,
        };
        let raw = match std::fs::read(&ds.path) {
            Ok(b) => b,
            Err(e) => {
                report.status = "failed".into();
                report.error = Some(format!("cannot read {}: {e}", ds.path.display()));
                Vec::new()
            }
        };
        let source = if report.error.is_none() {
            Some(self.put_blob(raw, "application/octet-stream").await?)
        } else {
            None
        };
        let inputs: Vec<(String, ArtifactDigest)> = source
            .iter()
            .map(|d| ("source".to_string(), d.clone()))
            .collect();
        self.meta
            .start_step(
                run_id,
                &id,
                position,
                "dataset",
                "sluice:read+split",
                env!("CARGO_PKG_VERSION"),
                "",
                &params.to_string(),
                &inputs,
            )
            .await?;
        let mut outputs = Vec::new();
        if report.error.is_none() {
            let parts = data::read_table(&ds.path)
                .map_err(|e| e.to_string())
                .and_then(|batch| {
                    if let Some(t) = &ds.target
                        && batch.schema().index_of(t).is_err()
                    {
                        return Err(format!(
                            "target column '{t}' is not in {}",
                            ds.path.display()
                        ));
                    }
                    match &ds.split {
                        Some(s) => data::split_holdout(
                            &batch,
                            s.holdout,
                            s.seed,
                            if s.stratify {
                                ds.target.as_deref()
                            } else {
                                None
                            },
                        )
                        .map(|(a, b)| (a, Some(b)))
                        .map_err(|e| e.to_string()),
                        None => Ok((batch, None)),
                    }
                });
            match parts {
                Ok((train, holdout)) => {
                    report.metrics.insert(
                        "rows".into(),
                        (train.num_rows() + holdout.as_ref().map_or(0, |h| h.num_rows())) as f64,
                    );
                    report
                        .metrics
                        .insert("columns".into(), train.num_columns() as f64);
                    match self.store_parts(train, holdout, &mut outputs).await? {
                        Ok(p) => {
                            state.tables.insert(ds.name.clone(), p);
                        }
                        Err(e) => report.error = Some(e),
                    }
                }
                Err(e) => report.error = Some(e),
            }
        }
        if report.error.is_some() {
            report.status = "failed".into();
        }
        report.duration_ms = started.elapsed().as_millis() as u64;
        report.outputs = outputs
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect();
        let metrics: Vec<(String, f64)> = report
            .metrics
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        self.meta
            .finish_step(
                run_id,
                &id,
                status_of(&report),
                &outputs,
                &metrics,
                "",
                report.error.as_deref(),
            )
            .await?;
        Ok(report)
    }

    /// Store a train part and an optional holdout part as Parquet.
    async fn store_parts(
        &self,
        train: RecordBatch,
        holdout: Option<RecordBatch>,
        outputs: &mut Vec<(String, ArtifactDigest)>,
    ) -> Result<Result<Parts, String>, ExecError> {
        let train_d = match self.put_batch(&train).await? {
            Ok(d) => d,
            Err(e) => return Ok(Err(e)),
        };
        outputs.push(("train".into(), train_d.clone()));
        let holdout_d = match holdout {
            Some(h) => match self.put_batch(&h).await? {
                Ok(d) => {
                    outputs.push(("holdout".into(), d.clone()));
                    Some(d)
                }
                Err(e) => return Ok(Err(e)),
            },
            None => None,
        };
        Ok(Ok(Parts {
            train: train_d,
            holdout: holdout_d,
        }))
    }

    async fn run_step(
        &self,
        run_id: &str,
        position: i64,
        plan: &Plan,
        step: &PlannedStep,
        state: &mut RunState,
    ) -> Result<StepReport, ExecError> {
        let started = Instant::now();
        let span = tracing::info_span!("step", step = %step.id, plugin = %step.plugin.label());
        let _enter = span.enter();
        let input = state
            .tables
            .get(step.input.name())
            .cloned()
            .expect("the plan orders inputs first");
        let mut inputs: Vec<(String, ArtifactDigest)> = vec![("train".into(), input.train.clone())];
        if let Some(h) = &input.holdout {
            inputs.push(("holdout".into(), h.clone()));
        }
        let reference = step
            .reference
            .as_ref()
            .map(|r| state.tables.get(r.name()).cloned().expect("planned"));
        if let Some(r) = &reference {
            inputs.push(("reference".into(), r.train.clone()));
        }
        let model_digest = step
            .model
            .as_ref()
            .map(|m| state.models.get(m).cloned().expect("planned"));
        if let Some(m) = &model_digest {
            inputs.push(("model".into(), m.clone()));
        }
        self.meta
            .start_step(
                run_id,
                &step.id,
                position,
                step.world().name(),
                &step.plugin.info.name,
                &step.plugin.info.version,
                &step.plugin.sha256,
                &step.params_json.to_string(),
                &inputs,
            )
            .await?;

        let mut outputs: Vec<(String, ArtifactDigest)> = Vec::new();
        let mut metrics: BTreeMap<String, f64> = BTreeMap::new();
        let mut log = String::new();
        let outcome = self
            .execute(
                plan,
                step,
                state,
                &input,
                reference.as_ref(),
                model_digest.as_ref(),
                &mut outputs,
                &mut metrics,
                &mut log,
            )
            .await?;
        let error = outcome.err();
        let report = StepReport {
            id: step.id.clone(),
            kind: step.world().name().into(),
            plugin: step.plugin.label(),
            plugin_sha256: step.plugin.sha256.clone(),
            status: if error.is_some() {
                "failed"
            } else {
                "succeeded"
            }
            .into(),
            duration_ms: started.elapsed().as_millis() as u64,
            outputs: outputs
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
            metrics: metrics.clone(),
            error: error.clone(),
        };
        let metric_rows: Vec<(String, f64)> = metrics.into_iter().collect();
        self.meta
            .finish_step(
                run_id,
                &step.id,
                status_of(&report),
                &outputs,
                &metric_rows,
                &log,
                error.as_deref(),
            )
            .await?;
        if let Some(e) = &error {
            tracing::warn!(error = %e, "step failed");
        }
        Ok(report)
    }

    /// Run one step's calls. `Ok(Err(message))` is the step's own failure.
    #[allow(clippy::too_many_arguments)]
    async fn execute(
        &self,
        plan: &Plan,
        step: &PlannedStep,
        state: &mut RunState,
        input: &Parts,
        reference: Option<&Parts>,
        model: Option<&ArtifactDigest>,
        outputs: &mut Vec<(String, ArtifactDigest)>,
        metrics: &mut BTreeMap<String, f64>,
        log: &mut String,
    ) -> Result<Result<(), String>, ExecError> {
        macro_rules! step_try {
            ($e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(e) => return Ok(Err(e.to_string())),
                }
            };
        }
        let ctx = StepContext {
            step: step.id.clone(),
            limits: step.limits,
            seed: step.seed,
            model: None,
        };
        let target = step.target.clone();
        match step.world() {
            World::Transform => {
                let train = step_try!(self.batch(state, &input.train).await?);
                let train = step_try!(data::batch_to_table(&train));
                let (features, label) = split_target(train, target.as_deref());
                let fitted = step_try!(
                    {
                        let features = features.clone();
                        self.call(step, &ctx, log, move |rt, p, ctx, params| {
                            rt.fit(p, ctx, &features, params)
                        })
                    }
                    .await
                );
                let fitted_state = Arc::new(fitted);
                let state_digest = self
                    .put_blob(fitted_state.to_vec(), "application/octet-stream")
                    .await?;
                outputs.push(("state".into(), state_digest));
                let applied = step_try!(
                    self.apply_part(step, &ctx, log, fitted_state.clone(), features, label)
                        .await?
                );
                let train_out = step_try!(self.put_batch(&applied).await?);
                outputs.push(("train".into(), train_out.clone()));
                let mut holdout_out = None;
                if let Some(h) = &input.holdout {
                    let hb = step_try!(self.batch(state, h).await?);
                    let ht = step_try!(data::batch_to_table(&hb));
                    let (hf, hl) = split_target(ht, target.as_deref());
                    let applied = step_try!(
                        self.apply_part(step, &ctx, log, fitted_state.clone(), hf, hl)
                            .await?
                    );
                    let d = step_try!(self.put_batch(&applied).await?);
                    outputs.push(("holdout".into(), d.clone()));
                    holdout_out = Some(d);
                }
                state.tables.insert(
                    step.id.clone(),
                    Parts {
                        train: train_out,
                        holdout: holdout_out,
                    },
                );
            }
            World::Trainer => {
                let train = step_try!(self.batch(state, &input.train).await?);
                let train = step_try!(data::batch_to_table(&train));
                let (features, label) = split_target(train, target.as_deref());
                let label = step_try!(label.ok_or("the input has no target column"));
                let trained = step_try!(
                    self.call(step, &ctx, log, move |rt, p, ctx, params| rt
                        .train(p, ctx, &features, &label, params))
                        .await
                );
                for m in &trained.metrics {
                    metrics.insert(m.name.clone(), m.value);
                }
                let model_bytes = Arc::new(trained.model);
                let d = self
                    .put_blob(model_bytes.to_vec(), "application/vnd.sluice.model")
                    .await?;
                outputs.push(("model".into(), d.clone()));
                state.models.insert(step.id.clone(), d);
                if let Some(h) = &input.holdout {
                    // Predictions for the holdout, kept so serving can be
                    // checked against training bit for bit.
                    let hb = step_try!(self.batch(state, h).await?);
                    let ht = step_try!(data::batch_to_table(&hb));
                    let (hf, _) = split_target(ht, target.as_deref());
                    let predicted = step_try!(
                        {
                            let m = model_bytes.clone();
                            self.call(step, &ctx, log, move |rt, p, ctx, _| {
                                rt.predict(p, ctx, &m, &hf)
                            })
                        }
                        .await
                    );
                    let batch = step_try!(
                        data::table_to_batch(predicted)
                            .map_err(|e| format!("predict returned an invalid table: {e}"))
                    );
                    let d = step_try!(self.put_batch(&batch).await?);
                    outputs.push(("predictions".into(), d));
                }
            }
            World::Validator | World::Explainer => {
                let part = match step.on {
                    Part::Train => input.train.clone(),
                    Part::Holdout => {
                        step_try!(input.holdout.clone().ok_or("the input has no holdout part"))
                    }
                };
                let table = step_try!(self.batch(state, &part).await?);
                let table = step_try!(data::batch_to_table(&table));
                let mut ctx = ctx.clone();
                if let (Some(m), Some(trainer_step)) = (model, &step.model) {
                    let bytes = self.artifacts.get(m).await?;
                    let trainer = plan
                        .steps
                        .iter()
                        .find(|s| &s.id == trainer_step)
                        .expect("planned")
                        .plugin
                        .clone();
                    ctx.model = Some(ModelBinding {
                        trainer,
                        model: Arc::new(bytes.to_vec()),
                        limits: step.limits,
                    });
                }
                if step.world() == World::Validator {
                    let reference = match reference {
                        Some(r) => {
                            let b = step_try!(self.batch(state, &r.train).await?);
                            Some(step_try!(data::batch_to_table(&b)))
                        }
                        None => None,
                    };
                    let report = step_try!(
                        self.call(step, &ctx, log, move |rt, p, ctx, params| rt.validate(
                            p,
                            ctx,
                            &table,
                            reference.as_ref(),
                            params
                        ))
                        .await
                    );
                    for m in &report.metrics {
                        metrics.insert(m.name.clone(), m.value);
                    }
                    let json = serde_json::json!({
                        "checks": report.checks.iter().map(|c| serde_json::json!({"name": c.name, "passed": c.passed, "detail": c.detail})).collect::<Vec<_>>(),
                        "metrics": report.metrics.iter().map(|m| (m.name.clone(), m.value)).collect::<BTreeMap<_, _>>(),
                    });
                    let d = self.put_json(&json).await?;
                    outputs.push(("report".into(), d));
                    // A validator passes its input on unchanged.
                    state.tables.insert(step.id.clone(), input.clone());
                    let failed: Vec<String> = report
                        .checks
                        .iter()
                        .filter(|c| !c.passed)
                        .map(|c| format!("{} ({})", c.name, c.detail))
                        .collect();
                    if !failed.is_empty() {
                        return Ok(Err(format!(
                            "step '{}': {} check(s) failed: {}",
                            step.id,
                            failed.len(),
                            failed.join("; ")
                        )));
                    }
                } else {
                    let (features, label) = split_target(table, target.as_deref());
                    let explanation = step_try!(
                        self.call(step, &ctx, log, move |rt, p, ctx, params| rt.explain(
                            p,
                            ctx,
                            &features,
                            label.as_ref(),
                            params
                        ))
                        .await
                    );
                    for m in &explanation.metrics {
                        metrics.insert(m.name.clone(), m.value);
                    }
                    let json = serde_json::json!({
                        "global": explanation.global.iter().map(|a| serde_json::json!({"feature": a.feature, "score": a.score})).collect::<Vec<_>>(),
                        "metrics": explanation.metrics.iter().map(|m| (m.name.clone(), m.value)).collect::<BTreeMap<_, _>>(),
                    });
                    let d = self.put_json(&json).await?;
                    outputs.push(("explanation".into(), d));
                }
            }
        }
        Ok(Ok(()))
    }

    async fn apply_part(
        &self,
        step: &PlannedStep,
        ctx: &StepContext,
        log: &mut String,
        fitted: Arc<Vec<u8>>,
        features: wit::Table,
        label: Option<wit::Column>,
    ) -> Result<Result<RecordBatch, String>, ExecError> {
        let applied = self
            .call(step, ctx, log, move |rt, p, ctx, _| {
                rt.apply(p, ctx, &fitted, &features)
            })
            .await;
        let mut table = match applied {
            Ok(t) => t,
            Err(e) => return Ok(Err(e)),
        };
        if let Some(label) = label {
            if table.columns.iter().any(|c| c.name == label.name) {
                return Ok(Err(format!(
                    "step '{}': apply returned a column named like the target '{}'",
                    step.id, label.name
                )));
            }
            table.columns.push(label);
        }
        Ok(data::table_to_batch(table)
            .map_err(|e| format!("step '{}': apply returned an invalid table: {e}", step.id)))
    }

    /// Run a sandboxed call on a blocking thread; a failure (or even a
    /// panic of the host code around it) becomes the step's error message.
    async fn call<T: Send + 'static>(
        &self,
        step: &PlannedStep,
        ctx: &StepContext,
        log: &mut String,
        f: impl FnOnce(
            &Runtime,
            &Plugin,
            &StepContext,
            &[wit::Param],
        ) -> Result<StepOutput<T>, StepFailure>
        + Send
        + 'static,
    ) -> Result<T, String> {
        let (rt, plugin, ctx, params) = (
            self.runtime.clone(),
            step.plugin.clone(),
            ctx.clone(),
            step.params.clone(),
        );
        match tokio::task::spawn_blocking(move || f(&rt, &plugin, &ctx, &params)).await {
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

fn status_of(report: &StepReport) -> StepStatus {
    if report.error.is_some() {
        StepStatus::Failed
    } else {
        StepStatus::Succeeded
    }
}

/// Take the label column out of a table.
fn split_target(mut table: wit::Table, target: Option<&str>) -> (wit::Table, Option<wit::Column>) {
    let Some(target) = target else {
        return (table, None);
    };
    match table.columns.iter().position(|c| c.name == target) {
        Some(i) => {
            let label = table.columns.remove(i);
            (table, Some(label))
        }
        None => (table, None),
    }
}

/// Run ids sort by time: `YYYYMMDD-HHMMSS-xxxxxx`.
fn new_run_id() -> String {
    let now = chrono::Utc::now();
    let rand = uuid::Uuid::new_v4().simple().to_string();
    format!("{}-{}", now.format("%Y%m%d-%H%M%S"), &rand[..6])
}
