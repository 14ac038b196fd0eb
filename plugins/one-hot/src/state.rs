//! The fitted state of `one-hot` ([`Encoder`]) and its encoding (tag
//! `OHOT`, the SDK's little-endian `codec`). Version 1 (no infrequent
//! categories, `handle_unknown` `ignore` or `error`: byte for byte what
//! earlier releases wrote) holds a flag and the categories; version 2 adds
//! the `handle_unknown` mode and each column's infrequent categories. Both
//! are read. Not for the params or the WIT glue: those are in `lib.rs`.

use sluice_sdk::categories::{CategoryMap, fit_map, fitted_column, read_map, write_map};
use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::{Column, StepError, Table};

use crate::infrequent::{Grouping, high_cardinality_warning};

const TAG: [u8; 4] = *b"OHOT";
/// The state version without infrequent categories.
const VERSION: u8 = 1;
/// The state version with infrequent categories or `infrequent_if_exist`.
const VERSION_GROUPED: u8 = 2;

/// What `apply` does with a category `fit` did not see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    /// All zeros for the row.
    Ignore,
    /// An invalid-input error naming the column, the value and the row.
    Error,
    /// The column's infrequent indicator, if it has one; else all zeros.
    InfrequentIfExist,
}

impl Unknown {
    /// Parses the `handle_unknown` param.
    pub fn parse(text: &str) -> Result<Unknown, StepError> {
        match text {
            "ignore" => Ok(Unknown::Ignore),
            "error" => Ok(Unknown::Error),
            "infrequent_if_exist" => Ok(Unknown::InfrequentIfExist),
            other => Err(StepError::invalid_params(format!(
                "param 'handle_unknown' must be 'ignore', 'error' or 'infrequent_if_exist', \
                 got '{other}'"
            ))),
        }
    }

    fn code(self) -> u8 {
        match self {
            Unknown::Ignore => 0,
            Unknown::Error => 1,
            Unknown::InfrequentIfExist => 2,
        }
    }
}

/// The fitted state.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoder {
    pub handle_unknown: Unknown,
    /// Every fitted category of each column, frequent or not.
    pub columns: CategoryMap,
    /// For each column of `columns`, in order, the positions of its
    /// infrequent categories (ascending; empty when it has none).
    pub infrequent: Vec<Vec<usize>>,
}

impl Encoder {
    /// Fits the categories of the columns `names` picks (every string and
    /// bool column when empty), groups the rare ones as `grouping` says,
    /// and returns the encoder with a high-cardinality warning for each
    /// column that makes many indicator columns.
    pub fn fit(
        data: &Table,
        names: &[String],
        handle_unknown: Unknown,
        grouping: Grouping,
    ) -> Result<(Encoder, Vec<String>), StepError> {
        let columns = fit_map(data, names)?;
        let mut infrequent = Vec::new();
        let mut warnings = Vec::new();
        for (name, cats) in &columns {
            let column = data.column(name)?;
            let mut counts = vec![0u64; cats.len()];
            let mut present = 0;
            for k in cats.codes(column).into_iter().flatten().flatten() {
                counts[k] += 1;
                present += 1;
            }
            let mask = grouping.infrequent(&counts, data.num_rows());
            let rare: Vec<usize> = (0..mask.len()).filter(|&k| mask[k]).collect();
            let outputs = cats.len() - rare.len() + usize::from(!rare.is_empty());
            warnings.extend(high_cardinality_warning(name, outputs, cats.len(), present));
            infrequent.push(rare);
        }
        let encoder = Encoder {
            handle_unknown,
            columns,
            infrequent,
        };
        Ok((encoder, warnings))
    }

    pub fn apply(&self, data: Table) -> Result<Table, StepError> {
        for (name, cats) in &self.columns {
            fitted_column(&data, name, cats)?;
        }
        let rows = data.num_rows();
        let mut out = Table::new();
        for column in data.columns() {
            let Some(index) = self.columns.iter().position(|(n, _)| *n == column.name) else {
                out.push(column.clone());
                continue;
            };
            let cats = &self.columns[index].1;
            let rare = &self.infrequent[index];
            // Each category's output column: its place among the frequent
            // ones, or the infrequent column after them.
            let frequent = cats.len() - rare.len();
            let mut slot = Vec::with_capacity(cats.len());
            let mut next = 0;
            for k in 0..cats.len() {
                if rare.binary_search(&k).is_ok() {
                    slot.push(frequent);
                } else {
                    slot.push(next);
                    next += 1;
                }
            }
            let has_infrequent = !rare.is_empty();
            let unknown_slot = match self.handle_unknown {
                Unknown::InfrequentIfExist if has_infrequent => Some(frequent),
                _ => None,
            };
            let mut indicators = vec![vec![0.0; rows]; frequent + usize::from(has_infrequent)];
            for (row, code) in cats.codes(column).into_iter().enumerate() {
                match code {
                    Some(Some(k)) => indicators[slot[k]][row] = 1.0,
                    Some(None) if self.handle_unknown == Unknown::Error => {
                        return Err(StepError::invalid_input(format!(
                            "column '{}' has category '{}' at row {row}, not seen when fitted",
                            column.name,
                            column.value_text(row).unwrap_or_default()
                        )));
                    }
                    Some(None) => {
                        if let Some(s) = unknown_slot {
                            indicators[s][row] = 1.0;
                        }
                    }
                    None => {}
                }
            }
            let labels = cats.labels();
            let mut names: Vec<String> = (0..cats.len())
                .filter(|k| rare.binary_search(k).is_err())
                .map(|k| format!("{}={}", column.name, labels[k]))
                .collect();
            if has_infrequent {
                names.push(format!("{}=infrequent", column.name));
            }
            for (name, values) in names.into_iter().zip(indicators) {
                out.push(Column::f64(name, values));
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

    /// Whether the state needs version 2: some infrequent category, or
    /// `infrequent_if_exist`.
    fn is_grouped(&self) -> bool {
        self.handle_unknown == Unknown::InfrequentIfExist
            || self.infrequent.iter().any(|r| !r.is_empty())
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        if !self.is_grouped() {
            let mut w = ByteWriter::new(TAG, VERSION);
            w.bool(self.handle_unknown == Unknown::Error);
            write_map(&mut w, &self.columns);
            return w.finish();
        }
        let mut w = ByteWriter::new(TAG, VERSION_GROUPED);
        w.u8(self.handle_unknown.code());
        write_map(&mut w, &self.columns);
        for rare in &self.infrequent {
            w.len(rare.len());
            for &k in rare {
                w.len(k);
            }
        }
        w.finish()
    }

    /// Reads a state of version 1 or 2.
    pub fn from_bytes(bytes: &[u8]) -> Result<Encoder, StepError> {
        if bytes.len() > 4 && bytes[..4] == TAG && bytes[4] == VERSION_GROUPED {
            let mut r = ByteReader::new(bytes, TAG, VERSION_GROUPED)?;
            let handle_unknown = match r.u8()? {
                0 => Unknown::Ignore,
                1 => Unknown::Error,
                2 => Unknown::InfrequentIfExist,
                b => {
                    return Err(StepError::invalid_input(format!(
                        "OHOT blob has unknown handle_unknown mode {b}"
                    )));
                }
            };
            let columns = read_map(&mut r)?;
            let mut infrequent = Vec::new();
            for (name, cats) in &columns {
                let n = r.u64()?;
                let mut rare = Vec::new();
                for _ in 0..n {
                    let k = usize::try_from(r.u64()?).unwrap_or(usize::MAX);
                    if k >= cats.len() || rare.last().is_some_and(|&last| last >= k) {
                        return Err(StepError::invalid_input(format!(
                            "OHOT blob has a bad infrequent category {k} for column '{name}'"
                        )));
                    }
                    rare.push(k);
                }
                infrequent.push(rare);
            }
            r.finish()?;
            return Ok(Encoder {
                handle_unknown,
                columns,
                infrequent,
            });
        }
        let mut r = ByteReader::new(bytes, TAG, VERSION)?;
        let handle_unknown = if r.bool()? {
            Unknown::Error
        } else {
            Unknown::Ignore
        };
        let columns = read_map(&mut r)?;
        r.finish()?;
        let infrequent = vec![Vec::new(); columns.len()];
        Ok(Encoder {
            handle_unknown,
            columns,
            infrequent,
        })
    }
}
