//! `select-columns`: a transform that keeps, drops and reorders columns.
//!
//! Params:
//! - `keep` (text, default `""`): comma-separated columns to keep, in the
//!   output order; `""` keeps every column in table order.
//! - `drop` (text, default `""`): comma-separated columns to remove from
//!   that list.
//!
//! - `fit` checks that every name in `keep` and `drop` is a column of the
//!   data (an invalid-input error names all the missing ones), and stores
//!   the resulting list. A name given twice in one param, or a selection
//!   that leaves no column, is an invalid-params error.
//! - `apply` outputs exactly the stored columns in the stored order,
//!   unchanged (values, types and null masks included); every other column
//!   is dropped. A stored column missing from the data is an invalid-input
//!   error.

use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::{ParamSpec, Params, PluginInfo, StepError, Table, Transform};

pub use sluice_sdk::columns::parse_names;

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

pub struct SelectColumns;

impl Transform for SelectColumns {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "select-columns",
            env!("CARGO_PKG_VERSION"),
            "Keeps, drops and reorders columns; the selection is fixed at fit time.",
        )
        .param(ParamSpec::text(
            "keep",
            "",
            "comma-separated columns to keep, in output order; empty keeps all columns",
        ))
        .param(ParamSpec::text(
            "drop",
            "",
            "comma-separated columns to drop",
        ))
    }

    fn fit(data: Table, params: Params) -> Result<Vec<u8>, StepError> {
        let keep = parse_names(params.text("keep")?, "keep")?;
        let drop = parse_names(params.text("drop")?, "drop")?;
        Ok(Selection::fit(&data, &keep, &drop)?.to_bytes())
    }

    fn apply(state: Vec<u8>, data: Table) -> Result<Table, StepError> {
        Selection::from_bytes(&state)?.apply(data)
    }
}

sluice_sdk::export_transform!(SelectColumns);

#[cfg(test)]
mod tests;
