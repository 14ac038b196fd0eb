//! `standardize`: a transform that centres and scales numeric columns, like
//! scikit-learn's `StandardScaler`.
//!
//! Param `columns` (text, default `""`): comma-separated names of the
//! columns to scale; `""` scales every numeric (f64 or i64) column (as
//! scikit-learn's `ColumnTransformer` with a `StandardScaler` on those
//! columns and `remainder="passthrough"`, but in place).
//!
//! - `fit` learns each column's mean and population standard deviation
//!   (ddof = 0) over its present values (not null, not NaN). A listed
//!   column that is missing or not numeric is an invalid-input error. A constant column (std 0) gets scale 1, as in scikit-learn; a
//!   column without present values gets mean 0 and scale 1.
//! - `apply` writes `(x - mean) / scale` as f64 and keeps null masks (and
//!   NaN stays NaN). Columns the state does not know pass unchanged; a state
//!   column missing from the data is an invalid-input error.

#[cfg(test)]
mod parity_tests;
mod state;
#[cfg(test)]
mod tests;

pub use sluice_sdk::columns::ColumnAffine;
use sluice_sdk::math;
use sluice_sdk::{ParamSpec, Params, PluginInfo, StepError, Table, Transform};

pub use sluice_sdk::columns::parse_names;
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
        .param(ParamSpec::text(
            "columns",
            "",
            "comma-separated columns to scale; empty scales every numeric column",
        ))
    }

    fn fit(data: Table, params: Params) -> Result<Vec<u8>, StepError> {
        let names = parse_names(params.text("columns")?, "columns")?;
        Ok(Scaler::fit(&data, &names)?.to_bytes())
    }

    fn apply(state: Vec<u8>, data: Table) -> Result<Table, StepError> {
        Scaler::from_bytes(&state)?.apply(data)
    }
}

sluice_sdk::export_transform!(Standardize);
