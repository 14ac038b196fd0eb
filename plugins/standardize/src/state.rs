//! The fitted state of `standardize` ([`ColumnScale`], [`Scaler`]) and its
//! encoding (tag `STDZ`, the SDK's little-endian `codec`, every f64 exact).
//! Not for the params or the WIT glue: those are in `lib.rs`.

use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::columns::{map_fitted_numeric, present_values_ref};
use sluice_sdk::{StepError, Table};

use crate::mean_std;

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
