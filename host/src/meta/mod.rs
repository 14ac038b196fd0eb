//! The metadata store: what ran, with what, and what came out.
//!
//! A [`MetaStore`] records pipeline versions, runs, the steps of each run
//! (plugin, params, status, log, timing), the artifacts every step read and
//! wrote (lineage) and the metrics it reported. It is SQLite through `sqlx`
//! for now; the schema lives in `host/migrations/` and is applied on open.
//!
//! Every write that touches several rows for one step happens in one
//! transaction, so a crash leaves a step either fully recorded or not at
//! all.

mod cache;
mod diff;
mod housekeeping;
mod inference_log;
mod leases;
mod lineage;
mod models;
mod monitor;
mod open;
mod pipelines;
mod records;
mod rollouts;
mod runs;
mod steps;
mod store;
mod tenants;
#[cfg(test)]
mod tests;
mod tokens;
mod trials;
mod triggers;
mod uses;

use std::path::PathBuf;

pub use cache::StepOutputs;
pub use diff::{Change, RunDiff, StepDiff};
pub use housekeeping::{Archiving, CacheRecord, LiveVersion};
pub use inference_log::{InferenceLabelFile, InferenceLogFile};
pub use leases::RunLock;
pub use lineage::{LineageEdge, LineageNode, LineageStep, StepRef};
pub use models::{AuditEntry, AuditEvent, ModelRow, NewModelVersion, Registered, ServingRow};
pub use monitor::{ColumnSummary, MonitorAlert, MonitorRecord, MonitorReference};
pub use pipelines::PipelineVersion;
pub use records::{NewRun, NewStep, RunRecord, RunStatus, StepEnd, StepRunRecord, StepStatus};
pub use rollouts::RolloutRow;
pub use store::MetaStore;
pub use tenants::Admission;
pub use tokens::{TokenInfo, token_hash};
pub use trials::TrialRecord;
pub use triggers::{ArmedTrigger, Firing};
pub use uses::{ModelVersionUse, StepRole, StepUse};

/// What went wrong in the metadata store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetaError {
    /// The URL names a database sluice cannot use.
    #[error(
        "unsupported metadata store URL `{url}`: only SQLite is supported \
         (`sqlite:///path/sluice.db` or a plain file path)"
    )]
    UnsupportedUrl {
        /// The URL given.
        url: String,
    },

    /// The directory for the database file could not be created.
    #[error("cannot create the directory `{}` for the metadata store: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The database file exists but is empty: not a sluice database (a
    /// new one would silently replace its history).
    #[error(
        "the metadata store `{}` is an empty file (0 bytes), not a sluice database: \
         restore it from a backup, or move it away to start a new, empty history",
        path.display()
    )]
    EmptyDatabase {
        /// The database file.
        path: PathBuf,
    },

    /// A new database could not be created in place.
    #[error("cannot create the metadata store at `{}`: {source}", path.display())]
    Create {
        /// The database file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The lock that serializes opening the database could not be taken.
    #[error("cannot lock `{}` to open the metadata store: {source}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A database this process cannot write needs migrating first.
    #[error(
        "the metadata store `{}` is read-only here and was made by an older sluice; \
         open it once where it can be written so it is migrated",
        path.display()
    )]
    ReadOnlyOutdated {
        /// The database file.
        path: PathBuf,
    },

    /// A lease or run lock beside the database could not be taken.
    #[error("cannot lock `{}`: {source}", path.display())]
    Lease {
        /// The lock file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The database could not be opened.
    #[error("cannot open the metadata store `{url}`: {source}")]
    Open {
        /// The database URL.
        url: String,
        /// What SQLite said.
        #[source]
        source: sqlx::Error,
    },

    /// The schema migrations failed.
    #[error(
        "cannot bring the metadata store `{url}` up to date: {source}; \
         was it written by a newer sluice?"
    )]
    Migrate {
        /// The database URL.
        url: String,
        /// The migration that failed, and why.
        #[source]
        source: sqlx::migrate::MigrateError,
    },

    /// A query failed.
    #[error("metadata store failed to {action}: {source}")]
    Database {
        /// What the store was doing (`record a run`, ...).
        action: String,
        /// What SQLite said.
        #[source]
        source: sqlx::Error,
    },

    /// No run has this id or id prefix.
    #[error("no run with id `{id}`; `sluice runs list` shows recent runs")]
    RunNotFound {
        /// The id or prefix given.
        id: String,
    },

    /// Neither a digest nor a prefix of one (4 to 64 lowercase hex
    /// characters, `sha256:` optional).
    #[error(
        "`{text}` is not an artifact digest: give its 64 lowercase hex characters, or a \
         unique prefix of at least 4 (as `sluice runs show` prints them)"
    )]
    BadDigest {
        /// What was given.
        text: String,
    },

    /// No artifact of the tenant has a digest with this prefix.
    #[error(
        "no artifact of tenant `{tenant}` has a digest starting `{prefix}`; `sluice runs show \
         RUN` lists a run's artifacts"
    )]
    DigestNotFound {
        /// The prefix given.
        prefix: String,
        /// The tenant looked in.
        tenant: String,
    },

    /// A digest prefix matches more than one artifact.
    #[error(
        "digest prefix `{prefix}` matches several artifacts ({}); give more characters",
        candidates.join(", ")
    )]
    AmbiguousDigest {
        /// The prefix given.
        prefix: String,
        /// The start of each digest it matches.
        candidates: Vec<String>,
    },

    /// An id prefix matches more than one run.
    #[error(
        "run id prefix `{prefix}` matches several runs ({}); give more characters",
        candidates.join(", ")
    )]
    AmbiguousRun {
        /// The prefix given.
        prefix: String,
        /// The ids of the runs it matches.
        candidates: Vec<String>,
    },

    /// A run with this id is already recorded.
    #[error("a run with id `{id}` already exists")]
    RunExists {
        /// The id.
        id: String,
    },

    /// Another run of the tenant recorded another definition under the
    /// same pipeline name and version (see [`NewRun::unique_definition`]).
    #[error("run `{id}`: pipeline version recorded with another definition (sha256 {recorded})")]
    OtherDefinition {
        /// The refused run's id.
        id: String,
        /// The sha256 of the definition recorded before.
        recorded: String,
    },

    /// The step was never started in this run.
    #[error("step `{step_id}` of run `{run_id}` was never started")]
    StepNotFound {
        /// The run.
        run_id: String,
        /// The step.
        step_id: String,
    },

    /// The step is already recorded in this run.
    #[error("step `{step_id}` of run `{run_id}` is already recorded")]
    StepExists {
        /// The run.
        run_id: String,
        /// The step.
        step_id: String,
    },

    /// No tenant has this name.
    #[error("no tenant named `{name}`; `sluice tenants create {name}` makes one")]
    TenantNotFound {
        /// The name given.
        name: String,
    },

    /// The tenant has no token with this id.
    #[error(
        "tenant `{tenant}` has no token `{id}`; `sluice tenants token list {tenant}` lists them"
    )]
    NoToken {
        /// The tenant.
        tenant: String,
        /// The token id asked for.
        id: String,
    },
    /// A tenant with this name is already recorded.
    #[error("a tenant named `{name}` already exists")]
    TenantExists {
        /// The name.
        name: String,
    },

    /// A tenant name sluice cannot use.
    #[error("{message}")]
    InvalidTenant {
        /// What is wrong with the name, and the rule.
        message: String,
    },

    /// A change that conflicts with the state recorded (a second rollout
    /// of a model, say); the message says what to do.
    #[error("{0}")]
    Conflict(String),

    /// A stored value is not what this version of sluice writes.
    #[error("the metadata store holds an invalid {what} `{value}`")]
    InvalidRecord {
        /// What kind of value (`run status`, ...).
        what: &'static str,
        /// The value found.
        value: String,
    },
}
