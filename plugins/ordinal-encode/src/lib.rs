//! `ordinal-encode`: a transform that maps categories to f64 codes
//! `0..n-1`, like scikit-learn's `OrdinalEncoder(handle_unknown=
//! 'use_encoded_value', unknown_value=-1)`.
//!
//! Params:
//! - `columns` (text, default `""`): comma-separated columns to encode
//!   (string, bool or i64); `""` encodes every string and bool column.
//! - `unknown_value` (number, default `-1.0`): the code `apply` writes for a
//!   category not seen by `fit`.
//!
//! - `fit` learns the sorted distinct present (non-null) values of each
//!   column: strings by byte order (= Unicode code point order, as Python
//!   sorts), i64 numerically, bools `false` before `true`. A listed column
//!   that is missing, or f64, is an invalid-input error.
//! - `apply` replaces each fitted column, in place and under the same name,
//!   with an f64 column of the category's position in that sorted list, or
//!   `unknown_value` for an unseen category. Null rows stay null (the mask
//!   is kept; the value under it is NaN, like scikit-learn's
//!   `encoded_missing_value=np.nan`). Other columns pass unchanged. A fitted
//!   column missing from the data, or of another type than at fit time, is
//!   an invalid-input error.

use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::{Column, ParamSpec, Params, PluginInfo, StepError, Table, Transform, Values};

pub use sluice_sdk::categories::{Categories, select};
use sluice_sdk::columns::fitted_position;
pub use sluice_sdk::columns::parse_names;

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

pub struct OrdinalEncode;

impl Transform for OrdinalEncode {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "ordinal-encode",
            env!("CARGO_PKG_VERSION"),
            "Maps each categorical column to f64 codes 0..n-1 of its sorted fitted \
             categories (like scikit-learn's OrdinalEncoder).",
        )
        .param(ParamSpec::text(
            "columns",
            "",
            "comma-separated columns to encode (string, bool or i64); \
             empty encodes every string and bool column",
        ))
        .param(ParamSpec::number(
            "unknown_value",
            -1.0,
            "code written for a category not seen at fit",
        ))
    }

    fn fit(data: Table, params: Params) -> Result<Vec<u8>, StepError> {
        let unknown_value = params.number("unknown_value")?;
        let names = parse_names(params.text("columns")?, "columns")?;
        Ok(Encoder::fit(&data, &names, unknown_value)?.to_bytes())
    }

    fn apply(state: Vec<u8>, data: Table) -> Result<Table, StepError> {
        Encoder::from_bytes(&state)?.apply(data)
    }
}

sluice_sdk::export_transform!(OrdinalEncode);

#[cfg(test)]
mod tests;
