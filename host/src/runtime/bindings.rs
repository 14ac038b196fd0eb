//! Host bindings of the WIT contract in `wit/`, one module per world.
//!
//! The worlds share the `types`, `host`, `parallel` and `model` interfaces;
//! `parallel-trainer` adds `rows`. Every world
//! after the first reuses the validator world's generated modules through
//! `with`, so a `Table` is one Rust type whichever world it crosses.
//!
//! Exports and imports are async: a call runs on a wasmtime fiber that
//! yields to the async executor at every epoch tick, and the `model`
//! import awaits a nested call into the trainer.
#![allow(clippy::all, missing_docs)]

pub mod validator {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "validator",
        imports: { default: async | trappable },
        exports: { default: async },
    });
}

pub mod transform {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "transform",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "sluice:plugin/types": super::validator::sluice::plugin::types,
            "sluice:plugin/host": super::validator::sluice::plugin::host,
            "sluice:plugin/parallel": super::validator::sluice::plugin::parallel,
        },
    });
}

pub mod trainer {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "trainer",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "sluice:plugin/types": super::validator::sluice::plugin::types,
            "sluice:plugin/host": super::validator::sluice::plugin::host,
            "sluice:plugin/parallel": super::validator::sluice::plugin::parallel,
        },
    });
}

/// The trainer world with the optional `holding` export; a trainer that
/// has it is called through these bindings in a model session.
pub mod holding_trainer {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "holding-trainer",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "sluice:plugin/types": super::validator::sluice::plugin::types,
            "sluice:plugin/host": super::validator::sluice::plugin::host,
            "sluice:plugin/parallel": super::validator::sluice::plugin::parallel,
        },
    });
}

/// The trainer world with `holding`, `worker` and the `rows` import, for
/// the `rows` interface the host gives a trainer that imports it.
pub mod parallel_trainer {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "parallel-trainer",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "sluice:plugin/types": super::validator::sluice::plugin::types,
            "sluice:plugin/host": super::validator::sluice::plugin::host,
            "sluice:plugin/parallel": super::validator::sluice::plugin::parallel,
        },
    });
}

pub mod explainer {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "explainer",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "sluice:plugin/types": super::validator::sluice::plugin::types,
            "sluice:plugin/host": super::validator::sluice::plugin::host,
            "sluice:plugin/parallel": super::validator::sluice::plugin::parallel,
            "sluice:plugin/model": super::validator::sluice::plugin::model,
        },
    });
}

pub use parallel_trainer::sluice::plugin::rows as rows_iface;
pub use validator::sluice::plugin::host as host_iface;
pub use validator::sluice::plugin::model as model_iface;
pub use validator::sluice::plugin::parallel as parallel_iface;
/// The contract's data types (`Table`, `Column`, `Values`, ...).
pub use validator::sluice::plugin::types;
