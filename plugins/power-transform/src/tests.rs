//! Unit tests of the power-transform plugin, run natively (`cargo test -p power-transform`).

use super::*;
use sluice_sdk::testing::{self, text};
use sluice_sdk::{Column, ErrorKind};

fn fit(data: &Table, method: &str, columns: &str) -> Result<Vec<u8>, StepError> {
    let params = testing::try_params(
        &PowerTransform::describe(),
        &[("method", text(method)), ("columns", text(columns))],
    )?;
    PowerTransform::fit(data.clone(), params)
}

fn standardized(v: &[f64]) -> Vec<f64> {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let std = (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt();
    v.iter().map(|x| (x - mean) / std).collect()
}

#[test]
fn matches_power_transformer_doc_example() {
    // sklearn docs: PowerTransformer().fit([[1, 2], [3, 2], [4, 5]]):
    // lambdas_ [ 1.386..., -3.100...]; with standardize=True,
    // transform -> [[-1.316, -0.707], [0.209, -0.707], [1.106, 1.414]].
    let t = Table::new()
        .with(Column::f64("a", vec![1.0, 3.0, 4.0]))
        .with(Column::i64("b", vec![2, 2, 5]));
    let state = fit(&t, "yeo-johnson", "").unwrap();
    let p = Power::from_bytes(&state).unwrap();
    let Method::YeoJohnson(l) = &p.method else {
        panic!("{:?}", p.method)
    };
    assert!((l[0] - 1.386).abs() < 1e-3, "{l:?}");
    assert!((l[1] - -3.100).abs() < 1e-3, "{l:?}");
    let out = PowerTransform::apply(state, t).unwrap();
    let a = standardized(out.column("a").unwrap().f64_values().unwrap());
    let b = standardized(out.column("b").unwrap().f64_values().unwrap());
    for (x, y) in a
        .iter()
        .chain(&b)
        .zip([-1.316, 0.209, 1.106, -0.707, -0.707, 1.414])
    {
        assert!((x - y).abs() < 1e-3, "{x} vs {y}");
    }
}

#[test]
fn yeo_johnson_formulas() {
    // lambda 1 is the identity; lambda 0 is log1p for x >= 0; lambda 2 is
    // -log1p(-x) for x < 0.
    assert!((yeo_johnson(3.5, 1.0) - 3.5).abs() < 1e-15);
    assert!((yeo_johnson(-3.5, 1.0) - -3.5).abs() < 1e-15);
    assert_eq!(yeo_johnson(2.0, 0.0), 2f64.ln_1p());
    assert_eq!(yeo_johnson(-2.0, 2.0), -(2f64.ln_1p()));
    // lambda 0.5, x = 3: ((4)^0.5 - 1) / 0.5 = 2; x = -3: -((4)^1.5 - 1) / 1.5 = -14/3.
    assert!((yeo_johnson(3.0, 0.5) - 2.0).abs() < 1e-15);
    assert!((yeo_johnson(-3.0, 0.5) - -14.0 / 3.0).abs() < 1e-14);
}

#[test]
fn brent_finds_a_parabola_minimum() {
    let f = |x: f64| (x - 0.7) * (x - 0.7) + 1.0;
    assert!((brent(&f, -2.0, 2.0) - 0.7).abs() < 1e-7);
    // Outside the starting bracket, as scipy's brent allows.
    let g = |x: f64| (x + 5.5) * (x + 5.5);
    assert!((brent(&g, -2.0, 2.0) + 5.5).abs() < 1e-7);
}

#[test]
fn log1p_default_nulls_and_errors() {
    let t = Table::new()
        .with(Column::f64("x", vec![0.0, -5.0, 1.0, f64::NAN]).with_nulls(&[1]))
        .with(Column::i64("k", vec![0, 1, 2, 3]))
        .with(Column::strings("s", ["a", "b", "c", "d"]));
    let params = testing::params(&PowerTransform::describe(), &[]);
    let state = PowerTransform::fit(t.clone(), params).unwrap();
    let out = PowerTransform::apply(state.clone(), t.clone()).unwrap();
    let x = out.column("x").unwrap();
    assert_eq!(x.f64_values().unwrap()[0], 0.0);
    assert!((x.f64_values().unwrap()[2] - 2f64.ln()).abs() < 1e-15);
    assert!(x.f64_values().unwrap()[3].is_nan());
    assert!(x.is_null(1));
    let k = out.column("k").unwrap().f64_values().unwrap();
    for (a, b) in k.iter().zip([0.0, 2f64.ln(), 3f64.ln(), 4f64.ln()]) {
        assert!((a - b).abs() < 1e-15, "{a} vs {b}");
    }
    assert_eq!(out.column("s").unwrap(), t.column("s").unwrap());

    let bad = Table::new()
        .with(Column::f64("x", vec![0.0, 0.5, -1.0, 0.0]))
        .with(Column::i64("k", vec![0, 0, 0, 0]));
    let err = PowerTransform::apply(state, bad).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(
        err.message.contains("'x'") && err.message.contains("row 2"),
        "{}",
        err.message
    );
}

#[test]
fn yeo_johnson_constant_and_nulls() {
    let t = Table::new()
        .with(Column::f64("c", vec![4.0, 4.0, 4.0, 4.0]))
        .with(Column::f64("x", vec![1.0, 100.0, 3.0, 4.0]).with_nulls(&[1]));
    let state = fit(&t, "yeo-johnson", "").unwrap();
    let p = Power::from_bytes(&state).unwrap();
    let Method::YeoJohnson(l) = &p.method else {
        panic!()
    };
    assert_eq!(l[0], 1.0);
    // The null placeholder 100 is not used in the fit: same lambda as [1, 3, 4].
    let expected = fit_lambda(&[1.0, 3.0, 4.0]);
    assert_eq!(l[1], expected);
    let out = PowerTransform::apply(state, t).unwrap();
    assert_eq!(out.column("c").unwrap().f64_values().unwrap(), &[4.0; 4]);
    assert!(out.column("x").unwrap().is_null(1));
}

#[test]
fn param_and_input_errors() {
    let t = Table::new()
        .with(Column::f64("x", vec![1.0, 2.0]))
        .with(Column::strings("s", ["a", "b"]));
    assert_eq!(
        fit(&t, "box-cox", "").unwrap_err().kind,
        ErrorKind::InvalidParams
    );
    let err = fit(&t, "log1p", "s").unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("'s'"), "{}", err.message);
    let state = fit(&t, "log1p", "x").unwrap();
    let err =
        PowerTransform::apply(state, Table::new().with(Column::f64("y", vec![]))).unwrap_err();
    assert!(err.message.contains("'x'"), "{}", err.message);
}

#[test]
fn state_round_trips_exactly() {
    for method in [Method::Log1p, Method::YeoJohnson(vec![0.1 + 0.2, -3.1])] {
        let p = Power {
            columns: vec!["a".into(), "b".into()],
            method,
        };
        assert_eq!(Power::from_bytes(&p.to_bytes()).unwrap(), p);
    }
    assert!(Power::from_bytes(b"nonsense").is_err());
}
