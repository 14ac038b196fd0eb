//! Unit tests of the partial-dependence plugin, run natively (`cargo test -p partial-dependence`).

use super::*;
use sluice_sdk::testing::{self, text};
use sluice_sdk::{ErrorKind, ParamValue};
use std::sync::atomic::Ordering;

fn params(pairs: &[(&str, ParamValue)]) -> Params {
    testing::params(&PartialDependence::describe(), pairs)
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-9, "{a} != {b}");
}

#[test]
fn mquantiles_and_linspace_reference_values() {
    // scipy.stats.mstats.mquantiles(np.arange(101), [0.05, 0.95])
    // == [4.46, 95.54]; np.arange(1, 11) gives [1.0, 10.0].
    let x: Vec<f64> = (0..=100).map(f64::from).collect();
    close(mquantile(&x, 0.05), 4.46);
    close(mquantile(&x, 0.95), 95.54);
    let y: Vec<f64> = (1..=10).map(f64::from).collect();
    assert_eq!(mquantile(&y, 0.05), 1.0);
    assert_eq!(mquantile(&y, 0.95), 10.0);
    assert_eq!(mquantile(&[3.0], 0.5), 3.0);
    // np.linspace(0, 1, 5)
    assert_eq!(linspace(0.0, 1.0, 5), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    assert_eq!(label(4.460_000_000_000_001), "4.46");
    assert_eq!(label(12.5), "12.5");
    assert_eq!(label(1.0), "1");
}

#[test]
fn linear_model_one_feature() {
    // f = 2x + z: the partial dependence at v is 2v + mean(z) = 2v + 3.
    // x = 0..=100: grid linspace(4.46, 95.54, 5), step 22.77.
    let x: Vec<f64> = (0..=100).map(f64::from).collect();
    let z: Vec<f64> = (0..=100).map(|i| f64::from(i % 7)).collect();
    let mean_z = z.iter().sum::<f64>() / 101.0;
    let t = Table::new()
        .with(Column::f64("x", x))
        .with(Column::f64("z", z));
    let calls = testing::install_model(|t: &Table| {
        let x = t.column("x")?.as_f64()?;
        let z = t.column("z")?.as_f64()?;
        Ok(x.iter().zip(z).map(|(x, z)| 2.0 * x + z).collect())
    });
    let e = PartialDependence::explain(
        t,
        None,
        params(&[
            ("features", text("x")),
            ("grid_resolution", ParamValue::Integer(5)),
        ]),
    )
    .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 5);
    let names: Vec<&str> = e.global.iter().map(|a| a.feature.as_str()).collect();
    assert_eq!(names, ["x=4.46", "x=27.23", "x=50", "x=72.77", "x=95.54"]);
    for (a, v) in e.global.iter().zip([4.46, 27.23, 50.0, 72.77, 95.54]) {
        close(a.score, 2.0 * v + mean_z);
    }
    assert_eq!(e.metric_value("grid_points"), Some(5.0));
    close(e.metric_value("pd_range").unwrap(), 2.0 * (95.54 - 4.46));
}

#[test]
fn two_features_on_unique_values_keep_types() {
    // Few distinct values: the grid is the values. f = a * b, averaged
    // over rows whose a and b are all set: exactly a * b. `b` stays i64
    // and `a` bool (the model reads them as such).
    let t = Table::new()
        .with(Column::bool("a", vec![true, false, true, false]))
        .with(Column::i64("b", vec![2, 0, 1, 2]).with_nulls(&[3]))
        .with(Column::f64("c", vec![0.5, 0.1, 0.2, 0.3]));
    testing::install_model(|t: &Table| {
        let a = t.column("a")?.as_bool()?;
        let b = t.column("b")?.as_i64()?;
        Ok(a.iter()
            .zip(b)
            .map(|(&a, &b)| if a { b as f64 } else { 0.0 })
            .collect())
    });
    let e = PartialDependence::explain(t, None, params(&[("features", text("a, b"))])).unwrap();
    let got: Vec<(&str, f64)> = e
        .global
        .iter()
        .map(|a| (a.feature.as_str(), a.score))
        .collect();
    assert_eq!(
        got,
        [
            ("a=0|b=0", 0.0),
            ("a=0|b=1", 0.0),
            ("a=0|b=2", 0.0),
            ("a=1|b=0", 0.0),
            ("a=1|b=1", 1.0),
            ("a=1|b=2", 2.0),
        ]
    );
    assert_eq!(e.metric_value("grid_points"), Some(6.0));
    assert_eq!(e.metric_value("pd_range"), Some(2.0));
}

#[test]
fn averages_p1_by_default_or_the_output_param() {
    let t = Table::new().with(Column::f64("x", vec![0.0, 1.0, 2.0]));
    model::set_native_predictor(Box::new(|t: &Table| {
        let x = t.column("x")?.as_f64()?.to_vec();
        let p: Vec<f64> = x.iter().map(|x| x / 4.0).collect();
        Ok(Table::new()
            .with(Column::f64("p_0", p.iter().map(|p| 1.0 - p).collect()))
            .with(Column::f64("p_1", p))
            .with(Column::i64("prediction", vec![0; x.len()])))
    }));
    let e =
        PartialDependence::explain(t.clone(), None, params(&[("features", text("x"))])).unwrap();
    let scores: Vec<f64> = e.global.iter().map(|a| a.score).collect();
    assert_eq!(scores, [0.0, 0.25, 0.5]);
    let e = PartialDependence::explain(
        t.clone(),
        None,
        params(&[("features", text("x")), ("output", text("p_0"))]),
    )
    .unwrap();
    let scores: Vec<f64> = e.global.iter().map(|a| a.score).collect();
    assert_eq!(scores, [1.0, 0.75, 0.5]);
    let err = PartialDependence::explain(
        t,
        None,
        params(&[("features", text("x")), ("output", text("p_7"))]),
    )
    .unwrap_err();
    assert!(err.message.contains("'p_7'"), "{}", err.message);
}

#[test]
fn bad_params_and_inputs() {
    testing::install_model(|t: &Table| Ok(vec![0.0; t.num_rows()]));
    let t = Table::new()
        .with(Column::f64("x", vec![0.0, 1.0]))
        .with(Column::strings("s", ["a", "b"]));
    let run = |pairs: &[(&str, ParamValue)]| {
        PartialDependence::explain(t.clone(), None, params(pairs)).unwrap_err()
    };
    for features in ["", "a,b,c", "x,x"] {
        assert_eq!(
            run(&[("features", text(features))]).kind,
            ErrorKind::InvalidParams,
            "{features}"
        );
    }
    let err = run(&[("features", text("nope"))]);
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("'nope'"), "{}", err.message);
    assert_eq!(
        run(&[("features", text("s"))]).kind,
        ErrorKind::InvalidInput
    );
    let err = run(&[
        ("features", text("x")),
        ("grid_resolution", ParamValue::Integer(1)),
    ]);
    assert_eq!(err.kind, ErrorKind::InvalidParams);
    for p in [vec![0.9, 0.1], vec![0.5], vec![-0.1, 0.5]] {
        let err = run(&[
            ("features", text("x")),
            ("percentiles", ParamValue::Numbers(p)),
        ]);
        assert_eq!(err.kind, ErrorKind::InvalidParams);
    }

    // 400 zeros and 19 other values (20 distinct): the 5th and 95th
    // percentiles are both 0, too close for a grid.
    let mut v = vec![0.0; 400];
    v.extend((1..=19).map(f64::from));
    let err = PartialDependence::explain(
        Table::new().with(Column::f64("x", v)),
        None,
        params(&[("features", text("x"))]),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("too close"), "{}", err.message);

    model::clear_native_predictor();
    let err = PartialDependence::explain(t, None, params(&[("features", text("x"))])).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Internal);
}
