//! The fitted state of `bucketize` ([`Bins`]) and its
//! encoding (tag `BCKT`, the SDK's little-endian `codec`, every f64 exact).
//! Not for the params or the WIT glue: those are in `lib.rs`.

use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::columns::{map_fitted_numeric, numeric_columns, present_values};
use sluice_sdk::{StepError, Table};

use crate::{bin_of, quantile_edges};

const TAG: [u8; 4] = *b"BCKT";
const VERSION: u8 = 1;

/// The fitted state: each binned column's edges (at least two).
#[derive(Debug, Clone, PartialEq)]
pub struct Bins {
    pub columns: Vec<(String, Vec<f64>)>,
}

impl Bins {
    pub fn fit(data: &Table, names: &[String], n_bins: usize) -> Result<Bins, StepError> {
        let selected = numeric_columns(data, names, "bucketize")?;
        let columns = selected
            .into_iter()
            .map(|c| (c.name.clone(), quantile_edges(&present_values(c), n_bins)))
            .collect();
        Ok(Bins { columns })
    }

    pub fn apply(&self, mut data: Table) -> Result<Table, StepError> {
        for (name, edges) in &self.columns {
            map_fitted_numeric(&mut data, name, |x| bin_of(edges, x))?;
        }
        Ok(data)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = ByteWriter::new(TAG, VERSION);
        w.len(self.columns.len());
        for (name, edges) in &self.columns {
            w.str(name);
            w.f64s(edges);
        }
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Bins, StepError> {
        let mut r = ByteReader::new(bytes, TAG, VERSION)?;
        let n = r.u64()?;
        let mut columns = Vec::new();
        for _ in 0..n {
            let name = r.str()?;
            let edges = r.f64s()?;
            if edges.len() < 2 {
                return Err(StepError::invalid_input(format!(
                    "corrupt blob: column '{name}' has {} bin edges",
                    edges.len()
                )));
            }
            columns.push((name, edges));
        }
        r.finish()?;
        Ok(Bins { columns })
    }
}
