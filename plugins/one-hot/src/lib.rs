//! `one-hot`: a transform that replaces categorical columns with 0/1
//! indicator columns, like scikit-learn's `OneHotEncoder` (dense output,
//! no `drop`).
//!
//! Params:
//! - `columns` (text, default `""`): comma-separated columns to encode
//!   (string, bool or i64); `""` encodes every string and bool column.
//! - `handle_unknown` (text, default `ignore`): what `apply` does with a
//!   category not seen by `fit`. `ignore` writes all zeros for that row
//!   (scikit-learn's `handle_unknown='ignore'`); `error` fails with an
//!   invalid-input error naming the column, the value and the row.
//!
//! - `fit` learns the sorted distinct present (non-null) values of each
//!   column: strings by byte order (= Unicode code point order, as Python
//!   sorts), i64 numerically, bools `false` before `true`. A listed column
//!   that is missing, or f64, is an invalid-input error.
//! - `apply` replaces each fitted column, in place, with one f64 column per
//!   category named `<col>=<category>` (the category as text: `true`,
//!   `-3`, `red`), holding 1.0 where the row has that category and 0.0
//!   elsewhere. A null row gets 0.0 in every indicator column, and the
//!   indicator columns have no null mask. A column whose fit saw no present
//!   value yields no columns. Other columns pass unchanged. A fitted column
//!   missing from the data, of another type than at fit time, or an
//!   indicator name that clashes with an existing column, is an
//!   invalid-input error.

use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::{Column, ParamSpec, Params, PluginInfo, StepError, Table, Transform};

pub use sluice_sdk::categories::{Categories, select};
use sluice_sdk::columns::fitted_position;
pub use sluice_sdk::columns::parse_names;

const TAG: [u8; 4] = *b"OHOT";
const VERSION: u8 = 1;

/// The fitted state.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoder {
    /// Fail on unknown categories (`handle_unknown = error`).
    pub error_on_unknown: bool,
    pub columns: Vec<(String, Categories)>,
}

impl Encoder {
    pub fn fit(
        data: &Table,
        names: &[String],
        error_on_unknown: bool,
    ) -> Result<Encoder, StepError> {
        let columns = select(data, names)?
            .into_iter()
            .map(|c| Ok((c.name.clone(), Categories::fit(c)?)))
            .collect::<Result<_, StepError>>()?;
        Ok(Encoder {
            error_on_unknown,
            columns,
        })
    }

    pub fn apply(&self, data: Table) -> Result<Table, StepError> {
        for (name, cats) in &self.columns {
            let c = &data.columns[fitted_position(&data, name)?];
            if c.kind() != cats.kind() {
                return Err(StepError::invalid_input(format!(
                    "column '{name}' was {} when fitted but is {} now",
                    cats.kind(),
                    c.kind()
                )));
            }
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
        w.len(self.columns.len());
        for (name, cats) in &self.columns {
            w.str(name);
            cats.write(&mut w);
        }
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Encoder, StepError> {
        let mut r = ByteReader::new(bytes, TAG, VERSION)?;
        let error_on_unknown = r.bool()?;
        let n = r.u64()?;
        let mut columns = Vec::new();
        for _ in 0..n {
            let name = r.str()?;
            columns.push((name, Categories::read(&mut r)?));
        }
        r.finish()?;
        Ok(Encoder {
            error_on_unknown,
            columns,
        })
    }
}

pub struct OneHot;

impl Transform for OneHot {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "one-hot",
            env!("CARGO_PKG_VERSION"),
            "Replaces categorical columns with one 0/1 f64 column per fitted category, \
             named <col>=<category> (like scikit-learn's OneHotEncoder).",
        )
        .param(ParamSpec::text(
            "columns",
            "",
            "comma-separated columns to encode (string, bool or i64); \
             empty encodes every string and bool column",
        ))
        .param(ParamSpec::text(
            "handle_unknown",
            "ignore",
            "unseen category at apply: ignore (all zeros) or error",
        ))
    }

    fn fit(data: Table, params: Params) -> Result<Vec<u8>, StepError> {
        let error_on_unknown = match params.text("handle_unknown")? {
            "ignore" => false,
            "error" => true,
            other => {
                return Err(StepError::invalid_params(format!(
                    "param 'handle_unknown' must be 'ignore' or 'error', got '{other}'"
                )));
            }
        };
        let names = parse_names(params.text("columns")?, "columns")?;
        Ok(Encoder::fit(&data, &names, error_on_unknown)?.to_bytes())
    }

    fn apply(state: Vec<u8>, data: Table) -> Result<Table, StepError> {
        Encoder::from_bytes(&state)?.apply(data)
    }
}

sluice_sdk::export_transform!(OneHot);

#[cfg(test)]
mod tests;
