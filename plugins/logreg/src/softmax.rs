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

use sluice_sdk::classes;

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

/// Class probabilities of each row, `proba[row][class]`.
pub fn predict_proba(
    columns: &[&[f64]],
    coef: &[Vec<f64>],
    intercept: &[f64],
    rows: usize,
) -> Vec<Vec<f64>> {
    let z: Vec<Vec<f64>> = coef
        .iter()
        .zip(intercept)
        .map(|(w, &b)| binary::decision(columns, w, b, rows))
        .collect();
    (0..rows)
        .map(|i| {
            let mut p: Vec<f64> = z.iter().map(|z| z[i]).collect();
            classes::softmax(&mut p);
            p
        })
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
    fn value_gradient(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let mut p = self.scores(theta);
        let mut loss = 0.0;
        let mut row = vec![0.0; self.classes];
        for i in 0..self.y.len() {
            for (r, p) in row.iter_mut().zip(&p) {
                *r = p[i];
            }
            let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let lse = max + row.iter().map(|z| (z - max).exp()).sum::<f64>().ln();
            loss += lse - row[self.y[i]];
            for (r, p) in row.iter().zip(p.iter_mut()) {
                p[i] = (r - lse).exp();
            }
        }
        let g = self.gradient_at(theta, &p);
        let (coef, _) = self.split(theta);
        let penalty: f64 = coef.iter().flatten().map(|w| w * w).sum();
        (loss + 0.5 * self.alpha * penalty, g)
    }
}

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
