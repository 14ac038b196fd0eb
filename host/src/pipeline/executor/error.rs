//! The executor's errors: failures of the machinery around the steps
//! (artifact store, metadata store, registry, admission). Not for a step's
//! own failure, which is recorded on the step and reported, not returned.

/// Failures of the machinery around the steps (store, database). A step's
/// own failure is not an error here: it is recorded and reported.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The artifact store failed.
    #[error("artifact store: {0}")]
    Artifacts(#[from] crate::artifacts::ArtifactError),
    /// The metadata database failed.
    #[error("metadata store: {0}")]
    Meta(#[from] crate::meta::MetaError),
    /// The [`ModelRegistrar`](super::ModelRegistrar) failed.
    #[error("model registry: {0}")]
    Registry(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The pipeline asks for more than the tenant's caps allow; nothing ran.
    #[error(
        "the pipeline asks for more than tenant '{tenant}' allows:\n  - {}",
        problems.join("\n  - ")
    )]
    Refused {
        /// The tenant.
        tenant: String,
        /// Each limit over a cap, with both figures.
        problems: Vec<String>,
    },
    /// The tenant ran this pipeline name and version before with another
    /// definition.
    #[error(
        "pipeline '{name}' version {version} was already run by tenant '{tenant}' with a \
         different definition (sha256 {recorded}; this one is {current}). Give the changed \
         pipeline a new `version` (a `dev` or `X-dev` version may change freely), set params \
         with -P STEP.PARAM=VALUE instead of editing, or pass --allow-changed-version to \
         record both under {version}"
    )]
    VersionChanged {
        /// The tenant.
        tenant: String,
        /// The pipeline's `name`.
        name: String,
        /// The pipeline's `version`.
        version: String,
        /// The sha256 of the definition recorded before.
        recorded: String,
        /// The sha256 of this definition.
        current: String,
    },
    /// The run was recorded and then stopped by a failure of the store or
    /// the database (after their retries); it can be resumed.
    #[error(
        "run {run_id} stopped: {cause}\nonce the cause is fixed, `sluice resume {run_id}` \
         continues it from its completed steps"
    )]
    Stopped {
        /// The run, which `sluice resume` can continue.
        run_id: String,
        /// What stopped it.
        cause: Box<ExecError>,
    },
    /// A run cannot be resumed (finished, of another pipeline, its plugins
    /// changed, ...).
    #[error("cannot resume run {run_id}: {reason}")]
    Resume {
        /// The run.
        run_id: String,
        /// Why not.
        reason: String,
    },
    /// A plugin component could not be stored with the run (so `verify` and
    /// serving can load it later).
    #[error("cannot keep plugin {path} in the artifact store: {message}")]
    Plugin {
        /// The plugin file.
        path: String,
        /// Why.
        message: String,
    },
}

/// Why a step stopped before its end: its own failure, recorded on the
/// step (the run goes on with what does not depend on it), or a failure of
/// the machinery, which stops the run. `?` turns an [`ExecError`] into the
/// latter; [`Failing::failed`] turns a step's error into the former.
#[derive(Debug)]
pub(super) enum StepAbort {
    /// The step failed; the message is recorded on the step as it is.
    Failed(String),
    /// The store or the database failed: the run stops.
    Exec(ExecError),
}

impl From<ExecError> for StepAbort {
    fn from(e: ExecError) -> Self {
        StepAbort::Exec(e)
    }
}

impl From<crate::meta::MetaError> for StepAbort {
    fn from(e: crate::meta::MetaError) -> Self {
        StepAbort::Exec(e.into())
    }
}

impl From<crate::artifacts::ArtifactError> for StepAbort {
    fn from(e: crate::artifacts::ArtifactError) -> Self {
        StepAbort::Exec(e.into())
    }
}

impl StepAbort {
    /// The step's failure message, or the run's error.
    pub(super) fn into_failure(self) -> Result<String, ExecError> {
        match self {
            StepAbort::Failed(message) => Ok(message),
            StepAbort::Exec(e) => Err(e),
        }
    }
}

/// A result whose error is the step's own failure.
pub(super) trait Failing<T> {
    /// The error, as its message, fails the step.
    fn failed(self) -> Result<T, StepAbort>;
}

impl<T, E: std::fmt::Display> Failing<T> for Result<T, E> {
    fn failed(self) -> Result<T, StepAbort> {
        self.map_err(|e| StepAbort::Failed(e.to_string()))
    }
}
