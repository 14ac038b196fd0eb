//! The fitted state of `min-max-scale` ([`MinMax`]) and its encoding (tag
//! `MMSC`, the SDK's little-endian `codec`, every f64 exact).
//! Not for the params or the WIT glue: those are in `lib.rs`.

use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::columns::{
    ColumnAffine, apply_affine, numeric_columns, present_values, read_affine, write_affine,
};
use sluice_sdk::{StepError, Table};

use crate::min_max;

const TAG: [u8; 4] = *b"MMSC";
const VERSION: u8 = 1;

/// The fitted state: per scaled column, its minimum (the shift) and
/// `max - min` (the scale, 1 when that is 0: a constant or empty column).
#[derive(Debug, Clone, PartialEq)]
pub struct MinMax {
    pub columns: Vec<ColumnAffine>,
}

impl MinMax {
    /// Fits the listed columns, or every numeric column when `names` is empty.
    pub fn fit(data: &Table, names: &[String]) -> Result<MinMax, StepError> {
        let selected = numeric_columns(data, names, "min-max-scale")?;
        let columns = selected
            .into_iter()
            .map(|c| {
                let (min, max) = min_max(&present_values(c));
                ColumnAffine::fitted(c.name.clone(), min, max - min)
            })
            .collect();
        Ok(MinMax { columns })
    }

    pub fn apply(&self, data: Table) -> Result<Table, StepError> {
        apply_affine(data, &self.columns)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = ByteWriter::new(TAG, VERSION);
        write_affine(&mut w, &self.columns);
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<MinMax, StepError> {
        let mut r = ByteReader::new(bytes, TAG, VERSION)?;
        let columns = read_affine(&mut r)?;
        r.finish()?;
        Ok(MinMax { columns })
    }
}
