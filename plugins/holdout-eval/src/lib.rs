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
//! ROC AUC (rank-based, ties averaged) and log loss (`p_<positive>` for a
//! positive row, `1 - p_<positive>` for any other, clipped to `[eps, 1 -
//! eps]` with `eps` the machine epsilon, 2.2e-16, as scikit-learn's
//! `log_loss`: `sluice_sdk::metrics::log_loss`, the definition
//! `classification-eval` uses too). Rows whose target is null are left out.
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
        .metrics(&["accuracy", "roc_auc", "log_loss", "rows"])
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
mod tests;
