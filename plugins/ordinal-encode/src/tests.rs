//! Unit tests of the ordinal-encode plugin, run natively (`cargo test -p ordinal-encode`).

use super::*;
use sluice_sdk::testing::{self, f64s, num, text};
use sluice_sdk::{Column, ErrorKind};

fn fit(data: &Table, columns: &str, unknown: f64) -> Result<Vec<u8>, StepError> {
    let params = testing::try_params(
        &OrdinalEncode::describe(),
        &[("columns", text(columns)), ("unknown_value", num(unknown))],
    )?;
    OrdinalEncode::fit(data.clone(), params)
}

#[test]
fn matches_ordinal_encoder() {
    // sklearn docs: OrdinalEncoder().fit([['Male', 1], ['Female', 3], ['Female', 2]])
    // categories_ [['Female', 'Male'], [1, 2, 3]];
    // transform([['Female', 3], ['Male', 1]]) -> [[0, 2], [1, 0]].
    let t = Table::new()
        .with(Column::strings("sex", ["Male", "Female", "Female"]))
        .with(Column::i64("n", vec![1, 3, 2]))
        .with(Column::f64("x", vec![0.5, 1.5, 2.5]));
    let state = fit(&t, "sex,n", -1.0).unwrap();
    let new = Table::new()
        .with(Column::strings("sex", ["Female", "Male"]))
        .with(Column::i64("n", vec![3, 1]))
        .with(Column::f64("x", vec![0.0, 1.0]));
    let out = OrdinalEncode::apply(state, new.clone()).unwrap();
    assert_eq!(out.names(), ["sex", "n", "x"]);
    assert_eq!(f64s(&out, "sex"), &[0.0, 1.0]);
    assert_eq!(f64s(&out, "n"), &[2.0, 0.0]);
    assert_eq!(out.column("x").unwrap(), new.column("x").unwrap());
}

#[test]
fn unknown_value_default_and_custom() {
    // OrdinalEncoder(handle_unknown='use_encoded_value', unknown_value=-1)
    let t = Table::new().with(Column::strings("c", ["b", "a", "c"]));
    let new = Table::new().with(Column::strings("c", ["c", "zz", "a"]));
    let params = testing::params(&OrdinalEncode::describe(), &[]);
    let state = OrdinalEncode::fit(t.clone(), params).unwrap();
    let out = OrdinalEncode::apply(state, new.clone()).unwrap();
    assert_eq!(f64s(&out, "c"), &[2.0, -1.0, 0.0]);
    let out = OrdinalEncode::apply(fit(&t, "", 99.0).unwrap(), new).unwrap();
    assert_eq!(f64s(&out, "c"), &[2.0, 99.0, 0.0]);
}

#[test]
fn default_columns_bools_and_nulls() {
    let t = Table::new()
        .with(Column::strings("c", ["b", "a", "a", "zz"]).with_nulls(&[3]))
        .with(Column::bool("f", vec![true, false, true, true]))
        .with(Column::i64("k", vec![1, 2, 3, 4]));
    let state = fit(&t, "", -1.0).unwrap();
    let out = OrdinalEncode::apply(state, t).unwrap();
    let c = out.column("c").unwrap();
    assert_eq!(&c.f64_values().unwrap()[..3], &[1.0, 0.0, 0.0]);
    assert!(c.f64_values().unwrap()[3].is_nan());
    assert!(c.is_null(3) && !c.is_null(0));
    assert_eq!(f64s(&out, "f"), &[1.0, 0.0, 1.0, 1.0]);
    assert_eq!(
        out.column("k").unwrap().i64_values().unwrap(),
        &[1, 2, 3, 4]
    );
}

#[test]
fn input_errors() {
    let t = Table::new()
        .with(Column::strings("c", ["x", "y"]))
        .with(Column::f64("v", vec![1.0, 2.0]));
    let err = fit(&t, "v", -1.0).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("'v'"), "{}", err.message);
    assert_eq!(
        fit(&t, "zz", -1.0).unwrap_err().kind,
        ErrorKind::InvalidInput
    );
    assert_eq!(
        fit(&t, "c,c", -1.0).unwrap_err().kind,
        ErrorKind::InvalidParams
    );
    let state = fit(&t, "", -1.0).unwrap();
    let err = OrdinalEncode::apply(state.clone(), Table::new().with(Column::f64("v", vec![])))
        .unwrap_err();
    assert!(err.message.contains("'c'"), "{}", err.message);
    let err =
        OrdinalEncode::apply(state, Table::new().with(Column::i64("c", vec![1]))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
}

#[test]
fn state_round_trips() {
    let e = Encoder {
        unknown_value: f64::NAN,
        columns: vec![
            ("s".into(), Categories::Str(vec!["a".into(), "βγ".into()])),
            ("i".into(), Categories::I64(vec![-5, 7])),
            ("b".into(), Categories::Bool(vec![false, true])),
        ],
    };
    let back = Encoder::from_bytes(&e.to_bytes()).unwrap();
    assert!(back.unknown_value.is_nan());
    assert_eq!(back.columns, e.columns);
    assert!(Encoder::from_bytes(b"nonsense").is_err());
}
