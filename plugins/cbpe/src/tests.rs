//! Unit tests of the cbpe plugin, run natively (`cargo test -p cbpe`).

use super::*;
use sluice_sdk::random::SplitMix64;
use sluice_sdk::testing::{self, int, num, text};
use sluice_sdk::{Column, ErrorKind, ParamValue};

fn params(pairs: &[(&str, ParamValue)]) -> Params {
    let mut all = vec![("target", text("y"))];
    all.extend_from_slice(pairs);
    testing::params(&Cbpe::describe(), &all)
}

/// `rows` rows of a model whose score is `score_of(p)` for a true
/// probability `p = draw(u)`, `u` uniform; the label is Bernoulli(p) and
/// the prediction thresholds the score at 0.5.
fn synthetic(
    seed: u64,
    rows: usize,
    draw: impl Fn(f64) -> f64,
    score_of: impl Fn(f64) -> f64,
) -> (Vec<f64>, Vec<i64>, Vec<i64>) {
    let mut rng = SplitMix64::new(seed);
    let (mut score, mut pred, mut y) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rows {
        let p = draw(rng.next_f64());
        let s = score_of(p);
        score.push(s);
        pred.push(i64::from(s >= 0.5));
        y.push(i64::from(rng.next_f64() < p));
    }
    (score, pred, y)
}

fn table(score: Vec<f64>, pred: Vec<i64>, y: Option<Vec<i64>>) -> Table {
    let t = Table::new()
        .with(Column::f64("p_1", score))
        .with(Column::i64("prediction", pred));
    match y {
        Some(y) => t.with(Column::i64("y", y)),
        None => t,
    }
}

fn realized_accuracy(pred: &[i64], y: &[i64]) -> f64 {
    pred.iter().zip(y).filter(|(a, b)| a == b).count() as f64 / y.len() as f64
}

#[test]
fn isotonic_regression_matches_hand_checked_cases() {
    // Each checked with scikit-learn's IsotonicRegression(out_of_bounds="clip").
    let map = Isotonic::fit(&[1.0, 2.0, 3.0, 4.0], &[1.0, 0.0, 1.0, 0.0]).unwrap();
    assert_eq!(map.y, vec![0.5; 4]);
    assert_eq!(map.predict(0.0), 0.5);

    let map = Isotonic::fit(&[1.0, 2.0, 3.0, 4.0, 5.0], &[0.0, 1.0, 0.0, 1.0, 1.0]).unwrap();
    assert_eq!(map.y, vec![0.0, 0.5, 0.5, 1.0, 1.0]);
    // Clipped below and above, interpolated between fitted points.
    for (x, want) in [(0.0, 0.0), (2.0, 0.5), (2.5, 0.5), (3.5, 0.75), (9.0, 1.0)] {
        assert_eq!(map.predict(x), want, "x = {x}");
    }

    // Tied scores pool into their mean label first (x 1: 0.5, x 2: 0,
    // x 3: 1), then 0.5 > 0 pools the first two into 0.25.
    let map = Isotonic::fit(&[2.0, 1.0, 2.0, 1.0, 3.0], &[0.0, 1.0, 0.0, 0.0, 1.0]).unwrap();
    assert_eq!(map.x, vec![1.0, 2.0, 3.0]);
    assert_eq!(map.y, vec![0.25, 0.25, 1.0]);
    assert_eq!(map.predict(1.5), 0.25);
    assert_eq!(map.predict(2.5), 0.625);

    // One distinct score: its mean label everywhere.
    let map = Isotonic::fit(&[0.3, 0.3], &[0.0, 1.0]).unwrap();
    assert_eq!(map.predict(0.0), 0.5);
    assert_eq!(map.predict(1.0), 0.5);

    assert!(Isotonic::fit(&[], &[]).is_none());
}

#[test]
fn pava_pools_every_violation() {
    let fitted = isotonic::pool_adjacent_violators(&[3.0, 1.0, 2.0, 0.0, 5.0], &[1.0; 5]);
    assert_eq!(fitted, vec![1.5, 1.5, 1.5, 1.5, 5.0]);
    let weighted = isotonic::pool_adjacent_violators(&[1.0, 0.0], &[3.0, 1.0]);
    assert_eq!(weighted, vec![0.75, 0.75]);
}

#[test]
fn estimated_accuracy_is_close_to_the_realized_one_on_calibrated_scores() {
    // Scores uniform and calibrated: P(y = 1 | score) = score.
    let (rs, rp, ry) = synthetic(1, 5000, |u| u, |p| p);
    let (cs, cp, cy) = synthetic(2, 5000, |u| u, |p| p);
    let realized = realized_accuracy(&cp, &cy);
    // Ten reference chunks of 500 rows for the thresholds.
    let report = Cbpe::validate(
        table(cs, cp, None),
        Some(table(rs, rp, Some(ry))),
        params(&[("chunk_size", int(500))]),
    )
    .unwrap();
    let estimated = report.metric_value("estimated_accuracy").unwrap();
    assert!(
        (estimated - realized).abs() < 0.02,
        "{estimated} vs {realized}"
    );
    assert!(report.passed(), "{:?}", report.checks);
    assert_eq!(report.metric_value("rows"), Some(5000.0));
    assert_eq!(report.metric_value("inconclusive"), Some(0.0));
}

#[test]
fn calibration_fixes_overconfident_scores_under_covariate_shift() {
    // The score doubles the logit (overconfident); the current window has
    // more confident rows (p = u^3) than the reference (p = u).
    let overconfident = |p: f64| 1.0 / (1.0 + ((1.0 - p) / p).powi(2));
    let (rs, rp, ry) = synthetic(3, 5000, |u| u, overconfident);
    let (cs, cp, cy) = synthetic(4, 5000, |u| u * u * u, overconfident);
    let realized = realized_accuracy(&cp, &cy);
    let reference = table(rs, rp, Some(ry));
    let current = table(cs, cp, None);

    let report = Cbpe::validate(current.clone(), Some(reference.clone()), params(&[])).unwrap();
    assert_eq!(report.metric_value("calibrated"), Some(1.0));
    let estimated = report.metric_value("estimated_accuracy").unwrap();
    assert!(
        (estimated - realized).abs() < 0.02,
        "{estimated} vs {realized}"
    );

    // Uncalibrated, the overconfident scores overstate accuracy.
    let report = Cbpe::validate(
        current,
        Some(reference),
        params(&[("calibrate", text("none"))]),
    )
    .unwrap();
    assert_eq!(report.metric_value("calibrated"), Some(0.0));
    let raw = report.metric_value("estimated_accuracy").unwrap();
    assert!(raw - realized > 0.03, "{raw} vs {realized}");
}

#[test]
fn expected_confusion_matrix_metrics() {
    // Predicted 1, 1, 0, 0 with probabilities 0.9, 0.6, 0.2, 0.5:
    // TP 1.5, FP 0.5, FN 0.7, TN 1.3.
    let predicted = [true, true, false, false];
    let p = [0.9, 0.6, 0.2, 0.5];
    let m = metric::ExpectedConfusion::new(&predicted, &p);
    testing::assert_close(m.tp, 1.5, 1e-12);
    testing::assert_close(m.fn_, 0.7, 1e-12);
    let est = |metric: Metric| metric.estimate(&predicted, &p, &p);
    testing::assert_close(est(Metric::Accuracy), 2.8 / 4.0, 1e-12);
    testing::assert_close(est(Metric::Precision), 1.5 / 2.0, 1e-12);
    testing::assert_close(est(Metric::Recall), 1.5 / 2.2, 1e-12);
    testing::assert_close(est(Metric::F1), 1.5 / (1.5 + 0.6), 1e-12);
    testing::assert_close(est(Metric::Specificity), 1.3 / 1.8, 1e-12);
    // Expected ROC: rows by score 0.9, 0.6, 0.5, 0.2; TP 0.9, 1.5, 2.0,
    // 2.2 and FP 0.1, 0.5, 1.0, 1.8 (of 2.2 and 1.8).
    let tpr = [0.0, 0.9, 1.5, 2.0, 2.2].map(|t| t / 2.2);
    let fpr = [0.0, 0.1, 0.5, 1.0, 1.8].map(|f| f / 1.8);
    let auc: f64 = (1..5)
        .map(|k| (fpr[k] - fpr[k - 1]) * (tpr[k] + tpr[k - 1]) / 2.0)
        .sum();
    testing::assert_close(est(Metric::RocAuc), auc, 1e-12);
    // All-certain negatives: no expected positive, ROC AUC undefined.
    assert!(
        Metric::RocAuc
            .estimate(&[false, false], &[0.0, 0.0], &[0.1, 0.2])
            .is_nan()
    );
}

#[test]
fn realized_metrics_are_nan_where_nannyml_gives_nan() {
    let truth = [true, true, true];
    let predicted = [true, false, true];
    let raw = [0.9, 0.4, 0.7];
    assert!(Metric::RocAuc.realized(&truth, &predicted, &raw).is_nan());
    assert!(Metric::F1.realized(&truth, &predicted, &raw).is_nan());
    assert!(
        Metric::Specificity
            .realized(&truth, &predicted, &raw)
            .is_nan()
    );
    testing::assert_close(
        Metric::Accuracy.realized(&truth, &predicted, &raw),
        2.0 / 3.0,
        1e-15,
    );
}

#[test]
fn the_incomplete_last_chunk_is_kept_and_bounds_are_clipped() {
    assert_eq!(chunk_ranges(7, 3), vec![(0, 3), (3, 6), (6, 7)]);
    assert_eq!(chunk_ranges(6, 3), vec![(0, 3), (3, 6)]);
    // Accuracy 1, 0, 1 on the chunks: mean 2/3, std sqrt(2)/3 (ddof 0).
    let truth = [true, false, true, true, false];
    let predicted = [true, false, false, false, false];
    let raw = [0.9, 0.1, 0.8, 0.7, 0.2];
    let t = thresholds(Metric::Accuracy, &truth, &predicted, &raw, 2, 1.0);
    assert_eq!(t.chunks, vec![1.0, 0.0, 1.0]);
    testing::assert_close(t.mean, 2.0 / 3.0, 1e-15);
    testing::assert_close(t.std, 2f64.sqrt() / 3.0, 1e-15);
    testing::assert_close(t.lower, 2.0 / 3.0 - 2f64.sqrt() / 3.0, 1e-15);
    assert_eq!(t.upper, 1.0);
    let wide = thresholds(Metric::Accuracy, &truth, &predicted, &raw, 2, 3.0);
    assert_eq!((wide.lower, wide.upper), (0.0, 1.0));
}

#[test]
fn few_rows_are_inconclusive_and_pass() {
    let (rs, rp, ry) = synthetic(5, 1000, |u| u, |p| p);
    // A current window of 50 rows all predicted wrong-ish.
    let current = table(vec![0.5; 50], vec![1; 50], None);
    let report = Cbpe::validate(current, Some(table(rs, rp, Some(ry))), params(&[])).unwrap();
    assert!(report.passed());
    assert_eq!(report.metric_value("inconclusive"), Some(1.0));
    assert_eq!(report.metric_value("rows"), Some(50.0));
    let check = report.find_check("estimated_accuracy").unwrap();
    assert!(
        check
            .detail
            .starts_with("inconclusive: 50 rows < min_rows (100)"),
        "{}",
        check.detail
    );
}

#[test]
fn a_window_without_usable_rows_is_inconclusive() {
    let (rs, rp, ry) = synthetic(8, 600, |u| u, |p| p);
    let current = table(vec![0.5; 3], vec![1; 3], None);
    let current = Table::new()
        .with(Column::f64("p_1", vec![0.5; 3]).with_nulls(&[0, 1, 2]))
        .with(current.column("prediction").unwrap().clone());
    let report = Cbpe::validate(
        current,
        Some(table(rs, rp, Some(ry))),
        params(&[("min_rows", int(0)), ("chunk_size", int(100))]),
    )
    .unwrap();
    assert!(report.passed());
    assert_eq!(report.metric_value("rows"), Some(0.0));
    assert_eq!(report.metric_value("inconclusive"), Some(1.0));
    assert_eq!(report.metric_value("estimated_accuracy"), None);
    assert!(report.metric_value("accuracy.lower").is_some());
}

#[test]
fn a_shifted_window_fails_its_checks() {
    let (rs, rp, ry) = synthetic(6, 3000, |u| u, |p| p);
    // Every current row at 0.55 and predicted positive: expected accuracy
    // 0.55, far below the reference's ~0.75.
    let current = table(vec![0.55; 500], vec![1; 500], None);
    let report = Cbpe::validate(
        current,
        Some(table(rs, rp, Some(ry))),
        params(&[("calibrate", text("none")), ("metrics", text("accuracy"))]),
    )
    .unwrap();
    assert!(!report.passed());
    let check = report.find_check("estimated_accuracy").unwrap();
    assert!(check.detail.contains("outside bounds"), "{}", check.detail);
    assert!(check.detail.contains("reference mean"), "{}", check.detail);
    assert_eq!(report.checks.len(), 1);
    testing::assert_close(
        report.metric_value("estimated_accuracy").unwrap(),
        0.55,
        1e-12,
    );
    assert!(report.metric_value("reference_accuracy").is_some());
    assert!(report.metric_value("accuracy.lower").unwrap() > 0.55);
}

#[test]
fn predictions_compare_as_text_and_null_scores_are_left_out() {
    let reference = Table::new()
        .with(Column::f64("p_yes", vec![0.9, 0.2, 0.7, 0.4, 0.8, 0.1]))
        .with(Column::strings(
            "prediction",
            ["yes", "no", "yes", "no", "yes", "no"],
        ))
        .with(Column::strings(
            "label",
            ["yes", "no", "no", "no", "yes", "yes"],
        ));
    let current = Table::new()
        .with(Column::f64("p_yes", vec![0.9, f64::NAN, 0.3, 0.6]).with_nulls(&[2]))
        .with(Column::strings("prediction", ["yes", "yes", "no", "yes"]))
        .with(Column::f64("other", vec![1.0; 4]));
    let report = Cbpe::validate(
        current,
        Some(reference),
        testing::params(
            &Cbpe::describe(),
            &[
                ("target", text("label")),
                ("positive", text("yes")),
                ("calibrate", text("none")),
                ("min_rows", int(1)),
            ],
        ),
    )
    .unwrap();
    assert_eq!(report.metric_value("rows"), Some(2.0));
    // Rows 0.9 and 0.6, both predicted yes: accuracy (0.9 + 0.6) / 2.
    testing::assert_close(
        report.metric_value("estimated_accuracy").unwrap(),
        0.75,
        1e-12,
    );
}

#[test]
fn errors_name_the_missing_column() {
    let reference = table(vec![0.2, 0.8], vec![0, 1], Some(vec![0, 1]));
    let err = Cbpe::validate(
        Table::new().with(Column::i64("prediction", vec![1])),
        Some(reference.clone()),
        params(&[]),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(
        err.message
            .contains("the data has no column `p_1` (the score of positive class `1`)"),
        "{}",
        err.message
    );

    let err = Cbpe::validate(
        Table::new().with(Column::f64("p_1", vec![0.5])),
        Some(reference.clone()),
        params(&[]),
    )
    .unwrap_err();
    assert!(
        err.message.contains("no column `prediction`"),
        "{}",
        err.message
    );

    let current = table(vec![0.5], vec![1], None);
    let err = Cbpe::validate(
        current.clone(),
        Some(table(vec![0.2], vec![0], None)),
        params(&[]),
    )
    .unwrap_err();
    assert!(
        err.message.contains("the reference has no column `y`"),
        "{}",
        err.message
    );

    let err = Cbpe::validate(current.clone(), None, params(&[])).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("needs a reference"), "{}", err.message);

    let strings = Table::new()
        .with(Column::strings("p_1", ["a"]))
        .with(Column::i64("prediction", vec![1]));
    let err = Cbpe::validate(strings, Some(reference), params(&[])).unwrap_err();
    assert!(err.message.contains("`p_1` is string"), "{}", err.message);
}

#[test]
fn bad_params_are_invalid_params() {
    let reference = table(vec![0.2, 0.8], vec![0, 1], Some(vec![0, 1]));
    let current = table(vec![0.5], vec![1], None);
    for (name, value, needle) in [
        ("metrics", text("accuracy,auc"), "unknown metric 'auc'"),
        ("metrics", text(" , "), "names no metric"),
        ("calibrate", text("platt"), "'calibrate'"),
        ("chunk_size", int(-1), "'chunk_size'"),
        ("min_rows", int(-5), "'min_rows'"),
        ("std_multiplier", num(-1.0), "'std_multiplier'"),
        ("std_multiplier", num(f64::INFINITY), "'std_multiplier'"),
    ] {
        let err = Cbpe::validate(
            current.clone(),
            Some(reference.clone()),
            params(&[(name, value)]),
        )
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidParams, "{name}");
        assert!(err.message.contains(needle), "{name}: {}", err.message);
    }
    assert_eq!(
        Metric::parse_list("f1, accuracy,f1").unwrap(),
        vec![Metric::F1, Metric::Accuracy]
    );
}

#[test]
fn the_calibration_verdict_skips_single_class_and_near_perfect_scores() {
    assert_eq!(
        calibration_verdict(&[true, true], &[0.2, 0.9]),
        CalibrationVerdict::SingleClass
    );
    let truth: Vec<bool> = (0..100).map(|i| i >= 50).collect();
    let score: Vec<f64> = (0..100).map(|i| f64::from(i) / 100.0).collect();
    assert_eq!(
        calibration_verdict(&truth, &score),
        CalibrationVerdict::NearPerfect
    );
    assert!(!CalibrationVerdict::NearPerfect.needs_calibration());
}

#[test]
fn describe_lists_the_params() {
    let info = Cbpe::describe();
    let names: Vec<&str> = info.params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "target",
            "positive",
            "metrics",
            "calibrate",
            "chunk_size",
            "std_multiplier",
            "min_rows"
        ]
    );
}
