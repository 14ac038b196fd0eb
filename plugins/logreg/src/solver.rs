//! What logreg's solvers share: the choice of solver and its settings
//! ([`Solver`], [`FitOptions`]), where a minimisation stopped
//! ([`Minimum`]), and the dot product they all use. A leaf: Newton's method
//! ([`crate::newton`]), L-BFGS ([`crate::lbfgs`]) and the two models
//! ([`crate::binary`], [`crate::softmax`]) depend on it, not it on them.

/// The optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Solver {
    /// Damped Newton ([`crate::newton`]): few iterations, each `O(n d^2)`; ends
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

/// Where a solver's `minimize` stopped.
pub(crate) struct Minimum {
    pub theta: Vec<f64>,
    pub iterations: usize,
    /// The largest gradient entry over `rows` before the last step.
    pub max_gradient: f64,
}

/// The dot product of equal-length slices, with eight accumulators: four
/// SIMD pairs whose dependent chains of adds overlap (Cranelift does not
/// unroll a chain, and with NaN canonicalization each add of a chain waits
/// for the canonicalization of the one before).
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    let mut acc = [0.0; 8];
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail
}
