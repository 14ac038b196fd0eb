//! The weighted least squares that turns the coalitions' mean outputs into
//! one SHAP value per feature, constrained to sum to the row's output minus
//! the background mean. Not for choosing the coalitions:
//! [`crate::coalitions`].

use sluice_sdk::StepError;

use crate::Coalitions;

/// Solves the SHAP weighted least squares: `ey` are the coalition means,
/// `fx` the row's output, `fnull` the background mean. Returns one value
/// per feature, summing to `fx - fnull`.
pub fn solve(plan: &Coalitions, ey: &[f64], fx: f64, fnull: f64) -> Result<Vec<f64>, StepError> {
    let m = plan.masks.first().map_or(0, Vec::len);
    let total = fx - fnull;
    if m == 0 {
        return Ok(Vec::new());
    }
    if m == 1 {
        return Ok(vec![total]);
    }
    let k = m - 1;
    // Eliminate the last feature: phi_last = total - sum(others).
    let mut a = vec![vec![0.0; k]; k];
    let mut b = vec![0.0; k];
    let mut row = vec![0.0; k];
    for ((mask, &w), &y) in plan.masks.iter().zip(&plan.weights).zip(ey) {
        let last = if mask[k] { 1.0 } else { 0.0 };
        let target = (y - fnull) - last * total;
        for j in 0..k {
            row[j] = if mask[j] { 1.0 } else { 0.0 } - last;
        }
        for i in 0..k {
            if row[i] == 0.0 {
                continue;
            }
            b[i] += w * row[i] * target;
            for j in 0..k {
                a[i][j] += w * row[i] * row[j];
            }
        }
    }
    let mut phi = gauss_solve(a, b).ok_or_else(|| {
        StepError::invalid_params(format!(
            "the {} coalitions do not determine the SHAP values of {m} features; \
             raise 'nsamples'",
            plan.masks.len()
        ))
    })?;
    let rest: f64 = phi.iter().sum();
    phi.push(total - rest);
    Ok(phi)
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting; `None`
/// when `a` is singular.
fn gauss_solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    let scale = a
        .iter()
        .flatten()
        .fold(0.0f64, |s, v| s.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() <= 1e-12 * scale {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let (upper, lower) = a.split_at_mut(col + 1);
        let pivot_row = &upper[col];
        for (offset, row) in lower.iter_mut().enumerate() {
            let f = row[col] / pivot_row[col];
            if f == 0.0 {
                continue;
            }
            row[col..]
                .iter_mut()
                .zip(&pivot_row[col..])
                .for_each(|(x, p)| *x -= f * p);
            b[col + 1 + offset] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        let s: f64 = (r + 1..n).map(|c| a[r][c] * x[c]).sum();
        x[r] = (b[r] - s) / a[r][r];
    }
    Some(x)
}
