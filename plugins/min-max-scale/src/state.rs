//! The fitted state of `min-max-scale` ([`ColumnRange`], [`MinMax`]) and its
//! encoding (tag `MMSC`, the SDK's little-endian `codec`, every f64 exact).
//! Not for the params or the WIT glue: those are in `lib.rs`.

use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::columns::{map_fitted_numeric, numeric_columns, present_values};
use sluice_sdk::{StepError, Table};

use crate::min_max;

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
