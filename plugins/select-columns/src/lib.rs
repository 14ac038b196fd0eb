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

mod state;
#[cfg(test)]
mod tests;

use sluice_sdk::{ParamSpec, Params, PluginInfo, StepError, Table, Transform};
pub use state::Selection;

pub use sluice_sdk::columns::parse_names;

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
