//! `one-hot`: a transform that replaces categorical columns with 0/1
//! indicator columns, like scikit-learn's `OneHotEncoder` (dense output,
//! no `drop`), rare categories grouped as its `min_frequency` and
//! `max_categories` do.
//!
//! Params:
//! - `columns` (text, default `""`): comma-separated columns to encode
//!   (string, bool or i64); `""` encodes every string and bool column.
//! - `handle_unknown` (text, default `ignore`): what `apply` does with a
//!   category not seen by `fit`. `ignore` writes all zeros for that row
//!   (scikit-learn's `handle_unknown='ignore'`); `error` fails with an
//!   invalid-input error naming the column, the value and the row;
//!   `infrequent_if_exist` sets the column's infrequent indicator, or
//!   writes all zeros when the column has no infrequent categories.
//! - `min_frequency` (number, default 0 = off): a category seen in fewer
//!   rows than this (an absolute count when >= 1, a fraction of the
//!   fitted rows, nulls included, when in (0, 1)) is infrequent.
//! - `max_categories` (integer, default 0 = no limit): at most this many
//!   indicator columns per encoded column, the infrequent one included.
//!
//! - `fit` learns the sorted distinct present (non-null) values of each
//!   column: strings by byte order (= Unicode code point order, as Python
//!   sorts), i64 numerically, bools `false` before `true`. A listed column
//!   that is missing, or f64, is an invalid-input error. It then marks the
//!   infrequent categories exactly as scikit-learn's
//!   `_identify_infrequent`: those below `min_frequency`; then, when the
//!   frequent ones plus one infrequent column exceed `max_categories`, all
//!   but the `max_categories - 1` most frequent, ties in count broken by a
//!   stable sort on the count (of equal counts, the categories later in
//!   the sorted order stay frequent). A column that would make more than
//!   100 indicator columns, or at least 10 from distinct values that are
//!   90% or more of its present rows (an id column), gets a warning in the
//!   step's log (`sluice run` prints it) naming the column and the params
//!   that bound it; the step still succeeds.
//! - `apply` replaces each fitted column, in place, with one f64 column per
//!   frequent category named `<col>=<category>` (the category as text:
//!   `true`, `-3`, `red`), in category order, then, when the column has
//!   infrequent categories, one named `<col>=infrequent` (scikit-learn's
//!   `<col>_infrequent_sklearn`) that is 1.0 for any of them. A column
//!   holds 1.0 where the row has that category and 0.0 elsewhere. A null
//!   row gets 0.0 in every indicator column (scikit-learn would treat a
//!   missing value as a category of its own), and the indicator columns
//!   have no null mask. A column whose fit saw no present value yields no
//!   columns. Other columns pass unchanged. A fitted column missing from
//!   the data, of another type than at fit time, or an indicator name that
//!   clashes with an existing column (a frequent category literally named
//!   `infrequent` beside the infrequent column, say), is an invalid-input
//!   error.

mod infrequent;
#[cfg(test)]
mod parity_tests;
mod state;
#[cfg(test)]
mod tests;

pub use infrequent::{Grouping, high_cardinality_warning};
use sluice_sdk::{ParamSpec, Params, PluginInfo, StepError, Table, Transform};
pub use state::{Encoder, Unknown};

pub use sluice_sdk::categories::{Categories, select};
pub use sluice_sdk::columns::parse_names;

pub struct OneHot;

impl Transform for OneHot {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "one-hot",
            env!("CARGO_PKG_VERSION"),
            "Replaces categorical columns with one 0/1 f64 column per fitted category, \
             named <col>=<category>, rare ones grouped into <col>=infrequent by min_frequency \
             and max_categories (like scikit-learn's OneHotEncoder); warns of a column that \
             makes many columns.",
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
                "unseen category at apply: ignore (all zeros), error, or infrequent_if_exist \
                 (the infrequent column when there is one, else all zeros)",
            )
            .choices(&["ignore", "error", "infrequent_if_exist"]),
        )
        .param(
            ParamSpec::number(
                "min_frequency",
                0.0,
                "categories in fewer rows than this (a count if >= 1, a fraction of the rows if \
                 below 1) go to the <col>=infrequent column; 0 is off",
            )
            .at_least(0.0),
        )
        .param(
            ParamSpec::integer(
                "max_categories",
                0,
                "at most this many columns per encoded column, the infrequent one included \
                 (the rarest categories grouped); 0 is no limit",
            )
            .at_least(0.0),
        )
    }

    fn fit(data: Table, params: Params) -> Result<Vec<u8>, StepError> {
        let handle_unknown = Unknown::parse(params.text("handle_unknown")?)?;
        let names = parse_names(params.text("columns")?, "columns")?;
        let min_frequency = params.number("min_frequency")?;
        if !(min_frequency >= 0.0 && min_frequency.is_finite()) {
            return Err(StepError::invalid_params(format!(
                "param 'min_frequency' must be 0 (off), a fraction in (0, 1) or a count >= 1, \
                 got {min_frequency}"
            )));
        }
        let max_categories = params.integer("max_categories")?;
        let max_categories = usize::try_from(max_categories).map_err(|_| {
            StepError::invalid_params(format!(
                "param 'max_categories' must be 0 (no limit) or a positive count, \
                 got {max_categories}"
            ))
        })?;
        let grouping = Grouping {
            min_frequency,
            max_categories,
        };
        let (encoder, warnings) = Encoder::fit(&data, &names, handle_unknown, grouping)?;
        for warning in warnings {
            sluice_sdk::log::warn(warning);
        }
        Ok(encoder.to_bytes())
    }

    fn apply(state: Vec<u8>, data: Table) -> Result<Table, StepError> {
        Encoder::from_bytes(&state)?.apply(data)
    }
}

sluice_sdk::export_transform!(OneHot);
