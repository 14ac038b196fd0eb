//! Unit tests of the regression-eval plugin, run natively (`cargo test -p regression-eval`).

use super::*;
use sluice_sdk::Column;
use sluice_sdk::testing::{self, text};
use sluice_sdk::{ErrorKind, ParamValue};

fn params(pairs: &[(&str, ParamValue)]) -> Params {
    testing::params(&RegressionEval::describe(), pairs)
}

/// A stand-in model: the prediction is the `guess` column.
fn install_model() {
    model::set_native_predictor(Box::new(|t: &Table| {
        if t.contains("y") {
            return Err(StepError::internal("the target leaked into the model"));
        }
        let p = t.column("guess")?.to_f64_lossy()?;
        Ok(Table::new().with(Column::f64("prediction", p)))
    }));
}

fn data() -> Table {
    // scikit-learn's r2_score docs example: y_true = [3, -0.5, 2, 7],
    // y_pred = [2.5, 0.0, 2, 8]: r2_score == 0.9486081370449679,
    // mean_squared_error == 0.375 (RMSE 0.6123724356957945),
    // mean_absolute_error == 0.5.
    Table::new()
        .with(Column::f64("guess", vec![2.5, 0.0, 2.0, 8.0]))
        .with(Column::f64("y", vec![3.0, -0.5, 2.0, 7.0]))
}

#[test]
fn scores_match_scikit_learn() {
    install_model();
    let report = RegressionEval::validate(data(), None, params(&[("target", text("y"))])).unwrap();
    assert!(report.passed());
    let rmse = report.metric_value("rmse").unwrap();
    assert!((rmse - 0.612_372_435_695_794_5).abs() < 1e-15, "{rmse}");
    assert_eq!(report.metric_value("mae"), Some(0.5));
    let r2 = report.metric_value("r2").unwrap();
    assert!((r2 - 0.948_608_137_044_967_9).abs() < 1e-15, "{r2}");
    assert_eq!(report.metric_value("rows"), Some(4.0));
    assert_eq!(report.checks.len(), 3);
}

#[test]
fn thresholds_fail_with_numbers() {
    install_model();
    let report = RegressionEval::validate(
        data(),
        None,
        params(&[
            ("target", text("y")),
            ("max_rmse", ParamValue::Number(0.5)),
            ("max_mae", ParamValue::Number(0.5)),
            ("min_r2", ParamValue::Number(0.95)),
        ]),
    )
    .unwrap();
    assert!(!report.passed());
    let rmse = report.find_check("rmse").unwrap();
    assert!(!rmse.passed);
    assert_eq!(rmse.detail, "RMSE 0.612372 (maximum 0.5) on 4 rows");
    assert!(report.find_check("mae").unwrap().passed);
    let r2 = report.find_check("r2").unwrap();
    assert!(!r2.passed);
    assert_eq!(r2.detail, "R2 0.948608 (minimum 0.95)");
}

#[test]
fn constant_target_and_null_targets() {
    // sklearn: r2_score([2, 2], [2, 2]) == 1.0, r2_score([2, 2], [2, 3]) == 0.0
    assert_eq!(score(&[2.0, 2.0], &[2.0, 2.0]).r2, 1.0);
    assert_eq!(score(&[2.0, 2.0], &[2.0, 3.0]).r2, 0.0);
    // A mean predictor scores r2 0; a worse one goes negative.
    assert_eq!(score(&[1.0, 3.0], &[2.0, 2.0]).r2, 0.0);
    assert_eq!(score(&[1.0, 3.0], &[3.0, 1.0]).r2, -3.0);

    install_model();
    let d = Table::new()
        .with(Column::i64("guess", vec![1, 2, 100]))
        .with(Column::i64("y", vec![1, 4, 0]).with_nulls(&[2]));
    let report = RegressionEval::validate(d, None, params(&[("target", text("y"))])).unwrap();
    assert_eq!(report.metric_value("rows"), Some(2.0));
    assert_eq!(report.metric_value("mae"), Some(1.0));
    assert_eq!(report.metric_value("rmse"), Some(2.0f64.sqrt()));
    // mean 2.5: SS_tot 4.5, SS_res 4.
    assert_eq!(report.metric_value("r2"), Some(1.0 - 4.0 / 4.5));
}

#[test]
fn bad_inputs_are_errors() {
    install_model();
    let err =
        RegressionEval::validate(data(), None, params(&[("target", text("nope"))])).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("'nope'"), "{}", err.message);

    let strings = Table::new()
        .with(Column::f64("guess", vec![1.0]))
        .with(Column::strings("y", ["a"]));
    let err =
        RegressionEval::validate(strings, None, params(&[("target", text("y"))])).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);

    model::set_native_predictor(Box::new(|t: &Table| {
        Ok(Table::new().with(Column::f64("p_1", vec![0.5; t.num_rows()])))
    }));
    let err = RegressionEval::validate(data(), None, params(&[("target", text("y"))])).unwrap_err();
    assert!(err.message.contains("'prediction'"), "{}", err.message);

    model::clear_native_predictor();
    let err = RegressionEval::validate(data(), None, params(&[("target", text("y"))])).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Internal);
}
