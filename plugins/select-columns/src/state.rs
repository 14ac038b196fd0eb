//! The fitted state of `select-columns` ([`Selection`]) and its
//! encoding (tag `SELC`, the SDK's little-endian `codec`, every f64 exact).
//! Not for the params or the WIT glue: those are in `lib.rs`.

use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::{StepError, Table};

const TAG: [u8; 4] = *b"SELC";
const VERSION: u8 = 1;

/// The fitted state: the output columns, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    pub columns: Vec<String>,
}

impl Selection {
    pub fn fit(data: &Table, keep: &[String], drop: &[String]) -> Result<Selection, StepError> {
        let missing: Vec<&str> = keep
            .iter()
            .chain(drop)
            .filter(|n| !data.contains(n))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(StepError::invalid_input(format!(
                "no column(s) {}; columns: {}",
                missing
                    .iter()
                    .map(|n| format!("'{n}'"))
                    .collect::<Vec<_>>()
                    .join(", "),
                data.names().join(", ")
            )));
        }
        let base: Vec<String> = if keep.is_empty() {
            data.names().into_iter().map(String::from).collect()
        } else {
            keep.to_vec()
        };
        let columns: Vec<String> = base.into_iter().filter(|n| !drop.contains(n)).collect();
        if columns.is_empty() {
            return Err(StepError::invalid_params(
                "params 'keep' and 'drop' leave no column",
            ));
        }
        Ok(Selection { columns })
    }

    pub fn apply(&self, mut data: Table) -> Result<Table, StepError> {
        let mut out = Table::new();
        for name in &self.columns {
            let column = data.take(name).map_err(|_| {
                StepError::invalid_input(format!(
                    "column '{name}' was selected when fitted but is not in the data; columns: {}",
                    data.names().join(", ")
                ))
            })?;
            out.push(column);
        }
        Ok(out)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = ByteWriter::new(TAG, VERSION);
        w.strs(&self.columns);
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Selection, StepError> {
        let mut r = ByteReader::new(bytes, TAG, VERSION)?;
        let columns = r.strs()?;
        r.finish()?;
        Ok(Selection { columns })
    }
}
