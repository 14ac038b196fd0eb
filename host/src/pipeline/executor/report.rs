//! What a run reports as it goes and when it ends: the step and run
//! reports `sluice run` prints, and the observer told about each step.
//! Not for recording: the metadata store keeps the run's records.

use super::*;

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

pub(super) fn skipped_report(step: &PlannedStep) -> StepReport {
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

pub(super) fn status_of(report: &StepReport) -> StepStatus {
    if report.error.is_some() {
        StepStatus::Failed
    } else {
        StepStatus::Succeeded
    }
}
