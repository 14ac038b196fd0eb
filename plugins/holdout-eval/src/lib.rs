//! `holdout-eval`: scores the model under test on held-out data.
//!
//! Params: `target` (text, required: the label column of `data`),
//! `positive` (text, default `"1"`: the positive class as text),
//! `min_accuracy` (number, 0.0), `min_roc_auc` (number, 0.0),
//! `max_log_loss` (number, 1e300).
//!
//! The target column is taken out of `data`, the rest goes to the model
//! (through the host's `model.predict`), and its output is scored:
//! `prediction` against the target compared as text, and `p_<positive>` for
//! ROC AUC (rank-based, ties averaged) and log loss (clipped at 1e-15). Rows
//! whose target is null are left out.
//!
//! Checks `accuracy`, `roc_auc`, `log_loss`, one per threshold, with the
//! numbers in the detail. Metrics `accuracy`, `roc_auc` (left out when only
//! one class is present), `log_loss`, `rows`.

use sluice_sdk::metrics::{ScoredRows, check_max, check_min, check_roc_auc};
use sluice_sdk::{
    ParamSpec, Params, PluginInfo, StepError, Table, ValidationReport, Validator, log, model,
};

/// The thresholds a model must meet.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    pub min_accuracy: f64,
    pub min_roc_auc: f64,
    pub max_log_loss: f64,
}

/// Scores a model's output against the truth and checks the thresholds.
pub fn evaluate(scored: &ScoredRows, limits: &Thresholds) -> ValidationReport {
    let mut report = ValidationReport::new();
    let accuracy = scored.accuracy();
    let log_loss = scored.log_loss();
    let roc_auc = scored.roc_auc();

    let rows = format!(" on {} rows", scored.len());
    check_min(
        &mut report,
        "accuracy",
        "accuracy",
        accuracy,
        limits.min_accuracy,
        &rows,
    );
    check_roc_auc(&mut report, "ROC AUC", roc_auc, limits.min_roc_auc);
    check_max(
        &mut report,
        "log_loss",
        "log loss",
        log_loss,
        limits.max_log_loss,
        "",
    );

    report.metric("accuracy", accuracy);
    if let Some(auc) = roc_auc {
        report.metric("roc_auc", auc);
    }
    report.metric("log_loss", log_loss);
    report.metric("rows", scored.len() as f64);
    report
}

pub struct HoldoutEval;

impl Validator for HoldoutEval {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "holdout-eval",
            env!("CARGO_PKG_VERSION"),
            "Scores the model under test on held-out data (accuracy, ROC AUC, log loss) \
             and checks thresholds.",
        )
        .param(ParamSpec::text_required(
            "target",
            "the label column in the data",
        ))
        .param(ParamSpec::text(
            "positive",
            "1",
            "the positive class, as text (the model's p_<positive> column is scored)",
        ))
        .param(ParamSpec::number(
            "min_accuracy",
            0.0,
            "lowest accuracy that passes",
        ))
        .param(ParamSpec::number(
            "min_roc_auc",
            0.0,
            "lowest ROC AUC that passes",
        ))
        .param(ParamSpec::number(
            "max_log_loss",
            1e300,
            "highest log loss that passes",
        ))
    }

    fn validate(
        mut data: Table,
        _reference: Option<Table>,
        params: Params,
    ) -> Result<ValidationReport, StepError> {
        let target_name = params.text("target")?;
        let positive = params.text("positive")?;
        let limits = Thresholds {
            min_accuracy: params.number("min_accuracy")?,
            min_roc_auc: params.number("min_roc_auc")?,
            max_log_loss: params.number("max_log_loss")?,
        };
        let target = data.take(target_name).map_err(|_| {
            StepError::invalid_input(format!(
                "the target column '{target_name}' is not in the data; columns: {}",
                data.names().join(", ")
            ))
        })?;
        let output = model::predict(&data)?;
        let scored = ScoredRows::new(&output, &target, positive)?;
        if scored.is_empty() {
            return Err(StepError::invalid_input(format!(
                "no rows to evaluate: the data has {} rows, none with a target",
                target.len()
            )));
        }
        let report = evaluate(&scored, &limits);
        log::info(format!(
            "holdout-eval: {} rows, accuracy {:.4}",
            scored.len(),
            scored.accuracy()
        ));
        Ok(report)
    }
}

sluice_sdk::export_validator!(HoldoutEval);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_sdk::testing::{self, text};
    use sluice_sdk::{Column, ErrorKind, ParamValue};

    fn params(pairs: &[(&str, ParamValue)]) -> Params {
        testing::params(&HoldoutEval::describe(), pairs)
    }

    /// A stand-in model: p_1 is the `score` column, the prediction is
    /// `score > 0.5`, as an i64 label.
    fn install_model() {
        model::set_native_predictor(Box::new(|t: &Table| {
            if t.contains("y") {
                return Err(StepError::internal("the target leaked into the model"));
            }
            let p = t.column("score")?.as_f64()?.to_vec();
            Ok(Table::new()
                .with(Column::f64("p_0", p.iter().map(|p| 1.0 - p).collect()))
                .with(Column::i64(
                    "prediction",
                    p.iter().map(|&p| i64::from(p > 0.5)).collect(),
                ))
                .with(Column::f64("p_1", p)))
        }));
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
        install_model();
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
        install_model();
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
        install_model();
        let err =
            HoldoutEval::validate(data(), None, params(&[("target", text("nope"))])).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
        assert!(err.message.contains("'nope'"), "{}", err.message);

        let one_class = Table::new()
            .with(Column::f64("score", vec![0.9, 0.8]))
            .with(Column::i64("y", vec![1, 1]));
        let report =
            HoldoutEval::validate(one_class.clone(), None, params(&[("target", text("y"))]))
                .unwrap();
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
        let err =
            HoldoutEval::validate(data(), None, params(&[("target", text("y"))])).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Internal);
    }
}
