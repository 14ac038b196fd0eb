//! `standardize`: a transform that centres and scales numeric columns, like
//! scikit-learn's `StandardScaler`.
//!
//! No params.
//!
//! - `fit` learns each numeric (f64 or i64) column's mean and population
//!   standard deviation (ddof = 0) over its present values (not null, not
//!   NaN). A constant column (std 0) gets scale 1, as in scikit-learn; a
//!   column without present values gets mean 0 and scale 1.
//! - `apply` writes `(x - mean) / scale` as f64 and keeps null masks (and
//!   NaN stays NaN). Columns the state does not know pass unchanged; a state
//!   column missing from the data is an invalid-input error.

mod state;
#[cfg(test)]
mod tests;

pub use sluice_sdk::columns::ColumnAffine;
use sluice_sdk::math;
use sluice_sdk::{Params, PluginInfo, StepError, Table, Transform};
pub use state::Scaler;

/// Mean and population standard deviation, by two passes (0, 0 when empty).
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (0.0, 0.0);
    }
    let n = values.len() as f64;
    // Four interleaved chains of additions (`math::sum_by`), which compile
    // to Wasm SIMD.
    let mean = math::sum(values) / n;
    let var = math::sum_by(values, |x| (x - mean) * (x - mean)) / n;
    (mean, var.sqrt())
}

pub struct Standardize;

impl Transform for Standardize {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "standardize",
            env!("CARGO_PKG_VERSION"),
            "Centres numeric columns on their mean and scales them by their population \
             standard deviation (like scikit-learn's StandardScaler).",
        )
    }

    fn fit(data: Table, _params: Params) -> Result<Vec<u8>, StepError> {
        Ok(Scaler::fit(&data).to_bytes())
    }

    fn apply(state: Vec<u8>, data: Table) -> Result<Table, StepError> {
        Scaler::from_bytes(&state)?.apply(data)
    }
}

sluice_sdk::export_transform!(Standardize);
