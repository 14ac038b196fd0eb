//! Triggers: what starts a pipeline's runs without anyone typing `sluice
//! run`, declared in the pipeline file.
//!
//! ```toml
//! [triggers.nightly]
//! schedule = "0 2 * * *"        # cron: 5 fields, or 6 with seconds first
//! timezone = "Europe/Paris"     # UTC by default
//! catchup = false               # after downtime, run only the latest slot
//! max_concurrency = 1           # runs of this trigger at once
//!
//! [triggers.fresh]
//! on_new_data = "events"        # a dataset of the pipeline: a file, directory or S3 prefix
//! debounce = "30s"              # fire once the data stopped changing for 30 s
//!
//! [triggers.drifted]
//! on_alert = "churn"            # the model's monitor raised an alert
//! checks = ["drift"]            # of these checks only (all by default)
//! ```
//!
//! Running a pipeline file arms its triggers (and disarms the ones it no
//! longer declares); [`Engine`] carries them out, inside `sluice serve` or
//! alone in `sluice triggers run`, one engine per tenant at a time (a
//! lock beside the database).
//!
//! Every firing is recorded before its run starts, under a key (the
//! pipeline's version and the schedule slot, the data's digest, or the
//! alert) that the database keeps unique: the same firing never starts
//! two runs, across restarts and processes. A firing is `pending` until
//! its trigger has fewer than `max_concurrency` runs going (never
//! dropped), then `running` with its run's id, then `succeeded` or
//! `failed` with the versions registered or the error. An engine that
//! starts finds the firings a dead process left running: a run that was
//! interrupted is resumed under its id (`sluice resume`), one that never
//! started is started. A schedule's slots missed while no engine ran are
//! each run with `catchup = true`; without, only the latest runs and the
//! others are recorded as one `skipped` firing that says why.

mod deploy;
pub mod spec;
mod watch;

pub use deploy::ACTOR;
pub use spec::{Source, TriggerSpec};
use watch::DataWatch;

use crate::artifacts::ArtifactStore;
use crate::data::FilePattern;
use crate::meta::{ArmedTrigger, Firing, MetaStore, RunStatus};
use crate::pipeline::Plan;
use crate::pipeline::executor::{Executor, RunObserver};
use crate::runtime::Runtime;
use crate::tenants::Tenant;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// How often an engine looks at its triggers.
pub const TICK: std::time::Duration = std::time::Duration::from_millis(500);

/// The most slots a schedule catches up in one look.
const CATCHUP_PER_TICK: usize = 100;

/// A trigger as armed: its declaration, and for `on_new_data` where the
/// dataset's files are.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Armed {
    /// The declaration.
    pub spec: TriggerSpec,
    /// `on_new_data`: the dataset's file or directory, or the `s3://` URL
    /// of its prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch: Option<PathBuf>,
    /// `on_new_data` on a directory or prefix: the pattern of its files (`None`:
    /// every data file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<String>,
    /// The pipeline's version when armed.
    pub version: String,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Arm `plan`'s triggers for `tenant` (and disarm those its file no
/// longer declares). A new `on_new_data` trigger starts from the data as
/// it is now, a schedule from now, an alert trigger from now: arming
/// fires nothing.
pub async fn arm(meta: &MetaStore, tenant: &str, plan: &Plan) -> Result<(), String> {
    let mut entries = Vec::new();
    let now = now_ms();
    for (name, spec) in &plan.triggers {
        let mut armed = Armed {
            spec: spec.clone(),
            watch: None,
            files: None,
            version: plan.version.clone(),
        };
        let mut cursor = now.to_string();
        if let Some(dataset) = &spec.on_new_data {
            let d = plan
                .datasets
                .iter()
                .find(|d| &d.name == dataset)
                .ok_or_else(|| format!("trigger `{name}`: no dataset `{dataset}`"))?;
            armed.watch = Some(d.path.clone());
            armed.files = match &d.files {
                Some(FilePattern::Glob(g)) => Some(g.clone()),
                _ => None,
            };
            cursor = Arc::new(DataWatch::default())
                .digest(armed.clone())
                .await
                .map_err(|e| format!("trigger `{name}`: {e}"))?
                .0;
        }
        let json = serde_json::to_value(&armed).expect("a trigger serializes");
        entries.push((name.clone(), json, cursor));
    }
    let path = plan
        .path
        .canonicalize()
        .unwrap_or_else(|_| plan.path.clone());
    meta.arm_triggers(tenant, &plan.name, &path.to_string_lossy(), &entries, now)
        .await
        .map_err(|e| e.to_string())
}

/// Carries out a tenant's armed triggers.
pub struct Engine {
    meta: MetaStore,
    store: ArtifactStore,
    runtime: Runtime,
    tenant: Tenant,
    plugin_dirs: Vec<PathBuf>,
    data: Arc<DataWatch>,
    /// The firings this engine is running.
    running: Mutex<HashMap<i64, tokio::task::JoinHandle<()>>>,
}

/// The lock an engine holds: one engine per tenant and database.
pub struct EngineLock(#[allow(dead_code)] crate::meta::RunLock);

impl Engine {
    /// An engine for `tenant`, or `None` when another process runs one
    /// (it holds the lock).
    pub fn new(
        meta: MetaStore,
        store: ArtifactStore,
        runtime: Runtime,
        tenant: Tenant,
        plugin_dirs: Vec<PathBuf>,
    ) -> Result<Option<(Arc<Engine>, EngineLock)>, String> {
        let Some(lock) = meta
            .lock_run(&format!("triggers-{}", tenant.name))
            .map_err(|e| e.to_string())?
        else {
            return Ok(None);
        };
        Ok(Some((
            Arc::new(Engine {
                meta,
                store,
                runtime,
                tenant,
                plugin_dirs,
                data: Arc::default(),
                running: Mutex::new(HashMap::new()),
            }),
            EngineLock(lock),
        )))
    }

    /// Look at the triggers every [`TICK`] until aborted, after taking
    /// over what a dead engine left.
    pub async fn run(self: Arc<Self>) {
        if let Err(e) = self.recover().await {
            tracing::warn!(tenant = %self.tenant.name, error = %e, "triggers: recovering firings");
        }
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.clone().tick(now_ms()).await {
                tracing::warn!(tenant = %self.tenant.name, error = %e, "triggers");
            }
        }
    }

    /// The firings left `running` by a process that died: a run it
    /// started is resumed (or its end recorded), a firing whose run never
    /// started is pending again.
    pub async fn recover(self: &Arc<Self>) -> Result<(), String> {
        let tenant = &self.tenant.name;
        let left = self
            .meta
            .firings(tenant, None, None, &["running"], i64::MAX)
            .await
            .map_err(|e| e.to_string())?;
        for f in left {
            let run = match &f.run_id {
                Some(id) => Some(id.clone()),
                None => self.unclaimed_run(&f).await?,
            };
            let Some(run_id) = run else {
                self.update(&f, "pending", None, "its run never started: started again")
                    .await;
                continue;
            };
            let record = self
                .meta
                .get_run_in(Some(tenant), &run_id)
                .await
                .map_err(|e| e.to_string())?;
            match record.status {
                RunStatus::Running => {
                    self.update(&f, "running", Some(&run_id), "resumed after a restart")
                        .await;
                    self.spawn(f, Some(run_id));
                }
                status => {
                    let detail = record.error.clone().unwrap_or_else(|| {
                        "the run ended while no trigger engine watched it".into()
                    });
                    let state = if status == RunStatus::Succeeded {
                        "succeeded"
                    } else {
                        "failed"
                    };
                    self.update(&f, state, Some(&run_id), &detail).await;
                }
            }
        }
        Ok(())
    }

    /// A run of `f`'s pipeline that started when `f` fired and that no
    /// firing names: the run a process started for `f` before it could
    /// record the run's id.
    async fn unclaimed_run(&self, f: &Firing) -> Result<Option<String>, String> {
        let tenant = &self.tenant.name;
        let runs = self
            .meta
            .runs_of_pipeline(tenant, &f.pipeline)
            .await
            .map_err(|e| e.to_string())?;
        let claimed: Vec<String> = self
            .meta
            .firings(tenant, Some(&f.pipeline), None, &[], i64::MAX)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter_map(|f| f.run_id)
            .collect();
        let since = rfc3339(f.updated_ms - 1000);
        Ok(runs
            .into_iter()
            .filter(|r| r.started_at.as_str() >= since.as_str() && !claimed.contains(&r.id))
            .map(|r| r.id)
            .min())
    }

    async fn update(&self, f: &Firing, state: &str, run: Option<&str>, detail: &str) {
        if let Err(e) = self
            .meta
            .update_firing(f.id, state, run, detail, now_ms())
            .await
        {
            tracing::warn!(firing = f.id, error = %e, "triggers: recording a firing");
        }
    }

    /// Until every run this engine started has ended.
    pub async fn wait(&self) {
        loop {
            let task = {
                let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
                let Some(&id) = running.keys().next() else {
                    return;
                };
                running.remove(&id)
            };
            if let Some(task) = task {
                let _ = task.await;
            }
        }
    }

    /// One look: fire what is due, then start the pending firings that
    /// may start.
    pub async fn tick(self: Arc<Self>, now: i64) -> Result<(), String> {
        let armed = self
            .meta
            .armed_triggers(Some(&self.tenant.name))
            .await
            .map_err(|e| e.to_string())?;
        for t in &armed {
            if let Err(e) = self.look(t, now).await {
                tracing::warn!(
                    tenant = %t.tenant,
                    pipeline = %t.pipeline,
                    trigger = %t.name,
                    error = %e,
                    "trigger"
                );
            }
        }
        self.start_pending(&armed).await
    }

    /// Fire `t` if it is due.
    async fn look(&self, t: &ArmedTrigger, now: i64) -> Result<(), String> {
        let armed: Armed =
            serde_json::from_value(t.spec.clone()).map_err(|e| format!("its record: {e}"))?;
        let spec = &armed.spec;
        let debounce = spec.debounce_ms()?;
        let fire = |key: String, reason: String| {
            let key = format!("{}|{key}", armed.version);
            async move {
                self.meta
                    .record_firing(t, &key, &reason, "pending", "", now)
                    .await
                    .map_err(|e| e.to_string())
            }
        };
        match spec.source()? {
            Source::Schedule(cron, tz) => {
                let cursor: i64 = t.cursor.parse().unwrap_or(t.armed_ms);
                // Whole seconds: a slot is a second of the clock.
                let from = chrono::DateTime::from_timestamp(cursor.div_euclid(1000), 0)
                    .ok_or("its cursor is out of range")?
                    .with_timezone(&tz);
                let mut due = Vec::new();
                for slot in cron.iter_after(from) {
                    let ms = slot.timestamp_millis();
                    if ms > now {
                        break;
                    }
                    due.push(ms);
                    if spec.catchup && due.len() == CATCHUP_PER_TICK {
                        break;
                    }
                    if due.len() > 100_000 {
                        // Keep the count bounded; the latest is found below.
                        due.drain(..due.len() - 1);
                    }
                }
                let Some(&last) = due.last() else {
                    return Ok(());
                };
                let last = if !spec.catchup && due.len() > 1 {
                    // The last slot at or before now, however many there were.
                    let latest = cron
                        .find_previous_occurrence(
                            &chrono::DateTime::from_timestamp(now.div_euclid(1000), 0)
                                .ok_or("now is out of range")?
                                .with_timezone(&tz),
                            true,
                        )
                        .map(|s| s.timestamp_millis())
                        .unwrap_or(last);
                    let missed = due.len() - 1;
                    self.meta
                        .record_firing(
                            t,
                            &format!("{}|skipped:{}..{}", armed.version, due[0], due[missed - 1]),
                            &format!(
                                "{missed} slot(s) of schedule `{}` from {} to {} missed while no \
                                 trigger engine ran",
                                spec.schedule.as_deref().unwrap_or_default(),
                                rfc3339(due[0]),
                                rfc3339(due[missed - 1])
                            ),
                            "skipped",
                            "catchup = false: only the latest slot runs",
                            now,
                        )
                        .await
                        .map_err(|e| e.to_string())?;
                    fire(
                        format!("slot:{}", rfc3339(latest)),
                        format!("schedule slot {}", rfc3339(latest)),
                    )
                    .await?;
                    latest
                } else {
                    for &ms in &due {
                        fire(
                            format!("slot:{}", rfc3339(ms)),
                            format!("schedule slot {}", rfc3339(ms)),
                        )
                        .await?;
                    }
                    last
                };
                self.meta
                    .set_trigger_cursor(t, &last.to_string(), "", 0)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Source::NewData(dataset) => {
                let (digest, files) = self.data.clone().digest(armed.clone()).await?;
                if digest == t.cursor {
                    if !t.pending.is_empty() {
                        self.meta
                            .set_trigger_cursor(t, &t.cursor, "", 0)
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                    return Ok(());
                }
                if digest != t.pending && debounce > 0 {
                    // Changed: wait until it stops changing.
                    return self
                        .meta
                        .set_trigger_cursor(t, &t.cursor, &digest, now)
                        .await
                        .map_err(|e| e.to_string());
                }
                if debounce > 0 && now - t.pending_since_ms < debounce {
                    return Ok(());
                }
                fire(
                    format!("data:{digest}"),
                    format!(
                        "dataset `{dataset}` changed: {files} file(s), digest {}",
                        &digest[..12]
                    ),
                )
                .await?;
                self.meta
                    .set_trigger_cursor(t, &digest, "", 0)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Source::Alert(model) => {
                let cursor: i64 = t.cursor.parse().unwrap_or(t.armed_ms);
                let alerts: Vec<_> = self
                    .meta
                    .monitor_alerts(&self.tenant.name, &model, Some(cursor + 1))
                    .await
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .filter(|a| a.role == "production")
                    .filter(|a| spec.checks.is_empty() || spec.checks.contains(&a.check))
                    .collect();
                let Some(latest) = alerts.iter().max_by_key(|a| a.at_ms) else {
                    return Ok(());
                };
                if now - latest.at_ms < debounce {
                    return Ok(());
                }
                fire(
                    format!(
                        "alert:{}:v{}:{}:{}",
                        model, latest.version, latest.check, latest.window_end_ms
                    ),
                    format!(
                        "{} alert(s) of model `{model}`, the latest v{} check `{}`: {}",
                        alerts.len(),
                        latest.version,
                        latest.check,
                        latest.detail
                    ),
                )
                .await?;
                self.meta
                    .set_trigger_cursor(t, &latest.at_ms.to_string(), "", 0)
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }

    /// Start pending firings, oldest first, while their trigger has fewer
    /// than `max_concurrency` runs going.
    async fn start_pending(self: &Arc<Self>, armed: &[ArmedTrigger]) -> Result<(), String> {
        let open = self
            .meta
            .firings(
                &self.tenant.name,
                None,
                None,
                &["pending", "running"],
                i64::MAX,
            )
            .await
            .map_err(|e| e.to_string())?;
        {
            let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
            running.retain(|_, task| !task.is_finished());
        }
        for f in open.iter().filter(|f| f.state == "pending") {
            let limit = armed
                .iter()
                .find(|t| t.pipeline == f.pipeline && t.name == f.trigger)
                .and_then(|t| serde_json::from_value::<Armed>(t.spec.clone()).ok())
                .map_or(1, |a| a.spec.max_concurrency as usize);
            let going = open
                .iter()
                .filter(|o| o.pipeline == f.pipeline && o.trigger == f.trigger)
                .filter(|o| o.state == "running")
                .count()
                + self
                    .running
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .keys()
                    .filter(|id| open.iter().any(|o| o.id == **id && o.state == "pending"))
                    .count();
            if going >= limit {
                continue;
            }
            self.update(f, "running", None, "").await;
            self.spawn(f.clone(), None);
        }
        Ok(())
    }

    /// Run `f` (resume `run`, when given) in a task of its own.
    fn spawn(self: &Arc<Self>, f: Firing, run: Option<String>) {
        let engine = self.clone();
        let id = f.id;
        let task = tokio::spawn(async move {
            let (state, run_id, detail) = engine.execute(&f, run).await;
            engine.update(&f, state, run_id.as_deref(), &detail).await;
        });
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, task);
    }

    /// Plan and run `f`'s pipeline (or resume `run`): its end state, run
    /// and what came of it.
    async fn execute(
        &self,
        f: &Firing,
        resume: Option<String>,
    ) -> (&'static str, Option<String>, String) {
        let armed = match self.meta.armed_triggers(Some(&self.tenant.name)).await {
            Ok(all) => all
                .into_iter()
                .find(|t| t.pipeline == f.pipeline && t.name == f.trigger),
            Err(e) => return ("failed", None, e.to_string()),
        };
        let plan = match &resume {
            Some(run_id) => match self.meta.get_run_in(Some(&self.tenant.name), run_id).await {
                Ok(record) => {
                    crate::pipeline::recorded_plan(&self.meta, &record, &self.runtime).await
                }
                Err(e) => return ("failed", Some(run_id.clone()), e.to_string()),
            },
            None => {
                let Some(armed) = armed else {
                    return (
                        "failed",
                        None,
                        "the trigger was disarmed before its run started".into(),
                    );
                };
                crate::pipeline::plan_file(
                    &self.runtime,
                    Path::new(&armed.path),
                    crate::pipeline::PlanOptions {
                        plugin_dirs: self.plugin_dirs.clone(),
                        ..Default::default()
                    },
                )
                .await
            }
        };
        let plan = match plan {
            Ok(plan) => plan,
            Err(e) => return ("failed", resume, format!("planning the pipeline: {e}")),
        };
        if resume.is_none()
            && let Err(e) = arm(&self.meta, &self.tenant.name, &plan).await
        {
            tracing::warn!(pipeline = %plan.name, error = %e, "triggers: arming");
        }
        let executor =
            Executor::builder(self.runtime.clone(), self.store.clone(), self.meta.clone())
                .registrar(Arc::new(crate::registry::RunRegistrar))
                .build();
        let observer = FiringObserver {
            meta: self.meta.clone(),
            firing: f.id,
            recorded: Mutex::new(None),
        };
        let report = match &resume {
            Some(run_id) => {
                executor
                    .resume_as(&self.tenant, run_id, &plan, &observer)
                    .await
            }
            None => executor.run_as(&self.tenant, &plan, &observer).await,
        };
        observer.wait().await;
        match report {
            Ok(report) => {
                let mut detail = outcome(&report.registered, report.error.as_deref());
                // A reused version was judged when it was registered.
                for r in report.registered.iter().filter(|r| !r.reused) {
                    if let Some(deploy) = plan.model_deploy.get(&r.name) {
                        let decision = self.deploy(f, &report.run_id, r, *deploy, &plan).await;
                        detail.push_str(&format!("; {decision}"));
                    }
                }
                let state = if report.status == RunStatus::Succeeded {
                    "succeeded"
                } else {
                    "failed"
                };
                (state, Some(report.run_id), detail)
            }
            Err(e) => ("failed", resume, e.to_string()),
        }
    }
}

/// What a finished run came to, in words: the versions it registered,
/// or its error.
fn outcome(registered: &[crate::pipeline::executor::Registered], error: Option<&str>) -> String {
    if let Some(error) = error {
        return error.to_owned();
    }
    if registered.is_empty() {
        return "no model registered".into();
    }
    let versions: Vec<String> = registered
        .iter()
        .map(|r| match r.reused {
            true => format!("reused {}:{} (identical model)", r.name, r.version),
            false => format!("registered {}:{}", r.name, r.version),
        })
        .collect();
    versions.join(", ")
}

/// Records a firing's run id as soon as its run has one.
struct FiringObserver {
    meta: MetaStore,
    firing: i64,
    recorded: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl FiringObserver {
    async fn wait(&self) {
        let task = self
            .recorded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

impl RunObserver for FiringObserver {
    fn run_started(&self, run_id: &str, _steps: usize) {
        let (meta, firing, run_id) = (self.meta.clone(), self.firing, run_id.to_owned());
        let task = tokio::spawn(async move {
            if let Err(e) = meta
                .update_firing(firing, "running", Some(&run_id), "", now_ms())
                .await
            {
                tracing::warn!(firing, error = %e, "triggers: recording a firing's run");
            }
        });
        *self.recorded.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
    }
}
