//! What a run reports as it goes and when it ends: the step and run
//! reports `sluice run` prints, and the observer told about each step.
//! Not for recording: the metadata store keeps the run's records.

use crate::artifacts::ArtifactStore;
use crate::meta::{MetaStore, RunStatus, StepStatus};
use crate::pipeline::plan::PlannedStep;
use crate::runtime::World;
use serde::Serialize;
use std::collections::BTreeMap;

/// What happened to one step, as `sluice run` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// The step's id (`dataset:NAME` for a dataset).
    pub id: String,
    /// What kind of node it is.
    pub kind: StepKind,
    /// The plugin as `name@version` (`sluice:read+split` for a dataset).
    pub plugin: String,
    /// The plugin component's sha256, in hex (empty for a dataset).
    pub plugin_sha256: String,
    /// How it ended.
    pub status: StepStatus,
    /// Wall-clock time, in milliseconds (0 when skipped).
    pub duration_ms: u64,
    /// The artifacts it wrote: output name to digest (hex).
    pub outputs: BTreeMap<String, String>,
    /// Its metrics by name.
    pub metrics: BTreeMap<String, f64>,
    /// The outputs were reused, not computed: from an earlier run with the
    /// same cache key, or (resume) from this run before it stopped.
    pub cached: bool,
    /// The run the reused outputs come from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached_from: Option<String>,
    /// Why it failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the plugin logged at the `warn` level while it ran, each
    /// message once, in order (a reused step's are in the run it was
    /// reused from).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// What happened to a run, as `sluice run` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The run's id.
    pub run_id: String,
    /// The tenant it ran as.
    pub tenant: String,
    /// The pipeline's `name`.
    pub pipeline: String,
    /// The pipeline's `version`.
    pub version: String,
    /// How it ended.
    pub status: RunStatus,
    /// Wall-clock time, in milliseconds.
    pub duration_ms: u64,
    /// One report per node (datasets and steps), in the run's order.
    pub steps: Vec<StepReport>,
    /// Model versions this run registered.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub registered: Vec<Registered>,
    /// Why it failed: the first failed step's error, or the store's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A model version a run registered.
#[derive(Debug, Clone, Serialize)]
pub struct Registered {
    /// The model's name.
    pub name: String,
    /// The version it got.
    pub version: i64,
    /// The trainer step whose model it is.
    pub step: String,
    /// The version existed already, holding the very same model (the same
    /// bytes and chain): it was reused, not registered again.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reused: bool,
}

/// Told about each step as the run goes (the CLI draws progress from it).
pub trait RunObserver: Send + Sync {
    /// The run `_run_id` started, with `_steps` nodes to go.
    fn run_started(&self, _run_id: &str, _steps: usize) {}
    /// A node started.
    fn step_started(&self, _id: &str, _kind: StepKind, _plugin: &str) {}
    /// A node finished (succeeded, failed, reused or skipped).
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

/// Registers the models of a run's steps with `register` (see
/// [`ExecutorBuilder::registrar`](super::ExecutorBuilder::registrar)):
/// called once every step succeeded and every output is stored, before
/// the run is recorded as ended, so a crash in between leaves a run that
/// `resume` finishes (registering a run's step again must return the
/// version it has). The model registry implements it; the executor does
/// not depend on the registry.
pub trait ModelRegistrar: Send + Sync {
    /// Register `model`: the version it has, and whether that version
    /// existed already with the very same model (then it is reused).
    fn register<'a>(
        &'a self,
        model: &'a ModelToRegister<'a>,
    ) -> futures::future::BoxFuture<'a, Result<Registered, Box<dyn std::error::Error + Send + Sync>>>;
}

/// A model a run trained, to register under `name`.
pub struct ModelToRegister<'a> {
    /// The metadata store to record the version in.
    pub meta: &'a MetaStore,
    /// The run's store (under its tenant's prefix).
    pub artifacts: &'a ArtifactStore,
    /// The tenant the run belongs to.
    pub tenant: &'a str,
    /// The run.
    pub run_id: &'a str,
    /// The trainer step whose model it is.
    pub step: &'a str,
    /// The model's name.
    pub name: &'a str,
    /// The pipeline's promotion gates for `name`, if it has any.
    pub gates: Option<&'a [String]>,
    /// The pipeline's traffic policy for `name`, if it declares one.
    pub serving: Option<&'a crate::registry::ServingPolicy>,
    /// The pipeline's monitor for `name`, its plugins resolved, if it
    /// declares one.
    pub monitoring: Option<&'a crate::monitor::MonitorSpec>,
    /// How the pipeline says to roll `name` out, if it does.
    pub rollout: Option<&'a crate::rollout::RolloutSpec>,
    /// The pipeline's name (the audit says who declared a policy).
    pub pipeline: &'a str,
}

/// An observer that does nothing.
pub struct Quiet;

impl RunObserver for Quiet {}

pub(super) fn skipped_report(step: &PlannedStep) -> StepReport {
    StepReport::new(
        step.id.clone(),
        step.world().into(),
        step.plugin.label(),
        step.plugin.sha256.clone(),
        StepStatus::Skipped,
    )
}

impl StepReport {
    /// A report of no time, outputs or metrics yet.
    pub(super) fn new(
        id: String,
        kind: StepKind,
        plugin: String,
        plugin_sha256: String,
        status: StepStatus,
    ) -> Self {
        StepReport {
            id,
            kind,
            plugin,
            plugin_sha256,
            status,
            duration_ms: 0,
            outputs: BTreeMap::new(),
            metrics: BTreeMap::new(),
            cached: false,
            cached_from: None,
            error: None,
            warnings: Vec::new(),
        }
    }
}

/// The messages of a step log's `warn` lines (as the sandbox writes them:
/// `[warn] MESSAGE`), each once, in order.
pub(super) fn log_warnings(log: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for message in log.lines().filter_map(|l| l.strip_prefix("[warn] ")) {
        if !out.iter().any(|m| m == message) {
            out.push(message.to_owned());
        }
    }
    out
}

/// What a node of the run is: a dataset read and split, or a step of one
/// of the plugin kinds. Shown, serialized and recorded as its lowercase
/// name (`dataset`, `transform`, `trainer`, `validator`, `explainer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    /// A dataset read (and divided into train and holdout).
    Dataset,
    /// A transform: fit, then apply.
    Transform,
    /// A trainer: train, then predict on the holdout.
    Trainer,
    /// A validator.
    Validator,
    /// An explainer.
    Explainer,
}

impl StepKind {
    /// The name stored in the database and shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Dataset => "dataset",
            StepKind::Transform => World::Transform.name(),
            StepKind::Trainer => World::Trainer.name(),
            StepKind::Validator => World::Validator.name(),
            StepKind::Explainer => World::Explainer.name(),
        }
    }
}

impl From<World> for StepKind {
    fn from(world: World) -> Self {
        match world {
            World::Transform => StepKind::Transform,
            World::Trainer => StepKind::Trainer,
            World::Validator => StepKind::Validator,
            World::Explainer => StepKind::Explainer,
        }
    }
}

impl std::fmt::Display for StepKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kind is shown, serialized and recorded under the name it had as a
    /// string, so reports and database rows keep their bytes.
    #[test]
    fn a_kind_keeps_its_name_everywhere() {
        for (kind, name) in [
            (StepKind::Dataset, "dataset"),
            (StepKind::Transform, "transform"),
            (StepKind::Trainer, "trainer"),
            (StepKind::Validator, "validator"),
            (StepKind::Explainer, "explainer"),
        ] {
            assert_eq!(kind.as_str(), name);
            assert_eq!(kind.to_string(), name);
            assert_eq!(serde_json::to_value(kind).unwrap(), name);
        }
    }

    /// Only `warn` lines count, each message once; other levels, stdout
    /// and a line merely containing `[warn] ` are not warnings.
    #[test]
    fn warnings_are_the_logs_warn_lines() {
        let log = "[info] fitted\n[warn] column 'id' makes 40 columns\nprinted [warn] x\n\
                   [error] oops\n[warn] column 'id' makes 40 columns\n[warn] second\n";
        assert_eq!(
            log_warnings(log),
            ["column 'id' makes 40 columns", "second"]
        );
        assert!(log_warnings("").is_empty());
    }
}
