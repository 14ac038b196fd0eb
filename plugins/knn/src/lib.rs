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

pub use sluice_sdk::classes;

use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::{Column, ParamSpec, Params, PluginInfo, StepError, Table, Trained, Trainer};

pub use classes::Classes;

const TAG: [u8; 4] = *b"KNNB";
const VERSION: u8 = 1;

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

/// The training targets.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// The classes and each training row's class index.
    Classes { classes: Classes, index: Vec<usize> },
    /// Each training row's value.
    Values(Vec<f64>),
}

/// A trained model: the training rows and their targets.
#[derive(Debug, Clone, PartialEq)]
pub struct KnnModel {
    pub features: Vec<String>,
    pub k: usize,
    pub weights: Weights,
    /// The training rows, row-major: row `i` is
    /// `points[i * d..(i + 1) * d]` with `d = features.len()`.
    pub points: Vec<f64>,
    pub targets: Targets,
}

impl KnnModel {
    pub fn rows(&self) -> usize {
        match &self.targets {
            Targets::Classes { index, .. } => index.len(),
            Targets::Values(v) => v.len(),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = ByteWriter::new(TAG, VERSION);
        w.strs(&self.features);
        w.u64(self.k as u64);
        w.u8(match self.weights {
            Weights::Uniform => 0,
            Weights::Distance => 1,
        });
        w.f64s(&self.points);
        match &self.targets {
            Targets::Classes { classes, index } => {
                w.u8(0);
                classes.write(&mut w);
                let index: Vec<i64> = index.iter().map(|&i| i as i64).collect();
                w.i64s(&index);
            }
            Targets::Values(v) => {
                w.u8(1);
                w.f64s(v);
            }
        }
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<KnnModel, StepError> {
        let corrupt = |what: &str| StepError::invalid_input(format!("corrupt knn model: {what}"));
        let mut r = ByteReader::new(bytes, TAG, VERSION)?;
        let features = r.strs()?;
        let k = r.u64()? as usize;
        let weights = match r.u8()? {
            0 => Weights::Uniform,
            1 => Weights::Distance,
            _ => return Err(corrupt("unknown weights")),
        };
        let points = r.f64s()?;
        let targets = match r.u8()? {
            0 => {
                let classes = Classes::read(&mut r)?;
                let index = r
                    .i64s()?
                    .into_iter()
                    .map(|i| usize::try_from(i).ok().filter(|&i| i < classes.len()))
                    .collect::<Option<Vec<usize>>>()
                    .ok_or_else(|| corrupt("class index out of range"))?;
                Targets::Classes { classes, index }
            }
            1 => Targets::Values(r.f64s()?),
            _ => return Err(corrupt("unknown target kind")),
        };
        r.finish()?;
        let model = KnnModel {
            features,
            k,
            weights,
            points,
            targets,
        };
        if model.points.len() != model.rows() * model.features.len() {
            return Err(corrupt("points and targets differ in number"));
        }
        if model.k == 0 || model.k > model.rows() {
            return Err(corrupt("k out of range"));
        }
        Ok(model)
    }

    /// The query rows (the model's features, selected by name) row-major.
    fn query_points(&self, features: &Table) -> Result<Vec<f64>, StepError> {
        let columns = self
            .features
            .iter()
            .map(|name| {
                let column = features.get(name).ok_or_else(|| {
                    StepError::invalid_input(format!(
                        "the model needs feature '{name}', which is not in the data; columns: {}",
                        features.names().join(", ")
                    ))
                })?;
                numeric_feature(column)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(row_major(&columns, features.num_rows()))
    }

    /// The neighbour weights of each query row: `(training row, weight)`,
    /// nearest first.
    fn neighbour_weights(&self, features: &Table) -> Result<Vec<Vec<(usize, f64)>>, StepError> {
        let d = self.features.len();
        let queries = self.query_points(features)?;
        let rows = features.num_rows();
        Ok((0..rows)
            .map(|i| {
                let found = nearest(&self.points, d, &queries[i * d..(i + 1) * d], self.k);
                weigh(&found, self.weights)
            })
            .collect())
    }

    /// Class probabilities per query row (classifier only).
    pub fn predict_proba(&self, features: &Table) -> Result<Vec<Vec<f64>>, StepError> {
        let Targets::Classes { classes, index } = &self.targets else {
            return Err(StepError::invalid_input(
                "this knn model is a regressor; it has no class probabilities",
            ));
        };
        let weights = self.neighbour_weights(features)?;
        Ok(weights
            .iter()
            .map(|neighbours| {
                let mut p = vec![0.0; classes.len()];
                let mut total = 0.0;
                for &(row, w) in neighbours {
                    p[index[row]] += w;
                    total += w;
                }
                p.iter_mut().for_each(|p| *p /= total);
                p
            })
            .collect())
    }

    /// The (weighted) mean target of the neighbours (regressor only).
    pub fn predict_values(&self, features: &Table) -> Result<Vec<f64>, StepError> {
        let Targets::Values(y) = &self.targets else {
            return Err(StepError::invalid_input(
                "this knn model is a classifier; it predicts classes",
            ));
        };
        let weights = self.neighbour_weights(features)?;
        Ok(weights
            .iter()
            .map(|neighbours| {
                let (sum, total) = neighbours
                    .iter()
                    .fold((0.0, 0.0), |(s, t), &(row, w)| (s + w * y[row], t + w));
                sum / total
            })
            .collect())
    }

    /// `p_<class>` and `prediction` for a classifier, `prediction` for a
    /// regressor.
    pub fn predict(&self, features: &Table) -> Result<Table, StepError> {
        match &self.targets {
            Targets::Classes { classes, .. } => {
                let proba = self.predict_proba(features)?;
                Ok(classes::class_outputs(classes, &proba)
                    .into_iter()
                    .collect())
            }
            Targets::Values(_) => {
                Ok(Table::new().with(Column::f64("prediction", self.predict_values(features)?)))
            }
        }
    }
}

/// Columns to row-major.
fn row_major(columns: &[Vec<f64>], rows: usize) -> Vec<f64> {
    let d = columns.len();
    let mut points = vec![0.0; rows * d];
    for (j, column) in columns.iter().enumerate() {
        for (i, &x) in column.iter().enumerate() {
            points[i * d + j] = x;
        }
    }
    points
}

/// The `k` rows of `points` (row-major, `d` wide) nearest to `query`, as
/// `(row, euclidean distance)`, nearest first; equal distances in row order.
pub fn nearest(points: &[f64], d: usize, query: &[f64], k: usize) -> Vec<(usize, f64)> {
    let rows = points.len().checked_div(d).unwrap_or(0);
    let mut found: Vec<(f64, usize)> = (0..rows)
        .map(|i| {
            let row = &points[i * d..(i + 1) * d];
            let d2: f64 = row.iter().zip(query).map(|(a, b)| (a - b) * (a - b)).sum();
            (d2, i)
        })
        .collect();
    // (squared distance, row) is a total order: the result does not depend
    // on the selection algorithm.
    let by_distance_then_row =
        |a: &(f64, usize), b: &(f64, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
    let k = k.min(found.len());
    if k < found.len() {
        found.select_nth_unstable_by(k, by_distance_then_row);
        found.truncate(k);
    }
    found.sort_unstable_by(by_distance_then_row);
    found.into_iter().map(|(d2, i)| (i, d2.sqrt())).collect()
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
        .param(ParamSpec::integer("k", 5, "the number of neighbours"))
        .param(ParamSpec::text(
            "mode",
            "classification",
            "'classification' (p_<class> and prediction) or 'regression' (prediction)",
        ))
        .param(ParamSpec::text(
            "weights",
            "uniform",
            "'uniform' (each neighbour counts once) or 'distance' (weight 1 / distance)",
        ))
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
}

sluice_sdk::export_trainer!(Knn);

#[cfg(test)]
mod tests;
