//! `logreg`: logistic regression with L2 regularisation, with
//! scikit-learn's semantics (`LogisticRegression(penalty="l2")`): binary
//! for two classes, multinomial (softmax, one coefficient vector per class,
//! as scikit-learn's default `lbfgs` solver fits it) for more.
//!
//! Params: `c` (number, 1.0: inverse regularisation strength), `max_iter`
//! (integer, 100), `tol` (number, 1e-8: largest gradient entry of the mean
//! loss at convergence), `fit_intercept` (flag, true), `solver` (text,
//! `newton`: damped Newton, or `lbfgs`: L-BFGS as scikit-learn's default
//! solver; both minimise the same objective to the same `tol`, and Newton,
//! the default, stays it so that shipped pipelines keep their outputs bit
//! for bit. L-BFGS is the faster on many rows and features: an iteration
//! costs `O(n d)` against Newton's `O(n d^2)`).
//!
//! - Features: every column must be numeric (f64, i64 or bool), without
//!   nulls or non-finite values.
//! - Target: i64, bool, string or f64 labels, no nulls, at least two
//!   distinct classes. Classes are sorted ([`Classes`]); with two, the
//!   second is the positive class.
//! - `train` metrics: `train_accuracy`, `train_log_loss`, `iterations`,
//!   `converged` (1 or 0).
//! - `predict` selects the model's features by name (order does not
//!   matter, extra columns are ignored) and returns `p_<class>` (f64) for
//!   every class, then `prediction`, the most probable class in the
//!   target's type (ties to the first), as `knn` and `decision-tree` do. A
//!   label renders as text the way [`Column::value_text`] does: `p_0`,
//!   `p_1`, `p_true`, `p_yes`.
//!
//! Model format: version 2 (any number of classes); version 1 models
//! (binary, written before multinomial support) still load.

pub mod binary;
mod held;
pub mod lbfgs;
pub mod newton;
pub mod softmax;
pub mod solver;
mod state;

use std::borrow::Cow;

use sluice_sdk::{
    Column, ParamSpec, Params, PluginInfo, StepError, Table, Trained, Trainer, classes, log,
    metrics,
};

pub use binary::LogisticFit;
pub use classes::Classes;
pub use held::HeldBinary;
pub use softmax::MultinomialFit;
pub use solver::{FitOptions, Solver};
pub use state::LogisticModel;

/// A feature column as f64 (borrowed when it is f64): numeric, no nulls,
/// finite.
pub(crate) fn numeric_feature(column: &Column) -> Result<Cow<'_, [f64]>, StepError> {
    sluice_sdk::columns::numeric_feature_ref(column, "logreg")
}

/// How the optimiser ended.
#[derive(Debug, Clone, PartialEq)]
pub struct FitSummary {
    pub iterations: usize,
    pub converged: bool,
    pub max_gradient: f64,
}

/// What training reports besides the model.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainReport {
    pub model: LogisticModel,
    pub fit: FitSummary,
    pub train_accuracy: f64,
    pub train_log_loss: f64,
}

/// Trains on `features` (every column is a feature) and `target`: binary
/// for two classes, multinomial for more.
pub fn train(
    features: &Table,
    target: &Column,
    opts: &FitOptions,
) -> Result<TrainReport, StepError> {
    let (classes, y) = Classes::from_target(target)?;
    if classes.len() < 2 {
        return Err(StepError::invalid_input(format!(
            "target '{}' must have at least two classes, found {}: {}",
            target.name,
            classes.len(),
            classes.texts().join(", ")
        )));
    }
    let columns = features
        .columns()
        .iter()
        .map(numeric_feature)
        .collect::<Result<Vec<_>, _>>()?;
    let refs: Vec<&[f64]> = columns.iter().map(AsRef::as_ref).collect();
    let (coef, intercept, fit) = if classes.len() == 2 {
        let labels: Vec<f64> = y.iter().map(|&k| k as f64).collect();
        let fit = binary::fit(&refs, &labels, opts);
        let summary = FitSummary {
            iterations: fit.iterations,
            converged: fit.converged,
            max_gradient: fit.max_gradient,
        };
        (vec![fit.coef], vec![fit.intercept], summary)
    } else {
        let fit = softmax::fit(&refs, &y, classes.len(), opts);
        let summary = FitSummary {
            iterations: fit.iterations,
            converged: fit.converged,
            max_gradient: fit.max_gradient,
        };
        (fit.coef, fit.intercept, summary)
    };
    let (correct, train_log_loss) = if coef.len() == 1 {
        // Binary: the values `probabilities` gives, without a vector per
        // row (750,000 rows are 750,000 allocations).
        let z = binary::decision(&refs, &coef[0], intercept[0], y.len());
        let p1 = binary::sigmoids(&z);
        let correct: Vec<bool> = p1
            .iter()
            .zip(&y)
            .map(|(&p1, &k)| usize::from(p1 > 1.0 - p1) == k)
            .collect();
        (correct, metrics::binary_class_log_loss(&y, &p1))
    } else {
        // By class, without a vector per row: the values and terms of
        // `probabilities` and `multiclass_log_loss`, in the same order.
        let proba = softmax::proba_by_class(&refs, &coef, &intercept, y.len());
        let best = softmax::best_class(&proba, y.len());
        let correct: Vec<bool> = best.iter().zip(&y).map(|(b, k)| b == k).collect();
        let truth = y.iter().enumerate().map(|(i, &k)| proba[k][i]);
        (correct, metrics::true_class_log_loss(truth))
    };
    Ok(TrainReport {
        model: LogisticModel {
            features: features.names().iter().map(|s| s.to_string()).collect(),
            classes,
            coef,
            intercept,
        },
        train_accuracy: metrics::accuracy(&correct),
        train_log_loss,
        fit,
    })
}

/// Reads and checks the params.
pub fn fit_options(params: &Params) -> Result<FitOptions, StepError> {
    let c = params.number("c")?;
    if !(c > 0.0 && c.is_finite()) {
        return Err(StepError::invalid_params(format!(
            "param 'c' must be a positive number, got {c}"
        )));
    }
    let max_iter = params.integer("max_iter")?;
    if max_iter < 1 {
        return Err(StepError::invalid_params(format!(
            "param 'max_iter' must be at least 1, got {max_iter}"
        )));
    }
    let tol = params.number("tol")?;
    if tol.is_nan() || tol < 0.0 {
        return Err(StepError::invalid_params(format!(
            "param 'tol' must not be negative, got {tol}"
        )));
    }
    let solver = params.text("solver")?;
    let solver = Solver::parse(solver).ok_or_else(|| {
        StepError::invalid_params(format!(
            "param 'solver' must be 'newton' or 'lbfgs', got '{solver}'"
        ))
    })?;
    Ok(FitOptions {
        c,
        max_iter: max_iter as usize,
        tol,
        fit_intercept: params.flag("fit_intercept")?,
        solver,
    })
}

pub struct LogReg;

impl Trainer for LogReg {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "logreg",
            env!("CARGO_PKG_VERSION"),
            "Logistic regression with L2 regularisation (scikit-learn semantics): binary, \
             or multinomial (softmax) for more than two classes; fitted by Newton's method \
             or L-BFGS.",
        )
        .metrics(&[
            "train_accuracy",
            "train_log_loss",
            "iterations",
            "converged",
        ])
        .param(
            ParamSpec::number(
                "c",
                1.0,
                "inverse regularisation strength: the penalty is ||w||^2 / (2c)",
            )
            .above(0.0),
        )
        .param(ParamSpec::integer("max_iter", 100, "most iterations of the solver").at_least(1.0))
        .param(
            ParamSpec::number(
                "tol",
                1e-8,
                "stop when every gradient entry of the mean loss is at most this",
            )
            .at_least(0.0),
        )
        .param(ParamSpec::flag(
            "fit_intercept",
            true,
            "fit an (unpenalised) intercept",
        ))
        .param(
            ParamSpec::text(
                "solver",
                "newton",
                "newton (few O(n d^2) iterations, to f64 precision) or lbfgs (more O(n d) \
             iterations; faster with many features)",
            )
            .choices(&["newton", "lbfgs"]),
        )
    }

    fn train(features: Table, target: Column, params: Params) -> Result<Trained, StepError> {
        let opts = fit_options(&params)?;
        let report = train(&features, &target, &opts)?;
        if !report.fit.converged {
            log::warn(format!(
                "logreg did not converge in {} iterations (largest gradient {:e} > tol {:e})",
                report.fit.iterations, report.fit.max_gradient, opts.tol
            ));
        }
        Ok(Trained::new(report.model.to_bytes())
            .with_metric("train_accuracy", report.train_accuracy)
            .with_metric("train_log_loss", report.train_log_loss)
            .with_metric("iterations", report.fit.iterations as f64)
            .with_metric("converged", f64::from(u8::from(report.fit.converged))))
    }

    fn predict(model: &[u8], features: &Table) -> Result<Table, StepError> {
        LogisticModel::from_bytes(model)?.predict(features)
    }

    fn hold(model: Vec<u8>, features: Table) -> Result<Box<dyn sluice_sdk::Held>, StepError> {
        match HeldBinary::new(LogisticModel::from_bytes(&model)?, features) {
            Ok(held) => Ok(Box::new(held)),
            Err(features) => Ok(Box::new(sluice_sdk::HeldTable::<LogReg>::new(
                model, features,
            ))),
        }
    }
}

sluice_sdk::export_trainer!(LogReg);

#[cfg(test)]
mod tests;
