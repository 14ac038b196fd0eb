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

mod state;
#[cfg(test)]
mod tests;

use sluice_sdk::{ParamSpec, Params, PluginInfo, StepError, Table, Transform};
pub use state::Encoder;

pub use sluice_sdk::categories::{Categories, select};
pub use sluice_sdk::columns::parse_names;

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
        .param(
            ParamSpec::text(
                "handle_unknown",
                "ignore",
                "unseen category at apply: ignore (all zeros) or error",
            )
            .choices(&["ignore", "error"]),
        )
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
