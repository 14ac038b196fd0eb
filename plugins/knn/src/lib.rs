//! `knn`: k-nearest neighbours, classifier and regressor, with
//! scikit-learn's semantics (`KNeighborsClassifier`, `KNeighborsRegressor`,
//! Euclidean distance).
//!
//! Params: `k` (integer, 5), `mode` (text, `classification` |
//! `regression`), `weights` (text, `uniform` | `distance`).
//!
//! - Features: every column must be numeric (f64, i64 or bool), without
//!   nulls or non-finite values. Distances are taken on the raw values, so
//!   standardize first when features have different scales.
//! - Target: classification takes i64, bool, string or f64 labels (any
//!   number of classes, sorted as `logreg` sorts them); regression takes a
//!   numeric target. No nulls.
//! - The model stores the training rows and their targets; `train` only
//!   checks and copies them. Metrics: `train_rows`, and `classes` for a
//!   classifier.
//! - Neighbours: the `k` training rows nearest to the query by Euclidean
//!   distance. **Ties** in distance are broken by training-row order (the
//!   earlier row is nearer), as a stable sort by distance would.
//!   scikit-learn promises no order among exact ties (its brute-force search
//!   uses `argpartition` and the `||a||^2 - 2ab + ||b||^2` formula, its KD
//!   and ball trees their own traversal order), so where the k-th and
//!   (k+1)-th nearest rows are at the same distance (duplicate rows) the
//!   neighbour sets, and the odd prediction, can differ.
//! - Weights: `uniform` counts every neighbour once; `distance` weighs
//!   each by `1 / distance`, and when some neighbours are at distance 0 only
//!   those count (scikit-learn's rule).
//! - `predict` selects the model's features by name (order does not
//!   matter, extra columns are ignored). A classifier returns `p_<class>`
//!   (f64, the weighted share of the neighbours in each class) for every
//!   class, then `prediction`, the most probable class in the target's type
//!   (ties to the first class, as `argmax`). A regressor returns
//!   `prediction` (f64), the (weighted) mean of the neighbours' targets.
//! - A large search (20 million distance terms or more) is spread over the
//!   step's workers when the tenant has step slots to spare ([`spread`]):
//!   each worker takes a share of the query rows; the neighbours are the
//!   same.

mod search;
pub mod spread;
mod state;
#[cfg(test)]
mod tests;

pub use sluice_sdk::classes;
pub use state::{KnnModel, Targets};

use sluice_sdk::{Column, ParamSpec, Params, PluginInfo, StepError, Table, Trained, Trainer};

pub use classes::Classes;
pub use search::nearest_many;

/// What the neighbours vote on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Classification,
    Regression,
}

/// How the neighbours' votes are weighed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weights {
    Uniform,
    Distance,
}

/// The settings `train` checks and the model keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct KnnOptions {
    pub k: usize,
    pub mode: Mode,
    pub weights: Weights,
}

impl Default for KnnOptions {
    fn default() -> Self {
        KnnOptions {
            k: 5,
            mode: Mode::Classification,
            weights: Weights::Uniform,
        }
    }
}

/// Columns to row-major.
fn row_major<C: AsRef<[f64]>>(columns: &[C], rows: usize) -> Vec<f64> {
    let d = columns.len();
    let mut points = vec![0.0; rows * d];
    for (j, column) in columns.iter().enumerate() {
        for (i, &x) in column.as_ref().iter().enumerate() {
            points[i * d + j] = x;
        }
    }
    points
}

/// The `k` rows of `points` (row-major, `d` wide) nearest to `query`, as
/// `(row, euclidean distance)`, nearest first; equal distances in row order.
pub fn nearest(points: &[f64], d: usize, query: &[f64], k: usize) -> Vec<(usize, f64)> {
    search::nearest_many(points, d, query, k)
        .pop()
        .unwrap_or_default()
}

/// Neighbour weights: 1 each, or `1 / distance` (only the exact matches,
/// weight 1, when some distance is 0).
pub fn weigh(neighbours: &[(usize, f64)], weights: Weights) -> Vec<(usize, f64)> {
    match weights {
        Weights::Uniform => neighbours.iter().map(|&(i, _)| (i, 1.0)).collect(),
        Weights::Distance => {
            if neighbours.iter().any(|&(_, d)| d == 0.0) {
                neighbours
                    .iter()
                    .map(|&(i, d)| (i, if d == 0.0 { 1.0 } else { 0.0 }))
                    .collect()
            } else {
                neighbours.iter().map(|&(i, d)| (i, 1.0 / d)).collect()
            }
        }
    }
}

/// A feature (or numeric target) column as f64: numeric, no nulls, finite.
fn numeric_feature(column: &Column) -> Result<Vec<f64>, StepError> {
    sluice_sdk::columns::numeric_feature(column, "knn")
}

/// Checks the data and keeps it as the model.
pub fn train(features: &Table, target: &Column, opts: &KnnOptions) -> Result<KnnModel, StepError> {
    let columns = features
        .columns()
        .iter()
        .map(numeric_feature)
        .collect::<Result<Vec<_>, _>>()?;
    if columns.is_empty() {
        return Err(StepError::invalid_input(
            "knn needs at least one feature column",
        ));
    }
    let rows = target.len();
    if opts.k > rows {
        return Err(StepError::invalid_params(format!(
            "param 'k' is {} but there are only {rows} training rows",
            opts.k
        )));
    }
    let targets = match opts.mode {
        Mode::Classification => {
            let (classes, index) = Classes::from_target(target)?;
            Targets::Classes { classes, index }
        }
        Mode::Regression => Targets::Values(numeric_feature(target)?),
    };
    Ok(KnnModel {
        features: features.names().iter().map(|s| s.to_string()).collect(),
        k: opts.k,
        weights: opts.weights,
        points: row_major(&columns, rows),
        targets,
    })
}

/// Reads and checks the params.
pub fn knn_options(params: &Params) -> Result<KnnOptions, StepError> {
    let k = params.integer("k")?;
    if k < 1 {
        return Err(StepError::invalid_params(format!(
            "param 'k' must be at least 1, got {k}"
        )));
    }
    let mode = match params.text("mode")? {
        "classification" => Mode::Classification,
        "regression" => Mode::Regression,
        other => {
            return Err(StepError::invalid_params(format!(
                "param 'mode' must be 'classification' or 'regression', got '{other}'"
            )));
        }
    };
    let weights = match params.text("weights")? {
        "uniform" => Weights::Uniform,
        "distance" => Weights::Distance,
        other => {
            return Err(StepError::invalid_params(format!(
                "param 'weights' must be 'uniform' or 'distance', got '{other}'"
            )));
        }
    };
    Ok(KnnOptions {
        k: k as usize,
        mode,
        weights,
    })
}

pub struct Knn;

impl Trainer for Knn {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "knn",
            env!("CARGO_PKG_VERSION"),
            "k-nearest neighbours classifier and regressor (Euclidean distance, \
             scikit-learn semantics; distance ties go to the earlier training row).",
        )
        .metrics(&["train_rows", "classes"])
        .param(ParamSpec::integer("k", 5, "the number of neighbours").at_least(1.0))
        .param(
            ParamSpec::text(
                "mode",
                "classification",
                "'classification' (p_<class> and prediction) or 'regression' (prediction)",
            )
            .choices(&["classification", "regression"]),
        )
        .param(
            ParamSpec::text(
                "weights",
                "uniform",
                "'uniform' (each neighbour counts once) or 'distance' (weight 1 / distance)",
            )
            .choices(&["uniform", "distance"]),
        )
    }

    fn train(features: Table, target: Column, params: Params) -> Result<Trained, StepError> {
        let opts = knn_options(&params)?;
        let model = train(&features, &target, &opts)?;
        let mut trained =
            Trained::new(model.to_bytes()).with_metric("train_rows", model.rows() as f64);
        if let Targets::Classes { classes, .. } = &model.targets {
            trained = trained.with_metric("classes", classes.len() as f64);
        }
        Ok(trained)
    }

    fn predict(model: &[u8], features: &Table) -> Result<Table, StepError> {
        KnnModel::from_bytes(model)?.predict(features)
    }

    /// The neighbour search on the step's workers (see `spread`).
    fn work(task: &str, input: Vec<u8>) -> Result<Vec<u8>, StepError> {
        spread::work(task, input)
    }
}

sluice_sdk::export_trainer!(Knn);
