//! Limited-memory BFGS, the `lbfgs` solver (scikit-learn's default).
//!
//! Each iteration needs the objective and its gradient once (two passes
//! over the data, `O(n d)`), against Newton's Hessian (`O(n d^2)`); it
//! takes more iterations, and wins when `d` is more than a few features.
//!
//! The direction comes from the usual two-loop recursion over the last
//! [`MEMORY`] steps (scipy's `maxcor` default), scaled by `s.y / y.y`; the
//! step is the first of 1, 1/2, 1/4, ... that decreases the objective
//! enough (Armijo). Near the optimum the decrease of a good step can be
//! below the rounding of the objective itself; a step that changes the
//! objective by no more than that rounding is accepted when it shrinks
//! the gradient (the approximate Wolfe condition of Hager and Zhang).
//! Convergence is as for Newton: the largest gradient entry over the
//! number of rows at most `tol`.

use std::collections::VecDeque;

use crate::solver::{FitOptions, Minimum, dot};

/// Steps remembered (scipy's `maxcor`, scikit-learn's default).
pub const MEMORY: usize = 10;

/// A smooth convex objective with its gradient.
pub(crate) trait Smooth {
    /// The objective and its gradient at `theta`.
    fn value_gradient(&self, theta: &[f64]) -> (f64, Vec<f64>);
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |a, x| a.max(x.abs()))
}

/// L-BFGS from `theta = 0` (`m` parameters): stops when the largest
/// gradient entry over `rows` is at most `opts.tol`, after `opts.max_iter`
/// iterations, or when no step along a descent direction decreases the
/// objective.
pub(crate) fn minimize(problem: &impl Smooth, m: usize, rows: usize, opts: &FitOptions) -> Minimum {
    let n = rows.max(1) as f64;
    let mut theta = vec![0.0; m];
    let (mut f, mut g) = problem.value_gradient(&theta);
    // (s, y, 1 / s.y), oldest first.
    let mut history: VecDeque<(Vec<f64>, Vec<f64>, f64)> = VecDeque::with_capacity(MEMORY);
    let mut iterations = 0;
    let max_gradient = loop {
        let max_gradient = max_abs(&g) / n;
        if max_gradient <= opts.tol || iterations >= opts.max_iter {
            break max_gradient;
        }
        let mut direction = two_loop(&history, &g);
        let mut slope = dot(&g, &direction);
        if slope.is_nan() || slope >= 0.0 {
            // Not a descent direction (rounding): start over from the
            // gradient.
            history.clear();
            direction = two_loop(&history, &g);
            slope = dot(&g, &direction);
        }
        let rounding = 4.0 * f64::EPSILON * f.abs();
        let mut step = 1.0;
        let mut accepted = None;
        for _ in 0..60 {
            let candidate: Vec<f64> = theta
                .iter()
                .zip(&direction)
                .map(|(t, d)| t + step * d)
                .collect();
            let (f_new, g_new) = problem.value_gradient(&candidate);
            let armijo = f_new <= f + 1e-4 * step * slope;
            let flat = f_new <= f + rounding && max_abs(&g_new) < max_abs(&g);
            if armijo || flat {
                accepted = Some((candidate, f_new, g_new));
                break;
            }
            step *= 0.5;
        }
        iterations += 1;
        let Some((candidate, f_new, g_new)) = accepted else {
            // No decrease along a descent direction: the optimum is
            // reached to the precision of f64.
            break max_gradient;
        };
        let s: Vec<f64> = candidate.iter().zip(&theta).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        // The objective is strictly convex, so s.y > 0 but for rounding;
        // a pair without curvature would spoil the inverse Hessian.
        if sy > f64::EPSILON * dot(&y, &y) {
            if history.len() == MEMORY {
                history.pop_front();
            }
            history.push_back((s, y, 1.0 / sy));
        }
        theta = candidate;
        f = f_new;
        g = g_new;
    };
    Minimum {
        theta,
        iterations,
        max_gradient,
    }
}

/// `-H g` for the inverse Hessian estimate `H` of `history`; with no
/// history, the gradient scaled to unit length.
fn two_loop(history: &VecDeque<(Vec<f64>, Vec<f64>, f64)>, g: &[f64]) -> Vec<f64> {
    let mut q: Vec<f64> = g.iter().map(|g| -g).collect();
    let Some((s_last, y_last, _)) = history.back() else {
        let norm = dot(g, g).sqrt();
        if norm > 0.0 {
            q.iter_mut().for_each(|q| *q /= norm);
        }
        return q;
    };
    let mut alphas = Vec::with_capacity(history.len());
    for (s, y, rho) in history.iter().rev() {
        let a = rho * dot(s, &q);
        for (q, y) in q.iter_mut().zip(y) {
            *q -= a * y;
        }
        alphas.push(a);
    }
    let gamma = dot(s_last, y_last) / dot(y_last, y_last);
    q.iter_mut().for_each(|q| *q *= gamma);
    for ((s, y, rho), a) in history.iter().zip(alphas.iter().rev()) {
        let b = rho * dot(y, &q);
        for (q, s) in q.iter_mut().zip(s) {
            *q += (a - b) * s;
        }
    }
    q
}
