//! The fitted state of `ordinal-encode` ([`Encoder`]) and its
//! encoding (tag `ORDE`, the SDK's little-endian `codec`, every f64 exact).
//! Not for the params or the WIT glue: those are in `lib.rs`.

use sluice_sdk::categories::{Categories, select};
use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::columns::fitted_position;
use sluice_sdk::{Column, StepError, Table, Values};

const TAG: [u8; 4] = *b"ORDE";
const VERSION: u8 = 1;

/// The fitted state.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoder {
    pub unknown_value: f64,
    pub columns: Vec<(String, Categories)>,
}

impl Encoder {
    pub fn fit(data: &Table, names: &[String], unknown_value: f64) -> Result<Encoder, StepError> {
        let columns = select(data, names)?
            .into_iter()
            .map(|c| Ok((c.name.clone(), Categories::fit(c)?)))
            .collect::<Result<_, StepError>>()?;
        Ok(Encoder {
            unknown_value,
            columns,
        })
    }

    pub fn apply(&self, mut data: Table) -> Result<Table, StepError> {
        for (name, cats) in &self.columns {
            let i = fitted_position(&data, name)?;
            let column = &data.columns[i];
            if column.kind() != cats.kind() {
                return Err(StepError::invalid_input(format!(
                    "column '{name}' was {} when fitted but is {} now",
                    cats.kind(),
                    column.kind()
                )));
            }
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
        w.len(self.columns.len());
        for (name, cats) in &self.columns {
            w.str(name);
            cats.write(&mut w);
        }
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Encoder, StepError> {
        let mut r = ByteReader::new(bytes, TAG, VERSION)?;
        let unknown_value = r.f64()?;
        let n = r.u64()?;
        let mut columns = Vec::new();
        for _ in 0..n {
            let name = r.str()?;
            columns.push((name, Categories::read(&mut r)?));
        }
        r.finish()?;
        Ok(Encoder {
            unknown_value,
            columns,
        })
    }
}
