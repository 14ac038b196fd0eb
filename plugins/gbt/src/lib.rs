//! `gbt`: histogram-based gradient-boosted trees with scikit-learn's
//! semantics (`HistGradientBoostingClassifier`, binary or multinomial log
//! loss, and `HistGradientBoostingRegressor`, squared error), without early
//! stopping; the algorithm, binning and tie-breaking are in [`boost`].
//!
//! Params: `mode` (text, `classification` | `regression`), `max_iter`
//! (integer, 100), `learning_rate` (number, 0.1), `max_leaf_nodes`
//! (integer, 31), `max_depth` (integer, 0 = unlimited), `min_samples_leaf`
//! (integer, 20), `l2_regularization` (number, 0.0), `max_bins` (integer,
//! 255).
//!
//! - Features: every column must be numeric (f64, i64 or bool), without
//!   nulls or non-finite values. No scaling is needed.
//! - Target: classification takes i64, bool, string or f64 labels with at
//!   least two classes (sorted as `logreg` sorts them). Two classes: one
//!   tree per iteration on the log-odds of the second. More: one tree per
//!   class per iteration, probabilities by softmax
//!   ([`boost::fit_multiclass`]). Regression takes a numeric target. No
//!   nulls.
//! - `train` metrics: `iterations`, `leaves` (total over all trees), and
//!   `train_accuracy` (classification) or `train_rmse` (regression).
//! - `predict` selects the model's features by name (order does not
//!   matter, extra columns are ignored). A classifier returns `p_<class>`
//!   for every class (binary: the sigmoid of the raw score for the second),
//!   then `prediction` (the most probable class, ties to the first), as
//!   `knn` and `decision-tree` do. A regressor returns `prediction` (f64).
//!
//! Model format: version 2 (one ensemble per class for multiclass);
//! version 1 models (binary or regression) still load.
//!
//! Training is deterministic: no sampling, no randomness. From 20,000
//! rows it is spread over the step's workers when the tenant has step
//! slots to spare ([`spread`]: each worker builds the histograms of a
//! block of the features), and the model is the same bytes whatever the
//! number of workers.

#[cfg(test)]
mod binning_tests;
pub mod boost;
pub mod grow;
pub mod spread;
mod state;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tie_tests;

pub use sluice_sdk::classes;
pub use state::GbtModel;

use sluice_sdk::{
    Column, ParamSpec, Params, PluginInfo, StepError, Table, Trained, Trainer, metrics,
};
use state::probabilities;

pub use boost::{BoostOptions, Ensemble, Loss, Tree};
pub use classes::Classes;

/// Classification or regression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Classification,
    Regression,
}

/// The checked params.
#[derive(Debug, Clone, PartialEq)]
pub struct GbtOptions {
    pub mode: Mode,
    pub boost: BoostOptions,
}

/// A feature (or numeric target) column as f64: numeric, no nulls, finite.
fn numeric_feature(column: &Column) -> Result<Vec<f64>, StepError> {
    sluice_sdk::columns::numeric_feature(column, "gbt")
}

/// What training reports besides the model.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainReport {
    pub model: GbtModel,
    /// Accuracy (classification) or RMSE (regression) on the training rows.
    pub train_score: f64,
}

/// Boosts trees on `features` (every column is a feature) and `target`.
pub fn train(
    features: &Table,
    target: &Column,
    opts: &GbtOptions,
) -> Result<TrainReport, StepError> {
    let columns = features
        .columns()
        .iter()
        .map(numeric_feature)
        .collect::<Result<Vec<_>, _>>()?;
    if columns.is_empty() {
        return Err(StepError::invalid_input(
            "gbt needs at least one feature column",
        ));
    }
    if target.is_empty() {
        return Err(StepError::invalid_input("gbt needs at least one row"));
    }
    let refs: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
    let names = features.names().iter().map(|s| s.to_string()).collect();
    match opts.mode {
        Mode::Classification => {
            let (classes, index) = Classes::from_target(target)?;
            if classes.len() < 2 {
                return Err(StepError::invalid_input(format!(
                    "target '{}' has a single class; classification needs at least two",
                    target.name
                )));
            }
            let (ensembles, raw) = if classes.len() == 2 {
                let y: Vec<f64> = index.iter().map(|&k| k as f64).collect();
                let (ensemble, raw) = boost::fit_scored(&refs, &y, Loss::LogLoss, &opts.boost);
                (vec![ensemble], vec![raw])
            } else {
                boost::fit_multiclass_scored(&refs, &index, classes.len(), &opts.boost)
            };
            let correct: Vec<bool> = probabilities(&raw)
                .iter()
                .zip(&index)
                .map(|(p, &k)| classes::argmax(p) == k)
                .collect();
            Ok(TrainReport {
                model: GbtModel {
                    features: names,
                    classes: Some(classes),
                    ensembles,
                },
                train_score: metrics::accuracy(&correct),
            })
        }
        Mode::Regression => {
            let y = numeric_feature(target)?;
            let (ensemble, raw) = boost::fit_scored(&refs, &y, Loss::SquaredError, &opts.boost);
            let sq: f64 = raw.iter().zip(&y).map(|(r, y)| (r - y).powi(2)).sum();
            Ok(TrainReport {
                model: GbtModel {
                    features: names,
                    classes: None,
                    ensembles: vec![ensemble],
                },
                train_score: (sq / y.len() as f64).sqrt(),
            })
        }
    }
}

/// Reads and checks the params.
pub fn gbt_options(params: &Params) -> Result<GbtOptions, StepError> {
    let mode = match params.text("mode")? {
        "classification" => Mode::Classification,
        "regression" => Mode::Regression,
        other => {
            return Err(StepError::invalid_params(format!(
                "param 'mode' must be 'classification' or 'regression', got '{other}'"
            )));
        }
    };
    let int_in = |name: &str, min: i64, max: i64| -> Result<usize, StepError> {
        let v = params.integer(name)?;
        if v < min || v > max {
            return Err(StepError::invalid_params(format!(
                "param '{name}' must be between {min} and {max}, got {v}"
            )));
        }
        Ok(v as usize)
    };
    let learning_rate = params.number("learning_rate")?;
    if !(learning_rate > 0.0 && learning_rate.is_finite()) {
        return Err(StepError::invalid_params(format!(
            "param 'learning_rate' must be a positive number, got {learning_rate}"
        )));
    }
    let l2_regularization = params.number("l2_regularization")?;
    if !(l2_regularization >= 0.0 && l2_regularization.is_finite()) {
        return Err(StepError::invalid_params(format!(
            "param 'l2_regularization' must be a finite number >= 0, got {l2_regularization}"
        )));
    }
    let max_depth = int_in("max_depth", 0, i64::MAX)?;
    Ok(GbtOptions {
        mode,
        boost: BoostOptions {
            max_iter: int_in("max_iter", 1, 100_000)?,
            learning_rate,
            max_leaf_nodes: int_in("max_leaf_nodes", 2, 1 << 20)?,
            max_depth: (max_depth > 0).then_some(max_depth),
            min_samples_leaf: int_in("min_samples_leaf", 1, i64::MAX)?,
            l2_regularization,
            max_bins: int_in("max_bins", 2, 255)?,
        },
    })
}

pub struct Gbt;

impl Trainer for Gbt {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "gbt",
            env!("CARGO_PKG_VERSION"),
            "Histogram gradient-boosted trees (scikit-learn's HistGradientBoosting \
             semantics, no early stopping): binary or multiclass log-loss classification \
             or squared-error regression, quantile bins, best-first trees; from 20,000 \
             rows, spread over the step slots the tenant can spare (same model).",
        )
        .metrics(&["iterations", "leaves", "train_accuracy", "train_rmse"])
        .param(
            ParamSpec::text(
                "mode",
                "classification",
                "'classification' (log loss: binary, or multinomial with one tree per class per \
             iteration; p_<class> and prediction) or 'regression' (squared error; prediction)",
            )
            .choices(&["classification", "regression"]),
        )
        .param(
            ParamSpec::integer(
                "max_iter",
                100,
                "number of boosting iterations (trees), 1 ..100000",
            )
            .range(1.0, 100_000.0),
        )
        .param(
            ParamSpec::number(
                "learning_rate",
                0.1,
                "shrinkage applied to every leaf value, > 0",
            )
            .above(0.0),
        )
        .param(
            ParamSpec::integer("max_leaf_nodes", 31, "most leaves per tree, >= 2")
                .range(2.0, 1_048_576.0),
        )
        .param(
            ParamSpec::integer(
                "max_depth",
                0,
                "deepest a leaf may be (the root is depth 0); 0 is unlimited",
            )
            .at_least(0.0),
        )
        .param(
            ParamSpec::integer("min_samples_leaf", 20, "fewest rows each leaf must keep")
                .at_least(1.0),
        )
        .param(
            ParamSpec::number("l2_regularization", 0.0, "L2 penalty on leaf values, >= 0")
                .at_least(0.0),
        )
        .param(
            ParamSpec::integer("max_bins", 255, "most bins per feature, 2 ..255").range(2.0, 255.0),
        )
    }

    fn train(features: Table, target: Column, params: Params) -> Result<Trained, StepError> {
        let opts = gbt_options(&params)?;
        let report = train(&features, &target, &opts)?;
        let score_name = match opts.mode {
            Mode::Classification => "train_accuracy",
            Mode::Regression => "train_rmse",
        };
        let trees = report.model.ensembles.iter().flat_map(|e| &e.trees);
        let leaves: usize = trees.map(Tree::leaves).sum();
        Ok(Trained::new(report.model.to_bytes())
            .with_metric("iterations", opts.boost.max_iter as f64)
            .with_metric("leaves", leaves as f64)
            .with_metric(score_name, report.train_score))
    }

    fn predict(model: &[u8], features: &Table) -> Result<Table, StepError> {
        GbtModel::from_bytes(model)?.predict(features)
    }

    /// Histograms built by the step's workers (see `spread`).
    fn work(task: &str, input: Vec<u8>) -> Result<Vec<u8>, StepError> {
        spread::work(task, input)
    }
}

sluice_sdk::export_trainer!(Gbt);
