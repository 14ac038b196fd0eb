//! Unit tests of the bucketize plugin, run natively (`cargo test -p bucketize`).

use super::*;
use sluice_sdk::testing::{self, f64s, int, text};
use sluice_sdk::{Column, ErrorKind};

fn fit(data: &Table, n_bins: i64, columns: &str) -> Result<Vec<u8>, StepError> {
    let params = testing::try_params(
        &Bucketize::describe(),
        &[("n_bins", int(n_bins)), ("columns", text(columns))],
    )?;
    Bucketize::fit(data.clone(), params)
}

#[test]
fn numpy_percentiles() {
    // np.percentile([1, 2, 3, 4], [0, 25, 50, 75, 100]) -> [1, 1.75, 2.5, 3.25, 4]
    assert_eq!(
        percentiles(&[1.0, 2.0, 3.0, 4.0], &[0.0, 25.0, 50.0, 75.0, 100.0]),
        [1.0, 1.75, 2.5, 3.25, 4.0]
    );
    assert_eq!(linspace_0_100(6), [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
}

#[test]
fn matches_kbins_quantile() {
    // KBinsDiscretizer(n_bins=4, encode='ordinal', strategy='quantile')
    //   .fit_transform([[1], [2], [3], [4], [5]]) -> [0, 1, 2, 3, 3];
    // bin_edges_ [1, 2, 3, 4, 5].
    let t = Table::new()
        .with(Column::i64("k", vec![1, 2, 3, 4, 5]))
        .with(Column::strings("s", ["a", "b", "c", "d", "e"]));
    let state = fit(&t, 4, "").unwrap();
    let bins = Bins::from_bytes(&state).unwrap();
    assert_eq!(
        bins.columns,
        vec![("k".into(), vec![1.0, 2.0, 3.0, 4.0, 5.0])]
    );
    let out = Bucketize::apply(state, t.clone()).unwrap();
    assert_eq!(f64s(&out, "k"), &[0.0, 1.0, 2.0, 3.0, 3.0]);
    assert_eq!(out.column("s").unwrap(), t.column("s").unwrap());
}

#[test]
fn interpolated_edges_and_clipping() {
    // n_bins=5 on [0, 10, 20, 40]: percentiles at 0, 20, ..., 100 ->
    // virtual indices 0, 0.6, 1.2, 1.8, 2.4, 3 -> edges [0, 6, 12, 18, 28, 40].
    let t = Table::new().with(Column::f64("x", vec![40.0, 0.0, 20.0, 10.0]));
    let state = fit(&t, 5, "").unwrap();
    let edges = &Bins::from_bytes(&state).unwrap().columns[0].1;
    for (a, b) in edges.iter().zip([0.0, 6.0, 12.0, 18.0, 28.0, 40.0]) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
    let new = Table::new().with(Column::f64(
        "x",
        vec![-5.0, 0.0, 7.0, 11.0, 12.5, 30.0, 1e9],
    ));
    let out = Bucketize::apply(state, new).unwrap();
    assert_eq!(f64s(&out, "x"), &[0.0, 0.0, 1.0, 1.0, 2.0, 4.0, 4.0]);
}

#[test]
fn duplicate_edges_constant_nulls_and_nan() {
    // Edges [1, 1, 1, 1, 2, 3] -> [1, 2, 3]: two bins.
    let t = Table::new()
        .with(Column::f64("d", vec![1.0, 1.0, 1.0, 1.0, 2.0, 3.0]))
        .with(Column::f64("c", vec![7.0; 6]))
        .with(Column::f64("x", vec![f64::NAN, 1.0, 2.0, -99.0, 3.0, 4.0]).with_nulls(&[3]));
    let state = fit(&t, 5, "").unwrap();
    let bins = Bins::from_bytes(&state).unwrap();
    assert_eq!(bins.columns[0].1, [1.0, 2.0, 3.0]);
    assert_eq!(bins.columns[1].1, [f64::NEG_INFINITY, f64::INFINITY]);
    let out = Bucketize::apply(state, t).unwrap();
    assert_eq!(f64s(&out, "d"), &[0.0, 0.0, 0.0, 0.0, 1.0, 1.0]);
    assert_eq!(f64s(&out, "c"), &[0.0; 6]);
    let x = out.column("x").unwrap();
    assert!(x.f64_values().unwrap()[0].is_nan());
    assert!(x.is_null(3) && !x.is_null(1));
}

#[test]
fn param_and_input_errors() {
    let t = Table::new()
        .with(Column::f64("x", vec![1.0, 2.0]))
        .with(Column::strings("s", ["a", "b"]));
    assert_eq!(fit(&t, 1, "").unwrap_err().kind, ErrorKind::InvalidParams);
    let err = fit(&t, 5, "s").unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("'s'"), "{}", err.message);
    assert_eq!(fit(&t, 5, "zz").unwrap_err().kind, ErrorKind::InvalidInput);
    let state = fit(&t, 5, "x").unwrap();
    let err = Bucketize::apply(state, Table::new().with(Column::f64("y", vec![]))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("'x'"), "{}", err.message);
}

#[test]
fn state_round_trips_exactly() {
    let b = Bins {
        columns: vec![("x".into(), vec![0.1 + 0.2, 1.0 / 3.0, f64::INFINITY])],
    };
    assert_eq!(Bins::from_bytes(&b.to_bytes()).unwrap(), b);
    assert!(Bins::from_bytes(b"nonsense").is_err());
}
