//! `identity`: a transform that returns its input unchanged.
//!
//! `fit` learns nothing (an empty state) and `apply` moves the input table
//! back out, so a step with this plugin measures the host's own cost of a
//! step: instantiation plus moving the table across the component boundary
//! twice. The benchmarks use it as the no-op step.

use sluice_sdk::{Params, PluginInfo, StepError, Table, Transform};

pub struct Identity;

impl Transform for Identity {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "identity",
            env!("CARGO_PKG_VERSION"),
            "Returns its input unchanged; fit learns nothing.",
        )
    }

    fn fit(_data: Table, _params: Params) -> Result<Vec<u8>, StepError> {
        Ok(Vec::new())
    }

    fn apply(_state: Vec<u8>, data: Table) -> Result<Table, StepError> {
        Ok(data)
    }
}

sluice_sdk::export_transform!(Identity);

#[cfg(test)]
mod tests;
