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

mod state;
#[cfg(test)]
mod tests;

use sluice_sdk::{ParamSpec, Params, PluginInfo, StepError, Table, Transform};
pub use state::Encoder;

pub use sluice_sdk::categories::{Categories, select};
pub use sluice_sdk::columns::parse_names;

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
