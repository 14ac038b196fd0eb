//! Damped Newton's method, the `newton` solver, for the binary
//! ([`crate::binary`]) and multinomial ([`crate::softmax`]) objectives.
//!
//! Each iteration solves the Newton system `H d = -g` by Cholesky (adding
//! a small ridge if `H` is not numerically positive definite) and
//! backtracks along `d` until the objective decreases enough (Armijo).
//! Convergence is reached when the largest gradient entry, divided by the
//! number of rows (scikit-learn's scale), is at most `tol`; one last full
//! Newton step then polishes the result to about f64 precision.

use crate::solver::{FitOptions, Minimum, dot};

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
