//! `regression-eval`: scores a regressor under test on held-out data.
//!
//! Params: `target` (text, required: the numeric label column of `data`),
//! `max_rmse` (number, 1e300), `max_mae` (number, 1e300), `min_r2` (number,
//! -1e300).
//!
//! The target column is taken out of `data`, the rest goes to the model
//! (through the host's `model.predict`), and its `prediction` column is
//! scored against the target. Rows whose target is null are left out; a
//! null prediction for a row with a target is an invalid-input error.
//!
//! - `rmse`: the root of the mean squared error.
//! - `mae`: the mean absolute error.
//! - `r2`: scikit-learn's `r2_score`, `1 - SS_res / SS_tot`; with a constant
//!   target (`SS_tot = 0`) it is 1.0 for a perfect fit and 0.0 otherwise.
//!
//! Checks `rmse`, `mae`, `r2`, one per threshold, with the numbers in the
//! detail. Metrics `rmse`, `mae`, `r2`, `rows`.

use sluice_sdk::metrics::{self, check_max, check_min};
use sluice_sdk::{
    ParamSpec, Params, PluginInfo, StepError, Table, ValidationReport, Validator, log, model,
};

/// The scores of one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    pub rmse: f64,
    pub mae: f64,
    pub r2: f64,
    pub rows: usize,
}

/// RMSE, MAE and R² of `predicted` against `truth` (equal lengths, at
/// least one row), with scikit-learn's conventions
/// (`sluice_sdk::metrics::regression_scores`).
pub fn score(truth: &[f64], predicted: &[f64]) -> Scores {
    let s = metrics::regression_scores(truth, predicted);
    Scores {
        rmse: s.mse.sqrt(),
        mae: s.mae,
        r2: s.r2,
        rows: truth.len(),
    }
}

/// The thresholds a model must meet.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    pub max_rmse: f64,
    pub max_mae: f64,
    pub min_r2: f64,
}

/// Checks the scores against the thresholds, one check per threshold.
pub fn evaluate(scores: &Scores, limits: &Thresholds) -> ValidationReport {
    let mut report = ValidationReport::new();
    check_max(
        &mut report,
        "rmse",
        "RMSE",
        scores.rmse,
        limits.max_rmse,
        &format!(" on {} rows", scores.rows),
    );
    check_max(&mut report, "mae", "MAE", scores.mae, limits.max_mae, "");
    check_min(&mut report, "r2", "R2", scores.r2, limits.min_r2, "");
    report.metric("rmse", scores.rmse);
    report.metric("mae", scores.mae);
    report.metric("r2", scores.r2);
    report.metric("rows", scores.rows as f64);
    report
}

pub struct RegressionEval;

impl Validator for RegressionEval {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "regression-eval",
            env!("CARGO_PKG_VERSION"),
            "Scores the regressor under test on held-out data (RMSE, MAE, R2) and checks \
             thresholds.",
        )
        .metrics(&["rmse", "mae", "r2", "rows"])
        .param(ParamSpec::text_required(
            "target",
            "the numeric label column in the data",
        ))
        .param(ParamSpec::number(
            "max_rmse",
            1e300,
            "highest RMSE that passes",
        ))
        .param(ParamSpec::number(
            "max_mae",
            1e300,
            "highest MAE that passes",
        ))
        .param(ParamSpec::number("min_r2", -1e300, "lowest R2 that passes"))
    }

    fn validate(
        mut data: Table,
        _reference: Option<Table>,
        params: Params,
    ) -> Result<ValidationReport, StepError> {
        let target_name = params.text("target")?;
        let limits = Thresholds {
            max_rmse: params.number("max_rmse")?,
            max_mae: params.number("max_mae")?,
            min_r2: params.number("min_r2")?,
        };
        let target = data.take(target_name).map_err(|_| {
            StepError::invalid_input(format!(
                "the target column '{target_name}' is not in the data; columns: {}",
                data.names().join(", ")
            ))
        })?;
        let output = model::predict(&data)?;
        let (truth, predicted) = metrics::regressed_rows(&output, &target)?;
        if truth.is_empty() {
            return Err(StepError::invalid_input(format!(
                "no rows to evaluate: the data has {} rows, none with a target",
                target.len()
            )));
        }
        let scores = score(&truth, &predicted);
        log::info(format!(
            "regression-eval: {} rows, rmse {:.6}, r2 {:.4}",
            scores.rows, scores.rmse, scores.r2
        ));
        Ok(evaluate(&scores, &limits))
    }
}

sluice_sdk::export_validator!(RegressionEval);

#[cfg(test)]
mod tests;
