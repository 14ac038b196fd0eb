//! sluice: run machine-learning pipeline steps as sandboxed WebAssembly
//! components.
//!
//! The way of a run: the `sluice` command (the `sluice-cli` package, over
//! this library) -> [`pipeline`] (parse, validate, plan) -> the executor
//! asks [`artifacts`] for inputs, [`runtime`] runs the step, [`artifacts`]
//! stores outputs, [`meta`] records it. Nothing in this library prints;
//! everything returns typed errors.

pub mod artifacts;
pub mod authoring;
pub mod conformance;
pub mod crash;
pub mod data;
pub mod integrity;
pub mod meta;
pub mod pipeline;
pub mod registry;
pub mod runtime;
pub mod tenants;
pub mod workspace;

pub use workspace::{Workspace, WorkspaceError, WorkspaceSettings};

/// The WIT contract's data types as the host sees them.
pub use runtime::bindings::types as wit;

/// The contract version every cache key and run record carries.
pub const CONTRACT_VERSION: &str = "sluice:plugin@0.1.0";
