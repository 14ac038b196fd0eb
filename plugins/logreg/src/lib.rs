//! `logreg`: binary logistic regression with L2 regularisation, with
//! scikit-learn's semantics (`LogisticRegression(penalty="l2")`).
//!
//! Params: `c` (number, 1.0: inverse regularisation strength), `max_iter`
//! (integer, 100), `tol` (number, 1e-8: largest gradient entry of the mean
//! loss at convergence), `fit_intercept` (flag, true).
//!
//! - Features: every column must be numeric (f64, i64 or bool), without
//!   nulls or non-finite values.
//! - Target: i64, bool, string or f64 labels, no nulls, exactly two distinct
//!   classes. Classes are sorted; the second is the positive class.
//! - `train` metrics: `train_accuracy`, `train_log_loss`, `iterations`,
//!   `converged` (1 or 0).
//! - `predict` selects the model's features by name (order does not
//!   matter, extra columns are ignored) and returns `p_<class>` (f64) for
//!   both classes, then `prediction`, the class label in the target's type.
//!   A label renders as text the way [`Column::value_text`] does: `p_0`,
//!   `p_1`, `p_true`, `p_yes`.

pub mod newton;

use std::collections::BTreeSet;

use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::{
    Column, ParamSpec, Params, PluginInfo, StepError, Table, Trained, Trainer, Values, log, metrics,
};

pub use newton::{FitOptions, LogisticFit};

const TAG: [u8; 4] = *b"LOGR";
const VERSION: u8 = 1;

/// The two classes, sorted, in the target's own type.
#[derive(Debug, Clone, PartialEq)]
pub enum Classes {
    F64([f64; 2]),
    I64([i64; 2]),
    Bool([bool; 2]),
    Str([String; 2]),
}

impl Classes {
    /// The sorted classes of `target` and its labels as 0.0 / 1.0 (1.0 for
    /// the second class).
    pub fn from_target(target: &Column) -> Result<(Classes, Vec<f64>), StepError> {
        if target.has_nulls() {
            return Err(StepError::invalid_input(format!(
                "target '{}' has {} nulls; drop or impute them first",
                target.name,
                target.null_count()
            )));
        }
        let two = |found: usize, listed: String| {
            StepError::invalid_input(format!(
                "target '{}' must have exactly two classes, found {found}: {listed}",
                target.name
            ))
        };
        fn list<T: ToString>(values: impl Iterator<Item = T>) -> String {
            let shown: Vec<String> = values.take(10).map(|v| v.to_string()).collect();
            shown.join(", ")
        }
        match &target.values {
            Values::F64(v) => {
                if v.iter().any(|x| x.is_nan()) {
                    return Err(StepError::invalid_input(format!(
                        "target '{}' has NaN labels",
                        target.name
                    )));
                }
                let mut distinct = v.clone();
                distinct.sort_by(f64::total_cmp);
                distinct.dedup_by(|a, b| a == b);
                let [a, b] = distinct[..] else {
                    return Err(two(distinct.len(), list(distinct.iter())));
                };
                Ok((
                    Classes::F64([a, b]),
                    v.iter().map(|&x| f64::from(u8::from(x == b))).collect(),
                ))
            }
            Values::I64(v) => {
                let distinct: BTreeSet<i64> = v.iter().copied().collect();
                let d: Vec<i64> = distinct.iter().copied().collect();
                let [a, b] = d[..] else {
                    return Err(two(d.len(), list(d.iter())));
                };
                Ok((
                    Classes::I64([a, b]),
                    v.iter().map(|&x| f64::from(u8::from(x == b))).collect(),
                ))
            }
            Values::Bool(v) => {
                let distinct: BTreeSet<bool> = v.iter().copied().collect();
                if distinct.len() != 2 {
                    return Err(two(distinct.len(), list(distinct.iter())));
                }
                Ok((
                    Classes::Bool([false, true]),
                    v.iter().map(|&x| f64::from(u8::from(x))).collect(),
                ))
            }
            Values::Str(v) => {
                let distinct: BTreeSet<&str> = v.iter().map(String::as_str).collect();
                let d: Vec<&str> = distinct.iter().copied().collect();
                let [a, b] = d[..] else {
                    return Err(two(d.len(), list(d.iter())));
                };
                let y = v.iter().map(|x| f64::from(u8::from(x == b))).collect();
                Ok((Classes::Str([a.to_string(), b.to_string()]), y))
            }
        }
    }

    /// The classes rendered as text, as in `p_<class>` column names.
    pub fn texts(&self) -> [String; 2] {
        match self {
            Classes::F64(c) => c.map(|x| x.to_string()),
            Classes::I64(c) => c.map(|x| x.to_string()),
            Classes::Bool(c) => c.map(|x| x.to_string()),
            Classes::Str(c) => c.clone(),
        }
    }

    /// A `prediction` column: the second class where `positive[i]`.
    fn column(&self, positive: &[bool]) -> Column {
        fn pick<T: Clone>(c: &[T; 2], positive: &[bool]) -> Vec<T> {
            positive
                .iter()
                .map(|&p| c[usize::from(p)].clone())
                .collect()
        }
        let values = match self {
            Classes::F64(c) => Values::F64(pick(c, positive)),
            Classes::I64(c) => Values::I64(pick(c, positive)),
            Classes::Bool(c) => Values::Bool(pick(c, positive)),
            Classes::Str(c) => Values::Str(pick(c, positive)),
        };
        Column::new("prediction", values)
    }

    fn write(&self, w: &mut ByteWriter) {
        match self {
            Classes::F64(c) => {
                w.u8(0);
                w.f64s(c);
            }
            Classes::I64(c) => {
                w.u8(1);
                w.i64s(c);
            }
            Classes::Bool(c) => {
                w.u8(2);
                w.bools(c);
            }
            Classes::Str(c) => {
                w.u8(3);
                w.strs(c);
            }
        }
    }

    fn read(r: &mut ByteReader<'_>) -> Result<Classes, StepError> {
        fn pair<T>(v: Vec<T>) -> Result<[T; 2], StepError> {
            v.try_into()
                .map_err(|_| StepError::invalid_input("corrupt logreg model: not two classes"))
        }
        Ok(match r.u8()? {
            0 => Classes::F64(pair(r.f64s()?)?),
            1 => Classes::I64(pair(r.i64s()?)?),
            2 => Classes::Bool(pair(r.bools()?)?),
            3 => Classes::Str(pair(r.strs()?)?),
            k => {
                return Err(StepError::invalid_input(format!(
                    "corrupt logreg model: unknown label type {k}"
                )));
            }
        })
    }
}

/// A trained model: what `train` stores and `predict` reads.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticModel {
    pub features: Vec<String>,
    pub classes: Classes,
    pub coef: Vec<f64>,
    pub intercept: f64,
}

impl LogisticModel {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = ByteWriter::new(TAG, VERSION);
        w.strs(&self.features);
        self.classes.write(&mut w);
        w.f64s(&self.coef);
        w.f64(self.intercept);
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<LogisticModel, StepError> {
        let mut r = ByteReader::new(bytes, TAG, VERSION)?;
        let model = LogisticModel {
            features: r.strs()?,
            classes: Classes::read(&mut r)?,
            coef: r.f64s()?,
            intercept: r.f64()?,
        };
        r.finish()?;
        if model.coef.len() != model.features.len() {
            return Err(StepError::invalid_input(
                "corrupt logreg model: coefficients and features differ in number",
            ));
        }
        Ok(model)
    }

    /// The probability of the positive (second) class for each row.
    pub fn predict_proba(&self, features: &Table) -> Result<Vec<f64>, StepError> {
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
        let refs: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
        let z = newton::decision(&refs, &self.coef, self.intercept, features.num_rows());
        Ok(z.into_iter().map(newton::sigmoid).collect())
    }

    /// `p_<class>` for both classes and `prediction`.
    pub fn predict(&self, features: &Table) -> Result<Table, StepError> {
        let p = self.predict_proba(features)?;
        // As scikit-learn: the positive class where the decision is > 0,
        // that is where p > 0.5.
        let positive: Vec<bool> = p.iter().map(|&p| p > 0.5).collect();
        let [neg, pos] = self.classes.texts();
        Ok(Table::new()
            .with(Column::f64(
                format!("p_{neg}"),
                p.iter().map(|p| 1.0 - p).collect(),
            ))
            .with(Column::f64(format!("p_{pos}"), p))
            .with(self.classes.column(&positive)))
    }
}

/// A feature column as f64: numeric, no nulls, finite.
fn numeric_feature(column: &Column) -> Result<Vec<f64>, StepError> {
    if column.has_nulls() {
        return Err(StepError::invalid_input(format!(
            "feature '{}' has {} nulls; impute them first",
            column.name,
            column.null_count()
        )));
    }
    let values = column.to_f64_lossy().map_err(|_| {
        StepError::invalid_input(format!(
            "feature '{}' is {}; logreg needs f64, i64 or bool features",
            column.name,
            column.kind()
        ))
    })?;
    if let Some(i) = values.iter().position(|x| !x.is_finite()) {
        return Err(StepError::invalid_input(format!(
            "feature '{}' has a non-finite value ({}) at row {i}",
            column.name, values[i]
        )));
    }
    Ok(values)
}

/// What training reports besides the model.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainReport {
    pub model: LogisticModel,
    pub fit: LogisticFit,
    pub train_accuracy: f64,
    pub train_log_loss: f64,
}

/// Trains on `features` (every column is a feature) and `target`.
pub fn train(
    features: &Table,
    target: &Column,
    opts: &FitOptions,
) -> Result<TrainReport, StepError> {
    let (classes, y) = Classes::from_target(target)?;
    let columns = features
        .columns()
        .iter()
        .map(numeric_feature)
        .collect::<Result<Vec<_>, _>>()?;
    let refs: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
    let fit = newton::fit(&refs, &y, opts);
    let z = newton::decision(&refs, &fit.coef, fit.intercept, y.len());
    let p: Vec<f64> = z.iter().map(|&z| newton::sigmoid(z)).collect();
    let truth: Vec<bool> = y.iter().map(|&y| y == 1.0).collect();
    let correct: Vec<bool> = p
        .iter()
        .zip(&truth)
        .map(|(&p, &t)| (p > 0.5) == t)
        .collect();
    Ok(TrainReport {
        model: LogisticModel {
            features: features.names().iter().map(|s| s.to_string()).collect(),
            classes,
            coef: fit.coef.clone(),
            intercept: fit.intercept,
        },
        train_accuracy: metrics::accuracy(&correct),
        train_log_loss: metrics::log_loss(&truth, &p),
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
    Ok(FitOptions {
        c,
        max_iter: max_iter as usize,
        tol,
        fit_intercept: params.flag("fit_intercept")?,
    })
}

pub struct LogReg;

impl Trainer for LogReg {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "logreg",
            env!("CARGO_PKG_VERSION"),
            "Binary logistic regression with L2 regularisation (scikit-learn semantics), \
             fitted by Newton's method.",
        )
        .param(ParamSpec::number(
            "c",
            1.0,
            "inverse regularisation strength: the penalty is ||w||^2 / (2c)",
        ))
        .param(ParamSpec::integer(
            "max_iter",
            100,
            "most Newton iterations",
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

    fn predict(model: Vec<u8>, features: Table) -> Result<Table, StepError> {
        LogisticModel::from_bytes(&model)?.predict(&features)
    }
}

sluice_sdk::export_trainer!(LogReg);

#[cfg(test)]
mod tests;
