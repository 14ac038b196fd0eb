//! Unit tests of the standardize plugin, run natively (`cargo test -p standardize`).

use super::*;
use sluice_sdk::testing;
use sluice_sdk::{Column, ErrorKind};

fn fit(data: &Table) -> Vec<u8> {
    let params = testing::params(&Standardize::describe(), &[]);
    Standardize::fit(data.clone(), params).unwrap()
}

#[test]
fn matches_standard_scaler() {
    // StandardScaler().fit([[1], [2], [3], [4]]): mean_ 2.5, scale_ 1.118033988749895
    let t = Table::new()
        .with(Column::f64("x", vec![1.0, 2.0, 3.0, 4.0]))
        .with(Column::i64("k", vec![5, 5, 5, 5]))
        .with(Column::strings("s", ["a", "b", "c", "d"]));
    let state = fit(&t);
    let scaler = Scaler::from_bytes(&state).unwrap();
    assert_eq!(scaler.columns.len(), 2);
    assert_eq!(scaler.columns[0].shift, 2.5);
    assert_eq!(scaler.columns[0].scale, 1.118_033_988_749_895);
    // Constant column: scale 1, like sklearn.
    assert_eq!(scaler.columns[1].scale, 1.0);

    let out = Standardize::apply(state, t.clone()).unwrap();
    let x = out.column("x").unwrap().f64_values().unwrap();
    let expected = [
        -1.341_640_786_499_874,
        -0.447_213_595_499_958,
        0.447_213_595_499_958,
        1.341_640_786_499_874,
    ];
    for (a, b) in x.iter().zip(expected) {
        assert!((a - b).abs() < 1e-15, "{a} vs {b}");
    }
    assert_eq!(out.column("k").unwrap().f64_values().unwrap(), &[0.0; 4]);
    assert_eq!(out.column("s").unwrap(), t.column("s").unwrap());
}

#[test]
fn mean_std_over_many_values_and_a_tail() {
    // 1003 values: 250 chunks of four and a tail of three.
    let values: Vec<f64> = (0..1003)
        .map(|i| (i as f64 * 0.37).sin() * 50.0 + 3.0)
        .collect();
    let n = values.len() as f64;
    let mean: f64 = values.iter().sum::<f64>() / n;
    let var: f64 = values.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    let (m, s) = mean_std(&values);
    assert!((m - mean).abs() <= 1e-13 * mean.abs(), "{m} vs {mean}");
    assert!((s - var.sqrt()).abs() <= 1e-13 * s, "{s} vs {}", var.sqrt());
    assert_eq!(mean_std(&[]), (0.0, 0.0));
    assert_eq!(mean_std(&[2.0, 2.0, 2.0]), (2.0, 0.0));
}

#[test]
fn nulls_are_ignored_in_fit_and_kept_in_apply() {
    let t = Table::new().with(Column::f64("x", vec![1.0, 1000.0, 3.0]).with_nulls(&[1]));
    let state = fit(&t);
    let out = Standardize::apply(state, t).unwrap();
    let x = out.column("x").unwrap();
    assert_eq!(x.f64_values().unwrap()[0], -1.0);
    assert_eq!(x.f64_values().unwrap()[2], 1.0);
    assert!(x.is_null(1));
}

#[test]
fn missing_fitted_column_is_invalid_input() {
    let state = fit(&Table::new().with(Column::f64("x", vec![1.0, 2.0])));
    let err =
        Standardize::apply(state, Table::new().with(Column::f64("y", vec![1.0]))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
}

#[test]
fn state_round_trips_exactly() {
    let s = Scaler {
        columns: vec![ColumnAffine {
            name: "x".into(),
            shift: 0.1 + 0.2,
            scale: 1.0 / 3.0,
        }],
    };
    assert_eq!(Scaler::from_bytes(&s.to_bytes()).unwrap(), s);
}

#[test]
fn columns_param_selects_and_checks() {
    let t = Table::new()
        .with(Column::f64("a", vec![0.0, 4.0]))
        .with(Column::i64("b", vec![0, 4]))
        .with(Column::strings("s", ["p", "q"]));
    let fit_columns = |columns: &str| {
        let params = testing::try_params(
            &Standardize::describe(),
            &[("columns", testing::text(columns))],
        )?;
        Standardize::fit(t.clone(), params)
    };
    let out = Standardize::apply(fit_columns(" b ,").unwrap(), t.clone()).unwrap();
    assert_eq!(out.column("a").unwrap(), t.column("a").unwrap());
    assert_eq!(out.column("b").unwrap().f64_values().unwrap(), &[-1.0, 1.0]);
    assert_eq!(out.names(), t.names());

    let err = fit_columns("a,zz").unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("'zz'"), "{}", err.message);
    let err = fit_columns("s").unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(
        err.message.contains("'s'") && err.message.contains("standardize"),
        "{}",
        err.message
    );
    assert_eq!(
        fit_columns("a,a").unwrap_err().kind,
        ErrorKind::InvalidParams
    );
}
