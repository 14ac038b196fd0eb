//! The records the metadata store keeps, as the rest of the host sees them.

use std::fmt;

use serde::Serialize;

use crate::artifacts::ArtifactDigest;

/// The state of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Started and not finished (or its process died: `sluice resume`
    /// continues it).
    Running,
    /// Every step that ran succeeded.
    Succeeded,
    /// A step failed, or the run was stopped.
    Failed,
}

impl RunStatus {
    /// The name stored in the database and shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    pub(super) fn parse(text: &str) -> Option<Self> {
        [Self::Running, Self::Succeeded, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state of one step of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    /// Started and not finished.
    Running,
    /// Ran (or was reused from the cache) and wrote its outputs.
    Succeeded,
    /// Ran and failed; its error says why.
    Failed,
    /// Never ran, because the run stopped before reaching it.
    Skipped,
}

impl StepStatus {
    /// The name stored in the database and shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }

    pub(super) fn parse(text: &str) -> Option<Self> {
        [Self::Running, Self::Succeeded, Self::Failed, Self::Skipped]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

impl fmt::Display for StepStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A run about to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRun {
    /// The run's id, `YYYYMMDD-HHMMSS-xxxxxx` (it sorts by time).
    pub id: String,
    /// The tenant the run belongs to.
    pub tenant: String,
    /// The pipeline's `name`.
    pub pipeline_name: String,
    /// The pipeline's `version`.
    pub pipeline_version: String,
    /// sha256 of the pipeline definition's text.
    pub pipeline_sha256: String,
    /// Stored as SQLite's signed 64-bit integer; a `u64` seed cast with
    /// `as i64` keeps its bits.
    pub seed: i64,
    /// Where the pipeline file is (absolute), for `sluice resume` and
    /// `sluice verify`; recorded with the run in one write, so a run that
    /// exists can always be planned again.
    pub pipeline_path: Option<String>,
    /// The plugin directories the run searched beyond the defaults (JSON
    /// list of absolute paths).
    pub plugin_dirs_json: Option<String>,
    /// Refuse the run ([`MetaError::OtherDefinition`](super::MetaError::OtherDefinition))
    /// if another run of its tenant recorded another definition under the
    /// same pipeline name and version (a failed run claims none); checked
    /// in the same statement that records the run, so two processes
    /// cannot both pass.
    pub unique_definition: bool,
    /// The params set from outside the file (`STEP.PARAM=VALUE`), as a
    /// JSON list; `None` when there are none.
    pub overrides_json: Option<String>,
}

/// A step about to be recorded: the columns known when it starts, for
/// [`MetaStore::start_step`] and [`MetaStore::skip_step`].
///
/// [`MetaStore::start_step`]: super::MetaStore::start_step
/// [`MetaStore::skip_step`]: super::MetaStore::skip_step
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewStep<'a> {
    /// The run it belongs to.
    pub run_id: &'a str,
    /// The step's id in the pipeline (`dataset:NAME` for a dataset).
    pub step_id: &'a str,
    /// Its place in the run's order.
    pub position: i64,
    /// The world it runs in (`trainer`, ...) or `dataset`.
    pub kind: &'a str,
    /// The plugin's name (empty for a dataset).
    pub plugin_name: &'a str,
    /// The plugin's version (empty for a dataset).
    pub plugin_version: &'a str,
    /// The plugin component's sha256, in hex (empty for a dataset).
    pub plugin_sha256: &'a str,
    /// The step's params, as a JSON object.
    pub params_json: &'a str,
}

/// How a started step ended, for [`MetaStore::finish_step`].
///
/// [`MetaStore::finish_step`]: super::MetaStore::finish_step
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepEnd<'a> {
    /// How it ended.
    pub status: StepStatus,
    /// The artifacts it wrote, by output name.
    pub outputs: &'a [(String, ArtifactDigest)],
    /// Its metrics; a later duplicate name replaces an earlier one.
    pub metrics: &'a [(String, f64)],
    /// Its log, as bounded by the runtime.
    pub log: &'a str,
    /// Why it failed, if it did.
    pub error: Option<&'a str>,
}

/// A recorded run. From [`MetaStore::list_runs`] `steps` is empty; from
/// [`MetaStore::get_run`] it holds every step in position order.
///
/// [`MetaStore::list_runs`]: super::MetaStore::list_runs
/// [`MetaStore::get_run`]: super::MetaStore::get_run
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    /// The run's id, `YYYYMMDD-HHMMSS-xxxxxx` (it sorts by time).
    pub id: String,
    /// The tenant it belongs to.
    pub tenant: String,
    /// The pipeline's `name`.
    pub pipeline_name: String,
    /// The pipeline's `version`.
    pub pipeline_version: String,
    /// sha256 of the pipeline definition's text, in hex.
    pub pipeline_sha256: String,
    /// Its state.
    pub status: RunStatus,
    /// The run's seed, as stored (a `u64` cast to `i64`, bits kept).
    pub seed: i64,
    /// RFC3339, UTC.
    pub started_at: String,
    /// RFC3339, UTC; `None` while it runs.
    pub finished_at: Option<String>,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// Its steps, in the run's order.
    pub steps: Vec<StepRunRecord>,
    /// The params set from outside the file (`sluice run -P
    /// STEP.PARAM=VALUE`), in the order given.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
}

/// A recorded step of a run, with its lineage and metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepRunRecord {
    /// The step's id in the pipeline (`dataset:NAME` for a dataset).
    pub step_id: String,
    /// Its place in the run's order.
    pub position: i64,
    /// The world it ran in (`validator`, `transform`, `trainer`, `explainer`)
    /// or `dataset`.
    pub kind: String,
    /// The plugin's name (empty for a dataset).
    pub plugin_name: String,
    /// The plugin's version (empty for a dataset).
    pub plugin_version: String,
    /// The plugin component's sha256, in hex (empty for a dataset).
    pub plugin_sha256: String,
    /// The step's params, as a JSON object.
    pub params_json: String,
    /// Its state.
    pub status: StepStatus,
    /// RFC3339, UTC.
    pub started_at: String,
    /// RFC3339, UTC; `None` while it runs.
    pub finished_at: Option<String>,
    /// Wall-clock time from start to finish, in milliseconds.
    pub duration_ms: Option<i64>,
    /// Its log, as bounded by the runtime.
    pub log: String,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// The outputs were reused from an earlier run with the same inputs,
    /// plugin and params (see [`MetaStore::mark_step_cached_from`]).
    ///
    /// [`MetaStore::mark_step_cached_from`]: super::MetaStore::mark_step_cached_from
    pub cached: bool,
    /// The run a cached step's outputs came from.
    pub cached_from: Option<String>,
    /// Directories the step was granted, as `[{name, path}]`.
    pub grants: serde_json::Value,
    /// The artifacts it read, by input name (`train`, `holdout`,
    /// `reference`, `model`; a dataset's `source`, the file's bytes). In
    /// JSON an object, name to digest, as `sluice run --json` gives it.
    #[serde(serialize_with = "as_object")]
    pub inputs: Vec<(String, ArtifactDigest)>,
    /// The artifacts it wrote, by output name (in JSON an object).
    #[serde(serialize_with = "as_object")]
    pub outputs: Vec<(String, ArtifactDigest)>,
    /// NaN metrics are kept as NaN (and serialise as `null` in JSON); in
    /// JSON an object, name to value.
    #[serde(serialize_with = "as_object")]
    pub metrics: Vec<(String, f64)>,
    /// The trials of a trainer step's hyperparameter search (a step reused
    /// from another run's cache lists that run's trials).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trials: Vec<super::TrialRecord>,
}

/// Named values as one JSON object, in their order: the shape `sluice run
/// --json` gives a step's inputs, outputs and metrics.
fn as_object<S: serde::Serializer, V: Serialize>(
    pairs: &[(String, V)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = serializer.serialize_map(Some(pairs.len()))?;
    for (name, value) in pairs {
        map.serialize_entry(name, value)?;
    }
    map.end()
}
