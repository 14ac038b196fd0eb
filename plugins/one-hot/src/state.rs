//! The fitted state of `one-hot` ([`Encoder`]) and its
//! encoding (tag `OHOT`, the SDK's little-endian `codec`, every f64 exact).
//! Not for the params or the WIT glue: those are in `lib.rs`.

use sluice_sdk::categories::{CategoryMap, fit_map, fitted_column, read_map, write_map};
use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::{Column, StepError, Table};

const TAG: [u8; 4] = *b"OHOT";
const VERSION: u8 = 1;

/// The fitted state.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoder {
    /// Fail on unknown categories (`handle_unknown = error`).
    pub error_on_unknown: bool,
    pub columns: CategoryMap,
}

impl Encoder {
    pub fn fit(
        data: &Table,
        names: &[String],
        error_on_unknown: bool,
    ) -> Result<Encoder, StepError> {
        Ok(Encoder {
            error_on_unknown,
            columns: fit_map(data, names)?,
        })
    }

    pub fn apply(&self, data: Table) -> Result<Table, StepError> {
        for (name, cats) in &self.columns {
            fitted_column(&data, name, cats)?;
        }
        let rows = data.num_rows();
        let mut out = Table::new();
        for column in data.columns() {
            let Some((_, cats)) = self.columns.iter().find(|(n, _)| *n == column.name) else {
                out.push(column.clone());
                continue;
            };
            let mut indicators = vec![vec![0.0; rows]; cats.len()];
            for (row, code) in cats.codes(column).into_iter().enumerate() {
                match code {
                    Some(Some(k)) => indicators[k][row] = 1.0,
                    Some(None) if self.error_on_unknown => {
                        return Err(StepError::invalid_input(format!(
                            "column '{}' has category '{}' at row {row}, not seen when fitted",
                            column.name,
                            column.value_text(row).unwrap_or_default()
                        )));
                    }
                    _ => {}
                }
            }
            for (label, values) in cats.labels().into_iter().zip(indicators) {
                out.push(Column::f64(format!("{}={label}", column.name), values));
            }
        }
        let names = out.names();
        if let Some(dup) = (0..names.len())
            .find(|&i| names[..i].contains(&names[i]))
            .map(|i| names[i])
        {
            return Err(StepError::invalid_input(format!(
                "one-hot output column '{dup}' clashes with another column of that name"
            )));
        }
        Ok(out)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = ByteWriter::new(TAG, VERSION);
        w.bool(self.error_on_unknown);
        write_map(&mut w, &self.columns);
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Encoder, StepError> {
        let mut r = ByteReader::new(bytes, TAG, VERSION)?;
        let error_on_unknown = r.bool()?;
        let columns = read_map(&mut r)?;
        r.finish()?;
        Ok(Encoder {
            error_on_unknown,
            columns,
        })
    }
}
