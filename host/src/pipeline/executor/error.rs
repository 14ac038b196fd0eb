//! The executor's errors: failures of the machinery around the steps
//! (artifact store, metadata store, registry, admission). Not for a step's
//! own failure, which is recorded on the step and reported, not returned.

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
