//! `decision-tree`: a CART decision tree, classification (gini) and
//! regression (squared error), with scikit-learn's semantics
//! (`DecisionTreeClassifier`, `DecisionTreeRegressor`, best splitter, all
//! features); how the tree is grown and how ties are broken is in [`cart`].
//!
//! Params: `mode` (text, `classification` | `regression`), `max_depth`
//! (integer, 0 = unlimited), `min_samples_split` (integer, 2),
//! `min_samples_leaf` (integer, 1).
//!
//! - Features: every column must be numeric (f64, i64 or bool), without
//!   nulls or non-finite values. No scaling is needed.
//! - Target: classification takes i64, bool, string or f64 labels (any
//!   number of classes, sorted as `logreg` sorts them); regression takes a
//!   numeric target. No nulls.
//! - `train` metrics: `depth`, `leaves`, and `train_accuracy`
//!   (classification) or `train_rmse` (regression).
//! - `predict` selects the model's features by name (order does not
//!   matter, extra columns are ignored). A classifier returns `p_<class>`
//!   (f64, the class proportions of the row's leaf) for every class, then
//!   `prediction`, the leaf's most frequent class in the target's type
//!   (ties to the first class). A regressor returns `prediction` (f64), the
//!   mean target of the row's leaf.

pub mod cart;
mod state;
#[cfg(test)]
mod tests;

pub use sluice_sdk::classes;
pub use state::TreeModel;

use sluice_sdk::{
    Column, ParamSpec, Params, PluginInfo, StepError, Table, Trained, Trainer, metrics,
};

pub use cart::{GrowOptions, Labels, Tree};
pub use classes::Classes;

/// Classification or regression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Classification,
    Regression,
}

/// The checked params.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeOptions {
    pub mode: Mode,
    pub grow: GrowOptions,
}

/// A feature (or numeric target) column as f64: numeric, no nulls, finite.
fn numeric_feature(column: &Column) -> Result<Vec<f64>, StepError> {
    sluice_sdk::columns::numeric_feature(column, "decision-tree")
}

/// What training reports besides the model.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainReport {
    pub model: TreeModel,
    /// Accuracy (classification) or RMSE (regression) on the training rows.
    pub train_score: f64,
}

/// Grows a tree on `features` (every column is a feature) and `target`.
pub fn train(
    features: &Table,
    target: &Column,
    opts: &TreeOptions,
) -> Result<TrainReport, StepError> {
    let columns = features
        .columns()
        .iter()
        .map(numeric_feature)
        .collect::<Result<Vec<_>, _>>()?;
    if columns.is_empty() {
        return Err(StepError::invalid_input(
            "decision-tree needs at least one feature column",
        ));
    }
    if target.is_empty() {
        return Err(StepError::invalid_input(
            "decision-tree needs at least one row",
        ));
    }
    let refs: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
    let names = features.names().iter().map(|s| s.to_string()).collect();
    let leaf_of = |tree: &Tree, i: usize| tree.leaf(|j| refs[j][i]);
    match opts.mode {
        Mode::Classification => {
            let (classes, index) = Classes::from_target(target)?;
            let labels = Labels::Classes {
                index: &index,
                n_classes: classes.len(),
            };
            let tree = cart::grow(&refs, &labels, &opts.grow);
            let correct: Vec<bool> = (0..index.len())
                .map(|i| classes::argmax(tree.node_value(leaf_of(&tree, i))) == index[i])
                .collect();
            Ok(TrainReport {
                model: TreeModel {
                    features: names,
                    classes: Some(classes),
                    tree,
                },
                train_score: metrics::accuracy(&correct),
            })
        }
        Mode::Regression => {
            let y = numeric_feature(target)?;
            let tree = cart::grow(&refs, &Labels::Values(&y), &opts.grow);
            let sq: f64 = (0..y.len())
                .map(|i| (tree.node_value(leaf_of(&tree, i))[0] - y[i]).powi(2))
                .sum();
            Ok(TrainReport {
                model: TreeModel {
                    features: names,
                    classes: None,
                    tree,
                },
                train_score: (sq / y.len() as f64).sqrt(),
            })
        }
    }
}

/// Reads and checks the params.
pub fn tree_options(params: &Params) -> Result<TreeOptions, StepError> {
    let mode = match params.text("mode")? {
        "classification" => Mode::Classification,
        "regression" => Mode::Regression,
        other => {
            return Err(StepError::invalid_params(format!(
                "param 'mode' must be 'classification' or 'regression', got '{other}'"
            )));
        }
    };
    let at_least = |name: &str, min: i64| -> Result<usize, StepError> {
        let v = params.integer(name)?;
        if v < min {
            return Err(StepError::invalid_params(format!(
                "param '{name}' must be at least {min}, got {v}"
            )));
        }
        Ok(v as usize)
    };
    let max_depth = at_least("max_depth", 0)?;
    Ok(TreeOptions {
        mode,
        grow: GrowOptions {
            max_depth: (max_depth > 0).then_some(max_depth),
            min_samples_split: at_least("min_samples_split", 2)?,
            min_samples_leaf: at_least("min_samples_leaf", 1)?,
        },
    })
}

pub struct DecisionTree;

impl Trainer for DecisionTree {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "decision-tree",
            env!("CARGO_PKG_VERSION"),
            "CART decision tree (scikit-learn semantics): gini classification or \
             squared-error regression, exhaustive best splits at midpoints; ties go to \
             the first feature, then the lowest threshold.",
        )
        .metrics(&["depth", "leaves", "train_accuracy", "train_rmse"])
        .param(
            ParamSpec::text(
                "mode",
                "classification",
                "'classification' (gini; p_<class> and prediction) or 'regression' \
             (squared error; prediction)",
            )
            .choices(&["classification", "regression"]),
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
            ParamSpec::integer(
                "min_samples_split",
                2,
                "fewest rows a node needs to be split",
            )
            .at_least(2.0),
        )
        .param(
            ParamSpec::integer(
                "min_samples_leaf",
                1,
                "fewest rows each side of a split must keep",
            )
            .at_least(1.0),
        )
    }

    fn train(features: Table, target: Column, params: Params) -> Result<Trained, StepError> {
        let opts = tree_options(&params)?;
        let report = train(&features, &target, &opts)?;
        let score_name = match opts.mode {
            Mode::Classification => "train_accuracy",
            Mode::Regression => "train_rmse",
        };
        let tree = &report.model.tree;
        Ok(Trained::new(report.model.to_bytes())
            .with_metric("depth", tree.depth() as f64)
            .with_metric("leaves", tree.leaves() as f64)
            .with_metric(score_name, report.train_score))
    }

    fn predict(model: &[u8], features: &Table) -> Result<Table, StepError> {
        TreeModel::from_bytes(model)?.predict(features)
    }
}

sluice_sdk::export_trainer!(DecisionTree);
