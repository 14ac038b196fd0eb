//! Parity with scikit-learn 1.9.1's `ColumnTransformer([("t",
//! SimpleImputer(strategy=...), COLUMNS)], remainder="passthrough")` on a
//! table with NaN in every column (`plugins/parity/encoder_reference.json`,
//! written by `make_encoder_reference.py`): the listed columns filled, the
//! others unchanged, NaN included.

use super::*;
use sluice_sdk::testing::{self, text};

#[path = "../../parity/column_cases.rs"]
mod column_cases;

#[test]
fn parity_with_scikit_learn_column_transformer() {
    let checked = column_cases::check("impute", 1e-12, |table, columns, case| {
        let strategy = case["strategy"].as_str().unwrap();
        let params = testing::params(
            &Impute::describe(),
            &[("strategy", text(strategy)), ("columns", text(columns))],
        );
        let state = Impute::fit(table.clone(), params).unwrap();
        Impute::apply(state, table).unwrap()
    });
    assert_eq!(checked, 3);
}
