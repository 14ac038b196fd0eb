//! Parity with scikit-learn 1.9.1's `ColumnTransformer([("t",
//! StandardScaler(), COLUMNS)], remainder="passthrough")` on a table with
//! NaN in every column (`plugins/parity/encoder_reference.json`, written
//! by `make_encoder_reference.py`): the listed columns scaled, the others
//! unchanged.

use super::*;
use sluice_sdk::testing;

#[path = "../../parity/column_cases.rs"]
mod column_cases;

#[test]
fn parity_with_scikit_learn_column_transformer() {
    let checked = column_cases::check("standardize", 1e-12, |table, columns, _| {
        let params = testing::params(
            &Standardize::describe(),
            &[("columns", testing::text(columns))],
        );
        let state = Standardize::fit(table.clone(), params).unwrap();
        Standardize::apply(state, table).unwrap()
    });
    assert_eq!(checked, 2);
}
