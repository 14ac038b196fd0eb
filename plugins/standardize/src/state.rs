//! The fitted state of `standardize` ([`Scaler`]) and its encoding (tag
//! `STDZ`, the SDK's little-endian `codec`, every f64 exact).
//! Not for the params or the WIT glue: those are in `lib.rs`.

use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::columns::{
    ColumnAffine, apply_affine, numeric_columns, present_values_ref, read_affine, write_affine,
};
use sluice_sdk::{StepError, Table};

use crate::mean_std;

const TAG: [u8; 4] = *b"STDZ";
const VERSION: u8 = 1;

/// The fitted state: per fitted column (the listed ones in the order
/// listed, or every numeric column in table order), its mean (the
/// shift) and population standard deviation (the scale, 1 when that is 0).
#[derive(Debug, Clone, PartialEq)]
pub struct Scaler {
    pub columns: Vec<ColumnAffine>,
}

impl Scaler {
    /// Fits the listed columns, or every numeric column when `names` is
    /// empty. A listed column that is missing or not numeric is an
    /// invalid-input error.
    pub fn fit(data: &Table, names: &[String]) -> Result<Scaler, StepError> {
        let columns = numeric_columns(data, names, "standardize")?
            .into_iter()
            .map(|c| {
                let (mean, std) = mean_std(&present_values_ref(c));
                ColumnAffine::fitted(c.name.clone(), mean, std)
            })
            .collect();
        Ok(Scaler { columns })
    }

    pub fn apply(&self, data: Table) -> Result<Table, StepError> {
        apply_affine(data, &self.columns)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = ByteWriter::new(TAG, VERSION);
        write_affine(&mut w, &self.columns);
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Scaler, StepError> {
        let mut r = ByteReader::new(bytes, TAG, VERSION)?;
        let columns = read_affine(&mut r)?;
        r.finish()?;
        Ok(Scaler { columns })
    }
}
