//! Run a plan: datasets are read and split, each step runs in its own
//! sandbox, every output is stored content-addressed, and the metadata
//! store records the run as it goes, so a failure leaves the artifacts of
//! earlier steps and a record that says what happened.

use crate::artifacts::{ArtifactDigest, ArtifactStore};
use crate::meta::{MetaStore, RunLock, RunStatus, StepOutputs, StepStatus};
use crate::pipeline::plan::Plan;
use crate::runtime::{Grant, Runtime, StepLimits};
use crate::tenants::{DEFAULT_TENANT, Tenant};
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

mod admission;
mod dag;
mod dataset;
mod dataset_files;
mod dataset_s3;
mod error;
mod explain;
mod report;
mod reuse;
mod step;
mod tables;
mod train;
mod transform;
mod trials;
mod validate;
mod verify;
mod writes;

use admission::{Admitted, admit};
pub use admission::{Scheduler, StepPermit};
use dataset_files::open_dataset;
pub use error::ExecError;
use error::StepAbort;
use report::skipped_report;
pub use report::{
    ModelRegistrar, ModelToRegister, Quiet, Registered, RunObserver, RunReport, StepKind,
    StepReport,
};
use reuse::output;
use step::StepInfo;
use tables::{LoweredInput, Parts, PluginInput, encode, take_label};
pub use verify::{
    DamagedOutput, OutputCheck, OutputComparison, VerifyError, VerifyReport, check_run_outputs,
};
use writes::Write;

/// Runs plans (see [`Executor::builder`]).
pub struct Executor {
    runtime: Runtime,
    /// The store's root; each run writes below its tenant's prefix.
    artifacts: ArtifactStore,
    meta: MetaStore,
    scheduler: Scheduler,
    /// Run a definition whose `version` a run of the tenant already
    /// recorded with a different sha256 (refused by default).
    allow_changed_version: bool,
    /// Reuse the outputs of earlier steps with the same cache key (see
    /// [`cache`](super::cache)); on by default. Keys are recorded either way.
    use_cache: bool,
    /// Registers the models of steps with `register` when the run
    /// succeeds (none for `sluice verify`'s re-execution).
    registrar: Option<Arc<dyn ModelRegistrar>>,
}

/// An [`Executor`] being set up: the defaults are the process's step
/// budget ([`Scheduler::from_env`]), the cache on, a changed definition
/// under a recorded version refused, and no models registered (see
/// [`registrar`](Self::registrar)).
pub struct ExecutorBuilder {
    executor: Executor,
}

impl ExecutorBuilder {
    /// Bound the steps run at once by `scheduler` (shared with its clones).
    pub fn scheduler(mut self, scheduler: Scheduler) -> Self {
        self.executor.scheduler = scheduler;
        self
    }

    /// Run a definition whose `version` a run of the tenant already
    /// recorded with a different sha256.
    pub fn allow_changed_version(mut self, allow: bool) -> Self {
        self.executor.allow_changed_version = allow;
        self
    }

    /// Reuse the outputs of earlier steps with the same cache key (see
    /// [`cache`](crate::pipeline::cache)). Keys are recorded either way.
    pub fn use_cache(mut self, use_cache: bool) -> Self {
        self.executor.use_cache = use_cache;
        self
    }

    /// Register the models of steps with `register` with `registrar` when
    /// the run succeeds (without one, none are registered).
    pub fn registrar(mut self, registrar: Arc<dyn ModelRegistrar>) -> Self {
        self.executor.registrar = Some(registrar);
        self
    }

    /// The executor, set up.
    pub fn build(self) -> Executor {
        self.executor
    }
}

#[derive(Default)]
struct RunState {
    tables: Mutex<HashMap<String, Parts>>,
    models: Mutex<HashMap<String, ArtifactDigest>>,
    batches: Mutex<HashMap<ArtifactDigest, Arc<RecordBatch>>>,
    /// The tables transforms returned, as the next step gets them (by
    /// artifact and target name): their batches share these values, so
    /// the next step's input needs no conversion.
    plugin_inputs: Mutex<HashMap<(ArtifactDigest, Option<String>), PluginInput>>,
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
    registrar: Option<&'a dyn ModelRegistrar>,
    /// Refuse a new run whose definition differs from another recorded
    /// under its pipeline name and version.
    unique_definition: bool,
    /// Resuming: the steps of this run that succeeded before it stopped.
    resumed: Option<HashMap<String, StepOutputs>>,
}

impl Executor {
    /// An executor running plugins in `runtime`, storing outputs in
    /// `artifacts` (each tenant under its prefix) and recording runs in
    /// `meta`; see [`ExecutorBuilder`] for the rest.
    pub fn builder(runtime: Runtime, artifacts: ArtifactStore, meta: MetaStore) -> ExecutorBuilder {
        ExecutorBuilder {
            executor: Executor {
                runtime,
                artifacts,
                meta,
                scheduler: Scheduler::from_env(),
                allow_changed_version: false,
                use_cache: true,
                registrar: None,
            },
        }
    }

    /// [`builder`](Self::builder) with the defaults.
    pub fn new(runtime: Runtime, artifacts: ArtifactStore, meta: MetaStore) -> Self {
        Self::builder(runtime, artifacts, meta).build()
    }

    /// The runtime the plugins run in.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The metadata store runs are recorded in.
    pub fn meta(&self) -> &MetaStore {
        &self.meta
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
        let Admitted {
            limits,
            grants,
            mut problems,
        } = admit(tenant, plan);
        dataset_s3::check_s3_datasets(tenant, plan, &mut problems).await;
        let unique_definition = !self.allow_changed_version
            && !crate::pipeline::definition::is_development(&plan.version);
        if unique_definition
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
            registrar: self.registrar.as_deref(),
            unique_definition,
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

impl RunCtx<'_> {}

/// Run ids sort by time: `YYYYMMDD-HHMMSS-xxxxxx`.
fn new_run_id() -> String {
    let now = chrono::Utc::now();
    let rand = uuid::Uuid::new_v4().simple().to_string();
    format!("{}-{}", now.format("%Y%m%d-%H%M%S"), &rand[..6])
}
