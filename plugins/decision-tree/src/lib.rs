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
pub use sluice_sdk::classes;

use sluice_sdk::codec::{ByteReader, ByteWriter, TreeLinks};
use sluice_sdk::{
    Column, ParamSpec, Params, PluginInfo, StepError, Table, Trained, Trainer, metrics,
};

pub use cart::{GrowOptions, Labels, Tree};
pub use classes::Classes;

const TAG: [u8; 4] = *b"CART";
const VERSION: u8 = 1;

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

/// A trained model: what `train` stores and `predict` reads.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeModel {
    pub features: Vec<String>,
    /// The classes of a classifier, `None` for a regressor.
    pub classes: Option<Classes>,
    pub tree: Tree,
}

impl TreeModel {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = ByteWriter::new(TAG, VERSION);
        w.strs(&self.features);
        match &self.classes {
            Some(classes) => {
                w.u8(0);
                classes.write(&mut w);
            }
            None => w.u8(1),
        }
        let t = &self.tree;
        let feature: Vec<i64> = t
            .feature
            .iter()
            .map(|f| f.map_or(-1, |f| f as i64))
            .collect();
        let index = |v: &[usize]| v.iter().map(|&i| i as i64).collect::<Vec<i64>>();
        w.u64(t.width as u64);
        w.i64s(&feature);
        w.f64s(&t.threshold);
        w.i64s(&index(&t.left));
        w.i64s(&index(&t.right));
        w.f64s(&t.value);
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<TreeModel, StepError> {
        let corrupt = |what: &str| StepError::invalid_input(format!("corrupt tree model: {what}"));
        let mut r = ByteReader::new(bytes, TAG, VERSION)?;
        let features = r.strs()?;
        let classes = match r.u8()? {
            0 => Some(Classes::read(&mut r)?),
            1 => None,
            _ => return Err(corrupt("unknown mode")),
        };
        let width = r.u64()? as usize;
        let feature = r.i64s()?;
        let threshold = r.f64s()?;
        let left = r.i64s()?;
        let right = r.i64s()?;
        let value = r.f64s()?;
        r.finish()?;
        let nodes = feature.len();
        if nodes == 0
            || [threshold.len(), left.len(), right.len()] != [nodes; 3]
            || Some(value.len()) != nodes.checked_mul(width)
            || width != classes.as_ref().map_or(1, Classes::len)
        {
            return Err(corrupt("node arrays differ in length"));
        }
        let links = TreeLinks::check(&feature, &left, &right, features.len(), "tree")?;
        let tree = Tree {
            feature: links.feature,
            threshold,
            left: links.left,
            right: links.right,
            value,
            width,
        };
        Ok(TreeModel {
            features,
            classes,
            tree,
        })
    }

    /// The leaf of each row, the features selected by name.
    pub fn leaves_of(&self, features: &Table) -> Result<Vec<usize>, StepError> {
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
        Ok((0..features.num_rows())
            .map(|i| self.tree.leaf(|j| columns[j][i]))
            .collect())
    }

    /// `p_<class>` and `prediction` for a classifier, `prediction` for a
    /// regressor.
    pub fn predict(&self, features: &Table) -> Result<Table, StepError> {
        let leaves = self.leaves_of(features)?;
        match &self.classes {
            Some(classes) => {
                let proba: Vec<Vec<f64>> = leaves
                    .iter()
                    .map(|&leaf| self.tree.node_value(leaf).to_vec())
                    .collect();
                Ok(classes::class_outputs(classes, &proba)
                    .into_iter()
                    .collect())
            }
            None => Ok(Table::new().with(Column::f64(
                "prediction",
                leaves
                    .iter()
                    .map(|&leaf| self.tree.node_value(leaf)[0])
                    .collect(),
            ))),
        }
    }
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
        .param(ParamSpec::text(
            "mode",
            "classification",
            "'classification' (gini; p_<class> and prediction) or 'regression' \
             (squared error; prediction)",
        ))
        .param(ParamSpec::integer(
            "max_depth",
            0,
            "deepest a leaf may be (the root is depth 0); 0 is unlimited",
        ))
        .param(ParamSpec::integer(
            "min_samples_split",
            2,
            "fewest rows a node needs to be split",
        ))
        .param(ParamSpec::integer(
            "min_samples_leaf",
            1,
            "fewest rows each side of a split must keep",
        ))
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

#[cfg(test)]
mod tests;
