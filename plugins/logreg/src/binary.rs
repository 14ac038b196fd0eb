//! L2-regularised binary logistic regression: its objective, gradient and
//! Hessian, the scores and probabilities of a fitted model, and the fit by
//! the chosen solver.
//!
//! Minimises, like scikit-learn's `LogisticRegression(penalty="l2")`,
//!
//! ```text
//! f(w, b) = sum_i logloss(y_i, x_i . w + b) + ||w||^2 / (2 C)
//! ```
//!
//! with the intercept `b` not penalised, by Newton's method
//! ([`crate::newton`]) or L-BFGS ([`crate::lbfgs`]).

use crate::lbfgs::{self, Smooth};
use crate::newton::{self, Objective};
use crate::solver::{FitOptions, Solver, dot};
use sluice_sdk::math;

/// The optimum found.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticFit {
    pub coef: Vec<f64>,
    pub intercept: f64,
    /// Newton steps taken.
    pub iterations: usize,
    pub converged: bool,
    /// The largest entry of the gradient of `f / n` before the last step
    /// (an upper bound at the result).
    pub max_gradient: f64,
}

/// `sum_i softplus(z_i) - y_i z_i`, the loss of scores `z` against labels
/// `y` (0 or 1), with the residuals `sigmoid(z_i) - y_i` left in `resid`
/// (as long as `z`): each `numerator / (1 + e) - y_i`, with `e =
/// exp(-|z_i|)` and the numerator 1 for `z_i >= 0`, `e` below (the
/// sigmoid without a branch on the sign, from one `exp`).
///
/// `softplus(z) = max(z, 0) + ln(1 + e)` with `e = exp(-|z|)`; the
/// logarithms are taken of products of eight factors `1 + e` (each in
/// `[1, 2]`, so a product is at most 256): one `ln` per eight rows, the
/// costliest call here. Each product's rounding (seven multiplications)
/// errs by a few units of 1e-16 per eight rows, as much as eight rounded
/// logarithms would; the loss is a sum over all rows, and the gradient does
/// not use it. Loops of their own over the rows, so that `exp` and `ln`
/// compile to Wasm SIMD; sums with four accumulators ([`math::sum`]).
pub fn loss_and_residuals(z: &[f64], y: &[f64], resid: &mut [f64]) -> f64 {
    let e = resid;
    for (e, z) in e.iter_mut().zip(z) {
        *e = -z.abs();
    }
    math::exp_in_place(e);
    let chunks = e.chunks_exact(8);
    let tail = chunks.remainder();
    let mut logs: Vec<f64> = chunks
        .map(|c| {
            let u = |i: usize| 1.0 + c[i];
            ((u(0) * u(1)) * (u(2) * u(3))) * ((u(4) * u(5)) * (u(6) * u(7)))
        })
        .collect();
    logs.extend(tail.iter().map(|e| 1.0 + e));
    math::ln_in_place(&mut logs);
    let mut linear = vec![0.0; z.len()];
    for (((l, e), &z), &y) in linear.iter_mut().zip(e.iter_mut()).zip(z).zip(y) {
        *l = z.max(0.0) - y * z;
        let numerator = if z >= 0.0 { 1.0 } else { *e };
        *e = numerator / (1.0 + *e) - y;
    }
    math::sum(&logs) + math::sum(&linear)
}

/// `1 / (1 + exp(-z))` of every score, without overflow: `1 / (1 + e)`
/// for `z >= 0` and `e / (1 + e)` below, both with `e = exp(-|z|)` and
/// chosen without a branch. Loops over the slice that compile to Wasm SIMD
/// (a loop calling a per-row sigmoid does not vectorize).
pub fn sigmoids(z: &[f64]) -> Vec<f64> {
    let mut e: Vec<f64> = z.iter().map(|z| -z.abs()).collect();
    math::exp_in_place(&mut e);
    for (e, &z) in e.iter_mut().zip(z) {
        let numerator = if z >= 0.0 { 1.0 } else { *e };
        *e = numerator / (1.0 + *e);
    }
    e
}

/// The linear predictor `X w + b` for features stored by column.
///
/// Each `z_i` is `((b + w_0 x_i0) + w_1 x_i1) + ...` in column order,
/// as a column-by-column loop computes it, but four columns are added per
/// pass over `z`: a quarter of the loads and stores of `z`, which at
/// hundreds of thousands of rows do not stay in cache.
pub fn decision(columns: &[&[f64]], coef: &[f64], intercept: f64, rows: usize) -> Vec<f64> {
    decision_from(columns, coef, vec![intercept; rows], 0)
}

/// Where [`decision`] stops adding four columns per pass: after the last
/// whole group of four of the columns used (none when a column's length is
/// not `rows`, which callers never pass; those go one at a time).
pub fn quads_end(columns: &[&[f64]], coef: &[f64], rows: usize) -> usize {
    let used = columns.len().min(coef.len());
    if columns[..used].iter().all(|x| x.len() == rows) {
        used - used % 4
    } else {
        0
    }
}

/// [`decision`] carried on from `z`, its partial sums before column
/// `from`: 0, a multiple of 4 below [`quads_end`], or a column at or after
/// it. The same additions in the same order, so the same bits, as one
/// call of [`decision`]: a model held for many predictions with one
/// column replaced starts at that column's group of four.
pub fn decision_from(columns: &[&[f64]], coef: &[f64], mut z: Vec<f64>, from: usize) -> Vec<f64> {
    let rows = z.len();
    let used = columns.len().min(coef.len());
    let quads_end = quads_end(columns, coef, rows);
    let first_quad = from.min(quads_end);
    let quads = columns[first_quad..quads_end]
        .chunks_exact(4)
        .zip(coef[first_quad..quads_end].chunks_exact(4));
    for (x, w) in quads {
        let rows = z.iter_mut().zip(x[0]).zip(x[1]).zip(x[2]).zip(x[3]);
        for ((((zi, a), b), c), d) in rows {
            *zi = (((*zi + w[0] * a) + w[1] * b) + w[2] * c) + w[3] * d;
        }
    }
    let first_single = from.max(quads_end).min(used);
    for (x, &w) in columns[first_single..used]
        .iter()
        .zip(&coef[first_single..used])
    {
        for (zi, &xi) in z.iter_mut().zip(x.iter()) {
            *zi += w * xi;
        }
    }
    z
}

struct Problem<'a> {
    columns: &'a [&'a [f64]],
    y: &'a [f64],
    alpha: f64,
    fit_intercept: bool,
}

impl Objective for Problem<'_> {
    fn value(&self, theta: &[f64]) -> f64 {
        self.objective(theta)
    }

    fn gradient_hessian(&self, theta: &[f64]) -> (Vec<f64>, Vec<f64>) {
        self.derivatives(theta)
    }
}

impl Smooth for Problem<'_> {
    /// One pass over the data, by blocks of [`GRADIENT_BLOCK`] rows: the
    /// block's scores, then its loss and residuals, then its share of the
    /// gradient while the block's columns are still in cache (two passes
    /// over every column, the scores' and the gradient's, would read the
    /// data from memory twice).
    fn value_gradient(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let d = self.columns.len();
        let (w, b) = self.split(theta);
        let n = self.rows();
        let mut g = vec![0.0; theta.len()];
        let mut loss = 0.0;
        let mut block: Vec<&[f64]> = Vec::with_capacity(d);
        let mut z = Vec::with_capacity(GRADIENT_BLOCK);
        let mut resid = vec![0.0; GRADIENT_BLOCK];
        for start in (0..n).step_by(GRADIENT_BLOCK) {
            let end = (start + GRADIENT_BLOCK).min(n);
            let len = end - start;
            block.clear();
            block.extend(self.columns.iter().map(|c| &c[start..end]));
            z.clear();
            z.resize(len, b);
            z = decision_from(&block, w, z, 0);
            let resid = &mut resid[..len];
            loss += loss_and_residuals(&z, &self.y[start..end], resid);
            let resid = &*resid;
            for j in 0..d {
                g[j] += dot(block[j], resid);
            }
            if self.fit_intercept {
                g[d] += math::sum(resid);
            }
        }
        for j in 0..d {
            g[j] += self.alpha * w[j];
        }
        (loss + 0.5 * self.alpha * dot(w, w), g)
    }
}

/// Rows per block of [`Problem::value_gradient`]: 30 features x 1024 rows
/// (240 KiB) stay in L2 between the scores and the gradient.
const GRADIENT_BLOCK: usize = 1024;

impl Problem<'_> {
    fn rows(&self) -> usize {
        self.y.len()
    }

    /// Parameters: `d` coefficients, then the intercept if fitted.
    fn split<'p>(&self, theta: &'p [f64]) -> (&'p [f64], f64) {
        let d = self.columns.len();
        let b = if self.fit_intercept { theta[d] } else { 0.0 };
        (&theta[..d], b)
    }

    fn objective(&self, theta: &[f64]) -> f64 {
        let (w, b) = self.split(theta);
        let z = decision(self.columns, w, b, self.rows());
        let loss = loss_and_residuals(&z, self.y, &mut vec![0.0; z.len()]);
        loss + 0.5 * self.alpha * w.iter().map(|w| w * w).sum::<f64>()
    }

    /// Gradient and Hessian (row-major, `m x m`).
    fn derivatives(&self, theta: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let d = self.columns.len();
        let m = theta.len();
        let (w, b) = self.split(theta);
        let z = decision(self.columns, w, b, self.rows());
        let p = sigmoids(&z);
        let resid: Vec<f64> = p.iter().zip(self.y).map(|(p, y)| p - y).collect();
        let weight: Vec<f64> = p.iter().map(|p| p * (1.0 - p)).collect();

        let mut g = vec![0.0; m];
        for j in 0..d {
            g[j] = dot(self.columns[j], &resid) + self.alpha * w[j];
        }
        if self.fit_intercept {
            g[d] = resid.iter().sum();
        }

        // H = X^T diag(weight) X, accumulated over blocks of rows so that
        // a block of every column stays in cache while all d(d+1)/2 pairs
        // use it (one pass over the data instead of d).
        let n = self.rows();
        let mut h = vec![0.0; m * m];
        let mut weighted = vec![0.0; d * HESSIAN_BLOCK];
        for start in (0..n).step_by(HESSIAN_BLOCK) {
            let end = (start + HESSIAN_BLOCK).min(n);
            let len = end - start;
            let block_weight = &weight[start..end];
            for j in 0..d {
                let out = &mut weighted[j * HESSIAN_BLOCK..j * HESSIAN_BLOCK + len];
                for (o, (&x, &s)) in out
                    .iter_mut()
                    .zip(self.columns[j][start..end].iter().zip(block_weight))
                {
                    *o = x * s;
                }
            }
            for j in 0..d {
                let wj = &weighted[j * HESSIAN_BLOCK..j * HESSIAN_BLOCK + len];
                for k in 0..=j {
                    h[j * m + k] += dot(wj, &self.columns[k][start..end]);
                }
                if self.fit_intercept {
                    h[j * m + d] += wj.iter().sum::<f64>();
                }
            }
        }
        for j in 0..d {
            for k in 0..j {
                h[k * m + j] = h[j * m + k];
            }
            h[j * m + j] += self.alpha;
            if self.fit_intercept {
                h[d * m + j] = h[j * m + d];
            }
        }
        if self.fit_intercept {
            h[d * m + d] = weight.iter().sum();
        }
        (g, h)
    }
}

/// Rows per block of the Hessian accumulation: 30 features x 1024 rows of
/// weighted values (240 KiB) stay in L2.
const HESSIAN_BLOCK: usize = 1024;

/// Fits the model. `columns` are the features by column (equal lengths),
/// `y` the labels as 0.0 / 1.0.
pub fn fit(columns: &[&[f64]], y: &[f64], opts: &FitOptions) -> LogisticFit {
    let problem = Problem {
        columns,
        y,
        alpha: 1.0 / opts.c,
        fit_intercept: opts.fit_intercept,
    };
    let m = columns.len() + usize::from(opts.fit_intercept);
    let min = match opts.solver {
        Solver::Newton => newton::minimize(&problem, m, y.len(), opts),
        Solver::Lbfgs => lbfgs::minimize(&problem, m, y.len(), opts),
    };
    let (w, b) = problem.split(&min.theta);
    LogisticFit {
        coef: w.to_vec(),
        intercept: b,
        iterations: min.iterations,
        converged: min.max_gradient <= opts.tol,
        max_gradient: min.max_gradient,
    }
}

/// The gradient of the objective at `(coef, intercept)`, for tests.
pub fn gradient(
    columns: &[&[f64]],
    y: &[f64],
    opts: &FitOptions,
    coef: &[f64],
    intercept: f64,
) -> Vec<f64> {
    let problem = Problem {
        columns,
        y,
        alpha: 1.0 / opts.c,
        fit_intercept: opts.fit_intercept,
    };
    let mut theta = coef.to_vec();
    if opts.fit_intercept {
        theta.push(intercept);
    }
    problem.gradient_hessian(&theta).0
}

#[cfg(test)]
mod decision_tests {
    use super::decision;

    /// Four columns per pass give the same bits as one column per pass,
    /// for every count of columns (whole quads and a rest).
    #[test]
    fn blocked_decision_is_column_order() {
        for d in 0..11 {
            let rows = 37;
            let columns: Vec<Vec<f64>> = (0..d)
                .map(|j| {
                    (0..rows)
                        .map(|i| ((i * 7 + j * 13) as f64).sin() * 1e3)
                        .collect()
                })
                .collect();
            let refs: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
            let coef: Vec<f64> = (0..d).map(|j| (j as f64 + 0.3).cos()).collect();
            let mut want = vec![0.25; rows];
            for (x, &w) in refs.iter().zip(&coef) {
                for (z, &x) in want.iter_mut().zip(x.iter()) {
                    *z += w * x;
                }
            }
            let got = decision(&refs, &coef, 0.25, rows);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "d = {d}");
        }
    }
}
