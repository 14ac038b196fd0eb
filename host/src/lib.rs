//! sluice: run machine-learning pipeline steps as sandboxed WebAssembly
//! components.
//!
//! The way of a run: the `sluice` command (the `sluice-cli` package, over
//! this library) -> [`pipeline`] (parse, validate, plan) -> the executor
//! asks [`artifacts`] for inputs, [`runtime`] runs the step, [`artifacts`]
//! stores outputs, [`meta`] records it. Nothing in this library prints;
//! everything returns typed errors.
//!
//! # Core concepts
//!
//! - A [`Workspace`] is where everything lives: a home directory (the
//!   metadata database, the compile cache and, by default, the artifacts),
//!   the tenant to act as, and the artifact store. It opens the rest.
//! - A [`Tenant`] scopes what a caller sees (its runs, artifacts and
//!   models) and its caps bound every step: memory, time, fuel, output,
//!   storage, and the host directories its pipelines may read
//!   (`allowed_dirs`, none by default). The `default` tenant always exists.
//! - A [`Runtime`] loads, compiles (cached in the home) and runs plugin
//!   components, each call in a fresh sandbox that is granted nothing.
//! - A [`Plan`] is a pipeline file (TOML: datasets, steps, models) checked
//!   and resolved: every plugin loaded and every param checked against the
//!   plugin's schema. [`load_plan`] reads a file, [`Plan::from_str`] takes
//!   the text.
//! - An [`Executor`] ([`ExecutorBuilder`]) runs a plan as a tenant: each
//!   output is stored content-addressed in the [`ArtifactStore`] (named by
//!   its [`ArtifactDigest`]) and the run recorded in the [`MetaStore`] as
//!   it goes; a [`RunReport`] with one [`StepReport`] per step says what
//!   happened. A step's failure is in the report, not an error: errors
//!   ([`ExecError`]) are failures of the store or the database.
//!   [`Executor::verify`] re-executes a recorded run and compares its
//!   outputs byte for byte ([`VerifyReport`]).
//!
//! Running a one-step pipeline from Rust (the plugins are built by
//! `scripts/build-plugins.sh` into `target/wasm32-wasip2/release`):
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use sluice::tenants::{Admin, DEFAULT_TENANT};
//! use sluice::{ArtifactDigest, Executor, Plan, PlanOptions, Quiet, RunStatus, Workspace};
//! use std::path::Path;
//!
//! let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
//! let plugins = repo.join("target/wasm32-wasip2/release");
//! let data = repo.join("pipelines/data");
//! let pipeline = format!(
//!     r#"
//! [pipeline]
//! name = "scaled"
//! version = "1"
//! plugin_dirs = [{plugins:?}]
//!
//! [datasets.cancer]
//! path = {csv:?}
//! target = "benign"
//!
//! [[steps]]
//! id = "scale"
//! plugin = "standardize"
//! input = "cancer"
//! "#,
//!     csv = data.join("breast_cancer.csv"),
//! );
//!
//! let home = tempfile::tempdir()?;
//! let workspace = Workspace::new(home.path());
//! let tokio = tokio::runtime::Runtime::new()?;
//! let (meta, tenant) = tokio.block_on(async {
//!     let (meta, mut tenant) = workspace.tenant_meta().await?;
//!     // Tenants read datasets only from the directories their caps allow.
//!     tenant.caps.set("allowed_dirs", &data.display().to_string())?;
//!     let owner = Admin::home_owner(DEFAULT_TENANT)?;
//!     let tenant = meta.set_tenant_caps(&owner, &tenant.name, &tenant.caps).await?;
//!     Ok::<_, Box<dyn std::error::Error>>((meta, tenant))
//! })?;
//!
//! // Planning loads and compiles the plugins (a blocking call). The path
//! // is not read: it names the text in errors and anchors relative paths.
//! let runtime = workspace.runtime_for(&tenant)?;
//! let plan = Plan::from_str(&pipeline, &home.path().join("scaled.toml"), &runtime, &PlanOptions::default())?;
//!
//! let executor = Executor::builder(runtime, workspace.store_root()?, meta).build();
//! let report = tokio.block_on(executor.run_as(&tenant, &plan, &Quiet))?;
//! assert_eq!(report.status, RunStatus::Succeeded, "{:?}", report.error);
//! let scale = report.steps.iter().find(|s| s.id == "scale").unwrap();
//! assert!(scale.error.is_none() && !scale.cached);
//!
//! // Its scaled table (`train`: the dataset has no holdout split), read
//! // back from the tenant's store by digest.
//! let digest = ArtifactDigest::parse(&scale.outputs["train"])?;
//! let bytes = tokio.block_on(workspace.artifacts()?.get(&digest))?;
//! assert_eq!(ArtifactDigest::of(&bytes), digest);
//! assert_eq!(sluice::data::read_parquet(&bytes)?.num_rows(), 569);
//! tokio.block_on(workspace.close());
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

pub mod artifacts;
pub mod authoring;
pub mod conformance;
pub mod crash;
pub mod data;
pub mod installed;
pub mod integrity;
pub mod meta;
pub mod monitor;
pub mod pipeline;
pub mod registry;
pub mod rollout;
pub mod runtime;
pub mod serve;
pub mod tenants;
pub mod triggers;
pub mod workspace;

/// Where everything lives, and what opens the rest.
pub use workspace::{Workspace, WorkspaceError, WorkspaceSettings};

/// Running plans: the executor, its reports and errors.
pub use pipeline::executor::{
    ExecError, Executor, ExecutorBuilder, ModelRegistrar, Quiet, RunObserver, RunReport, StepKind,
    StepReport, VerifyError, VerifyReport,
};
/// Planning pipelines.
pub use pipeline::{PipelineError, PipelineFile, Plan, PlanOptions, load_plan};
/// Registering the models of a run (give it to
/// [`ExecutorBuilder::registrar`]).
pub use registry::RunRegistrar;

/// The content-addressed artifact store.
pub use artifacts::{ArtifactDigest, ArtifactError, ArtifactStore};
/// The metadata store: runs, steps, models, tenants.
pub use meta::{MetaError, MetaStore, RunRecord, RunStatus, StepStatus};
/// The sandboxed runtime plugins run in.
pub use runtime::{Compiler, Runtime, RuntimeError, RuntimeOptions};
/// Tenants and their caps.
pub use tenants::{Tenant, TenantCaps};

/// The WIT contract's data types as the host sees them.
pub use runtime::bindings::types as wit;

/// The contract version every cache key and run record carries.
pub const CONTRACT_VERSION: &str = "sluice:plugin@0.1.0";
