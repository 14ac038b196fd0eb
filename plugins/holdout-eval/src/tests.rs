//! Unit tests of the holdout-eval plugin, run natively (`cargo test -p holdout-eval`).

use super::*;
use sluice_sdk::testing::{self, text};
use sluice_sdk::{Column, ErrorKind, ParamValue};

fn params(pairs: &[(&str, ParamValue)]) -> Params {
    testing::params(&HoldoutEval::describe(), pairs)
}

fn data() -> Table {
    // sklearn: accuracy_score([0,0,1,1,1], [0,0,0,1,1]) == 0.8,
    // roc_auc_score(y, p) == 1.0, log_loss(y, p) == 0.3486395805227249
    Table::new()
        .with(Column::f64("score", vec![0.1, 0.4, 0.45, 0.8, 0.9]))
        .with(Column::i64("y", vec![0, 0, 1, 1, 1]))
}

#[test]
fn scores_match_scikit_learn() {
    testing::install_scored_binary();
    let report = HoldoutEval::validate(data(), None, params(&[("target", text("y"))])).unwrap();
    assert!(report.passed());
    assert_eq!(report.metric_value("accuracy"), Some(0.8));
    assert_eq!(report.metric_value("roc_auc"), Some(1.0));
    let ll = report.metric_value("log_loss").unwrap();
    assert!((ll - 0.348_639_580_522_724_9).abs() < 1e-15, "{ll}");
    assert_eq!(report.metric_value("rows"), Some(5.0));
}

#[test]
fn thresholds_fail_with_numbers() {
    testing::install_scored_binary();
    let report = HoldoutEval::validate(
        data(),
        None,
        params(&[
            ("target", text("y")),
            ("min_accuracy", ParamValue::Number(0.9)),
            ("min_roc_auc", ParamValue::Number(0.5)),
            ("max_log_loss", ParamValue::Number(0.1)),
        ]),
    )
    .unwrap();
    assert!(!report.passed());
    let acc = report.find_check("accuracy").unwrap();
    assert!(!acc.passed);
    assert_eq!(acc.detail, "accuracy 0.8 (minimum 0.9) on 5 rows");
    assert!(report.find_check("roc_auc").unwrap().passed);
    assert!(!report.find_check("log_loss").unwrap().passed);
}

#[test]
fn string_labels_and_positive_class() {
    model::set_native_predictor(Box::new(|t: &Table| {
        let p = t.column("score")?.as_f64()?.to_vec();
        Ok(Table::new()
            .with(Column::strings(
                "prediction",
                p.iter().map(|&p| if p > 0.5 { "yes" } else { "no" }),
            ))
            .with(Column::f64("p_no", p.iter().map(|p| 1.0 - p).collect()))
            .with(Column::f64("p_yes", p)))
    }));
    let d = Table::new()
        .with(Column::f64("score", vec![0.2, 0.7, 0.6]))
        .with(Column::strings("label", ["no", "yes", "no"]).with_nulls(&[2]));
    let report = HoldoutEval::validate(
        d.clone(),
        None,
        params(&[("target", text("label")), ("positive", text("yes"))]),
    )
    .unwrap();
    assert_eq!(report.metric_value("accuracy"), Some(1.0));
    assert_eq!(report.metric_value("rows"), Some(2.0));

    let err = HoldoutEval::validate(d, None, params(&[("target", text("label"))])).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("'p_1'"), "{}", err.message);
}

#[test]
fn missing_target_and_single_class() {
    testing::install_scored_binary();
    let err = HoldoutEval::validate(data(), None, params(&[("target", text("nope"))])).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("'nope'"), "{}", err.message);

    let one_class = Table::new()
        .with(Column::f64("score", vec![0.9, 0.8]))
        .with(Column::i64("y", vec![1, 1]));
    let report =
        HoldoutEval::validate(one_class.clone(), None, params(&[("target", text("y"))])).unwrap();
    assert!(report.passed());
    assert_eq!(report.metric_value("roc_auc"), None);
    let report = HoldoutEval::validate(
        one_class,
        None,
        params(&[
            ("target", text("y")),
            ("min_roc_auc", ParamValue::Number(0.5)),
        ]),
    )
    .unwrap();
    assert!(!report.find_check("roc_auc").unwrap().passed);
}

#[test]
fn model_errors_pass_through() {
    model::clear_native_predictor();
    let err = HoldoutEval::validate(data(), None, params(&[("target", text("y"))])).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Internal);
}
