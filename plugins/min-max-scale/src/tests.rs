//! Unit tests of the min-max-scale plugin, run natively (`cargo test -p min-max-scale`).

use super::*;
use sluice_sdk::testing::{self, text};
use sluice_sdk::{Column, ErrorKind};

fn fit(data: &Table, columns: &str) -> Result<Vec<u8>, StepError> {
    let params = testing::try_params(&MinMaxScale::describe(), &[("columns", text(columns))])?;
    MinMaxScale::fit(data.clone(), params)
}

#[test]
fn matches_min_max_scaler() {
    // sklearn docs: MinMaxScaler().fit([[-1, 2], [-0.5, 6], [0, 10], [1, 18]])
    // data_min_ [-1, 2], data_max_ [1, 18];
    // transform -> [[0, 0], [0.25, 0.25], [0.5, 0.5], [1, 1]];
    // transform([[2, 2]]) -> [[1.5, 0]].
    let t = Table::new()
        .with(Column::f64("a", vec![-1.0, -0.5, 0.0, 1.0]))
        .with(Column::i64("b", vec![2, 6, 10, 18]))
        .with(Column::strings("s", ["w", "x", "y", "z"]));
    let state = fit(&t, "").unwrap();
    let mm = MinMax::from_bytes(&state).unwrap();
    assert_eq!(mm.columns.len(), 2);
    assert_eq!((mm.columns[0].shift, mm.columns[0].scale), (-1.0, 2.0));
    assert_eq!((mm.columns[1].shift, mm.columns[1].scale), (2.0, 16.0));

    let out = MinMaxScale::apply(state.clone(), t.clone()).unwrap();
    assert_eq!(
        out.column("a").unwrap().f64_values().unwrap(),
        &[0.0, 0.25, 0.5, 1.0]
    );
    assert_eq!(
        out.column("b").unwrap().f64_values().unwrap(),
        &[0.0, 0.25, 0.5, 1.0]
    );
    assert_eq!(out.column("s").unwrap(), t.column("s").unwrap());
    assert_eq!(out.names(), t.names());

    // Out of range: not clipped.
    let new = Table::new()
        .with(Column::f64("a", vec![2.0]))
        .with(Column::i64("b", vec![2]));
    let out = MinMaxScale::apply(state, new).unwrap();
    assert_eq!(out.column("a").unwrap().f64_values().unwrap(), &[1.5]);
    assert_eq!(out.column("b").unwrap().f64_values().unwrap(), &[0.0]);
}

#[test]
fn constant_empty_nulls_and_nan() {
    let t = Table::new()
        .with(Column::f64("c", vec![7.0, 7.0, 7.0]))
        .with(Column::f64("x", vec![1.0, -50.0, 3.0]).with_nulls(&[1]))
        .with(Column::f64("n", vec![f64::NAN, 4.0, 2.0]))
        .with(Column::f64("e", vec![5.0, 6.0, 7.0]).with_nulls(&[0, 1, 2]));
    let state = fit(&t, "").unwrap();
    let out = MinMaxScale::apply(state, t).unwrap();
    assert_eq!(out.column("c").unwrap().f64_values().unwrap(), &[0.0; 3]);
    let x = out.column("x").unwrap();
    assert_eq!(x.f64_values().unwrap()[0], 0.0);
    assert_eq!(x.f64_values().unwrap()[2], 1.0);
    assert!(x.is_null(1) && !x.is_null(0));
    let n = out.column("n").unwrap().f64_values().unwrap();
    assert!(n[0].is_nan());
    assert_eq!(&n[1..], &[1.0, 0.0]);
    // No present values: min 0, range 1 (identity), mask kept.
    let e = out.column("e").unwrap();
    assert_eq!(e.f64_values().unwrap(), &[5.0, 6.0, 7.0]);
    assert_eq!(e.null_count(), 3);
}

#[test]
fn columns_param_selects_and_checks() {
    let t = Table::new()
        .with(Column::f64("a", vec![0.0, 4.0]))
        .with(Column::f64("b", vec![0.0, 4.0]))
        .with(Column::strings("s", ["p", "q"]));
    let state = fit(&t, " b ,").unwrap();
    let out = MinMaxScale::apply(state, t.clone()).unwrap();
    assert_eq!(out.column("a").unwrap().f64_values().unwrap(), &[0.0, 4.0]);
    assert_eq!(out.column("b").unwrap().f64_values().unwrap(), &[0.0, 1.0]);

    let err = fit(&t, "a,zz").unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("'zz'"), "{}", err.message);
    let err = fit(&t, "s").unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("'s'"), "{}", err.message);
    assert_eq!(fit(&t, "a,a").unwrap_err().kind, ErrorKind::InvalidParams);
}

#[test]
fn missing_or_retyped_column_is_invalid_input() {
    let state = fit(&Table::new().with(Column::f64("x", vec![1.0, 2.0])), "").unwrap();
    let err =
        MinMaxScale::apply(state.clone(), Table::new().with(Column::f64("y", vec![]))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("'x'"), "{}", err.message);
    let err =
        MinMaxScale::apply(state, Table::new().with(Column::strings("x", ["a"]))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
}

#[test]
fn state_round_trips_exactly() {
    let s = MinMax {
        columns: vec![ColumnAffine {
            name: "x".into(),
            shift: 0.1 + 0.2,
            scale: 1.0 / 3.0,
        }],
    };
    assert_eq!(MinMax::from_bytes(&s.to_bytes()).unwrap(), s);
    assert!(MinMax::from_bytes(b"nonsense").is_err());
}
