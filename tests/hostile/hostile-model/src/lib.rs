//! An explainer that calls the `model` import without end, ignoring every
//! error: `limits.model_calls` must stop it.

use sluice_sdk::{Column, Explainer, Explanation, Params, PluginInfo, StepError, Table};

pub struct HostileModel;

impl Explainer for HostileModel {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "hostile-model",
            "0.1.0",
            "Calls the model forever (tests only).",
        )
    }

    fn explain(
        features: Table,
        _target: Option<Column>,
        _params: Params,
    ) -> Result<Explanation, StepError> {
        let mut calls: u64 = 0;
        loop {
            let _ = std::hint::black_box(sluice_sdk::model::predict(&features));
            calls += 1;
            sluice_sdk::log::debug(format!("model call {calls}"));
        }
    }
}

sluice_sdk::export_explainer!(HostileModel);
