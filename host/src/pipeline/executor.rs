//! Run a plan: datasets are read and split, each step runs in its own
//! sandbox, every output is stored content-addressed, and the metadata
//! store records the run as it goes, so a failure leaves the artifacts of
//! earlier steps and a record that says what happened.

use super::cache;
use super::definition::Part;
use super::plan::{Plan, PlannedStep};
use crate::artifacts::{ArtifactDigest, ArtifactStore};
use crate::data;
use crate::meta::{
    Admission, MetaError, MetaStore, NewRun, RunLock, RunStatus, StepOutputs, StepStatus,
};
use crate::runtime::{
    Grant, HelperSlots, ModelBinding, Plugin, Runtime, StepContext, StepFailure, StepLimits,
    StepOutput, World,
};
use crate::tenants::{DEFAULT_TENANT, Tenant};
use crate::wit;
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde::Serialize;
use std::collections::HashSet;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

mod trials;

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
    #[error(
        "the pipeline asks for more than tenant '{tenant}' allows:\n  - {}",
        problems.join("\n  - ")
    )]
    Refused {
        tenant: String,
        problems: Vec<String>,
    },
    #[error(
        "pipeline '{name}' version {version} was already run by tenant '{tenant}' with a \
         different definition (sha256 {recorded}; this one is {current}). Give the changed \
         pipeline a new `version`, or pass --allow-changed-version to record both under {version}"
    )]
    VersionChanged {
        tenant: String,
        name: String,
        version: String,
        recorded: String,
        current: String,
    },
    /// The run was recorded and then stopped by a failure of the store or
    /// the database (after their retries); it can be resumed.
    #[error(
        "run {run_id} stopped: {cause}\nonce the cause is fixed, `sluice resume {run_id}` \
         continues it from its completed steps"
    )]
    Stopped {
        run_id: String,
        cause: Box<ExecError>,
    },
    #[error("cannot resume run {run_id}: {reason}")]
    Resume { run_id: String, reason: String },
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
    /// The outputs were reused, not computed: from an earlier run with the
    /// same cache key, or (resume) from this run before it stopped.
    pub cached: bool,
    /// The run the reused outputs come from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run_id: String,
    pub tenant: String,
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
    /// A trial of step `step`'s hyperparameter search finished (`done` of
    /// `total` so far).
    fn trial_finished(
        &self,
        _step: &str,
        _done: usize,
        _total: usize,
        _trial: &crate::meta::TrialRecord,
    ) {
    }
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
    /// The store's root; each run writes below its tenant's prefix.
    pub artifacts: ArtifactStore,
    pub meta: MetaStore,
    pub scheduler: Scheduler,
    /// Run a definition whose `version` a run of the tenant already
    /// recorded with a different sha256 (refused by default).
    pub allow_changed_version: bool,
    /// Reuse the outputs of earlier steps with the same cache key (see
    /// [`cache`]); on by default. Keys are recorded either way.
    pub use_cache: bool,
    /// Register the models of steps with `register` when the run succeeds
    /// (off for `sluice verify`'s re-execution).
    pub register_models: bool,
}

/// Bounds how many steps run at once: per tenant (its `concurrency` cap,
/// over all its runs in this process) and process-wide. Clones share the
/// same permits.
#[derive(Clone)]
pub struct Scheduler {
    global: Arc<Semaphore>,
    global_size: usize,
    tenants: Arc<Mutex<TenantSlots>>,
}

/// Each tenant's step slots, with the concurrency they were made for.
type TenantSlots = HashMap<String, (u32, Arc<Semaphore>)>;

/// Permission to run one step; dropping it frees the slot.
pub struct StepPermit {
    _tenant: OwnedSemaphorePermit,
    _global: OwnedSemaphorePermit,
}

impl Scheduler {
    /// At most `max_steps` steps at once in this process (at least one).
    pub fn new(max_steps: usize) -> Self {
        let global_size = max_steps.max(1);
        Scheduler {
            global: Arc::new(Semaphore::new(global_size)),
            global_size,
            tenants: Arc::default(),
        }
    }

    /// The process-wide budget: one step per core, unless
    /// `SLUICE_MAX_STEPS` says otherwise.
    pub fn from_env() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let max = std::env::var("SLUICE_MAX_STEPS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cores);
        Self::new(max)
    }

    pub fn max_steps(&self) -> usize {
        self.global_size
    }

    /// Wait for a slot of the tenant and one of the process.
    pub async fn acquire(&self, tenant: &str, concurrency: u32) -> StepPermit {
        let sem = {
            let mut map = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
            let entry = map
                .entry(tenant.to_string())
                .or_insert_with(|| (concurrency, Arc::new(Semaphore::new(concurrency as usize))));
            if entry.0 != concurrency {
                // The cap changed: later steps use the new bound.
                *entry = (concurrency, Arc::new(Semaphore::new(concurrency as usize)));
            }
            entry.1.clone()
        };
        let t = sem.acquire_owned().await.expect("never closed");
        let g = self
            .global
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        StepPermit {
            _tenant: t,
            _global: g,
        }
    }

    /// Slots for more trainer instances of one step's model calls
    /// (`predict-replacing-each`): a slot of the tenant and one of the
    /// process, taken only when both are free at once, never waited for.
    pub fn helper_slots(&self, tenant: &str, concurrency: u32) -> HelperSlots {
        let (tenants, global) = (self.tenants.clone(), self.global.clone());
        let tenant = tenant.to_string();
        Arc::new(move || {
            let sem = {
                let map = tenants.lock().unwrap_or_else(|e| e.into_inner());
                let (cap, sem) = map.get(&tenant)?;
                (*cap == concurrency).then(|| sem.clone())?
            };
            let t = sem.try_acquire_owned().ok()?;
            let g = global.clone().try_acquire_owned().ok()?;
            let permit: Box<dyn Send> = Box::new(StepPermit {
                _tenant: t,
                _global: g,
            });
            Some(permit)
        })
    }
}

/// An output being written to the store, then recorded.
type Write = tokio::task::JoinHandle<Result<(), ExecError>>;

/// What [`put_behind`](RunCtx::put_behind) writes.
enum Payload {
    /// Bytes in memory, one piece after the other.
    Pieces(Vec<Bytes>),
    /// The first `.1` bytes of a dataset file, read a piece at a time.
    File(Arc<std::fs::File>, u64),
}

/// A dataset file's bytes decoded, checked for its target column and split
/// into train and holdout parts (no holdout without a split).
fn read_parts(
    path: &std::path::Path,
    raw: data::FileRead,
    target: Option<&str>,
    split: Option<&super::definition::SplitDef>,
) -> Result<(RecordBatch, Option<RecordBatch>), String> {
    let (train, holdout) = decode_parts(path, raw, target, split)?;
    // An empty file, a header alone or a Parquet file of no rows would
    // otherwise pass here and fail later, in a plugin, far from the file.
    let rows = train.num_rows() + holdout.as_ref().map_or(0, RecordBatch::num_rows);
    if train.num_columns() == 0 {
        return Err(format!("{} has no columns", path.display()));
    }
    if rows == 0 {
        return Err(format!(
            "{} has no rows (a header alone, or an empty table)",
            path.display()
        ));
    }
    Ok((train, holdout))
}

fn decode_parts(
    path: &std::path::Path,
    raw: data::FileRead,
    target: Option<&str>,
    split: Option<&super::definition::SplitDef>,
) -> Result<(RecordBatch, Option<RecordBatch>), String> {
    let missing_target = |schema: &arrow::datatypes::Schema| match target {
        Some(t) if schema.index_of(t).is_err() => {
            Err(format!("target column '{t}' is not in {}", path.display()))
        }
        _ => Ok(()),
    };
    if let Some(s) = split {
        let stratify = if s.stratify { target } else { None };
        let streamed = data::read_split(path, raw.clone(), s.holdout, s.seed, stratify)
            .map_err(|e| e.to_string())?;
        if let Some((train, holdout)) = streamed {
            missing_target(&train.schema())?;
            return Ok((train, Some(holdout)));
        }
    }
    let batch = data::table_from_file(path, raw).map_err(|e| e.to_string())?;
    missing_target(&batch.schema())?;
    match split {
        Some(s) => {
            let stratify = if s.stratify { target } else { None };
            data::split_holdout(&batch, s.holdout, s.seed, stratify)
                .map(|(a, b)| (a, Some(b)))
                .map_err(|e| e.to_string())
        }
        None => Ok((batch, None)),
    }
}

/// A table output encoded as Parquet (in pieces) and hashed.
struct Encoded {
    batch: RecordBatch,
    pieces: Vec<Bytes>,
    digest: ArtifactDigest,
}

/// Encode and hash `batch` on a blocking thread. The work starts at once:
/// the caller can go on (apply to the holdout, encode another part) and
/// await the result when it needs it.
fn encode(batch: RecordBatch) -> impl Future<Output = Result<Encoded, String>> {
    let task = tokio::task::spawn_blocking(move || {
        let pieces = data::write_parquet_pieces(&batch).map_err(|e| e.to_string())?;
        let digest = ArtifactDigest::of_parts(pieces.iter().map(|p| p.as_ref()));
        Ok(Encoded {
            batch,
            pieces,
            digest,
        })
    });
    async move {
        task.await
            .unwrap_or_else(|e| Err(format!("encoding an output as Parquet failed: {e}")))
    }
}

/// A step's input as plugins get it: the features, and the target column
/// when the step has a target and the table holds it.
type Split = (Arc<wit::Table>, Option<Arc<wit::Column>>);

#[derive(Default)]
struct RunState {
    tables: Mutex<HashMap<String, Parts>>,
    models: Mutex<HashMap<String, ArtifactDigest>>,
    batches: Mutex<HashMap<ArtifactDigest, Arc<RecordBatch>>>,
    /// The tables transforms returned, as the next step gets them (by
    /// artifact and target name): their batches share these values, so
    /// the next step's input needs no conversion.
    splits: Mutex<HashMap<(ArtifactDigest, Option<String>), Split>>,
    /// Outputs on their way to the store; steps downstream read them from
    /// here meanwhile.
    unwritten: Arc<Mutex<HashMap<ArtifactDigest, Vec<Bytes>>>>,
    /// The writes still running; the run ends only when they all have.
    writes: Mutex<Vec<(ArtifactDigest, Write)>>,
    /// A write failed: no more steps start (the run stops at its end).
    write_failed: Arc<std::sync::atomic::AtomicBool>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One run in progress: its tenant, its scoped store and what its steps
/// have made so far.
struct RunCtx<'a> {
    runtime: &'a Runtime,
    artifacts: ArtifactStore,
    meta: &'a MetaStore,
    scheduler: &'a Scheduler,
    tenant: &'a Tenant,
    run_id: String,
    plan: &'a Plan,
    /// Each step's limits, fitted under the tenant's caps.
    limits: Vec<StepLimits>,
    /// Each step's grants, opened at admission (by step id).
    grants: HashMap<String, Vec<Grant>>,
    state: RunState,
    use_cache: bool,
    register_models: bool,
    /// Refuse a new run whose definition differs from another recorded
    /// under its pipeline name and version.
    unique_definition: bool,
    /// Resuming: the steps of this run that succeeded before it stopped.
    resumed: Option<HashMap<String, StepOutputs>>,
}

impl Executor {
    pub fn new(runtime: Runtime, artifacts: ArtifactStore, meta: MetaStore) -> Self {
        Executor {
            runtime,
            artifacts,
            meta,
            scheduler: Scheduler::from_env(),
            allow_changed_version: false,
            use_cache: true,
            register_models: true,
        }
    }

    /// Run a plan as the default tenant.
    pub async fn run(
        &self,
        plan: &Plan,
        observer: &dyn RunObserver,
    ) -> Result<RunReport, ExecError> {
        let tenant = self.meta.tenant(DEFAULT_TENANT).await?;
        self.run_as(&tenant, plan, observer).await
    }

    /// Run a plan as `tenant`: its caps bound every step's limits (a step
    /// asking for more is refused before anything runs), its artifacts go
    /// under its prefix, and independent branches of the plan run at once,
    /// as many as the tenant's and the process's budgets allow.
    pub async fn run_as(
        &self,
        tenant: &Tenant,
        plan: &Plan,
        observer: &dyn RunObserver,
    ) -> Result<RunReport, ExecError> {
        self.start(tenant, plan, None, observer).await
    }

    /// Continue run `run_id` of `tenant`, which failed or was interrupted,
    /// with `plan` made from the same pipeline file: the steps that
    /// succeeded keep their records and outputs (when every output still
    /// exists and the step's inputs are unchanged); the others run again
    /// under the same run id.
    pub async fn resume_as(
        &self,
        tenant: &Tenant,
        run_id: &str,
        plan: &Plan,
        observer: &dyn RunObserver,
    ) -> Result<RunReport, ExecError> {
        let refuse = |reason: String| ExecError::Resume {
            run_id: run_id.to_owned(),
            reason,
        };
        let record = self.meta.get_run_in(Some(&tenant.name), run_id).await?;
        let Some(running) = self.meta.lock_run(run_id)? else {
            return Err(refuse(
                "it is still running in another process; wait for it to end".into(),
            ));
        };
        // Read again under the lock: the run may have ended meanwhile.
        let record = match record.status {
            RunStatus::Running => self.meta.get_run_in(Some(&tenant.name), run_id).await?,
            _ => record,
        };
        if record.status == RunStatus::Succeeded {
            return Err(refuse("it succeeded; there is nothing to resume".into()));
        }
        if record.pipeline_sha256 != plan.definition_sha256 {
            return Err(refuse(format!(
                "the pipeline file {} changed since the run (sha256 {} then, {} now); \
                 run it anew",
                plan.path.display(),
                record.pipeline_sha256,
                plan.definition_sha256
            )));
        }
        let mut done = HashMap::new();
        for s in &record.steps {
            if s.status != StepStatus::Succeeded {
                continue;
            }
            if let Some(p) = plan.steps.iter().find(|p| p.id == s.step_id)
                && p.plugin.sha256 != s.plugin_sha256
            {
                return Err(refuse(format!(
                    "step '{}' ran plugin sha256 {} and the plugin found now is {} ({}); \
                     run the pipeline anew",
                    s.step_id,
                    s.plugin_sha256,
                    p.plugin.sha256,
                    p.plugin.path.display()
                )));
            }
            done.insert(
                s.step_id.clone(),
                self.meta.step_outputs(run_id, &s.step_id).await?,
            );
        }
        self.meta.reopen_run(run_id).await?;
        self.start(
            tenant,
            plan,
            Some((run_id.to_owned(), done, running)),
            observer,
        )
        .await
    }

    async fn start(
        &self,
        tenant: &Tenant,
        plan: &Plan,
        resume: Option<(String, HashMap<String, StepOutputs>, RunLock)>,
        observer: &dyn RunObserver,
    ) -> Result<RunReport, ExecError> {
        let mut problems = Vec::new();
        let limits = plan
            .steps
            .iter()
            .map(|s| {
                tenant.caps.bound(
                    &tenant.name,
                    &s.id,
                    &s.limits,
                    &s.explicit_limits,
                    &mut problems,
                )
            })
            .collect();
        // Each granted directory is opened once, here, and the steps get
        // its descriptor: where the opened directory really is must be
        // inside the tenant's allowed_dirs, and swapping its path for a
        // symlink later changes nothing.
        let mut grants: HashMap<String, Vec<Grant>> = HashMap::new();
        for step in &plan.steps {
            for g in &step.grants {
                let opened = match g.open() {
                    Ok(opened) => opened,
                    Err(e) => {
                        problems.push(format!("step '{}': {e}", step.id));
                        continue;
                    }
                };
                if !tenant
                    .caps
                    .allowed_dirs
                    .iter()
                    .any(|d| opened.path.starts_with(d))
                {
                    problems.push(format!(
                        "step '{}': grant '{}' ({}) is not inside any of tenant '{}''s \
                         allowed_dirs (`sluice tenants set {} allowed_dirs=DIR`)",
                        step.id,
                        g.name,
                        opened.path.display(),
                        tenant.name,
                        tenant.name
                    ));
                    continue;
                }
                grants.entry(step.id.clone()).or_default().push(opened);
            }
        }
        for ds in &plan.datasets {
            if let Err(e) = dataset_file(tenant, &ds.path) {
                problems.push(format!("dataset '{}': {e}", ds.name));
            }
        }
        if !self.allow_changed_version
            && resume.is_none()
            && let Some(recorded) = self
                .meta
                .other_definition(
                    &tenant.name,
                    &plan.name,
                    &plan.version,
                    &plan.definition_sha256,
                )
                .await?
        {
            return Err(ExecError::VersionChanged {
                tenant: tenant.name.clone(),
                name: plan.name.clone(),
                version: plan.version.clone(),
                recorded,
                current: plan.definition_sha256.clone(),
            });
        }
        crate::crash::pause("definition-checked").await;
        if !problems.is_empty() {
            return Err(ExecError::Refused {
                tenant: tenant.name.clone(),
                problems,
            });
        }
        // Held while this process runs it: `resume` from another process
        // is refused meanwhile.
        let (run_id, resumed, _running) = match resume {
            Some((id, steps, lock)) => (id, Some(steps), Some(lock)),
            None => {
                let id = new_run_id();
                let lock = self.meta.lock_run(&id)?;
                (id, None, lock)
            }
        };
        let run = RunCtx {
            runtime: &self.runtime,
            artifacts: crate::tenants::tenant_store(&self.artifacts, &tenant.name),
            meta: &self.meta,
            scheduler: &self.scheduler,
            tenant,
            run_id,
            plan,
            limits,
            grants,
            state: RunState::default(),
            use_cache: self.use_cache,
            register_models: self.register_models,
            unique_definition: !self.allow_changed_version,
            resumed,
        };
        let span = tracing::info_span!("run", run_id = %run.run_id, pipeline = %plan.name, tenant = %tenant.name);
        let _enter = span.enter();
        match run.run(observer).await {
            Ok(report) => Ok(report),
            // Refused before anything was recorded.
            Err(e @ ExecError::VersionChanged { .. }) => Err(e),
            Err(e) => {
                // Leave a record that says what happened (best effort: the
                // metadata store itself may be what failed).
                let _ = self
                    .meta
                    .finish_run(&run.run_id, RunStatus::Failed, Some(&e.to_string()))
                    .await;
                Err(ExecError::Stopped {
                    run_id: run.run_id.clone(),
                    cause: Box::new(e),
                })
            }
        }
    }
}

impl RunCtx<'_> {
    async fn run(&self, observer: &dyn RunObserver) -> Result<RunReport, ExecError> {
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

        if let Err(e) = self.keep_plugins().await? {
            failure = Some(e);
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
        if failure.is_none() && self.register_models {
            let registry = crate::registry::Registry::for_tenant(
                self.meta.clone(),
                self.artifacts.clone(),
                &self.tenant.name,
            );
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
        crate::crash::point("run-before-finish");
        self.meta
            .finish_run(&run_id, status, failure.as_deref())
            .await?;
        Ok(RunReport {
            run_id,
            tenant: self.tenant.name.clone(),
            pipeline: plan.name.clone(),
            version: plan.version.clone(),
            status: status.as_str().into(),
            duration_ms: started.elapsed().as_millis() as u64,
            steps: reports,
            registered,
            error: failure,
        })
    }

    /// Outputs step `step_id` may take instead of running: its own, when
    /// resuming and it succeeded before with the same cache key; else the
    /// tenant's newest cache hit (`use_cache`) whose artifacts all still
    /// exist. A hit that lost an artifact is passed over, not an error.
    async fn reusable(
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

    async fn all_stored(&self, outputs: &[(String, ArtifactDigest)]) -> Result<bool, ExecError> {
        for (_, d) in outputs {
            if !self.artifacts.exists(d).await? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Make reused outputs available to the steps downstream, as running
    /// the step would have. False if an output the kind needs is missing.
    fn adopt(
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
    async fn record_reuse(
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
            if info.kind == "trainer" {
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
                    StepStatus::Succeeded,
                    &from.outputs,
                    &from.metrics,
                    &log,
                    None,
                )
                .await?;
        }
        Ok(StepReport {
            id: info.id.to_owned(),
            kind: info.kind.to_owned(),
            plugin: info.plugin_name.to_owned(),
            plugin_sha256: info.plugin_sha256.to_owned(),
            status: "succeeded".into(),
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
        })
    }

    /// Record a step as started, with its inputs.
    async fn record_start(
        &self,
        position: i64,
        info: &StepInfo<'_>,
        inputs: &[(String, ArtifactDigest)],
    ) -> Result<(), ExecError> {
        self.meta
            .start_step(
                &self.run_id,
                info.id,
                position,
                info.kind,
                info.plugin_name,
                info.plugin_version,
                info.plugin_sha256,
                &info.params_json,
                inputs,
            )
            .await?;
        Ok(())
    }

    async fn skip(&self, position: i64, step: &PlannedStep) -> Result<(), ExecError> {
        self.meta
            .skip_step(
                &self.run_id,
                &step.id,
                position,
                step.world().name(),
                &step.plugin.info.name,
                &step.plugin.info.version,
                &step.plugin.sha256,
                &step.params_json.to_string(),
            )
            .await?;
        Ok(())
    }

    /// Keep every plugin the plan runs in the artifact store, under its
    /// sha256, so a recorded step (and a registered model) can always be
    /// run again, even when the `.wasm` file has moved or changed.
    async fn keep_plugins(&self) -> Result<Result<(), String>, ExecError> {
        let mut seen = std::collections::HashSet::new();
        for step in &self.plan.steps {
            let p = &step.plugin;
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
            let stored = match self
                .put_blob(&format!("plugin {}", p.label()), bytes, "application/wasm")
                .await?
            {
                Ok(d) => d,
                Err(e) => return Ok(Err(e)),
            };
            if stored != digest {
                return Err(ExecError::Plugin {
                    path: p.path.display().to_string(),
                    message: format!("the file changed since it was loaded (now sha256 {stored})"),
                });
            }
        }
        Ok(Ok(()))
    }

    /// Store a table output as Parquet, and keep the batch for the steps
    /// that read it in this run. They get the same table from it as from
    /// the artifact read back (a resumed run): `batch_to_table` puts
    /// placeholders in null slots, the only place the two can differ.
    async fn put_batch(
        &self,
        step: &str,
        batch: RecordBatch,
    ) -> Result<Result<ArtifactDigest, String>, ExecError> {
        self.put_encoded(step, encode(batch).await).await
    }

    /// [`put_batch`](Self::put_batch) of a batch already [`encode`]d (or
    /// that failed to encode).
    async fn put_encoded(
        &self,
        step: &str,
        encoded: Result<Encoded, String>,
    ) -> Result<Result<ArtifactDigest, String>, ExecError> {
        let Encoded {
            batch,
            pieces,
            digest,
        } = match encoded {
            Ok(e) => e,
            Err(e) => return Ok(Err(e)),
        };
        let stored = self
            .put_pieces(step, pieces, digest, "application/vnd.apache.parquet")
            .await?;
        if let Ok(digest) = &stored {
            lock(&self.state.batches).insert(digest.clone(), Arc::new(batch));
        }
        Ok(stored)
    }

    /// Store an output of `step` under the tenant's prefix, within its
    /// storage cap: an output that would take the tenant over the cap fails
    /// the step and is not written.
    ///
    /// The bytes are hashed here and written behind: the step (and the
    /// ones after it) go on while the store takes them, reading them from
    /// memory ([`blob`](Self::blob)) until then. An artifact's records
    /// (`artifacts`, the tenant's usage) are made once its bytes are
    /// stored, and the run ends only when every write has (see
    /// [`flush_writes`](Self::flush_writes)); after a write that fails no
    /// more steps start, and the run stops with its error. A step recorded
    /// before its outputs landed is safe to resume: a step is only reused
    /// when all its outputs exist.
    async fn put_blob(
        &self,
        step: &str,
        bytes: impl Into<Bytes>,
        media_type: &str,
    ) -> Result<Result<ArtifactDigest, String>, ExecError> {
        let bytes = bytes.into();
        let digest = ArtifactDigest::of(&bytes);
        self.put_pieces(step, vec![bytes], digest, media_type).await
    }

    /// [`put_blob`](Self::put_blob) of an artifact whose bytes are `pieces`
    /// one after the other, which hash to `digest`.
    async fn put_pieces(
        &self,
        step: &str,
        pieces: Vec<Bytes>,
        digest: ArtifactDigest,
        media_type: &str,
    ) -> Result<Result<ArtifactDigest, String>, ExecError> {
        self.put_behind(step, Payload::Pieces(pieces), digest, media_type)
            .await
    }

    /// [`put_pieces`](Self::put_pieces) of a dataset file, which hashed to
    /// `digest`: copied into the store a piece at a time, never held whole
    /// (see [`ArtifactStore::put_file`](crate::artifacts::ArtifactStore)).
    async fn put_file(
        &self,
        step: &str,
        file: &crate::data::DataFile,
        digest: ArtifactDigest,
    ) -> Result<Result<ArtifactDigest, String>, ExecError> {
        let payload = Payload::File(file.file.clone(), file.size);
        self.put_behind(step, payload, digest, "application/octet-stream")
            .await
    }

    /// [`put_pieces`](Self::put_pieces) or [`put_file`](Self::put_file):
    /// checked against the tenant's storage cap, then written behind.
    async fn put_behind(
        &self,
        step: &str,
        payload: Payload,
        digest: ArtifactDigest,
        media_type: &str,
    ) -> Result<Result<ArtifactDigest, String>, ExecError> {
        let size = match &payload {
            Payload::Pieces(pieces) => pieces.iter().map(|p| p.len() as u64).sum::<u64>(),
            Payload::File(_, size) => *size,
        };
        let tenant = &self.tenant.name;
        let cap = self.tenant.caps.storage_bytes();
        let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let reservation = match self
            .meta
            .reserve_storage(tenant, &digest, as_i64(size), as_i64(cap))
            .await?
        {
            Admission::Reserved(id) => Some(id),
            Admission::AlreadyStored => None,
            Admission::OverCap { stored, reserved } => {
                return Ok(Err(format!(
                    "step '{step}': tenant '{tenant}' would exceed its storage cap of {} MiB \
                     (it stores {stored} bytes, {reserved} more are being written; this output \
                     is {size} bytes); nothing was written. Raise it with `sluice tenants set \
                     {tenant} storage_mib=N`",
                    self.tenant.caps.storage_mib
                )));
            }
        };
        if let Payload::Pieces(pieces) = &payload {
            lock(&self.state.unwritten).insert(digest.clone(), pieces.clone());
        }
        let (store, meta, unwritten, failed) = (
            self.artifacts.clone(),
            self.meta.clone(),
            self.state.unwritten.clone(),
            self.state.write_failed.clone(),
        );
        let (tenant, media_type, d) = (tenant.clone(), media_type.to_owned(), digest.clone());
        let task = tokio::spawn(async move {
            let stored = async {
                crate::crash::pause("storage-admitted").await;
                match payload {
                    Payload::Pieces(pieces) => {
                        store
                            .put_hashed(&d, object_store::PutPayload::from_iter(pieces))
                            .await?
                    }
                    Payload::File(file, len) => store.put_file(&d, file, len).await?,
                }
                meta.record_artifact(&d, size as i64, &media_type).await?;
                match reservation {
                    Some(id) => {
                        meta.commit_reservation(id, &tenant, &d, size as i64)
                            .await?
                    }
                    None => {
                        meta.record_tenant_artifact(&tenant, &d, size as i64)
                            .await?
                    }
                }
                Ok(())
            }
            .await;
            lock(&unwritten).remove(&d);
            if stored.is_err() {
                if let Some(id) = reservation {
                    // Best effort: a reservation left behind is released
                    // once this process is gone.
                    let _ = meta.release_reservation(id).await;
                }
                failed.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            stored
        });
        lock(&self.state.writes).push((digest.clone(), task));
        Ok(Ok(digest))
    }

    /// Wait for every output written behind (see [`put_blob`](Self::put_blob));
    /// the first that failed is the error.
    async fn flush_writes(&self) -> Result<(), ExecError> {
        let mut first = Ok(());
        loop {
            let tasks = std::mem::take(&mut *lock(&self.state.writes));
            if tasks.is_empty() {
                return first;
            }
            for (digest, task) in tasks {
                let result = task.await.unwrap_or_else(|source| {
                    Err(ExecError::Artifacts(
                        crate::artifacts::ArtifactError::Store {
                            store: self.artifacts.describe(),
                            action: format!("write artifact {digest}"),
                            object: self.artifacts.object_path(&digest).to_string(),
                            error: Box::new(object_store::Error::JoinError { source }),
                            gave_up: String::new(),
                        },
                    ))
                });
                if first.is_ok() {
                    first = result;
                }
            }
        }
    }

    fn write_failed(&self) -> bool {
        self.state
            .write_failed
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// An artifact's bytes: from memory while its write is on its way,
    /// else from the store.
    async fn blob(&self, digest: &ArtifactDigest) -> Result<Bytes, ExecError> {
        if let Some(pieces) = lock(&self.state.unwritten).get(digest) {
            return Ok(match pieces.as_slice() {
                [one] => one.clone(),
                many => Bytes::from(many.concat()),
            });
        }
        Ok(self.artifacts.get(digest).await?)
    }

    async fn put_json(
        &self,
        step: &str,
        value: &serde_json::Value,
    ) -> Result<Result<ArtifactDigest, String>, ExecError> {
        let bytes = serde_json::to_vec_pretty(value).expect("a JSON value serializes");
        self.put_blob(step, bytes, "application/json").await
    }

    /// Lets go of the tables (batches and the splits sharing their values)
    /// that none of `unfinished` reads, so the memory of a table no step
    /// needs any more serves the next step's tables and encodings warm
    /// instead of fresh pages (on the 1M-row e2e benchmark each table held
    /// to the end of the run was another 250 MB faulted in). A table read
    /// again later comes back from the store.
    fn release_tables<'p>(&self, unfinished: impl Iterator<Item = &'p PlannedStep>) {
        let live: HashSet<ArtifactDigest> = {
            let tables = lock(&self.state.tables);
            unfinished
                .flat_map(|step| {
                    std::iter::once(&step.input)
                        .chain(&step.reference)
                        .filter_map(|source| tables.get(source.name()))
                })
                .flat_map(|parts| std::iter::once(&parts.train).chain(&parts.holdout))
                .cloned()
                .collect()
        };
        lock(&self.state.batches).retain(|digest, _| live.contains(digest));
        lock(&self.state.splits).retain(|(digest, _), _| live.contains(digest));
    }

    async fn batch(
        &self,
        digest: &ArtifactDigest,
    ) -> Result<Result<Arc<RecordBatch>, String>, ExecError> {
        if let Some(b) = lock(&self.state.batches).get(digest) {
            return Ok(Ok(b.clone()));
        }
        let bytes = self.blob(digest).await?;
        match data::read_parquet(&bytes) {
            Ok(b) => {
                let b = Arc::new(b);
                lock(&self.state.batches).insert(digest.clone(), b.clone());
                Ok(Ok(b))
            }
            Err(e) => Ok(Err(format!("artifact {digest}: {e}"))),
        }
    }

    /// The table of artifact `digest` split for `target`, as plugins get
    /// it: the one a transform returned, kept, or else converted from the
    /// batch.
    async fn split_input(
        &self,
        digest: &ArtifactDigest,
        target: Option<&str>,
    ) -> Result<Result<Split, String>, ExecError> {
        let key = (digest.clone(), target.map(str::to_owned));
        if let Some(split) = lock(&self.state.splits).get(&key) {
            return Ok(Ok(split.clone()));
        }
        let batch = match self.batch(digest).await? {
            Ok(b) => b,
            Err(e) => return Ok(Err(e)),
        };
        let table = match data::batch_to_table(&batch) {
            Ok(t) => t,
            Err(e) => return Ok(Err(e.to_string())),
        };
        let (features, label) = split_target(table, target);
        Ok(Ok((Arc::new(features), label.map(Arc::new))))
    }

    async fn load_dataset(
        &self,
        position: i64,
        ds: &super::plan::PlannedDataset,
        observer: &dyn RunObserver,
    ) -> Result<StepReport, ExecError> {
        let run_id = self.run_id.as_str();
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
            cached: false,
            cached_from: None,
            error: None,
        };
        // Opened and checked again (it may have changed since admission),
        // then read from that descriptor, a piece at a time: hashed, copied
        // into the store and decoded, never held whole.
        let file = match dataset_file(self.tenant, &ds.path) {
            Ok(file) => Some(Arc::new(file)),
            Err(e) => {
                report.status = "failed".into();
                report.error = Some(e);
                None
            }
        };
        // The file is decoded and split on a blocking thread. When the
        // dataset cannot be reused (never read with these params, or no
        // cache), that starts at once and the file is hashed meanwhile;
        // otherwise only after the hash missed the cache, so a rerun does
        // not spend a core on parts it does not need.
        let read_thread = |file: &Arc<crate::data::DataFile>| {
            let (file, path) = (file.clone(), ds.path.clone());
            let (target, split) = (ds.target.clone(), ds.split.clone());
            tokio::task::spawn_blocking(move || {
                read_parts(&path, file.reader(), target.as_deref(), split.as_ref())
            })
        };
        let resuming = self.resumed.as_ref().is_some_and(|r| r.contains_key(&id));
        let speculate = file.is_some()
            && !resuming
            && (!self.use_cache
                || !self
                    .meta
                    .may_reuse(&self.tenant.name, "dataset", &params.to_string())
                    .await?);
        let mut parts = file.as_ref().filter(|_| speculate).map(read_thread);
        let source = match &file {
            Some(file) => {
                let hashed = file.clone();
                match tokio::task::spawn_blocking(move || hashed.hash()).await {
                    Ok(Ok(digest)) => match self.put_file(&id, file, digest).await? {
                        Ok(d) => Some(d),
                        Err(e) => {
                            report.error = Some(e);
                            None
                        }
                    },
                    Ok(Err(e)) => {
                        report.error = Some(format!("cannot read {}: {e}", ds.path.display()));
                        None
                    }
                    Err(e) => {
                        report.error = Some(format!("hashing {} failed: {e}", ds.path.display()));
                        None
                    }
                }
            }
            None => None,
        };
        let inputs: Vec<(String, ArtifactDigest)> = source
            .iter()
            .map(|d| ("source".to_string(), d.clone()))
            .collect();
        let key = source.as_ref().map(|s| cache::dataset_key(ds, s));
        if let Some(prev) = self.reusable(&id, key.as_deref()).await?
            && let Some(train) = output(&prev.outputs, "train")
        {
            let info = StepInfo {
                id: &id,
                kind: "dataset",
                plugin_name: "sluice:read+split",
                plugin_version: env!("CARGO_PKG_VERSION"),
                plugin_sha256: "",
                params_json: params.to_string(),
            };
            let report = self
                .record_reuse(position, &info, &inputs, key.as_deref(), &prev)
                .await?;
            lock(&self.state.tables).insert(
                ds.name.clone(),
                Parts {
                    train,
                    holdout: output(&prev.outputs, "holdout"),
                },
            );
            return Ok(report);
        }
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
        if report.error.is_none() && parts.is_none() {
            parts = file.as_ref().map(read_thread);
        }
        if report.error.is_none()
            && let Some(parts) = parts
            && let Some(file) = &file
        {
            let parts = parts
                .await
                .unwrap_or_else(|e| Err(format!("reading {} failed: {e}", ds.path.display())))
                .and_then(|parts| unchanged(self.tenant, &ds.path, file).map(|()| parts));
            match parts {
                Ok((train, holdout)) => {
                    report.metrics.insert(
                        "rows".into(),
                        (train.num_rows() + holdout.as_ref().map_or(0, |h| h.num_rows())) as f64,
                    );
                    report
                        .metrics
                        .insert("columns".into(), train.num_columns() as f64);
                    match self.store_parts(&id, train, holdout, &mut outputs).await? {
                        Ok(p) => {
                            lock(&self.state.tables).insert(ds.name.clone(), p);
                        }
                        Err(e) => report.error = Some(e),
                    }
                }
                Err(e) => report.error = Some(e),
            }
        }
        if report.error.is_some() {
            report.status = "failed".into();
        } else if let Some(k) = &key {
            self.meta.set_step_cache_key(run_id, &id, k).await?;
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
        step: &str,
        train: RecordBatch,
        holdout: Option<RecordBatch>,
        outputs: &mut Vec<(String, ArtifactDigest)>,
    ) -> Result<Result<Parts, String>, ExecError> {
        // Both parts are encoded at once, on blocking threads.
        let (train, holdout) = (encode(train), holdout.map(encode));
        let train_d = match self.put_encoded(step, train.await).await? {
            Ok(d) => d,
            Err(e) => return Ok(Err(e)),
        };
        outputs.push(("train".into(), train_d.clone()));
        let holdout_d = match holdout {
            Some(h) => match self.put_encoded(step, h.await).await? {
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
        let key = cache::step_key(step, &inputs, trainer_sha256.as_deref());
        let info = StepInfo {
            id: &step.id,
            kind: step.world().name(),
            plugin_name: &step.plugin.info.name,
            plugin_version: &step.plugin.info.version,
            plugin_sha256: &step.plugin.sha256,
            params_json: step.params_json.to_string(),
        };
        if let Some(prev) = self.reusable(&step.id, key.as_deref()).await?
            && self.adopt(step, &input, &prev.outputs)
        {
            observer.step_started(&step.id, step.world().name(), &step.plugin.label());
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
        observer.step_started(&step.id, step.world().name(), &step.plugin.label());
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

        let mut outputs: Vec<(String, ArtifactDigest)> = Vec::new();
        let mut metrics: BTreeMap<String, f64> = BTreeMap::new();
        let mut log = String::new();
        let outcome = self
            .execute(
                step,
                limits,
                &input,
                reference.as_ref(),
                model_digest.as_ref(),
                &mut outputs,
                &mut metrics,
                &mut log,
                observer,
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
            cached: false,
            cached_from: None,
            error: error.clone(),
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
        step: &PlannedStep,
        limits: StepLimits,
        input: &Parts,
        reference: Option<&Parts>,
        model: Option<&ArtifactDigest>,
        outputs: &mut Vec<(String, ArtifactDigest)>,
        metrics: &mut BTreeMap<String, f64>,
        log: &mut String,
        observer: &dyn RunObserver,
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
            limits,
            seed: step.seed,
            model: None,
            grants: self.grants.get(&step.id).cloned().unwrap_or_default(),
        };
        let target = step.target.clone();
        match step.world() {
            World::Transform => {
                // fit and apply read the same features: shared, not copied.
                let (features, label) =
                    step_try!(self.split_input(&input.train, target.as_deref()).await?);
                let fitted = step_try!(
                    {
                        let features = features.clone();
                        self.call(step, &ctx, log, move |rt, p, ctx, params| async move {
                            rt.fit_async(&p, &ctx, &features, &params).await
                        })
                    }
                    .await
                );
                // Every call first, then the writes: a step that fails in
                // apply leaves no output behind, not even its fitted state.
                let fitted_state = Arc::new(fitted);
                let (applied, train_split) = step_try!(
                    self.apply_part(step, &ctx, log, fitted_state.clone(), features, label)
                        .await?
                );
                // Encoded on another core while the holdout is applied
                // (nothing is stored before every call has succeeded).
                let train_encoded = encode(applied);
                let applied_holdout = match &input.holdout {
                    Some(h) => {
                        let (hf, hl) = step_try!(self.split_input(h, target.as_deref()).await?);
                        Some(step_try!(
                            self.apply_part(step, &ctx, log, fitted_state.clone(), hf, hl)
                                .await?
                        ))
                    }
                    None => None,
                };
                // Encoded beside the train part, on the core that would
                // otherwise wait for it.
                let (holdout_encoded, holdout_split) = match applied_holdout {
                    Some((batch, split)) => (Some(encode(batch)), Some(split)),
                    None => (None, None),
                };
                let state_digest = step_try!(
                    self.put_blob(&step.id, fitted_state.to_vec(), "application/octet-stream")
                        .await?
                );
                outputs.push(("state".into(), state_digest));
                let train_out = step_try!(self.put_encoded(&step.id, train_encoded.await).await?);
                outputs.push(("train".into(), train_out.clone()));
                let mut splits = vec![(train_out.clone(), train_split)];
                let mut holdout_out = None;
                if let (Some(encoded), Some(split)) = (holdout_encoded, holdout_split) {
                    let d = step_try!(self.put_encoded(&step.id, encoded.await).await?);
                    outputs.push(("holdout".into(), d.clone()));
                    splits.push((d.clone(), split));
                    holdout_out = Some(d);
                }
                lock(&self.state.splits).extend(
                    splits
                        .into_iter()
                        .map(|(digest, split)| ((digest, target.clone()), split)),
                );
                lock(&self.state.tables).insert(
                    step.id.clone(),
                    Parts {
                        train: train_out,
                        holdout: holdout_out,
                    },
                );
            }
            World::Trainer => {
                let mut params = step.params.clone();
                let mut _permit = None;
                if let Some(search) = &step.search {
                    let train_batch = step_try!(self.batch(&input.train).await?);
                    let found = step_try!(
                        self.run_search(step, search, &ctx, &train_batch, log, observer)
                            .await?
                    );
                    params = search.trials[found.best].params.clone();
                    metrics.extend(found.metrics(search));
                    let d = step_try!(self.put_json(&step.id, &found.report(search)).await?);
                    outputs.push(("search".into(), d));
                    // The final fit takes a slot like any step.
                    _permit = Some(
                        self.scheduler
                            .acquire(&self.tenant.name, self.tenant.caps.concurrency)
                            .await,
                    );
                }
                let (features, label) =
                    step_try!(self.split_input(&input.train, target.as_deref()).await?);
                let label = step_try!(label.ok_or("the input has no target column"));
                let trained = step_try!(
                    self.call_with(
                        step,
                        &ctx,
                        params,
                        log,
                        move |rt, p, ctx, params| async move {
                            rt.train_async(&p, &ctx, &features, &label, &params).await
                        }
                    )
                    .await
                );
                for m in &trained.metrics {
                    metrics.insert(m.name.clone(), m.value);
                }
                let model_bytes = Arc::new(trained.model);
                let d = step_try!(
                    self.put_blob(
                        &step.id,
                        model_bytes.to_vec(),
                        "application/vnd.sluice.model"
                    )
                    .await?
                );
                outputs.push(("model".into(), d.clone()));
                lock(&self.state.models).insert(step.id.clone(), d);
                if let Some(h) = &input.holdout {
                    // Predictions for the holdout, kept so serving can be
                    // checked against training bit for bit.
                    let (hf, _) = step_try!(self.split_input(h, target.as_deref()).await?);
                    let predicted = step_try!(
                        {
                            let m = model_bytes.clone();
                            self.call(step, &ctx, log, move |rt, p, ctx, _| async move {
                                rt.predict_async(&p, &ctx, &m, &hf).await
                            })
                        }
                        .await
                    );
                    let batch = step_try!(
                        data::table_to_batch(predicted)
                            .map_err(|e| format!("predict returned an invalid table: {e}"))
                    );
                    let d = step_try!(self.put_batch(&step.id, batch).await?);
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
                        limits,
                        helpers: Some(
                            self.scheduler
                                .helper_slots(&self.tenant.name, self.tenant.caps.concurrency),
                        ),
                    });
                }
                if step.world() == World::Validator {
                    // A validator gets the whole table, the target too.
                    let table = step_try!(self.batch(&part).await?);
                    let table = step_try!(data::batch_to_table(&table));
                    let reference = match reference {
                        Some(r) => {
                            let b = step_try!(self.batch(&r.train).await?);
                            Some(step_try!(data::batch_to_table(&b)))
                        }
                        None => None,
                    };
                    let report = step_try!(
                        self.call(step, &ctx, log, move |rt, p, ctx, params| async move {
                            rt.validate_async(&p, &ctx, &table, reference.as_ref(), &params)
                                .await
                        })
                        .await
                    );
                    for m in &report.metrics {
                        metrics.insert(m.name.clone(), m.value);
                    }
                    let json = serde_json::json!({
                        "checks": report.checks.iter().map(|c| serde_json::json!({"name": c.name, "passed": c.passed, "detail": c.detail})).collect::<Vec<_>>(),
                        "metrics": report.metrics.iter().map(|m| (m.name.clone(), m.value)).collect::<BTreeMap<_, _>>(),
                    });
                    let d = step_try!(self.put_json(&step.id, &json).await?);
                    outputs.push(("report".into(), d));
                    // A validator passes its input on unchanged.
                    lock(&self.state.tables).insert(step.id.clone(), input.clone());
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
                    let (features, label) =
                        step_try!(self.split_input(&part, target.as_deref()).await?);
                    let explanation = step_try!(
                        self.call(step, &ctx, log, move |rt, p, ctx, params| async move {
                            rt.explain_async(&p, &ctx, &features, label.as_deref(), &params)
                                .await
                        })
                        .await
                    );
                    for m in &explanation.metrics {
                        metrics.insert(m.name.clone(), m.value);
                    }
                    let json = serde_json::json!({
                        "global": explanation.global.iter().map(|a| serde_json::json!({"feature": a.feature, "score": a.score})).collect::<Vec<_>>(),
                        "metrics": explanation.metrics.iter().map(|m| (m.name.clone(), m.value)).collect::<BTreeMap<_, _>>(),
                    });
                    let d = step_try!(self.put_json(&step.id, &json).await?);
                    outputs.push(("explanation".into(), d));
                }
            }
        }
        Ok(Ok(()))
    }

    /// Apply the fitted state to `features`; the batch of the result with
    /// `label` put back after it, and the result as the next step gets it
    /// (normalized, see [`data::normalize`]), whose values the batch shares.
    async fn apply_part(
        &self,
        step: &PlannedStep,
        ctx: &StepContext,
        log: &mut String,
        fitted: Arc<Vec<u8>>,
        features: Arc<wit::Table>,
        label: Option<Arc<wit::Column>>,
    ) -> Result<Result<(RecordBatch, Split), String>, ExecError> {
        let applied = self
            .call(step, ctx, log, move |rt, p, ctx, _| async move {
                rt.apply_async(&p, &ctx, &fitted, &features).await
            })
            .await;
        let mut table = match applied {
            Ok(t) => t,
            Err(e) => return Ok(Err(e)),
        };
        if let Some(label) = &label
            && table.columns.iter().any(|c| c.name == label.name)
        {
            return Ok(Err(format!(
                "step '{}': apply returned a column named like the target '{}'",
                step.id, label.name
            )));
        }
        data::normalize(&mut table);
        let table = Arc::new(table);
        Ok(data::shared_batch(&table, label.as_ref())
            .map(|batch| (batch, (table, label)))
            .map_err(|e| format!("step '{}': apply returned an invalid table: {e}", step.id)))
    }

    /// Run a sandboxed call as a task of its own on the async runtime (the
    /// call yields at every epoch tick, so it holds no worker thread for
    /// long); a failure (or even a panic of the host code around it)
    /// becomes the step's error message.
    async fn call<T, F>(
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
    async fn call_with<T, F>(
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

/// The digest of output `name`, if there is one.
fn output(outputs: &[(String, ArtifactDigest)], name: &str) -> Option<ArtifactDigest> {
    outputs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, d)| d.clone())
}

/// Who a step record is about.
struct StepInfo<'a> {
    id: &'a str,
    kind: &'a str,
    plugin_name: &'a str,
    plugin_version: &'a str,
    plugin_sha256: &'a str,
    params_json: String,
}

/// The nodes a step reads: its input, its reference and its model's trainer.
fn dependencies(step: &PlannedStep) -> Vec<&str> {
    let mut deps = vec![step.input.name()];
    if let Some(r) = &step.reference {
        deps.push(r.name());
    }
    if let Some(m) = &step.model {
        deps.push(m.as_str());
    }
    deps
}

/// A dataset's file, opened for `tenant`: a regular data file (not a
/// device, FIFO or kernel interface) no larger than the tenant's
/// `dataset_mib` and, for a tenant other than the default one (the home's
/// owner), really inside one of its `allowed_dirs`.
fn dataset_file(tenant: &Tenant, path: &std::path::Path) -> Result<crate::data::DataFile, String> {
    let file = crate::data::open_data_file(path).map_err(|e| e.to_string())?;
    let cap = tenant.caps.dataset_mib;
    if file.size > cap.saturating_mul(1 << 20) {
        return Err(format!(
            "{} is {} bytes, over tenant '{}''s cap dataset_mib = {cap} \
             (`sluice tenants set {} dataset_mib=N`)",
            path.display(),
            file.size,
            tenant.name,
            tenant.name
        ));
    }
    if tenant.name != DEFAULT_TENANT
        && !tenant
            .caps
            .allowed_dirs
            .iter()
            .any(|d| file.real_path.starts_with(d))
    {
        return Err(format!(
            "{} ({}) is not inside any of tenant '{}''s allowed_dirs: a tenant's datasets \
             must come from its allowed directories (`sluice tenants set {} allowed_dirs=DIR`)",
            path.display(),
            file.real_path.display(),
            tenant.name,
            tenant.name
        ));
    }
    Ok(file)
}

/// Whether the dataset `file` (at `path`) is as it was when opened, and so
/// its table is the bytes its digest names; the error says how it changed
/// (grown past the tenant's `dataset_mib`, or otherwise).
fn unchanged(
    tenant: &Tenant,
    path: &std::path::Path,
    file: &crate::data::DataFile,
) -> Result<(), String> {
    let now = file
        .changed()
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let Some(size) = now else {
        return Ok(());
    };
    let cap = tenant.caps.dataset_mib;
    if size > cap.saturating_mul(1 << 20) {
        return Err(format!(
            "{} grew to {size} bytes while it was read, over tenant '{}''s cap \
             dataset_mib = {cap}; only its first {} bytes were read",
            path.display(),
            tenant.name,
            file.size
        ));
    }
    Err(format!(
        "{} changed while it was read (it was {} bytes, it is {size}); run again once it \
         is written",
        path.display(),
        file.size
    ))
}

fn skipped_report(step: &PlannedStep) -> StepReport {
    StepReport {
        id: step.id.clone(),
        kind: step.world().name().into(),
        plugin: step.plugin.label(),
        plugin_sha256: step.plugin.sha256.clone(),
        status: "skipped".into(),
        duration_ms: 0,
        outputs: BTreeMap::new(),
        metrics: BTreeMap::new(),
        cached: false,
        cached_from: None,
        error: None,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 18, point 13: a dataset file that grows after it was opened
    /// (its size then checked against the tenant's `dataset_mib`) is read
    /// only as far as it was, and the step's error names the cap: a
    /// terabyte appended (sparse) costs nothing to find. One rewritten in
    /// place, at the same size, is found changed too.
    #[test]
    fn a_dataset_that_changes_while_read_is_refused_naming_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.csv");
        std::fs::write(&path, "a,b\n1,2\n").unwrap();
        let tenant = Tenant {
            name: "small".into(),
            caps: crate::tenants::TenantCaps {
                dataset_mib: 1,
                allowed_dirs: vec![dir.path().canonicalize().unwrap()],
                ..Default::default()
            },
            created_at: String::new(),
            updated_at: String::new(),
        };
        let file = dataset_file(&tenant, &path).unwrap();
        assert_eq!(unchanged(&tenant, &path, &file), Ok(()));
        let started = Instant::now();
        let grown = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        grown.set_len(1 << 40).unwrap();
        let table = read_parts(&path, file.reader(), None, None).unwrap().0;
        assert_eq!(table.num_rows(), 1, "the rows it had when opened");
        let err = unchanged(&tenant, &path, &file).unwrap_err();
        assert_eq!(
            err,
            format!(
                "{} grew to 1099511627776 bytes while it was read, over tenant 'small''s cap \
                 dataset_mib = 1; only its first 8 bytes were read",
                path.display()
            )
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        let err = dataset_file(&tenant, &path).unwrap_err();
        assert!(
            err.contains("over tenant 'small''s cap dataset_mib = 1"),
            "{err}"
        );

        std::fs::write(&path, "a,b\n1,2\n").unwrap();
        let file = dataset_file(&tenant, &path).unwrap();
        // Past the file system's timestamp granularity.
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::fs::write(&path, "a,b\n3,4\n").unwrap();
        let err = unchanged(&tenant, &path, &file).unwrap_err();
        assert!(
            err.ends_with(
                "changed while it was read (it was 8 bytes, it is 8); run again once it is written"
            ),
            "{err}"
        );
    }

    /// A helper slot is a slot of the tenant and one of the process, taken
    /// only when both are free: never past the tenant's concurrency cap or
    /// the process's step budget, and freed when dropped.
    #[tokio::test]
    async fn helper_slots_stay_within_the_tenant_and_process_caps() {
        // Tenant cap 1: the step's own slot leaves none to spare.
        let scheduler = Scheduler::new(4);
        let step = scheduler.acquire("a", 1).await;
        let slots = scheduler.helper_slots("a", 1);
        assert!(slots().is_none());
        drop(step);
        assert!(slots().is_some(), "a free slot is handed out");

        // Tenant cap 3, process budget 2: one to spare, then none.
        let scheduler = Scheduler::new(2);
        let _step = scheduler.acquire("b", 3).await;
        let slots = scheduler.helper_slots("b", 3);
        let first = slots().expect("one process slot is free");
        assert!(slots().is_none(), "the process budget is spent");
        drop(first);
        assert!(slots().is_some(), "a dropped slot is free again");

        // Another tenant's slots are its own.
        let scheduler = Scheduler::new(8);
        let _a = scheduler.acquire("a", 1).await;
        let _b = scheduler.acquire("b", 2).await;
        assert!(scheduler.helper_slots("a", 1)().is_none());
        assert!(scheduler.helper_slots("b", 2)().is_some());
    }
}
