//! Bindings generated from `wit/sluice.wit`, one module per world.
//!
//! Plugin authors never use this module: the SDK converts between these
//! types and its own, and the `export_*!` macros wire a plugin type to the
//! generated exports. The validator world is generated first; the other
//! worlds reuse its `types`, `host`, `parallel` and `model` modules through `with`, so
//! there is a single set of wire types.

// Generated code: not ours to lint.
#![allow(clippy::all)]

pub mod validator {
    wit_bindgen::generate!({
        world: "validator",
        path: "../wit",
        pub_export_macro: true,
        disable_custom_section_link_helpers: true,
        default_bindings_module: "sluice_sdk::wit::validator",
        export_macro_name: "__export_validator_world",
    });
}

pub mod transform {
    wit_bindgen::generate!({
        world: "transform",
        path: "../wit",
        pub_export_macro: true,
        disable_custom_section_link_helpers: true,
        default_bindings_module: "sluice_sdk::wit::transform",
        export_macro_name: "__export_transform_world",
        with: {
            "sluice:plugin/types@0.1.0": crate::wit::validator::sluice::plugin::types,
            "sluice:plugin/host@0.1.0": crate::wit::validator::sluice::plugin::host,
            "sluice:plugin/parallel@0.1.0": crate::wit::validator::sluice::plugin::parallel,
        },
    });
}

/// The trainer world with the `holding` and `worker` interfaces: every
/// Rust trainer exports all three.
pub mod trainer {
    wit_bindgen::generate!({
        world: "parallel-trainer",
        path: "../wit",
        pub_export_macro: true,
        disable_custom_section_link_helpers: true,
        default_bindings_module: "sluice_sdk::wit::trainer",
        export_macro_name: "__export_trainer_world",
        with: {
            "sluice:plugin/types@0.1.0": crate::wit::validator::sluice::plugin::types,
            "sluice:plugin/host@0.1.0": crate::wit::validator::sluice::plugin::host,
            "sluice:plugin/parallel@0.1.0": crate::wit::validator::sluice::plugin::parallel,
        },
    });
}

/// The explainer world with the `rows` import (an explainer imports it
/// only if it calls it).
pub mod explainer {
    wit_bindgen::generate!({
        world: "reading-explainer",
        path: "../wit",
        pub_export_macro: true,
        disable_custom_section_link_helpers: true,
        default_bindings_module: "sluice_sdk::wit::explainer",
        export_macro_name: "__export_explainer_world",
        with: {
            "sluice:plugin/types@0.1.0": crate::wit::validator::sluice::plugin::types,
            "sluice:plugin/host@0.1.0": crate::wit::validator::sluice::plugin::host,
            "sluice:plugin/parallel@0.1.0": crate::wit::validator::sluice::plugin::parallel,
            "sluice:plugin/model@0.1.0": crate::wit::validator::sluice::plugin::model,
            "sluice:plugin/rows@0.1.0": crate::wit::trainer::sluice::plugin::rows,
        },
    });
}

pub use trainer::sluice::plugin::rows;
pub use validator::sluice::plugin::host;
pub use validator::sluice::plugin::model;
pub use validator::sluice::plugin::parallel;
pub use validator::sluice::plugin::types;
