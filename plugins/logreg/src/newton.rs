//! L2-regularised binary logistic regression by Newton's method.
//!
//! Minimises, like scikit-learn's `LogisticRegression(penalty="l2")`,
//!
//! ```text
//! f(w, b) = sum_i logloss(y_i, x_i . w + b) + ||w||^2 / (2 C)
//! ```
//!
//! with the intercept `b` not penalised. Each iteration solves the Newton
//! system `H d = -g` by Cholesky (adding a small ridge if `H` is not
//! numerically positive definite) and backtracks along `d` until the
//! objective decreases enough (Armijo). Convergence is reached when the
//! largest gradient entry, divided by the number of rows (scikit-learn's
//! scale), is at most `tol`; one last full Newton step then polishes the
//! result to about f64 precision.

/// The optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Solver {
    /// Damped Newton ([`minimize`]): few iterations, each `O(n d^2)`; ends
    /// at f64 precision.
    Newton,
    /// L-BFGS ([`crate::lbfgs`]): more iterations, each `O(n d)`.
    Lbfgs,
}

impl Solver {
    pub fn parse(text: &str) -> Option<Solver> {
        match text {
            "newton" => Some(Solver::Newton),
            "lbfgs" => Some(Solver::Lbfgs),
            _ => None,
        }
    }
}

use crate::lbfgs::{self, Smooth};
use sluice_sdk::math;

/// Optimiser settings.
#[derive(Debug, Clone, PartialEq)]
pub struct FitOptions {
    /// Inverse regularisation strength (> 0).
    pub c: f64,
    pub max_iter: usize,
    pub tol: f64,
    pub fit_intercept: bool,
    pub solver: Solver,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            c: 1.0,
            max_iter: 100,
            tol: 1e-8,
            fit_intercept: true,
            solver: Solver::Newton,
        }
    }
}

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

/// The dot product of equal-length slices, with four accumulators: Cranelift
/// does not unroll a single dependent chain of adds.
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    let mut acc = [0.0; 4];
    for (x, y) in ca.zip(cb) {
        for i in 0..4 {
            acc[i] += x[i] * y[i];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// Solves `A x = b` for symmetric positive definite `A` (row-major `m x m`),
/// or `None` if Cholesky finds `A` not positive definite.
pub fn cholesky_solve(a: &[f64], b: &[f64]) -> Option<Vec<f64>> {
    let m = b.len();
    let mut l = vec![0.0; m * m];
    for i in 0..m {
        for j in 0..=i {
            let s = a[i * m + j] - (0..j).map(|k| l[i * m + k] * l[j * m + k]).sum::<f64>();
            if i == j {
                if s <= 0.0 || !s.is_finite() {
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

/// Solves the Newton system, adding a growing ridge when `h` is singular.
pub(crate) fn newton_direction(h: &[f64], g: &[f64]) -> Option<Vec<f64>> {
    let m = g.len();
    let neg_g: Vec<f64> = g.iter().map(|g| -g).collect();
    let max_diag = (0..m).map(|i| h[i * m + i].abs()).fold(0.0, f64::max);
    let mut ridge = 0.0;
    for _ in 0..20 {
        let mut damped = h.to_vec();
        for i in 0..m {
            damped[i * m + i] += ridge;
        }
        if let Some(d) = cholesky_solve(&damped, &neg_g) {
            return Some(d);
        }
        ridge = if ridge == 0.0 {
            1e-12 * max_diag.max(1.0)
        } else {
            ridge * 10.0
        };
    }
    None
}

/// A smooth convex objective that [`minimize`] can drive.
pub(crate) trait Objective {
    fn value(&self, theta: &[f64]) -> f64;
    /// Gradient and Hessian (row-major, `m x m`). The Hessian may be
    /// singular only along directions the gradient is orthogonal to.
    fn gradient_hessian(&self, theta: &[f64]) -> (Vec<f64>, Vec<f64>);
}

/// Where [`minimize`] stopped.
pub(crate) struct Minimum {
    pub theta: Vec<f64>,
    pub iterations: usize,
    /// The largest gradient entry over `rows` before the last step.
    pub max_gradient: f64,
}

/// Damped Newton from `theta = 0` (`m` parameters): stops when the largest
/// gradient entry over `rows` is at most `opts.tol`, after `opts.max_iter`
/// steps, or when no step decreases the objective.
pub(crate) fn minimize(
    problem: &impl Objective,
    m: usize,
    rows: usize,
    opts: &FitOptions,
) -> Minimum {
    let n = rows.max(1) as f64;
    let mut theta = vec![0.0; m];
    let mut f = problem.value(&theta);
    let mut iterations = 0;
    let max_gradient = loop {
        let (g, h) = problem.gradient_hessian(&theta);
        let max_gradient = g.iter().fold(0.0f64, |a, g| a.max(g.abs())) / n;
        if iterations >= opts.max_iter {
            break max_gradient;
        }
        let Some(direction) = newton_direction(&h, &g) else {
            break max_gradient;
        };
        if max_gradient <= opts.tol {
            // Converged. Newton converges quadratically here, so one more
            // full step (kept if it does not raise the objective) takes the
            // result to about f64 precision at the cost of one solve.
            let candidate: Vec<f64> = theta.iter().zip(&direction).map(|(t, d)| t + d).collect();
            if problem.value(&candidate) <= f {
                theta = candidate;
            }
            break max_gradient;
        }
        let slope = dot(&g, &direction);
        let mut step = 1.0;
        let mut accepted = None;
        for _ in 0..60 {
            let candidate: Vec<f64> = theta
                .iter()
                .zip(&direction)
                .map(|(t, d)| t + step * d)
                .collect();
            let f_new = problem.value(&candidate);
            if f_new <= f + 1e-4 * step * slope {
                accepted = Some((candidate, f_new));
                break;
            }
            step *= 0.5;
        }
        iterations += 1;
        match accepted {
            Some((candidate, f_new)) => {
                theta = candidate;
                f = f_new;
            }
            // No decrease along a descent direction: the optimum is reached
            // to the precision of f64.
            None => break max_gradient,
        }
    };
    Minimum {
        theta,
        iterations,
        max_gradient,
    }
}

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
        Solver::Newton => minimize(&problem, m, y.len(), opts),
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
