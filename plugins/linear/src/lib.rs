//! `linear`: linear regression and ridge regression, with scikit-learn's
//! semantics (`LinearRegression` for `alpha = 0`, `Ridge(alpha)` otherwise).
//!
//! Minimises
//!
//! ```text
//! ||y - X w - b||^2 + alpha * ||w||^2
//! ```
//!
//! with the intercept `b` not penalised. With `fit_intercept` the features
//! and the target are centred first, so the problem becomes the centred
//! normal equations `(Xc' Xc + alpha I) w = Xc' yc`, solved by Cholesky, and
//! `b = mean(y) - mean(X) . w`.
//!
//! Params: `alpha` (number, 0.0: ordinary least squares), `fit_intercept`
//! (flag, true).
//!
//! - Features: every column must be numeric (f64, i64 or bool), without
//!   nulls or non-finite values.
//! - Target: numeric (f64, i64 or bool), no nulls, finite.
//! - With `alpha = 0` and collinear (or constant) features the normal
//!   equations are singular. scikit-learn's `LinearRegression` then returns
//!   the minimum-norm least-squares solution; this plugin refuses with an
//!   invalid-input error that names the problem and suggests `alpha > 0`.
//! - `train` metrics: `train_rmse`, `train_r2`.
//! - `predict` selects the model's features by name (order does not
//!   matter, extra columns are ignored) and returns one f64 column,
//!   `prediction`.

mod gram;
mod state;
mod streamed;
#[cfg(test)]
mod tests;

use sluice_sdk::columns::{check_finite, numeric_values_ref};
use sluice_sdk::{Column, ParamSpec, Params, PluginInfo, StepError, Table, Trained, Trainer};
pub use state::LinearModel;

/// Fit settings.
#[derive(Debug, Clone, PartialEq)]
pub struct FitOptions {
    /// L2 penalty on the coefficients (>= 0; 0 is ordinary least squares).
    pub alpha: f64,
    pub fit_intercept: bool,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            alpha: 0.0,
            fit_intercept: true,
        }
    }
}

/// `X w + b` for features stored by column.
pub fn linear_predict(columns: &[&[f64]], coef: &[f64], intercept: f64, rows: usize) -> Vec<f64> {
    let mut z = vec![intercept; rows];
    for (x, &w) in columns.iter().zip(coef) {
        for (zi, &xi) in z.iter_mut().zip(x.iter()) {
            *zi += w * xi;
        }
    }
    z
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// Solves `A x = b` for symmetric positive definite `A` (row-major `m x m`).
/// Returns `None` when a pivot is not positive or is below `1e-12` times
/// its diagonal entry: `A` is (numerically) singular.
pub fn cholesky_solve(a: &[f64], b: &[f64]) -> Option<Vec<f64>> {
    let m = b.len();
    let mut l = vec![0.0; m * m];
    for i in 0..m {
        for j in 0..=i {
            let s = a[i * m + j] - (0..j).map(|k| l[i * m + k] * l[j * m + k]).sum::<f64>();
            if i == j {
                if !s.is_finite() || s <= 1e-12 * a[i * m + i].abs() {
                    return None;
                }
                l[i * m + i] = s.sqrt();
            } else {
                l[i * m + j] = s / l[j * m + j];
            }
        }
    }
    let mut y = vec![0.0; m];
    for i in 0..m {
        y[i] = (b[i] - (0..i).map(|k| l[i * m + k] * y[k]).sum::<f64>()) / l[i * m + i];
    }
    let mut x = vec![0.0; m];
    for i in (0..m).rev() {
        x[i] = (y[i] - (i + 1..m).map(|k| l[k * m + i] * x[k]).sum::<f64>()) / l[i * m + i];
    }
    Some(x)
}

/// The fitted coefficients and intercept.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearFit {
    pub coef: Vec<f64>,
    pub intercept: f64,
}

/// Fits the model. `columns` are the features by column (equal lengths).
/// Values are expected finite: `check` is called when some may not be (a
/// sum over a column is not finite), and returns the error that names
/// one, if there is one.
pub fn fit(
    columns: &[&[f64]],
    y: &[f64],
    opts: &FitOptions,
    check: impl FnOnce() -> Result<(), StepError>,
) -> Result<LinearFit, StepError> {
    let n = y.len();
    if n == 0 {
        return Err(no_rows());
    }
    // One pass over [X | y]: its sums and products, shifted by the first
    // row when centring (see `gram`), as they are otherwise.
    let mut all = columns.to_vec();
    all.push(y);
    let shifts = shifts(&all, opts);
    let products = gram::shifted_products(&all, &shifts);
    solve(products, &shifts, n, opts, check)
}

fn no_rows() -> StepError {
    StepError::invalid_input("linear needs at least one row")
}

/// What the columns `[X | y]` are shifted by in the Gram's pass: their
/// first row when centring, else nothing.
fn shifts(all: &[&[f64]], opts: &FitOptions) -> Vec<f64> {
    if opts.fit_intercept {
        all.iter().map(|c| c[0]).collect()
    } else {
        vec![0.0; all.len()]
    }
}

/// The fit from the sums and products of the `n` rows of `[X | y]`
/// shifted by `shifts` (see [`fit`]).
fn solve(
    products: gram::Products,
    shifts: &[f64],
    n: usize,
    opts: &FitOptions,
    check: impl FnOnce() -> Result<(), StepError>,
) -> Result<LinearFit, StepError> {
    let gram::Products { sums, products } = products;
    let d = sums.len() - 1;
    if sums.iter().any(|s| !s.is_finite()) {
        check()?;
    }
    // The means of the shifted columns; centred, C' C = S' S - n d d'.
    let rows = n as f64;
    let shifted_means: Vec<f64> = sums.iter().map(|s| s / rows).collect();
    let m = d + 1;
    let centred = |j: usize, k: usize| {
        let p = products[j * m + k];
        if opts.fit_intercept {
            p - rows * (shifted_means[j] * shifted_means[k])
        } else {
            p
        }
    };
    let mut gram = vec![0.0; d * d];
    let mut rhs = vec![0.0; d];
    for j in 0..d {
        for k in 0..d {
            gram[j * d + k] = centred(j, k);
        }
        gram[j * d + j] += opts.alpha;
        rhs[j] = centred(d, j);
    }
    let coef = if d == 0 {
        Vec::new()
    } else {
        cholesky_solve(&gram, &rhs).ok_or_else(|| {
            StepError::invalid_input(format!(
                "the normal equations are singular (alpha = {}): some features are constant \
                 or linear combinations of others, or there are fewer rows ({n}) than \
                 features ({d}); drop them or set alpha > 0 (ridge)",
                opts.alpha
            ))
        })?
    };
    let intercept = if opts.fit_intercept {
        let mean = |j: usize| shifts[j] + shifted_means[j];
        let x_mean: Vec<f64> = (0..d).map(mean).collect();
        mean(d) - dot(&x_mean, &coef)
    } else {
        0.0
    };
    Ok(LinearFit { coef, intercept })
}

/// The root mean squared error and the coefficient of determination (as
/// scikit-learn's `r2_score`: a constant truth scores 1.0 if predicted
/// exactly, else 0.0) of the model `coef`, `intercept` on `columns`
/// against `truth`. Each row's prediction is [`linear_predict`]'s, made a
/// block of rows at a time in a buffer that stays in cache, and its
/// squared error is added in row order: the same bits as predicting every
/// row first, without a vector of them.
pub fn fit_metrics(columns: &[&[f64]], coef: &[f64], intercept: f64, truth: &[f64]) -> (f64, f64) {
    let mut ss_res = 0.0;
    add_squared_errors(columns, coef, intercept, truth, &mut ss_res);
    metrics(ss_res, truth)
}

/// Adds the squared error of each row of `columns` against `truth` to
/// `ss_res`, in row order (see [`fit_metrics`]).
fn add_squared_errors(
    columns: &[&[f64]],
    coef: &[f64],
    intercept: f64,
    truth: &[f64],
    ss_res: &mut f64,
) {
    const BLOCK: usize = 512;
    let mut z = [0.0; BLOCK];
    for start in (0..truth.len()).step_by(BLOCK) {
        let t = &truth[start..truth.len().min(start + BLOCK)];
        let z = &mut z[..t.len()];
        z.fill(intercept);
        for (x, &w) in columns.iter().zip(coef) {
            for (zi, &xi) in z.iter_mut().zip(&x[start..start + t.len()]) {
                *zi += w * xi;
            }
        }
        for (t, p) in t.iter().zip(z.iter()) {
            *ss_res += (t - p) * (t - p);
        }
    }
}

/// The RMSE and R^2 of a sum of squared errors `ss_res` over `truth`.
fn metrics(ss_res: f64, truth: &[f64]) -> (f64, f64) {
    let n = truth.len().max(1) as f64;
    let mean = truth.iter().sum::<f64>() / n;
    let ss_tot: f64 = truth.iter().map(|t| (t - mean) * (t - mean)).sum();
    let r2 = if ss_tot == 0.0 {
        if ss_res == 0.0 { 1.0 } else { 0.0 }
    } else {
        1.0 - ss_res / ss_tot
    };
    ((ss_res / n).sqrt(), r2)
}

/// What training reports besides the model.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainReport {
    pub model: LinearModel,
    pub train_rmse: f64,
    pub train_r2: f64,
}

impl TrainReport {
    /// The model of `fit` on the columns of `features`, with its
    /// `(rmse, r2)` on the train rows.
    fn new(features: &Table, fit: LinearFit, (train_rmse, train_r2): (f64, f64)) -> Self {
        TrainReport {
            model: LinearModel {
                features: features.names().iter().map(|s| s.to_string()).collect(),
                coef: fit.coef,
                intercept: fit.intercept,
            },
            train_rmse,
            train_r2,
        }
    }
}

/// Trains on `features` (every column is a feature) and `target`.
pub fn train(
    features: &Table,
    target: &Column,
    opts: &FitOptions,
) -> Result<TrainReport, StepError> {
    if let Some(rows) = sluice_sdk::rows::streamed() {
        return streamed::train(features, target, rows, opts);
    }
    let y = numeric_values_ref(target, "linear")?;
    let columns = features
        .columns()
        .iter()
        .map(|c| numeric_values_ref(c, "linear"))
        .collect::<Result<Vec<_>, _>>()?;
    let refs: Vec<&[f64]> = columns.iter().map(|c| c.as_ref()).collect();
    // Finite values are checked by `fit`'s pass over them, which is
    // followed by the column-by-column check only when one may not be.
    let check = || {
        check_finite(target, &y)?;
        for (column, values) in features.columns().iter().zip(&refs) {
            check_finite(column, values)?;
        }
        Ok(())
    };
    let fit = fit(&refs, &y, opts, check)?;
    let metrics = fit_metrics(&refs, &fit.coef, fit.intercept, &y);
    Ok(TrainReport::new(features, fit, metrics))
}

/// Reads and checks the params.
pub fn fit_options(params: &Params) -> Result<FitOptions, StepError> {
    let alpha = params.number("alpha")?;
    if !(alpha >= 0.0 && alpha.is_finite()) {
        return Err(StepError::invalid_params(format!(
            "param 'alpha' must be a finite number >= 0, got {alpha}"
        )));
    }
    Ok(FitOptions {
        alpha,
        fit_intercept: params.flag("fit_intercept")?,
    })
}

pub struct Linear;

impl Trainer for Linear {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "linear",
            env!("CARGO_PKG_VERSION"),
            "Linear regression (alpha = 0) and ridge regression (scikit-learn semantics), \
             solved by Cholesky on the centred normal equations.",
        ).metrics(&["train_rmse", "train_r2"])
        .param(ParamSpec::number(
            "alpha",
            0.0,
            "L2 penalty: minimise ||y - Xw - b||^2 + alpha ||w||^2; 0 is ordinary least squares",
        ).at_least(0.0))
        .param(ParamSpec::flag(
            "fit_intercept",
            true,
            "fit an (unpenalised) intercept",
        ))
    }

    fn train(features: Table, target: Column, params: Params) -> Result<Trained, StepError> {
        let opts = fit_options(&params)?;
        let report = train(&features, &target, &opts)?;
        Ok(Trained::new(report.model.to_bytes())
            .with_metric("train_rmse", report.train_rmse)
            .with_metric("train_r2", report.train_r2))
    }

    fn predict(model: &[u8], features: &Table) -> Result<Table, StepError> {
        LinearModel::from_bytes(model)?.predict(features)
    }
}

sluice_sdk::export_trainer!(Linear);
