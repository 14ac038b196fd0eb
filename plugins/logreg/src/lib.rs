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

pub mod lbfgs;
pub mod newton;
pub mod softmax;

use std::borrow::Cow;

use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::{
    Column, ParamSpec, Params, PluginInfo, StepError, Table, Trained, Trainer, Values, classes,
    log, metrics,
};

pub use classes::Classes;
pub use newton::{FitOptions, LogisticFit, Solver};
pub use softmax::MultinomialFit;

const TAG: [u8; 4] = *b"LOGR";
/// Binary models written before multinomial support: one coefficient vector.
const VERSION_BINARY: u8 = 1;
/// Any number of classes: a coefficient vector and an intercept per row.
const VERSION: u8 = 2;

/// A trained model: what `train` stores and `predict` reads.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticModel {
    pub features: Vec<String>,
    pub classes: Classes,
    /// Two classes: one row, the decision function of the second class (as
    /// scikit-learn's `coef_` of shape `(1, d)`). More: one row per class.
    pub coef: Vec<Vec<f64>>,
    /// One per row of `coef`.
    pub intercept: Vec<f64>,
}

impl LogisticModel {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = ByteWriter::new(TAG, VERSION);
        w.strs(&self.features);
        self.classes.write(&mut w);
        w.u64(self.coef.len() as u64);
        for row in &self.coef {
            w.f64s(row);
        }
        w.f64s(&self.intercept);
        w.finish()
    }

    /// Reads a model of version 2, or a binary one of version 1.
    pub fn from_bytes(bytes: &[u8]) -> Result<LogisticModel, StepError> {
        let corrupt =
            |what: &str| StepError::invalid_input(format!("corrupt logreg model: {what}"));
        let model = if bytes.len() > 4 && bytes[..4] == TAG && bytes[4] == VERSION_BINARY {
            let mut r = ByteReader::new(bytes, TAG, VERSION_BINARY)?;
            let model = LogisticModel {
                features: r.strs()?,
                classes: Classes::read(&mut r)?,
                coef: vec![r.f64s()?],
                intercept: vec![r.f64()?],
            };
            r.finish()?;
            if model.classes.len() != 2 {
                return Err(corrupt("a version 1 model has exactly two classes"));
            }
            model
        } else {
            let mut r = ByteReader::new(bytes, TAG, VERSION)?;
            let features = r.strs()?;
            let classes = Classes::read(&mut r)?;
            let rows = r.u64()?;
            if rows > classes.len() as u64 {
                return Err(corrupt("more coefficient rows than classes"));
            }
            let coef = (0..rows).map(|_| r.f64s()).collect::<Result<_, _>>()?;
            let model = LogisticModel {
                features,
                classes,
                coef,
                intercept: r.f64s()?,
            };
            r.finish()?;
            model
        };
        let k = model.classes.len();
        let rows = if k == 2 { 1 } else { k };
        if k < 2 || model.coef.len() != rows || model.intercept.len() != rows {
            return Err(corrupt("coefficient rows do not match the classes"));
        }
        if model.coef.iter().any(|w| w.len() != model.features.len()) {
            return Err(corrupt("coefficients and features differ in number"));
        }
        Ok(model)
    }

    /// The model's features, found by name in `features`.
    fn feature_columns<'t>(&self, features: &'t Table) -> Result<Vec<Cow<'t, [f64]>>, StepError> {
        self.features
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
            .collect()
    }

    /// [`Self::feature_columns`] without the check for non-finite values,
    /// which the caller must make some other way.
    fn feature_columns_unscanned<'t>(
        &self,
        features: &'t Table,
    ) -> Result<Vec<Cow<'t, [f64]>>, StepError> {
        self.features
            .iter()
            .map(|name| {
                let column = features
                    .get(name)
                    .ok_or_else(|| StepError::invalid_input(String::new()))?;
                match column.values() {
                    Values::F64(v) if !column.has_nulls() => Ok(Cow::Borrowed(v.as_slice())),
                    _ => numeric_feature(column),
                }
            })
            .collect()
    }

    /// The probability of each class for each row, `proba[row][class]`.
    pub fn predict_proba(&self, features: &Table) -> Result<Vec<Vec<f64>>, StepError> {
        let columns = self.feature_columns(features)?;
        let refs: Vec<&[f64]> = columns.iter().map(AsRef::as_ref).collect();
        Ok(probabilities(
            &refs,
            &self.coef,
            &self.intercept,
            features.num_rows(),
        ))
    }

    /// `p_<class>` for every class and `prediction`.
    pub fn predict(&self, features: &Table) -> Result<Table, StepError> {
        if self.coef.len() == 1 {
            // Binary: the same values as `class_outputs` of
            // `predict_proba`, by column, without a vector per row.
            // The features are checked for non-finite values through the
            // scores: a NaN or infinite value makes its row's score
            // non-finite, and only then (or on any other problem) are the
            // columns checked one by one, for the same error the checked
            // path gives. One pass over the scores instead of one over
            // every value.
            let z = match self.feature_columns_unscanned(features) {
                Ok(columns) => {
                    let refs: Vec<&[f64]> = columns.iter().map(AsRef::as_ref).collect();
                    let rows = features.num_rows();
                    Some(newton::decision(
                        &refs,
                        &self.coef[0],
                        self.intercept[0],
                        rows,
                    ))
                }
                Err(_) => None,
            };
            let z = match z {
                Some(z) if z.iter().all(|z| z.is_finite()) => z,
                _ => {
                    let columns = self.feature_columns(features)?;
                    let refs: Vec<&[f64]> = columns.iter().map(AsRef::as_ref).collect();
                    let rows = features.num_rows();
                    newton::decision(&refs, &self.coef[0], self.intercept[0], rows)
                }
            };
            return Ok(self.binary_outputs(z));
        }
        let proba = self.predict_proba(features)?;
        Ok(classes::class_outputs(&self.classes, &proba)
            .into_iter()
            .collect())
    }

    /// What a binary model's `predict` returns for the scores `z`.
    fn binary_outputs(&self, z: Vec<f64>) -> Table {
        let p1 = newton::sigmoids(&z);
        let p0: Vec<f64> = p1.iter().map(|p| 1.0 - p).collect();
        let best: Vec<usize> = p0
            .iter()
            .zip(&p1)
            .map(|(a, b)| usize::from(b > a))
            .collect();
        let texts = self.classes.texts();
        Table::new()
            .with(Column::f64(format!("p_{}", texts[0]), p0))
            .with(Column::f64(format!("p_{}", texts[1]), p1))
            .with(self.classes.column(&best))
    }

    /// The `prediction` column [`LogisticModel::binary_outputs`] gives for
    /// finite scores `z`, without the probabilities: the second class
    /// where `p_1 > p_0`, which is `z > 0` away from zero; within
    /// [`LABEL_BY_SIGMOID`] of it the probabilities are computed, as
    /// there `exp(-z)` may round to 1 and `p_1` to 0.5.
    fn binary_labels(&self, z: &[f64]) -> Column {
        self.classes.column(&Self::labels_of(z))
    }

    /// The class index [`LogisticModel::binary_labels`] picks for each
    /// score.
    fn labels_of(z: &[f64]) -> Vec<usize> {
        let mut best: Vec<usize> = z.iter().map(|&z| usize::from(z > 0.0)).collect();
        let near: Vec<usize> = (0..z.len())
            .filter(|&i| z[i].abs() <= LABEL_BY_SIGMOID)
            .collect();
        if !near.is_empty() {
            let p1 = newton::sigmoids(&near.iter().map(|&i| z[i]).collect::<Vec<_>>());
            for (&i, p1) in near.iter().zip(p1) {
                best[i] = usize::from(p1 > 1.0 - p1);
            }
        }
        best
    }
}

/// Scores this close to 0 get their label from the probabilities (see
/// [`LogisticModel::binary_labels`]); beyond it `p_1` is at least 0.5 +
/// 2e-7 or below 0.5, so the sign decides.
const LABEL_BY_SIGMOID: f64 = 1e-6;

/// A binary model held with a table for `predict-replacing`: the scores'
/// partial sums before each group of four features (see
/// [`newton::decision_from`]), so that replacing a feature recomputes the
/// scores from its group on, not from the first feature, and gives the
/// very bits `predict` gives on the replaced table.
pub struct HeldBinary {
    model: LogisticModel,
    features: Table,
    /// The column of `features` that holds each of the model's features.
    column_of: Vec<usize>,
    /// `partial[g]`: the scores before the model's feature `4 g`, up to
    /// [`newton::quads_end`].
    partial: Vec<Vec<f64>>,
    /// The scores of the held table.
    scores: Vec<f64>,
    /// `|b| + sum |w_k x_k|` of each held row: what bounds the rounding
    /// error of its score (see [`HeldBinary::labels_replacing`]).
    magnitude: Vec<f64>,
}

impl HeldBinary {
    /// The table back when the model is not binary, or the table lacks a
    /// feature, has one that predict would refuse or convert, or gives a
    /// non-finite score: those go the general way
    /// ([`sluice_sdk::HeldTable`]), which answers (and fails) exactly as
    /// `predict`.
    pub fn new(model: LogisticModel, features: Table) -> Result<HeldBinary, Table> {
        if model.coef.len() != 1 {
            return Err(features);
        }
        let Some(column_of) = model
            .features
            .iter()
            .map(|name| features.columns.iter().position(|c| c.name == *name))
            .collect::<Option<Vec<_>>>()
        else {
            return Err(features);
        };
        let rows = features.num_rows();
        let partial;
        let scores;
        let magnitude;
        {
            let refs = column_of
                .iter()
                .map(|&j| match &features.columns[j] {
                    Column {
                        values: Values::F64(v),
                        valid: None,
                        ..
                    } => Some(v.as_slice()),
                    _ => None,
                })
                .collect::<Option<Vec<&[f64]>>>();
            let Some(refs) = refs else {
                return Err(features);
            };
            let (coef, intercept) = (&model.coef[0], model.intercept[0]);
            let end = newton::quads_end(&refs, coef, rows);
            let mut sums = vec![vec![intercept; rows]];
            for g in 0..end / 4 {
                let next = newton::decision_from(
                    &refs[..4 * (g + 1)],
                    &coef[..4 * (g + 1)],
                    sums[g].clone(),
                    4 * g,
                );
                sums.push(next);
            }
            scores = newton::decision_from(&refs, coef, sums[end / 4].clone(), end);
            partial = sums;
            magnitude = {
                let mut m = vec![intercept.abs(); rows];
                for (x, w) in refs.iter().zip(coef) {
                    for (m, x) in m.iter_mut().zip(*x) {
                        *m += w.abs() * x.abs();
                    }
                }
                m
            };
        }
        if !scores.iter().all(|z| z.is_finite()) {
            return Err(features);
        }
        Ok(HeldBinary {
            model,
            features,
            column_of,
            partial,
            scores,
            magnitude,
        })
    }

    /// `predict` on the held table with `columns` swapped in, the general
    /// way (for what the fast way does not cover, errors included).
    fn predict_swapped(&mut self, at: &[usize], columns: Vec<Column>) -> Result<Table, StepError> {
        let originals = sluice_sdk::swap_columns(&mut self.features, at, columns);
        let out = self.model.predict(&self.features);
        sluice_sdk::swap_columns(&mut self.features, at, originals);
        out
    }
}

/// What [`HeldBinary::scores_replacing`] found: the scores, or the general
/// way's whole answer.
enum Replaced {
    Scores(Vec<f64>),
    Answer(Table),
}

impl sluice_sdk::Held for HeldBinary {
    fn predict_replacing(&mut self, columns: Vec<Column>) -> Result<Table, StepError> {
        Ok(match self.scores_replacing(columns)? {
            Replaced::Scores(z) => self.model.binary_outputs(z),
            Replaced::Answer(table) => table,
        })
    }

    /// Asked for `prediction` only, the labels come from the scores without
    /// the probabilities (no `exp`): the same labels.
    fn predict_outputs(
        &mut self,
        columns: Vec<Column>,
        outputs: &[String],
    ) -> Result<Table, StepError> {
        if outputs != ["prediction"] {
            return sluice_sdk::select_outputs(self.predict_replacing(columns)?, outputs);
        }
        if let Some(labels) = self.labels_replacing(&columns)? {
            return Ok(Table::new().with(labels));
        }
        match self.scores_replacing(columns)? {
            Replaced::Scores(z) => Ok(Table::new().with(self.model.binary_labels(&z))),
            Replaced::Answer(table) => sluice_sdk::select_outputs(table, outputs),
        }
    }
}

impl HeldBinary {
    /// The model's features among `columns` (at `at` in the held table),
    /// by their index in the model, as f64 without nulls; None when one
    /// is not (the general way answers those).
    fn new_features<'c>(
        &self,
        at: &[usize],
        columns: &'c [Column],
    ) -> Option<Vec<(usize, &'c [f64])>> {
        let mut new = Vec::new();
        for (&j, column) in at.iter().zip(columns) {
            let Some(k) = self.column_of.iter().position(|&c| c == j) else {
                continue; // not a feature: predict ignores it
            };
            match column {
                Column {
                    values: Values::F64(v),
                    valid: None,
                    ..
                } => new.push((k, v.as_slice())),
                _ => return None,
            }
        }
        Some(new)
    }

    /// The held values of each of the model's features.
    fn held_features(&self) -> Vec<&[f64]> {
        self.column_of
            .iter()
            .map(|&j| match &self.features.columns[j].values {
                Values::F64(v) => v.as_slice(),
                _ => unreachable!("HeldBinary::new keeps f64 features only"),
            })
            .collect()
    }

    /// The `prediction` column `predict` gives on the held table with
    /// `columns` swapped in, from the held scores moved by the replaced
    /// features' change (`z + w (new - old)`, one pass) instead of sums
    /// over every feature. That score differs from `predict`'s by rounding
    /// only, at most a few hundred units in the last place of the row's
    /// magnitude (`|b| + sum |w_k x_k|`, held and new values together); a
    /// row whose moved score is within that slack of
    /// [`LABEL_BY_SIGMOID`] gets its score summed exactly as `predict`
    /// sums it, and its label as `predict` gives it. So the labels are
    /// `predict`'s. None for what this does not cover (a feature that is
    /// not f64 without nulls, a non-finite score).
    fn labels_replacing(&self, columns: &[Column]) -> Result<Option<Column>, StepError> {
        let at = sluice_sdk::check_replacing(&self.features, columns)?;
        let Some(new) = self.new_features(&at, columns) else {
            return Ok(None);
        };
        let held = self.held_features();
        let coef = &self.model.coef[0];
        let mut z = self.scores.clone();
        let mut magnitude = self.magnitude.clone();
        for &(k, v) in &new {
            let w = coef[k];
            for (((z, m), &a), &b) in z.iter_mut().zip(&mut magnitude).zip(v).zip(held[k]) {
                *z += w * (a - b);
                *m += w.abs() * a.abs();
            }
        }
        if !z.iter().all(|z| z.is_finite()) {
            return Ok(None);
        }
        // 2^-45: 256 units in the last place, a wide margin over the
        // error of two sums of up to a few hundred terms each.
        const SLACK: f64 = 1.0 / (1u64 << 45) as f64;
        let mut best: Vec<usize> = z.iter().map(|&z| usize::from(z > 0.0)).collect();
        let near: Vec<usize> = (0..z.len())
            .filter(|&i| z[i].abs() <= LABEL_BY_SIGMOID + SLACK * (magnitude[i] + z[i].abs()))
            .collect();
        if !near.is_empty() {
            let mut refs = held;
            for &(k, v) in &new {
                refs[k] = v;
            }
            let intercept = self.model.intercept[0];
            // Each score as `newton::decision` sums it: in feature order.
            let exact: Vec<f64> = near
                .iter()
                .map(|&i| {
                    refs.iter()
                        .zip(coef)
                        .fold(intercept, |z, (x, w)| z + w * x[i])
                })
                .collect();
            for (&i, label) in near.iter().zip(LogisticModel::labels_of(&exact)) {
                best[i] = label;
            }
        }
        Ok(Some(self.model.classes.column(&best)))
    }

    /// The scores of the held table with `columns` swapped in, from the
    /// partial sums; or the whole answer of the general way (for what the
    /// fast way does not cover).
    fn scores_replacing(&mut self, columns: Vec<Column>) -> Result<Replaced, StepError> {
        let at = sluice_sdk::check_replacing(&self.features, &columns)?;
        let Some(new) = self.new_features(&at, &columns) else {
            return self.predict_swapped(&at, columns).map(Replaced::Answer);
        };
        let Some(first) = new.iter().map(|&(k, _)| k).min() else {
            return Ok(Replaced::Scores(self.scores.clone()));
        };
        let mut refs = self.held_features();
        for &(k, v) in &new {
            refs[k] = v;
        }
        let coef = &self.model.coef[0];
        let end = newton::quads_end(&refs, coef, self.scores.len());
        let from = if first < end { first - first % 4 } else { end };
        let z = newton::decision_from(&refs, coef, self.partial[from.min(end) / 4].clone(), from);
        if !z.iter().all(|z| z.is_finite()) {
            // predict's own error (or answer) for a non-finite value.
            return self.predict_swapped(&at, columns).map(Replaced::Answer);
        }
        Ok(Replaced::Scores(z))
    }
}

/// Class probabilities from one coefficient row (binary: sigmoid of the
/// second class's decision) or one per class (softmax).
fn probabilities(
    columns: &[&[f64]],
    coef: &[Vec<f64>],
    intercept: &[f64],
    rows: usize,
) -> Vec<Vec<f64>> {
    if coef.len() == 1 {
        newton::sigmoids(&newton::decision(columns, &coef[0], intercept[0], rows))
            .into_iter()
            .map(|p| vec![1.0 - p, p])
            .collect()
    } else {
        softmax::predict_proba(columns, coef, intercept, rows)
    }
}

/// A feature column as f64 (borrowed when it is f64): numeric, no nulls,
/// finite.
fn numeric_feature(column: &Column) -> Result<Cow<'_, [f64]>, StepError> {
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
        let fit = newton::fit(&refs, &labels, opts);
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
        let z = newton::decision(&refs, &coef[0], intercept[0], y.len());
        let p1 = newton::sigmoids(&z);
        let correct: Vec<bool> = p1
            .iter()
            .zip(&y)
            .map(|(&p1, &k)| usize::from(p1 > 1.0 - p1) == k)
            .collect();
        (correct, metrics::binary_class_log_loss(&y, &p1))
    } else {
        let proba = probabilities(&refs, &coef, &intercept, y.len());
        let correct: Vec<bool> = proba
            .iter()
            .zip(&y)
            .map(|(p, &k)| classes::argmax(p) == k)
            .collect();
        (correct, metrics::multiclass_log_loss(&y, &proba))
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
        .param(ParamSpec::number(
            "c",
            1.0,
            "inverse regularisation strength: the penalty is ||w||^2 / (2c)",
        ))
        .param(ParamSpec::integer(
            "max_iter",
            100,
            "most iterations of the solver",
        ))
        .param(ParamSpec::number(
            "tol",
            1e-8,
            "stop when every gradient entry of the mean loss is at most this",
        ))
        .param(ParamSpec::flag(
            "fit_intercept",
            true,
            "fit an (unpenalised) intercept",
        ))
        .param(ParamSpec::text(
            "solver",
            "newton",
            "newton (few O(n d^2) iterations, to f64 precision) or lbfgs (more O(n d) \
             iterations; faster with many features)",
        ))
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
