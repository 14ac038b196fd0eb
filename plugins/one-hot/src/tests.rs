//! Unit tests of the one-hot plugin, run natively (`cargo test -p one-hot`).

use super::*;
use sluice_sdk::testing::{self, f64s, text};
use sluice_sdk::{Column, ErrorKind};

fn fit(data: &Table, columns: &str, handle_unknown: &str) -> Result<Vec<u8>, StepError> {
    let params = testing::try_params(
        &OneHot::describe(),
        &[
            ("columns", text(columns)),
            ("handle_unknown", text(handle_unknown)),
        ],
    )?;
    OneHot::fit(data.clone(), params)
}

#[test]
fn matches_one_hot_encoder() {
    // sklearn docs: OneHotEncoder(handle_unknown='ignore').fit(
    //   [['Male', 1], ['Female', 3], ['Female', 2]])
    // categories_ [['Female', 'Male'], [1, 2, 3]];
    // transform([['Female', 1], ['Male', 4]]) ->
    //   [[1, 0, 1, 0, 0], [0, 1, 0, 0, 0]].
    let t = Table::new()
        .with(Column::f64("before", vec![0.5, 1.5, 2.5]))
        .with(Column::strings("sex", ["Male", "Female", "Female"]))
        .with(Column::i64("n", vec![1, 3, 2]))
        .with(Column::f64("after", vec![9.0, 8.0, 7.0]));
    let state = fit(&t, "sex,n", "ignore").unwrap();
    let enc = Encoder::from_bytes(&state).unwrap();
    assert_eq!(
        enc.columns[0].1,
        Categories::Str(vec!["Female".into(), "Male".into()])
    );
    assert_eq!(enc.columns[1].1, Categories::I64(vec![1, 2, 3]));

    let new = Table::new()
        .with(Column::f64("before", vec![0.0, 0.0]))
        .with(Column::strings("sex", ["Female", "Male"]))
        .with(Column::i64("n", vec![1, 4]))
        .with(Column::f64("after", vec![0.0, 0.0]));
    let out = OneHot::apply(state, new).unwrap();
    assert_eq!(
        out.names(),
        [
            "before",
            "sex=Female",
            "sex=Male",
            "n=1",
            "n=2",
            "n=3",
            "after"
        ]
    );
    let row = |r: usize| -> Vec<f64> {
        out.columns()[1..6]
            .iter()
            .map(|c| c.f64_values().unwrap()[r])
            .collect()
    };
    assert_eq!(row(0), [1.0, 0.0, 1.0, 0.0, 0.0]);
    assert_eq!(row(1), [0.0, 1.0, 0.0, 0.0, 0.0]);
}

#[test]
fn default_columns_bools_and_nulls() {
    let t = Table::new()
        .with(Column::strings("c", ["b", "a", "é", "b"]).with_nulls(&[3]))
        .with(Column::bool("f", vec![true, false, true, true]))
        .with(Column::i64("k", vec![1, 2, 3, 4]));
    let state = fit(&t, "", "error").unwrap();
    let out = OneHot::apply(state, t).unwrap();
    assert_eq!(out.names(), ["c=a", "c=b", "c=é", "f=false", "f=true", "k"]);
    assert_eq!(f64s(&out, "c=a"), &[0.0, 1.0, 0.0, 0.0]);
    assert_eq!(f64s(&out, "c=b"), &[1.0, 0.0, 0.0, 0.0]);
    assert_eq!(f64s(&out, "c=é"), &[0.0, 0.0, 1.0, 0.0]);
    assert!(out.column("c=b").unwrap().valid().is_none());
    assert_eq!(f64s(&out, "f=true"), &[1.0, 0.0, 1.0, 1.0]);
    assert_eq!(
        out.column("k").unwrap().i64_values().unwrap(),
        &[1, 2, 3, 4]
    );
}

#[test]
fn unknown_categories() {
    let t = Table::new().with(Column::strings("c", ["x", "y"]));
    let new = Table::new().with(Column::strings("c", ["y", "zebra"]));
    let out = OneHot::apply(fit(&t, "", "ignore").unwrap(), new.clone()).unwrap();
    assert_eq!(f64s(&out, "c=x"), &[0.0, 0.0]);
    assert_eq!(f64s(&out, "c=y"), &[1.0, 0.0]);
    let err = OneHot::apply(fit(&t, "", "error").unwrap(), new).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(
        err.message.contains("'c'") && err.message.contains("'zebra'"),
        "{}",
        err.message
    );
    assert_eq!(
        fit(&t, "", "drop").unwrap_err().kind,
        ErrorKind::InvalidParams
    );
}

#[test]
fn input_errors() {
    let t = Table::new()
        .with(Column::strings("c", ["x", "y"]))
        .with(Column::f64("v", vec![1.0, 2.0]));
    let err = fit(&t, "v", "ignore").unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("'v'"), "{}", err.message);
    assert_eq!(
        fit(&t, "zz", "ignore").unwrap_err().kind,
        ErrorKind::InvalidInput
    );
    let state = fit(&t, "", "ignore").unwrap();
    let err =
        OneHot::apply(state.clone(), Table::new().with(Column::f64("v", vec![]))).unwrap_err();
    assert!(err.message.contains("'c'"), "{}", err.message);
    let err =
        OneHot::apply(state.clone(), Table::new().with(Column::i64("c", vec![1]))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    let clash = Table::new()
        .with(Column::strings("c", ["x"]))
        .with(Column::f64("c=x", vec![0.0]));
    assert_eq!(
        OneHot::apply(state, clash).unwrap_err().kind,
        ErrorKind::InvalidInput
    );
}

#[test]
fn state_round_trips() {
    let e = Encoder {
        error_on_unknown: true,
        columns: vec![
            ("s".into(), Categories::Str(vec!["a".into(), "βγ".into()])),
            ("i".into(), Categories::I64(vec![-5, 7])),
            ("b".into(), Categories::Bool(vec![false, true])),
        ],
    };
    assert_eq!(Encoder::from_bytes(&e.to_bytes()).unwrap(), e);
    assert!(Encoder::from_bytes(b"nonsense").is_err());
}
