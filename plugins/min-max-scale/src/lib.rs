//! `min-max-scale`: a transform that scales numeric columns to [0, 1], like
//! scikit-learn's `MinMaxScaler` (default `feature_range=(0, 1)`,
//! `clip=False`).
//!
//! Param `columns` (text, default `""`): comma-separated names of the
//! columns to scale; `""` scales every numeric (f64 or i64) column.
//!
//! - `fit` learns each column's minimum and maximum over its present values
//!   (not null, not NaN). A listed column that is missing or not numeric is
//!   an invalid-input error. A constant column gets range 1 (as
//!   scikit-learn's `handle_zeros_in_scale`), so it scales to 0; a column
//!   without present values gets min 0 and range 1.
//! - `apply` writes `(x - min) / (max - min)` as f64 and keeps null masks
//!   (NaN stays NaN). Values outside the fitted range are not clipped: they
//!   scale below 0 or above 1, as in scikit-learn. Columns the state does
//!   not know pass unchanged; a state column missing from the data is an
//!   invalid-input error.

mod state;
#[cfg(test)]
mod tests;

pub use sluice_sdk::columns::ColumnAffine;
use sluice_sdk::{ParamSpec, Params, PluginInfo, StepError, Table, Transform};
pub use state::MinMax;

pub use sluice_sdk::columns::parse_names;

/// Minimum and maximum (0, 0 when empty).
pub fn min_max(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (0.0, 0.0);
    }
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

pub struct MinMaxScale;

impl Transform for MinMaxScale {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "min-max-scale",
            env!("CARGO_PKG_VERSION"),
            "Scales numeric columns to [0, 1] by their fitted minimum and maximum \
             (like scikit-learn's MinMaxScaler).",
        )
        .param(ParamSpec::text(
            "columns",
            "",
            "comma-separated columns to scale; empty scales every numeric column",
        ))
    }

    fn fit(data: Table, params: Params) -> Result<Vec<u8>, StepError> {
        let names = parse_names(params.text("columns")?, "columns")?;
        Ok(MinMax::fit(&data, &names)?.to_bytes())
    }

    fn apply(state: Vec<u8>, data: Table) -> Result<Table, StepError> {
        MinMax::from_bytes(&state)?.apply(data)
    }
}

sluice_sdk::export_transform!(MinMaxScale);
