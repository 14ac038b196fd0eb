//! Unit tests of the drift plugin, run natively (`cargo test -p drift`).

use super::*;
use sluice_sdk::testing::{self, text};
use sluice_sdk::{Column, ErrorKind, ParamValue};

fn params(pairs: &[(&str, ParamValue)]) -> Result<Params, StepError> {
    testing::try_params(&Drift::describe(), pairs)
}

fn run(data: Table, reference: Table, pairs: &[(&str, ParamValue)]) -> ValidationReport {
    Drift::validate(data, Some(reference), params(pairs).unwrap()).unwrap()
}

fn seq(n: usize, f: impl Fn(usize) -> f64) -> Vec<f64> {
    (0..n).map(f).collect()
}

#[test]
fn defaults_match_describe() {
    let options = Options::from_params(&params(&[]).unwrap()).unwrap();
    assert_eq!(options, Options::default());
}

#[test]
fn missing_reference_is_invalid_input() {
    let t = Table::new().with(Column::f64("x", vec![1.0]));
    let err = Drift::validate(t, None, params(&[]).unwrap()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
}

#[test]
fn bad_params_are_invalid_params() {
    let t = || Table::new().with(Column::f64("x", vec![1.0, 2.0]));
    for pairs in [
        vec![("method", text("anderson"))],
        vec![("p_value", ParamValue::Number(0.0))],
        vec![("threshold", ParamValue::Number(-1.0))],
        vec![("drift_share", ParamValue::Number(1.5))],
        vec![("psi_bins", ParamValue::Integer(1))],
        vec![("binning", text("deciles"))],
    ] {
        let err = Drift::validate(t(), Some(t()), params(&pairs).unwrap()).unwrap_err();
        assert_eq!(
            err.kind,
            ErrorKind::InvalidParams,
            "{pairs:?}: {}",
            err.message
        );
    }
    let s = Table::new().with(Column::strings("s", ["a", "b"]));
    let err = Drift::validate(
        s.clone(),
        Some(s),
        params(&[("method", text("ks"))]).unwrap(),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidParams);
    assert!(
        err.message.contains("'s' is categorical"),
        "{}",
        err.message
    );
    let z = Table::new().with(Column::i64("k", vec![1, 2, 3]));
    let err = Drift::validate(
        z.clone(),
        Some(z),
        params(&[("method", text("z"))]).unwrap(),
    )
    .unwrap_err();
    assert!(err.message.contains("'k' has 3"), "{}", err.message);
}

#[test]
fn column_selection_and_mismatches() {
    let cur = Table::new()
        .with(Column::f64("a", vec![1.0, 2.0]))
        .with(Column::f64("b", vec![1.0, 2.0]));
    let reference = Table::new().with(Column::f64("b", vec![1.0, 2.0]));
    let report = run(cur.clone(), reference.clone(), &[]);
    assert_eq!(report.metric_value("columns"), Some(1.0));
    assert!(report.find_check("drift:b").is_some());
    let err = Drift::validate(
        cur.clone(),
        Some(reference.clone()),
        params(&[("columns", text("a, b"))]).unwrap(),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(
        err.message.contains("'a' is not in the reference"),
        "{}",
        err.message
    );
    let other = Table::new().with(Column::f64("z", vec![1.0]));
    let err = Drift::validate(cur.clone(), Some(other), params(&[]).unwrap()).unwrap_err();
    assert!(
        err.message.contains("no column in common"),
        "{}",
        err.message
    );
    let typed = Table::new().with(Column::strings("b", ["x", "y"]));
    let err = Drift::validate(cur, Some(typed), params(&[]).unwrap()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(
        err.message.contains("string in the reference"),
        "{}",
        err.message
    );
}

#[test]
fn auto_picks_evidentlys_tests() {
    let small = |v: Vec<f64>| Sample::Numeric(v);
    let many = small(seq(50, |i| i as f64));
    assert_eq!(auto_method(&many, &many, false), Method::Ks);
    let four = small(seq(50, |i| (i % 4) as f64));
    assert_eq!(auto_method(&four, &four, false), Method::ChiSquare);
    let two = small(seq(50, |i| (i % 2) as f64));
    assert_eq!(auto_method(&two, &two, false), Method::Z);
    let big = small(seq(1001, |i| i as f64));
    assert_eq!(auto_method(&big, &big, false), Method::Wasserstein);
    let big_few = small(seq(1001, |i| (i % 3) as f64));
    assert_eq!(
        auto_method(&big_few, &big_few, false),
        Method::JensenShannon
    );
    // Integer codes (at most 10 values) choose as categories do.
    let eight = small(seq(50, |i| (i % 8) as f64));
    assert_eq!(auto_method(&eight, &eight, false), Method::Ks);
    assert_eq!(auto_method(&eight, &eight, true), Method::ChiSquare);
    assert_eq!(auto_method(&two, &two, true), Method::Z);
    let big_eight = small(seq(1001, |i| (i % 8) as f64));
    assert_eq!(
        auto_method(&big_eight, &big_eight, true),
        Method::JensenShannon
    );
    let codes = |k: i64| Column::i64("k", (0..50).map(|i| i % k).collect());
    assert!(integer_codes(&codes(10)));
    assert!(!integer_codes(&codes(11)));
    assert!(!integer_codes(&Column::f64("x", vec![1.0, 2.0])));
    let cat =
        |n: usize, k: usize| Sample::Categorical((0..n).map(|i| (i % k).to_string()).collect());
    assert_eq!(
        auto_method(&cat(10, 3), &cat(10, 3), false),
        Method::ChiSquare
    );
    assert_eq!(auto_method(&cat(10, 2), &cat(10, 2), false), Method::Z);
    assert_eq!(
        auto_method(&cat(1001, 2), &cat(10, 2), false),
        Method::JensenShannon
    );
}

#[test]
fn report_shape_and_details() {
    // x: identical -> no drift (ks p = 1); y: shifted -> drift;
    // s: categories with a new one in current -> chisquare inf, drift.
    let reference = Table::new()
        .with(Column::f64("x", seq(40, |i| i as f64)))
        .with(Column::f64("y", seq(40, |i| i as f64)))
        .with(Column::strings(
            "s",
            (0..40).map(|i| ["a", "b", "c"][i % 3]),
        ));
    let data = Table::new()
        .with(Column::f64("x", seq(40, |i| i as f64)))
        .with(Column::f64("y", seq(40, |i| i as f64 + 30.0)))
        .with(Column::strings(
            "s",
            (0..40).map(|i| ["a", "b", "d"][i % 3]),
        ));
    let report = run(data, reference, &[]);
    let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["drift:x", "drift:y", "drift:s", "dataset"]);
    let x = report.find_check("drift:x").unwrap();
    assert!(x.passed);
    assert_eq!(
        x.detail,
        "ks: statistic 0.0000, p-value 1.0000 > 0.05: no drift (40 reference, 40 current values)"
    );
    let y = report.find_check("drift:y").unwrap();
    assert!(!y.passed);
    assert!(
        y.detail.starts_with("ks: statistic 0.7500, p-value "),
        "{}",
        y.detail
    );
    assert!(y.detail.contains(" <= 0.05: drift"), "{}", y.detail);
    let s = report.find_check("drift:s").unwrap();
    assert!(!s.passed);
    assert!(
        s.detail
            .starts_with("chisquare: statistic inf, p-value 0.0000 < 0.05: drift"),
        "{}",
        s.detail
    );
    let d = report.find_check("dataset").unwrap();
    assert!(!d.passed);
    assert_eq!(
        d.detail,
        "2 of 3 columns drifted (share 0.6667) >= 0.5: dataset drift"
    );
    assert_eq!(report.metric_value("drifted_columns"), Some(2.0));
    assert_eq!(report.metric_value("columns"), Some(3.0));
    assert!((report.metric_value("drift_share").unwrap() - 2.0 / 3.0).abs() < 1e-15);
    assert_eq!(report.metric_value("x.statistic"), Some(0.0));
    assert_eq!(report.metric_value("x.p_value"), Some(1.0));
    assert_eq!(report.metric_value("y.statistic"), Some(0.75));
    assert!(report.metric_value("y.p_value").unwrap() < 1e-6);

    // A higher drift_share keeps the dataset check passing.
    let reference = Table::new().with(Column::f64("y", seq(40, |i| i as f64)));
    let data = Table::new().with(Column::f64("y", seq(40, |i| i as f64 + 30.0)));
    let report = run(data, reference, &[("method", text("wasserstein"))]);
    let y = report.find_check("drift:y").unwrap();
    assert!(
        y.detail.starts_with("wasserstein: statistic "),
        "{}",
        y.detail
    );
    assert!(y.detail.contains(" >= 0.1: drift"), "{}", y.detail);
    assert!(report.metric_value("y.p_value").is_none());
}

#[test]
fn nulls_nan_and_empty_columns() {
    let reference = Table::new()
        .with(Column::f64("x", vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, f64::NAN]).with_nulls(&[0]))
        .with(Column::f64("e", vec![1.0; 7]).with_nulls(&[0, 1, 2, 3, 4, 5, 6]));
    let data = Table::new()
        .with(
            Column::f64("x", vec![2.0, 3.0, 4.0, 5.0, 6.0, f64::INFINITY, 100.0]).with_nulls(&[6]),
        )
        .with(Column::f64("e", vec![1.0; 7]));
    let report = run(data, reference, &[]);
    let x = report.find_check("drift:x").unwrap();
    assert!(
        x.detail.contains("(5 reference, 5 current values)"),
        "{}",
        x.detail
    );
    // Both samples are {2..6}: identical.
    assert_eq!(report.metric_value("x.statistic"), Some(0.0));
    let e = report.find_check("drift:e").unwrap();
    assert!(!e.passed);
    assert!(
        e.detail
            .starts_with("not tested: no non-null finite values in the reference"),
        "{}",
        e.detail
    );
    assert!(report.metric_value("e.statistic").is_none());
    assert_eq!(report.metric_value("drifted_columns"), Some(1.0));
}

#[test]
fn constant_columns_are_finite() {
    let c = |v: f64| Table::new().with(Column::f64("k", vec![v; 30]));
    let report = run(c(1.0), c(1.0), &[]);
    assert!(report.passed(), "{report:#?}");
    assert!(
        report
            .find_check("drift:k")
            .unwrap()
            .detail
            .starts_with("z: statistic 0.0000, p-value 1.0000")
    );
    for m in ["ks", "chisquare", "wasserstein", "jensenshannon", "psi"] {
        let report = run(c(1.0), c(1.0), &[("method", text(m))]);
        assert!(report.passed(), "{m}: {report:#?}");
        let s = report.metric_value("k.statistic").unwrap();
        assert!(s.is_finite(), "{m}");
    }
    // Different constants: all tests see drift, finitely.
    let report = run(c(2.0), c(1.0), &[]);
    assert!(!report.passed());
    let report = run(c(2.0), c(1.0), &[("method", text("wasserstein"))]);
    assert_eq!(report.metric_value("k.statistic"), Some(1.0 / 0.001));
}

#[test]
fn bools_and_small_integer_columns_are_categorical() {
    let reference = Table::new()
        .with(Column::bool("b", (0..100).map(|i| i % 2 == 0).collect()))
        .with(Column::i64("k", (0..100).map(|i| i % 3).collect()));
    let data = Table::new()
        .with(Column::bool("b", (0..100).map(|i| i % 5 == 0).collect()))
        .with(Column::i64("k", (0..100).map(|i| i % 3).collect()));
    let report = run(data, reference, &[]);
    let b = report.find_check("drift:b").unwrap();
    assert!(b.detail.starts_with("z: "), "{}", b.detail);
    assert!(!b.passed);
    // share of `true`: 0.5 vs 0.2 -> z > 0
    assert!(report.metric_value("b.statistic").unwrap() > 0.0);
    let k = report.find_check("drift:k").unwrap();
    assert!(
        k.detail
            .starts_with("chisquare: statistic 0.0000, p-value 1.0000"),
        "{}",
        k.detail
    );
}

#[test]
fn binning_and_psi_bins_params_change_binning() {
    let reference = Table::new().with(Column::f64("x", seq(200, |i| i as f64)));
    let data = Table::new().with(Column::f64("x", seq(200, |i| (i as f64) * 1.3)));
    let psi = |pairs: &[(&str, ParamValue)]| {
        let mut pairs = pairs.to_vec();
        pairs.push(("method", text("psi")));
        run(data.clone(), reference.clone(), &pairs)
            .metric_value("x.statistic")
            .unwrap()
    };
    let evidently = psi(&[]);
    // psi_bins only matters with quantile binning.
    assert_eq!(evidently, psi(&[("psi_bins", ParamValue::Integer(4))]));
    let deciles = psi(&[("binning", text("quantile"))]);
    let quartiles = psi(&[
        ("binning", text("quantile")),
        ("psi_bins", ParamValue::Integer(4)),
    ]);
    let all = [evidently, deciles, quartiles];
    assert!(all.iter().all(|&s| s > 0.0), "{all:?}");
    assert!(evidently != deciles && deciles != quartiles, "{all:?}");
}
