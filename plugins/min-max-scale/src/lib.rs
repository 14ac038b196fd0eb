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

use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::{ParamSpec, Params, PluginInfo, StepError, Table, Transform};

pub use sluice_sdk::columns::parse_names;
use sluice_sdk::columns::{map_fitted_numeric, numeric_columns, present_values};

const TAG: [u8; 4] = *b"MMSC";
const VERSION: u8 = 1;

/// The minimum and range of one column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnRange {
    pub name: String,
    pub min: f64,
    /// `max - min`, or 1 when that is 0 (constant or empty column).
    pub range: f64,
}

/// The fitted state: one [`ColumnRange`] per scaled column.
#[derive(Debug, Clone, PartialEq)]
pub struct MinMax {
    pub columns: Vec<ColumnRange>,
}

impl MinMax {
    /// Fits the listed columns, or every numeric column when `names` is empty.
    pub fn fit(data: &Table, names: &[String]) -> Result<MinMax, StepError> {
        let selected = numeric_columns(data, names, "min-max-scale")?;
        let columns = selected
            .into_iter()
            .map(|c| {
                let (min, max) = min_max(&present_values(c));
                let range = if max - min == 0.0 { 1.0 } else { max - min };
                ColumnRange {
                    name: c.name.clone(),
                    min,
                    range,
                }
            })
            .collect();
        Ok(MinMax { columns })
    }

    pub fn apply(&self, mut data: Table) -> Result<Table, StepError> {
        for s in &self.columns {
            map_fitted_numeric(&mut data, &s.name, |x| (x - s.min) / s.range)?;
        }
        Ok(data)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = ByteWriter::new(TAG, VERSION);
        w.len(self.columns.len());
        for c in &self.columns {
            w.str(&c.name);
            w.f64(c.min);
            w.f64(c.range);
        }
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<MinMax, StepError> {
        let mut r = ByteReader::new(bytes, TAG, VERSION)?;
        let n = r.u64()?;
        let mut columns = Vec::new();
        for _ in 0..n {
            columns.push(ColumnRange {
                name: r.str()?,
                min: r.f64()?,
                range: r.f64()?,
            });
        }
        r.finish()?;
        Ok(MinMax { columns })
    }
}

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

#[cfg(test)]
mod tests;
