//! The fitted state of `ordinal-encode` ([`Encoder`]) and its
//! encoding (tag `ORDE`, the SDK's little-endian `codec`, every f64 exact).
//! Not for the params or the WIT glue: those are in `lib.rs`.

use sluice_sdk::categories::{CategoryMap, fit_map, fitted_column, read_map, write_map};
use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::{Column, StepError, Table, Values};

const TAG: [u8; 4] = *b"ORDE";
const VERSION: u8 = 1;

/// The fitted state.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoder {
    pub unknown_value: f64,
    pub columns: CategoryMap,
}

impl Encoder {
    pub fn fit(data: &Table, names: &[String], unknown_value: f64) -> Result<Encoder, StepError> {
        Ok(Encoder {
            unknown_value,
            columns: fit_map(data, names)?,
        })
    }

    pub fn apply(&self, mut data: Table) -> Result<Table, StepError> {
        for (name, cats) in &self.columns {
            let i = fitted_column(&data, name, cats)?;
            let column = &data.columns[i];
            let codes = cats
                .codes(column)
                .into_iter()
                .map(|code| match code {
                    None => f64::NAN,
                    Some(None) => self.unknown_value,
                    Some(Some(k)) => k as f64,
                })
                .collect();
            let valid = column.valid.clone();
            data.columns[i] = Column {
                name: name.clone(),
                values: Values::F64(codes),
                valid,
            };
        }
        Ok(data)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = ByteWriter::new(TAG, VERSION);
        w.f64(self.unknown_value);
        write_map(&mut w, &self.columns);
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Encoder, StepError> {
        let mut r = ByteReader::new(bytes, TAG, VERSION)?;
        let unknown_value = r.f64()?;
        let columns = read_map(&mut r)?;
        r.finish()?;
        Ok(Encoder {
            unknown_value,
            columns,
        })
    }
}
