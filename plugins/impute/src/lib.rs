//! `impute`: a transform that fills missing values, as scikit-learn's
//! `SimpleImputer`.
//!
//! Params:
//!
//! - `strategy` (text, default `mean`): `mean`, `median`, `most_frequent`
//!   or `constant`.
//! - `fill_value` (text, default `""`): the fill of the `constant`
//!   strategy; ignored by the others.
//! - `columns` (text, default `""`): comma-separated names of the columns
//!   to fill, in the state in that order; `""` fills every column the
//!   strategy fills (below: mean and median only the numeric ones). A listed column that is missing, or not
//!   numeric for `mean` or `median`, is an invalid-input error. Listed
//!   columns are what scikit-learn's `ColumnTransformer` with a
//!   `SimpleImputer` on them and `remainder="passthrough"` gives, in place.
//!
//! A value is missing when it is null, or NaN in an f64 column (as
//! scikit-learn's `SimpleImputer` treats NaN).
//!
//! `mean` and `median`:
//!
//! - `fit` learns one statistic per numeric (f64 or i64) column over its
//!   present values; a column with none gets 0.0.
//! - `apply` fills the missing values and drops the null mask. f64 columns
//!   stay f64. An i64 column with nulls becomes f64 (the statistic is rarely
//!   a whole number); one without nulls stays i64. Non-numeric columns pass
//!   unchanged, mask included.
//!
//! `most_frequent` and `constant` fill every column, f64, i64, string and
//! bool, and drop its null mask:
//!
//! - `most_frequent` learns each column's most frequent present value; on a
//!   tie the smallest value wins (numeric order for numbers, byte-wise, i.e.
//!   code-point, order for strings, `false < true`), as scikit-learn. A
//!   column with no present value gets 0 (f64 or i64), `""` (string) or
//!   `false` (bool); scikit-learn would drop it instead.
//! - `constant` fills with `fill_value`. An empty `fill_value` means 0 for
//!   numeric columns, `"missing_value"` for string columns (scikit-learn's
//!   default) and `false` for bool columns. Otherwise it is parsed for each
//!   numeric column (surrounding spaces ignored; a whole number keeps an
//!   i64 column i64, another number such as `2.5` turns an i64 column with
//!   nulls into f64, as the mean does), used as-is for string columns, and
//!   must be `true`/`1` or `false`/`0` for bool columns. A fill value that
//!   does not parse for a column, or is NaN, is an invalid-params error
//!   naming the column.
//! - i64 columns stay i64 when the fill is a whole number; f64 columns stay
//!   f64.
//!
//! In `apply`, columns the state does not know pass unchanged. A state
//! column missing from the data, or whose kind changed (numeric, string,
//! bool) since `fit`, is an invalid-input error.
//!
//! State format: tag `IMPT`. Version 1 (written by `mean` and `median`,
//! unchanged from earlier releases) holds one f64 per numeric column;
//! version 2 (written by `most_frequent` and `constant`) holds a typed fill
//! per column. Both versions are read.

mod fill;
#[cfg(test)]
mod parity_tests;
mod state;
#[cfg(test)]
mod tests;

pub use fill::Fill;
pub use state::{FillValues, State, TypedFills};

use fill::{from_total_order_key, most_frequent_sorted, total_order_key};
use sluice_sdk::{ParamSpec, Params, PluginInfo, StepError, Table, Transform};

pub use sluice_sdk::columns::parse_names;

/// The string fill of the `constant` strategy when `fill_value` is empty.
pub const DEFAULT_STRING_FILL: &str = "missing_value";

/// How a column's fill value is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Mean,
    Median,
    MostFrequent,
    Constant,
}

impl Strategy {
    /// The name the `strategy` param gives it.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Mean => "mean",
            Strategy::Median => "median",
            Strategy::MostFrequent => "most_frequent",
            Strategy::Constant => "constant",
        }
    }

    pub fn parse(text: &str) -> Result<Strategy, StepError> {
        match text {
            "mean" => Ok(Strategy::Mean),
            "median" => Ok(Strategy::Median),
            "most_frequent" => Ok(Strategy::MostFrequent),
            "constant" => Ok(Strategy::Constant),
            other => Err(StepError::invalid_params(format!(
                "param 'strategy' must be 'mean', 'median', 'most_frequent' or 'constant', \
                 got '{other}'"
            ))),
        }
    }

    /// Whether the strategy fills every column kind (with a typed state)
    /// rather than numeric columns only.
    pub fn is_typed(self) -> bool {
        matches!(self, Strategy::MostFrequent | Strategy::Constant)
    }

    /// The statistic over `values` (0.0 when empty). `MostFrequent` is the
    /// most frequent value (the smallest on a tie); `Constant` is 0.0, the
    /// numeric fill of an empty `fill_value`.
    pub fn statistic(self, mut values: Vec<f64>) -> f64 {
        if values.is_empty() {
            return 0.0;
        }
        match self {
            Strategy::Mean => values.iter().sum::<f64>() / values.len() as f64,
            Strategy::Median => {
                // The middle of the sorted values, found by selection (linear
                // time) instead of a sort; the same values bit for bit.
                // Selection runs on integer keys in `f64::total_cmp`'s order
                // (integer compares are cheaper), in the same buffer.
                let n = values.len();
                let mut keys: Vec<i64> = values.into_iter().map(total_order_key).collect();
                let (below, &mut middle, _) = keys.select_nth_unstable(n / 2);
                let middle = from_total_order_key(middle);
                if n % 2 == 1 {
                    middle
                } else {
                    let before = below
                        .iter()
                        .copied()
                        .max()
                        .expect("n is even and at least 2");
                    (from_total_order_key(before) + middle) / 2.0
                }
            }
            Strategy::MostFrequent => {
                values.sort_by(f64::total_cmp);
                most_frequent_sorted(&values, |a, b| a == b).unwrap_or(0.0)
            }
            Strategy::Constant => 0.0,
        }
    }
}

pub struct Impute;

impl Transform for Impute {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "impute",
            env!("CARGO_PKG_VERSION"),
            "Fills nulls (and NaN) with the column's mean or median (numeric columns), or its \
             most frequent value or a constant (every column), as scikit-learn's SimpleImputer.",
        )
        .param(
            ParamSpec::text(
                "strategy",
                "mean",
                "how to fill: mean or median (numeric columns only), most_frequent (smallest on a \
             tie; 0, \"\" or false for an all-null column) or constant (fill_value; every column)",
            )
            .choices(&["mean", "median", "most_frequent", "constant"]),
        )
        .param(ParamSpec::text(
            "fill_value",
            "",
            "the constant strategy's fill, parsed per column kind; empty means 0 (numeric), \
             \"missing_value\" (string) or false (bool)",
        ))
        .param(ParamSpec::text(
            "columns",
            "",
            "comma-separated columns to fill (numeric ones for mean and median); empty fills \
             every column the strategy fills",
        ))
    }

    fn fit(data: Table, params: Params) -> Result<Vec<u8>, StepError> {
        let strategy = Strategy::parse(params.text("strategy")?)?;
        let fill_value = params.text("fill_value")?;
        let names = parse_names(params.text("columns")?, "columns")?;
        Ok(State::fit(&data, &names, strategy, fill_value)?.to_bytes())
    }

    fn apply(state: Vec<u8>, data: Table) -> Result<Table, StepError> {
        State::from_bytes(&state)?.apply(data)
    }
}

sluice_sdk::export_transform!(Impute);
