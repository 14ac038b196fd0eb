//! The plan of a recorded run, made again from the definition and the
//! plugin directories the run recorded (what `sluice resume` and `sluice
//! verify` run): editing the file after a run changes nothing for them.

use super::{PipelineError, Plan, PlanOptions, load_plan};
use crate::meta::{MetaError, MetaStore, RunRecord};
use crate::runtime::Runtime;
use std::path::PathBuf;

/// Why the plan of a recorded run could not be made again.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordedPlanError {
    /// The run's record could not be read.
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// The recorded pipeline file no longer plans.
    #[error(transparent)]
    Plan(#[from] PipelineError),
    /// The recorded plugin directories are not a JSON list of paths.
    #[error(transparent)]
    PluginDirs(#[from] serde_json::Error),
    /// Planning panicked.
    #[error(transparent)]
    Panicked(#[from] tokio::task::JoinError),
    /// The run did not record its pipeline file.
    #[error("run {run_id} did not record its pipeline file (it predates resume)")]
    NoFile {
        /// The run.
        run_id: String,
    },
    /// The pipeline file changed since the run, so planning it again would run
    /// something else.
    #[error(
        "the pipeline file {path} of run {run_id} changed since the run (sha256 {recorded} \
         then, {current} now); `sluice pipelines show {pipeline} --definition` prints the \
         recorded text"
    )]
    Changed {
        /// The pipeline file.
        path: String,
        /// The run.
        run_id: String,
        /// The pipeline's `name`.
        pipeline: String,
        /// The sha256 of the text the run recorded.
        recorded: String,
        /// The sha256 of the file's text now.
        current: String,
    },
}

/// Plan the pipeline file at `path` on a blocking thread (planning reads
/// files and compiles plugins).
pub async fn plan_file(
    runtime: &Runtime,
    path: &std::path::Path,
    options: PlanOptions,
) -> Result<Plan, RecordedPlanError> {
    let runtime = runtime.clone();
    let path = path.to_owned();
    Ok(tokio::task::spawn_blocking(move || load_plan(&path, &runtime, &options)).await??)
}

/// The plan of `record`: the definition it recorded (its text, stored by
/// sha256 when the run started), planned as the file it was run from (so
/// relative paths resolve as they did), with the plugin directories it
/// recorded. A run whose definition was not stored (older than the
/// store of definitions) is planned from its file, which must still
/// hash to the recorded sha256.
pub async fn recorded_plan(
    meta: &MetaStore,
    record: &RunRecord,
    runtime: &Runtime,
) -> Result<Plan, RecordedPlanError> {
    let run_id = record.id.as_str();
    let (path, dirs) = meta.run_source(run_id).await?;
    let Some(path) = path else {
        return Err(RecordedPlanError::NoFile {
            run_id: run_id.to_owned(),
        });
    };
    let plugin_dirs: Vec<PathBuf> = match dirs {
        Some(json) => serde_json::from_str::<Vec<String>>(&json)?
            .into_iter()
            .map(PathBuf::from)
            .collect(),
        None => Vec::new(),
    };
    let options = PlanOptions {
        plugin_dirs,
        compile: None,
        overrides: record.overrides.clone(),
    };
    let plan = match meta.definition_by_sha256(&record.pipeline_sha256).await? {
        Some(text) => {
            let runtime = runtime.clone();
            let file = PathBuf::from(&path);
            tokio::task::spawn_blocking(move || Plan::from_str(&text, &file, &runtime, &options))
                .await??
        }
        None => plan_file(runtime, std::path::Path::new(&path), options).await?,
    };
    if plan.definition_sha256 != record.pipeline_sha256 {
        return Err(RecordedPlanError::Changed {
            path,
            run_id: run_id.to_owned(),
            pipeline: record.pipeline_name.clone(),
            recorded: record.pipeline_sha256.clone(),
            current: plan.definition_sha256,
        });
    }
    Ok(plan)
}
