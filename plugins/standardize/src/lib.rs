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

use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::math;
use sluice_sdk::{Params, PluginInfo, StepError, Table, Transform};

use sluice_sdk::columns::{map_fitted_numeric, present_values_ref};

const TAG: [u8; 4] = *b"STDZ";
const VERSION: u8 = 1;

/// The centre and scale of one column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnScale {
    pub name: String,
    pub mean: f64,
    pub scale: f64,
}

/// The fitted state: one [`ColumnScale`] per numeric column, in table order.
#[derive(Debug, Clone, PartialEq)]
pub struct Scaler {
    pub columns: Vec<ColumnScale>,
}

impl Scaler {
    pub fn fit(data: &Table) -> Scaler {
        let columns = data
            .columns()
            .iter()
            .filter(|c| c.kind().is_numeric())
            .map(|c| {
                let (mean, std) = mean_std(&present_values_ref(c));
                ColumnScale {
                    name: c.name.clone(),
                    mean,
                    scale: if std == 0.0 { 1.0 } else { std },
                }
            })
            .collect();
        Scaler { columns }
    }

    pub fn apply(&self, mut data: Table) -> Result<Table, StepError> {
        for s in &self.columns {
            map_fitted_numeric(&mut data, &s.name, |x| (x - s.mean) / s.scale)?;
        }
        Ok(data)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = ByteWriter::new(TAG, VERSION);
        w.len(self.columns.len());
        for c in &self.columns {
            w.str(&c.name);
            w.f64(c.mean);
            w.f64(c.scale);
        }
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Scaler, StepError> {
        let mut r = ByteReader::new(bytes, TAG, VERSION)?;
        let n = r.u64()?;
        let mut columns = Vec::new();
        for _ in 0..n {
            columns.push(ColumnScale {
                name: r.str()?,
                mean: r.f64()?,
                scale: r.f64()?,
            });
        }
        r.finish()?;
        Ok(Scaler { columns })
    }
}

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

#[cfg(test)]
mod tests;
