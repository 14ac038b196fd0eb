//! Unit tests of the classification-eval plugin, run natively (`cargo test -p classification-eval`).

use super::*;
use sluice_sdk::testing::{self, text};
use sluice_sdk::{ErrorKind, ParamValue};

fn params(pairs: &[(&str, ParamValue)]) -> Params {
    testing::params(&ClassificationEval::describe(), pairs)
}

fn close(a: Option<f64>, b: f64) {
    let a = a.unwrap();
    assert!((a - b).abs() < 1e-12, "{a} != {b}");
}

fn binary_data() -> Table {
    // y_true = [0,0,1,1,1], y_pred = [0,0,0,1,1]: TP 2, FP 0, FN 1.
    // sklearn: accuracy 0.8, precision 1.0, recall 2/3, f1 0.8,
    // roc_auc_score(y, p) == 1.0, log_loss(y, p) == 0.3486395805227249
    Table::new()
        .with(Column::f64("score", vec![0.1, 0.4, 0.45, 0.8, 0.9]))
        .with(Column::i64("y", vec![0, 0, 1, 1, 1]))
}

/// A three-class model whose `p_a`, `p_b`, `p_c` are given as columns;
/// the prediction is the arg max.
fn install_multiclass() {
    model::set_native_predictor(Box::new(|t: &Table| {
        let cols = ["pa", "pb", "pc"].map(|c| t.column(c).unwrap().as_f64().unwrap().to_vec());
        let pred = (0..t.num_rows()).map(|i| {
            let best = (0..3)
                .max_by(|&a, &b| cols[a][i].total_cmp(&cols[b][i]))
                .unwrap();
            ["a", "b", "c"][best]
        });
        Ok(Table::new()
            .with(Column::f64("p_a", cols[0].clone()))
            .with(Column::f64("p_b", cols[1].clone()))
            .with(Column::f64("p_c", cols[2].clone()))
            .with(Column::strings("prediction", pred)))
    }));
}

fn multiclass_data() -> Table {
    // truth a a b b c c, predicted a b b c c b.
    Table::new()
        .with(Column::f64("pa", vec![0.7, 0.3, 0.2, 0.1, 0.1, 0.2]))
        .with(Column::f64("pb", vec![0.2, 0.4, 0.6, 0.3, 0.1, 0.5]))
        .with(Column::f64("pc", vec![0.1, 0.3, 0.2, 0.6, 0.8, 0.3]))
        .with(Column::strings("label", ["a", "a", "b", "b", "c", "c"]))
}

#[test]
fn binary_scores_match_scikit_learn() {
    testing::install_scored_binary();
    let report =
        ClassificationEval::validate(binary_data(), None, params(&[("target", text("y"))]))
            .unwrap();
    assert!(report.passed());
    assert_eq!(report.metric_value("accuracy"), Some(0.8));
    assert_eq!(report.metric_value("precision"), Some(1.0));
    close(report.metric_value("recall"), 2.0 / 3.0);
    close(report.metric_value("f1"), 0.8);
    assert_eq!(report.metric_value("roc_auc"), Some(1.0));
    let ll = report.metric_value("log_loss").unwrap();
    assert!((ll - 0.348_639_580_522_724_9).abs() < 1e-15, "{ll}");
    assert_eq!(report.metric_value("rows"), Some(5.0));
    assert_eq!(report.checks.len(), 6);
}

#[test]
fn macro_scores_match_scikit_learn() {
    // Per class (P, R, F1): a (1, 1/2, 2/3), b (1/3, 1/2, 2/5),
    // c (1/2, 1/2, 1/2). sklearn precision/recall/f1_score(average=
    // 'macro') == 0.6111111, 0.5, 0.5222222 (the mean of per-class F1,
    // not the F1 of the means). One-vs-rest AUCs: a 1, b 6/8, c 6.5/8
    // (a tie at 0.3 counts half): roc_auc_score(multi_class='ovr') ==
    // 0.8541666666666666. log_loss == -(ln .7 + 3 ln .3 + ln .6 + ln .8) / 6.
    install_multiclass();
    let report = ClassificationEval::validate(
        multiclass_data(),
        None,
        params(&[("target", text("label")), ("average", text("macro"))]),
    )
    .unwrap();
    close(report.metric_value("accuracy"), 0.5);
    close(
        report.metric_value("precision"),
        (1.0 + 1.0 / 3.0 + 0.5) / 3.0,
    );
    close(report.metric_value("recall"), 0.5);
    close(report.metric_value("f1"), (2.0 / 3.0 + 0.4 + 0.5) / 3.0);
    close(report.metric_value("roc_auc"), (1.0 + 0.75 + 0.8125) / 3.0);
    let ll = -(0.7f64.ln() + 3.0 * 0.3f64.ln() + 0.6f64.ln() + 0.8f64.ln()) / 6.0;
    close(report.metric_value("log_loss"), ll);
    close(report.metric_value("log_loss"), 0.783_760_421_999_456_8);
    assert_eq!(report.metric_value("rows"), Some(6.0));
}

#[test]
fn binary_average_rejects_three_classes() {
    install_multiclass();
    let err = ClassificationEval::validate(
        multiclass_data(),
        None,
        params(&[("target", text("label")), ("positive", text("a"))]),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("'macro'"), "{}", err.message);
    let err = ClassificationEval::validate(
        multiclass_data(),
        None,
        params(&[("target", text("label")), ("average", text("micro"))]),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidParams);
}

#[test]
fn thresholds_fail_with_numbers() {
    testing::install_scored_binary();
    let report = ClassificationEval::validate(
        binary_data(),
        None,
        params(&[
            ("target", text("y")),
            ("min_accuracy", ParamValue::Number(0.9)),
            ("min_precision", ParamValue::Number(0.9)),
            ("min_recall", ParamValue::Number(0.9)),
            ("min_f1", ParamValue::Number(0.8)),
            ("min_roc_auc", ParamValue::Number(0.5)),
            ("max_log_loss", ParamValue::Number(0.1)),
        ]),
    )
    .unwrap();
    assert!(!report.passed());
    let acc = report.find_check("accuracy").unwrap();
    assert!(!acc.passed);
    assert_eq!(acc.detail, "accuracy 0.8 (minimum 0.9) on 5 rows");
    assert!(report.find_check("precision").unwrap().passed);
    let recall = report.find_check("recall").unwrap();
    assert!(!recall.passed);
    assert_eq!(recall.detail, "binary recall 0.666667 (minimum 0.9)");
    assert!(report.find_check("f1").unwrap().passed);
    assert!(report.find_check("roc_auc").unwrap().passed);
    assert!(!report.find_check("log_loss").unwrap().passed);
}

#[test]
fn zero_division_and_string_positive() {
    // The model never predicts "yes": precision 0/0 -> 0, recall 0, f1 0.
    model::set_native_predictor(Box::new(|t: &Table| {
        let n = t.num_rows();
        Ok(Table::new()
            .with(Column::strings("prediction", vec!["no"; n]))
            .with(Column::f64("p_no", vec![0.6; n]))
            .with(Column::f64("p_yes", vec![0.4; n])))
    }));
    let d = Table::new()
        .with(Column::f64("x", vec![1.0, 2.0, 3.0, 4.0]))
        .with(Column::strings("label", ["no", "yes", "no", "yes"]).with_nulls(&[3]));
    let report = ClassificationEval::validate(
        d,
        None,
        params(&[("target", text("label")), ("positive", text("yes"))]),
    )
    .unwrap();
    assert_eq!(report.metric_value("rows"), Some(3.0));
    close(report.metric_value("accuracy"), 2.0 / 3.0);
    assert_eq!(report.metric_value("precision"), Some(0.0));
    assert_eq!(report.metric_value("recall"), Some(0.0));
    assert_eq!(report.metric_value("f1"), Some(0.0));
    // All scores tie: AUC 0.5.
    assert_eq!(report.metric_value("roc_auc"), Some(0.5));
    close(
        report.metric_value("log_loss"),
        -(2.0 * 0.6f64.ln() + 0.4f64.ln()) / 3.0,
    );
}

#[test]
fn missing_target_columns_and_single_class() {
    testing::install_scored_binary();
    let err =
        ClassificationEval::validate(binary_data(), None, params(&[("target", text("nope"))]))
            .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("'nope'"), "{}", err.message);

    let err = ClassificationEval::validate(
        binary_data(),
        None,
        params(&[("target", text("y")), ("positive", text("2"))]),
    )
    .unwrap_err();
    assert!(err.message.contains("'p_2'"), "{}", err.message);

    let one_class = Table::new()
        .with(Column::f64("score", vec![0.9, 0.8]))
        .with(Column::i64("y", vec![1, 1]));
    let report =
        ClassificationEval::validate(one_class, None, params(&[("target", text("y"))])).unwrap();
    assert!(report.passed());
    assert_eq!(report.metric_value("roc_auc"), None);
}

#[test]
fn model_errors_pass_through() {
    model::clear_native_predictor();
    let err = ClassificationEval::validate(binary_data(), None, params(&[("target", text("y"))]))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Internal);
}

/// The log loss `holdout-eval` reports (`ScoredRows::log_loss`, from
/// `p_<positive>`) and this plugin's (from `p_<true class>`) are one
/// definition: the same bits on the same predictions, and scikit-learn
/// 1.9.1's number, which clips at machine epsilon:
/// `log_loss([0, 1, 1, 0, 0, 1, 1, 0], p)` == 18.29327129838203.
#[test]
fn log_loss_is_holdout_evals_and_scikit_learns() {
    testing::install_scored_binary();
    let p = vec![1.0, 0.0, 0.95, 2e-16, 1.0 - 2e-16, 0.3, 1e-300, 0.6];
    let y = vec![0, 1, 1, 0, 0, 1, 1, 0];
    let data = Table::new()
        .with(Column::f64("score", p.clone()))
        .with(Column::i64("y", y.clone()));
    let report =
        ClassificationEval::validate(data, None, params(&[("target", text("y"))])).unwrap();
    let ours = report.metric_value("log_loss").unwrap();
    let output = model::predict(&Table::new().with(Column::f64("score", p))).unwrap();
    let holdout = sluice_sdk::metrics::ScoredRows::new(&output, &Column::i64("y", y), "1")
        .unwrap()
        .log_loss();
    assert_eq!(ours.to_bits(), holdout.to_bits(), "{ours} vs {holdout}");
    let want = 18.293_271_298_382_03;
    assert!((ours - want).abs() <= 1e-14 * want, "{ours} vs {want}");
}
