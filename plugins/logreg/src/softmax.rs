//! L2-regularised multinomial (softmax) logistic regression by Newton's
//! method, for three or more classes.
//!
//! Minimises, like scikit-learn's `LogisticRegression(penalty="l2")` with
//! the `lbfgs` solver on more than two classes,
//!
//! ```text
//! f(W, b) = sum_i [ logsumexp_k(z_ik) - z_i,y_i ] + ||W||^2 / (2 C),
//! z_ik = x_i . w_k + b_k
//! ```
//!
//! with one coefficient vector and one intercept per class and the
//! intercepts not penalised. The penalty makes `W` unique; the intercepts
//! are unique only up to a common constant (adding it to every `b_k` changes
//! no probability). That constant is fixed at "intercepts sum to zero", as
//! scikit-learn's solver ends up too (it starts at zero and the intercept
//! gradients always sum to zero): the Hessian, singular along the all-ones
//! intercept direction `u`, gets `c u u^T` added, which leaves every Newton
//! step orthogonal to `u` because the gradient is.

use sluice_sdk::{classes, math};

use crate::binary;
use crate::lbfgs::{self, Smooth};
use crate::newton::{self, Objective};
use crate::solver::{FitOptions, Solver, dot};

/// The optimum found.
#[derive(Debug, Clone, PartialEq)]
pub struct MultinomialFit {
    /// One coefficient vector per class.
    pub coef: Vec<Vec<f64>>,
    /// One intercept per class (summing to zero; all zero without one).
    pub intercept: Vec<f64>,
    pub iterations: usize,
    pub converged: bool,
    pub max_gradient: f64,
}

/// Class probabilities by class, `proba[class][row]`: each class's
/// scores, then the softmax of every row in loops over the rows that
/// compile to Wasm SIMD (`exp(z - max) / sum`), without a vector per row.
pub fn proba_by_class(
    columns: &[&[f64]],
    coef: &[Vec<f64>],
    intercept: &[f64],
    rows: usize,
) -> Vec<Vec<f64>> {
    let mut z: Vec<Vec<f64>> = coef
        .iter()
        .zip(intercept)
        .map(|(w, &b)| binary::decision(columns, w, b, rows))
        .collect();
    let mut max = vec![0.0; rows];
    let mut total = vec![0.0; rows];
    max_by_row(&z, &mut max);
    exp_shifted(&mut z, &max, &mut total);
    for z in &mut z {
        for (v, &t) in z.iter_mut().zip(&total) {
            *v /= t;
        }
    }
    z
}

/// The largest of the classes' scores `z[class][row]` of each row.
fn max_by_row(z: &[Vec<f64>], max: &mut [f64]) {
    max.fill(f64::NEG_INFINITY);
    for z in z {
        for (m, &v) in max.iter_mut().zip(z) {
            *m = m.max(v);
        }
    }
}

/// `exp(z - max)` of every score in place, and each row's sum of them.
fn exp_shifted(z: &mut [Vec<f64>], max: &[f64], total: &mut [f64]) {
    total.fill(0.0);
    for z in z {
        for (v, &m) in z.iter_mut().zip(max) {
            *v -= m;
        }
        math::exp_in_place(z);
        for (t, &e) in total.iter_mut().zip(z.iter()) {
            *t += e;
        }
    }
}

/// Each row's class of highest probability (the first on ties, as
/// [`classes::argmax`]) from [`proba_by_class`]'s columns.
pub fn best_class(proba: &[Vec<f64>], rows: usize) -> Vec<usize> {
    let mut best = vec![0; rows];
    for (k, p) in proba.iter().enumerate().skip(1) {
        for (i, b) in best.iter_mut().enumerate() {
            if p[i] > proba[*b][i] {
                *b = k;
            }
        }
    }
    best
}

/// Class probabilities of each row, `proba[row][class]`: the values of
/// [`proba_by_class`].
pub fn predict_proba(
    columns: &[&[f64]],
    coef: &[Vec<f64>],
    intercept: &[f64],
    rows: usize,
) -> Vec<Vec<f64>> {
    let by_class = proba_by_class(columns, coef, intercept, rows);
    (0..rows)
        .map(|i| by_class.iter().map(|p| p[i]).collect())
        .collect()
}

struct Problem<'a> {
    columns: &'a [&'a [f64]],
    /// Each row's class index.
    y: &'a [usize],
    classes: usize,
    alpha: f64,
    fit_intercept: bool,
}

impl Problem<'_> {
    /// Parameters per class: `d` coefficients, then the intercept if fitted.
    fn width(&self) -> usize {
        self.columns.len() + usize::from(self.fit_intercept)
    }

    fn split(&self, theta: &[f64]) -> (Vec<Vec<f64>>, Vec<f64>) {
        let (d, w) = (self.columns.len(), self.width());
        let coef = (0..self.classes)
            .map(|k| theta[k * w..k * w + d].to_vec())
            .collect();
        let intercept = (0..self.classes)
            .map(|k| {
                if self.fit_intercept {
                    theta[k * w + d]
                } else {
                    0.0
                }
            })
            .collect();
        (coef, intercept)
    }

    /// The linear predictor of each class, `z[class][row]`.
    fn scores(&self, theta: &[f64]) -> Vec<Vec<f64>> {
        let (coef, intercept) = self.split(theta);
        coef.iter()
            .zip(&intercept)
            .map(|(w, &b)| binary::decision(self.columns, w, b, self.y.len()))
            .collect()
    }
}

impl Problem<'_> {
    /// The gradient, given the probabilities `p[class][row]` at `theta`.
    fn gradient_at(&self, theta: &[f64], p: &[Vec<f64>]) -> Vec<f64> {
        let (n, d, w, kk) = (self.y.len(), self.columns.len(), self.width(), self.classes);
        let mut g = vec![0.0; kk * w];
        for k in 0..kk {
            let resid: Vec<f64> = (0..n)
                .map(|i| p[k][i] - f64::from(u8::from(self.y[i] == k)))
                .collect();
            for j in 0..d {
                g[k * w + j] = dot(self.columns[j], &resid) + self.alpha * theta[k * w + j];
            }
            if self.fit_intercept {
                g[k * w + d] = resid.iter().sum();
            }
        }
        g
    }
}

impl Smooth for Problem<'_> {
    /// One pass over the data, by blocks of [`GRADIENT_BLOCK`] rows: each
    /// class's scores of the block, then the block's log-sum-exps, loss and
    /// residuals in loops over the rows that compile to Wasm SIMD, then its
    /// share of the gradient while the block's columns are still in cache
    /// (a pass over every column per class and per use would read the data
    /// from memory many times over).
    fn value_gradient(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let (n, d, w, kk) = (self.y.len(), self.columns.len(), self.width(), self.classes);
        let (coef, intercept) = self.split(theta);
        let mut g = vec![0.0; kk * w];
        let mut loss = 0.0;
        let mut block: Vec<&[f64]> = Vec::with_capacity(d);
        let mut z: Vec<Vec<f64>> = vec![Vec::with_capacity(GRADIENT_BLOCK); kk];
        let mut max = vec![0.0; GRADIENT_BLOCK];
        let mut total = vec![0.0; GRADIENT_BLOCK];
        let mut own = vec![0.0; GRADIENT_BLOCK];
        let mut logs = vec![0.0; GRADIENT_BLOCK];
        for start in (0..n).step_by(GRADIENT_BLOCK) {
            let end = (start + GRADIENT_BLOCK).min(n);
            let len = end - start;
            let y = &self.y[start..end];
            block.clear();
            block.extend(self.columns.iter().map(|c| &c[start..end]));
            for ((z, w), &b) in z.iter_mut().zip(&coef).zip(&intercept) {
                let mut from = std::mem::take(z);
                from.clear();
                from.resize(len, b);
                *z = binary::decision_from(&block, w, from, 0);
            }
            let (max, total, own) = (&mut max[..len], &mut total[..len], &mut own[..len]);
            max_by_row(&z, max);
            // Each row's score of its own class, then z - max exponentiated.
            for (i, (o, &c)) in own.iter_mut().zip(y).enumerate() {
                *o = z[c][i];
            }
            exp_shifted(&mut z, max, total);
            // The loss: log(sum of exps) + max - own score, row by row.
            let logs = &mut logs[..len];
            logs.copy_from_slice(total);
            math::ln_in_place(logs);
            for ((l, &m), &o) in logs.iter_mut().zip(max.iter()).zip(own.iter()) {
                *l += m - o;
            }
            loss += math::sum(logs);
            // Residuals p_k - [y = k], in place of the exps.
            for (k, z) in z.iter_mut().enumerate() {
                for ((v, &t), &c) in z.iter_mut().zip(total.iter()).zip(y) {
                    *v = *v / t - f64::from(u8::from(c == k));
                }
                for (j, x) in block.iter().enumerate() {
                    g[k * w + j] += dot(x, z);
                }
                if self.fit_intercept {
                    g[k * w + d] += math::sum(z);
                }
            }
        }
        for (k, coef) in coef.iter().enumerate() {
            for (j, c) in coef.iter().enumerate() {
                g[k * w + j] += self.alpha * c;
            }
        }
        let penalty: f64 = coef.iter().flatten().map(|w| w * w).sum();
        (loss + 0.5 * self.alpha * penalty, g)
    }
}

/// Rows per block of [`Problem::value_gradient`]: 30 features x 1024 rows
/// (240 KiB) stay in L2 between the scores and the gradient.
const GRADIENT_BLOCK: usize = 1024;

impl Objective for Problem<'_> {
    fn value(&self, theta: &[f64]) -> f64 {
        let z = self.scores(theta);
        let loss: f64 = (0..self.y.len())
            .map(|i| {
                let max = z.iter().map(|z| z[i]).fold(f64::NEG_INFINITY, f64::max);
                let lse = max + z.iter().map(|z| (z[i] - max).exp()).sum::<f64>().ln();
                lse - z[self.y[i]][i]
            })
            .sum();
        let (coef, _) = self.split(theta);
        let penalty: f64 = coef.iter().flatten().map(|w| w * w).sum();
        loss + 0.5 * self.alpha * penalty
    }

    fn gradient_hessian(&self, theta: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let (n, d, w, kk) = (self.y.len(), self.columns.len(), self.width(), self.classes);
        let m = kk * w;
        // p[class][row]
        let mut p = self.scores(theta);
        let mut row = vec![0.0; kk];
        for i in 0..n {
            for (r, p) in row.iter_mut().zip(&p) {
                *r = p[i];
            }
            classes::softmax(&mut row);
            for (r, p) in row.iter().zip(p.iter_mut()) {
                p[i] = *r;
            }
        }
        let g = self.gradient_at(theta, &p);

        // Block (k, l) of the Hessian is X^T diag(p_k (delta_kl - p_l)) X,
        // itself symmetric, and block (l, k) is its transpose.
        let mut h = vec![0.0; m * m];
        let mut set = |a: usize, b: usize, v: f64| {
            h[a * m + b] = v;
            h[b * m + a] = v;
        };
        let mut weighted = vec![0.0; n];
        for k in 0..kk {
            for l in 0..=k {
                let s: Vec<f64> = (0..n)
                    .map(|i| p[k][i] * (f64::from(u8::from(k == l)) - p[l][i]))
                    .collect();
                for j in 0..d {
                    for (o, (&x, &s)) in weighted.iter_mut().zip(self.columns[j].iter().zip(&s)) {
                        *o = x * s;
                    }
                    let last = if k == l { j } else { d - 1 };
                    for j2 in 0..=last {
                        let v = dot(&weighted, self.columns[j2]);
                        set(k * w + j, l * w + j2, v);
                        set(k * w + j2, l * w + j, v);
                    }
                    if self.fit_intercept {
                        let v: f64 = weighted.iter().sum();
                        set(k * w + j, l * w + d, v);
                        set(l * w + j, k * w + d, v);
                    }
                }
                if self.fit_intercept {
                    set(k * w + d, l * w + d, s.iter().sum());
                }
            }
        }
        for k in 0..kk {
            for j in 0..d {
                h[(k * w + j) * m + k * w + j] += self.alpha;
            }
        }
        if self.fit_intercept {
            // The gauge term c u u^T, c on the scale of the intercept block.
            let c = (0..kk)
                .map(|k| h[(k * w + d) * m + k * w + d])
                .fold(1.0, f64::max);
            for k in 0..kk {
                for l in 0..kk {
                    h[(k * w + d) * m + l * w + d] += c;
                }
            }
        }
        (g, h)
    }
}

/// Fits the model: `columns` are the features by column, `y` each row's
/// class index in `0..classes`.
pub fn fit(columns: &[&[f64]], y: &[usize], classes: usize, opts: &FitOptions) -> MultinomialFit {
    let problem = Problem {
        columns,
        y,
        classes,
        alpha: 1.0 / opts.c,
        fit_intercept: opts.fit_intercept,
    };
    let m = classes * problem.width();
    let min = match opts.solver {
        Solver::Newton => newton::minimize(&problem, m, y.len(), opts),
        Solver::Lbfgs => lbfgs::minimize(&problem, m, y.len(), opts),
    };
    let (coef, intercept) = problem.split(&min.theta);
    MultinomialFit {
        coef,
        intercept,
        iterations: min.iterations,
        converged: min.max_gradient <= opts.tol,
        max_gradient: min.max_gradient,
    }
}

/// The gradient of the objective at `(coef, intercept)`, for tests.
pub fn gradient(
    columns: &[&[f64]],
    y: &[usize],
    classes: usize,
    opts: &FitOptions,
    coef: &[Vec<f64>],
    intercept: &[f64],
) -> Vec<f64> {
    let problem = Problem {
        columns,
        y,
        classes,
        alpha: 1.0 / opts.c,
        fit_intercept: opts.fit_intercept,
    };
    let mut theta = Vec::new();
    for (w, &b) in coef.iter().zip(intercept) {
        theta.extend_from_slice(w);
        if opts.fit_intercept {
            theta.push(b);
        }
    }
    problem.gradient_hessian(&theta).0
}
