//! The `columns` cases of `encoder_reference.json` (scikit-learn's
//! `ColumnTransformer` on a few listed columns, `remainder="passthrough"`),
//! shared by the parity tests of `plugins/standardize` and
//! `plugins/impute`, which include this file with `#[path]`.

use serde_json::Value;
use sluice_sdk::Table;
use sluice_sdk::testing::{assert_columns_match, nullable_f64s};

/// A reference's columns: name and values, `None` for NaN.
fn columns(v: &Value) -> Vec<(String, Vec<Option<f64>>)> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(name, values)| {
            let values = values.as_array().unwrap().iter().map(Value::as_f64);
            (name.clone(), values.collect())
        })
        .collect()
}

/// Runs every case of `plugin`: `fit_apply` gets the table (NaN as
/// nulls), the case (its `columns` joined by commas, and its other
/// params) and returns the plugin's output, which must match
/// scikit-learn's within `tol`. Returns how many cases ran.
pub fn check(plugin: &str, tol: f64, fit_apply: impl Fn(Table, &str, &Value) -> Table) -> usize {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../parity/encoder_reference.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let reference: Value = serde_json::from_str(&text).unwrap();
    let mut table = Table::new();
    for (name, values) in columns(&reference["columns"]["table"]) {
        table.push(nullable_f64s(&name, &values));
    }
    let mut checked = 0;
    for case in reference["columns"]["cases"].as_array().unwrap() {
        if case["plugin"] != plugin {
            continue;
        }
        let listed: Vec<&str> = case["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let out = fit_apply(table.clone(), &listed.join(","), case);
        assert_columns_match(&out, &columns(&case["output"]), tol);
        checked += 1;
    }
    checked
}
