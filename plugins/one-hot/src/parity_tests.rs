//! Parity with scikit-learn 1.9.1's `OneHotEncoder(sparse_output=False)`
//! with `max_categories`, `min_frequency` and `handle_unknown`
//! (`plugins/parity/encoder_reference.json`, written by
//! `make_encoder_reference.py`): same columns, in the same order, with the
//! same values, on a table whose category counts tie at the cut.

use super::*;
use serde_json::Value;
use sluice_sdk::testing::{self, int, num, text};
use sluice_sdk::{Column, ParamValue};

fn reference() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../parity/encoder_reference.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn table(color: &Value, size: &Value) -> Table {
    let color: Vec<&str> = color
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let size = size
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    Table::new()
        .with(Column::strings("color", color))
        .with(Column::i64("size", size))
}

/// scikit-learn's output name in sluice's spelling: `color_e` is
/// `color=e`, `color_infrequent_sklearn` is `color=infrequent`.
fn sluice_name(sklearn: &str) -> String {
    let (column, rest) = sklearn.split_once('_').unwrap();
    let category = if rest == "infrequent_sklearn" {
        "infrequent"
    } else {
        rest
    };
    format!("{column}={category}")
}

/// The case's scikit-learn params as the plugin's; an integer
/// `min_frequency` is a count, a float one a fraction, as in scikit-learn.
fn params(case: &Value) -> Vec<(&'static str, ParamValue)> {
    let p = &case["params"];
    let mut out = vec![
        ("columns", text("color,size")),
        (
            "handle_unknown",
            text(p["handle_unknown"].as_str().unwrap()),
        ),
    ];
    if let Some(m) = p.get("max_categories") {
        out.push(("max_categories", int(m.as_i64().unwrap())));
    }
    if let Some(f) = p.get("min_frequency") {
        out.push(("min_frequency", num(f.as_f64().unwrap())));
    }
    out
}

fn assert_same(got: &Table, want: &Value, names: &[String], case: &Value) {
    assert_eq!(got.names(), names, "{case}");
    for (name, sklearn) in names.iter().zip(case["names"].as_array().unwrap()) {
        let want: Vec<f64> = want[sklearn.as_str().unwrap()]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(testing::f64s(got, name), want, "{name} in {case}");
    }
}

#[test]
fn parity_with_scikit_learn_max_categories_and_min_frequency() {
    let reference = reference();
    let data = &reference["one_hot"];
    let train = table(&data["color"], &data["size"]);
    let new = table(&data["new_color"], &data["new_size"]);
    let cases = data["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 10);
    for case in cases {
        let info = OneHot::describe();
        let params = testing::try_params(&info, &params(case)).unwrap();
        let state = OneHot::fit(train.clone(), params).unwrap();
        let names: Vec<String> = case["names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| sluice_name(n.as_str().unwrap()))
            .collect();
        let out = OneHot::apply(state.clone(), train.clone()).unwrap();
        assert_same(&out, &case["train"], &names, case);
        let out = OneHot::apply(state, new.clone()).unwrap();
        assert_same(&out, &case["new"], &names, case);
    }
}
