//! The fitted state of `power-transform` ([`Method`], [`Power`]) and its
//! encoding (tag `POWR`, the SDK's little-endian `codec`, every f64 exact).
//! Not for the params or the WIT glue: those are in `lib.rs`.

use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::columns::{fitted_position, numeric_columns, present_values};
use sluice_sdk::{Column, StepError, Table, Values};

use crate::{fit_lambda, yeo_johnson};

const TAG: [u8; 4] = *b"POWR";
const VERSION: u8 = 1;

/// How the columns are transformed.
#[derive(Debug, Clone, PartialEq)]
pub enum Method {
    Log1p,
    /// One lambda per column.
    YeoJohnson(Vec<f64>),
}

/// The fitted state.
#[derive(Debug, Clone, PartialEq)]
pub struct Power {
    pub columns: Vec<String>,
    pub method: Method,
}

impl Power {
    pub fn fit(data: &Table, names: &[String], yeo_johnson: bool) -> Result<Power, StepError> {
        let selected = numeric_columns(data, names, "power-transform")?;
        let columns = selected.iter().map(|c| c.name.clone()).collect();
        let method = if yeo_johnson {
            Method::YeoJohnson(
                selected
                    .iter()
                    .map(|c| fit_lambda(&present_values(c)))
                    .collect(),
            )
        } else {
            Method::Log1p
        };
        Ok(Power { columns, method })
    }

    pub fn apply(&self, mut data: Table) -> Result<Table, StepError> {
        for (k, name) in self.columns.iter().enumerate() {
            let i = fitted_position(&data, name)?;
            let column = &data.columns[i];
            let values = match &column.values {
                Values::F64(v) => v.clone(),
                Values::I64(v) => v.iter().map(|&x| x as f64).collect(),
                other => {
                    return Err(StepError::invalid_input(format!(
                        "column '{name}' was numeric when fitted but is {} now",
                        other.kind()
                    )));
                }
            };
            let mut out = Vec::with_capacity(values.len());
            for (row, x) in values.into_iter().enumerate() {
                out.push(match &self.method {
                    Method::Log1p => {
                        if x <= -1.0 && !column.is_null(row) {
                            return Err(StepError::invalid_input(format!(
                                "column '{name}' has {x} at row {row}; log1p needs values > -1"
                            )));
                        }
                        x.ln_1p()
                    }
                    Method::YeoJohnson(lambdas) => yeo_johnson(x, lambdas[k]),
                });
            }
            let valid = column.valid.clone();
            data.columns[i] = Column {
                name: name.clone(),
                values: Values::F64(out),
                valid,
            };
        }
        Ok(data)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = ByteWriter::new(TAG, VERSION);
        w.strs(&self.columns);
        match &self.method {
            Method::Log1p => w.u8(0),
            Method::YeoJohnson(lambdas) => {
                w.u8(1);
                w.f64s(lambdas);
            }
        }
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Power, StepError> {
        let mut r = ByteReader::new(bytes, TAG, VERSION)?;
        let columns = r.strs()?;
        let method = match r.u8()? {
            0 => Method::Log1p,
            1 => {
                let lambdas = r.f64s()?;
                if lambdas.len() != columns.len() {
                    return Err(StepError::invalid_input(
                        "corrupt blob: lambda count differs from column count",
                    ));
                }
                Method::YeoJohnson(lambdas)
            }
            b => {
                return Err(StepError::invalid_input(format!(
                    "corrupt blob: unknown method {b}"
                )));
            }
        };
        r.finish()?;
        Ok(Power { columns, method })
    }
}
