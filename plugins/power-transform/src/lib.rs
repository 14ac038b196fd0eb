//! `power-transform`: a transform that makes numeric columns more
//! Gaussian-like, with `log1p` or with Yeo-Johnson like scikit-learn's
//! `PowerTransformer(method='yeo-johnson', standardize=False)`.
//!
//! Params:
//! - `method` (text, default `log1p`): `log1p` writes `ln(1 + x)`;
//!   `yeo-johnson` fits one lambda per column.
//! - `columns` (text, default `""`): comma-separated columns to transform;
//!   `""` transforms every numeric (f64 or i64) column.
//!
//! - `fit` (yeo-johnson) finds, per column over its present values (not
//!   null, not NaN), the lambda maximising the Yeo-Johnson log-likelihood,
//!   as scikit-learn does: scipy's `optimize.brent` started from the
//!   bracket (-2, 2) (scipy's bracket search, then Brent's method with
//!   relative tolerance 1.48e-8 and at most 500 iterations), so lambda may
//!   end outside [-2, 2]. A column with fewer than two distinct present
//!   values gets lambda 1 (the identity). For `log1p` fit only records the
//!   columns. A listed column that is missing or not numeric is an
//!   invalid-input error.
//! - `apply` writes the transformed values as f64 and keeps null masks
//!   (NaN stays NaN; null rows are not checked). With `log1p` a present
//!   value `x <= -1` is an invalid-input error naming the column and row.
//!   Columns the state does not know pass unchanged; a state column missing
//!   from the data is an invalid-input error.

mod state;
#[cfg(test)]
mod tests;

use sluice_sdk::{ParamSpec, Params, PluginInfo, StepError, Table, Transform};
pub use state::{Method, Power};

pub use sluice_sdk::columns::parse_names;

/// The Yeo-Johnson transform of one value (scikit-learn's formulas).
pub fn yeo_johnson(x: f64, lambda: f64) -> f64 {
    let eps = f64::EPSILON;
    if x >= 0.0 {
        if lambda.abs() < eps {
            x.ln_1p()
        } else {
            ((x + 1.0).powf(lambda) - 1.0) / lambda
        }
    } else if (lambda - 2.0).abs() > eps {
        -((-x + 1.0).powf(2.0 - lambda) - 1.0) / (2.0 - lambda)
    } else {
        -(-x).ln_1p()
    }
}

/// The negative Yeo-Johnson log-likelihood of `x` at `lambda`.
pub fn neg_log_likelihood(x: &[f64], lambda: f64) -> f64 {
    let n = x.len() as f64;
    let t: Vec<f64> = x.iter().map(|&v| yeo_johnson(v, lambda)).collect();
    let mean = t.iter().sum::<f64>() / n;
    let var = t.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    if var < f64::MIN_POSITIVE || !var.is_finite() {
        return f64::INFINITY;
    }
    let signed_log: f64 = x.iter().map(|&v| v.signum() * v.abs().ln_1p()).sum();
    -(-n / 2.0 * var.ln() + (lambda - 1.0) * signed_log)
}

/// scipy's `optimize.bracket(f, xa, xb)`: a triple (a, b, c) with f(b)
/// below f(a) and f(c).
fn bracket(f: &dyn Fn(f64) -> f64, mut xa: f64, mut xb: f64) -> (f64, f64, f64, f64) {
    const GOLD: f64 = 1.618034;
    const VERY_SMALL: f64 = 1e-21;
    const GROW_LIMIT: f64 = 110.0;
    let (mut fa, mut fb) = (f(xa), f(xb));
    if fa < fb {
        std::mem::swap(&mut xa, &mut xb);
        std::mem::swap(&mut fa, &mut fb);
    }
    let mut xc = xb + GOLD * (xb - xa);
    let mut fc = f(xc);
    let mut iter = 0;
    while fc < fb && iter < 1000 {
        iter += 1;
        let tmp1 = (xb - xa) * (fb - fc);
        let tmp2 = (xb - xc) * (fb - fa);
        let val = tmp2 - tmp1;
        let denom = if val.abs() < VERY_SMALL {
            2.0 * VERY_SMALL
        } else {
            2.0 * val
        };
        let mut w = xb - ((xb - xc) * tmp2 - (xb - xa) * tmp1) / denom;
        let wlim = xb + GROW_LIMIT * (xc - xb);
        let mut fw;
        if (w - xc) * (xb - w) > 0.0 {
            fw = f(w);
            if fw < fc {
                xa = xb;
                xb = w;
                fb = fw;
                break;
            } else if fw > fb {
                xc = w;
                break;
            }
            w = xc + GOLD * (xc - xb);
            fw = f(w);
        } else if (w - wlim) * (wlim - xc) >= 0.0 {
            w = wlim;
            fw = f(w);
        } else if (w - wlim) * (xc - w) > 0.0 {
            fw = f(w);
            if fw < fc {
                xb = xc;
                xc = w;
                w = xc + GOLD * (xc - xb);
                fb = fc;
                fc = fw;
                fw = f(w);
            }
        } else {
            w = xc + GOLD * (xc - xb);
            fw = f(w);
        }
        xa = xb;
        xb = xc;
        xc = w;
        fa = fb;
        fb = fc;
        fc = fw;
    }
    (xa, xb, xc, fb)
}

/// scipy's `optimize.brent(f, brack=(lo, hi))` (tol 1.48e-8, maxiter 500).
pub fn brent(f: &dyn Fn(f64) -> f64, lo: f64, hi: f64) -> f64 {
    const CG: f64 = 0.381_966_0;
    const MINTOL: f64 = 1.0e-11;
    const TOL: f64 = 1.48e-8;
    let (xa, xb, xc, fb) = bracket(f, lo, hi);
    let (mut x, mut w, mut v) = (xb, xb, xb);
    let (mut fx, mut fw, mut fv) = (fb, fb, fb);
    let (mut a, mut b) = if xa < xc { (xa, xc) } else { (xc, xa) };
    let mut deltax: f64 = 0.0;
    let mut rat: f64 = 0.0;
    for _ in 0..500 {
        let tol1 = TOL * x.abs() + MINTOL;
        let tol2 = 2.0 * tol1;
        let xmid = 0.5 * (a + b);
        if (x - xmid).abs() < tol2 - 0.5 * (b - a) {
            break;
        }
        if deltax.abs() <= tol1 {
            deltax = if x >= xmid { a - x } else { b - x };
            rat = CG * deltax;
        } else {
            let tmp1 = (x - w) * (fx - fv);
            let mut tmp2 = (x - v) * (fx - fw);
            let mut p = (x - v) * tmp2 - (x - w) * tmp1;
            tmp2 = 2.0 * (tmp2 - tmp1);
            if tmp2 > 0.0 {
                p = -p;
            }
            tmp2 = tmp2.abs();
            let dx_temp = deltax;
            deltax = rat;
            if p > tmp2 * (a - x) && p < tmp2 * (b - x) && p.abs() < (0.5 * tmp2 * dx_temp).abs() {
                rat = p / tmp2;
                let u = x + rat;
                if (u - a) < tol2 || (b - u) < tol2 {
                    rat = if xmid - x >= 0.0 { tol1 } else { -tol1 };
                }
            } else {
                deltax = if x >= xmid { a - x } else { b - x };
                rat = CG * deltax;
            }
        }
        let u = if rat.abs() < tol1 {
            if rat >= 0.0 { x + tol1 } else { x - tol1 }
        } else {
            x + rat
        };
        let fu = f(u);
        if fu > fx {
            if u < x {
                a = u;
            } else {
                b = u;
            }
            if fu <= fw || w == x {
                v = w;
                w = u;
                fv = fw;
                fw = fu;
            } else if fu <= fv || v == x || v == w {
                v = u;
                fv = fu;
            }
        } else {
            if u >= x {
                a = x;
            } else {
                b = x;
            }
            v = w;
            w = x;
            x = u;
            fv = fw;
            fw = fx;
            fx = fu;
        }
    }
    x
}

/// The Yeo-Johnson lambda scikit-learn fits for `x` (present values).
pub fn fit_lambda(x: &[f64]) -> f64 {
    let distinct = x.iter().any(|&v| v != x[0]);
    if x.len() < 2 || !distinct {
        return 1.0;
    }
    let f = |l: f64| neg_log_likelihood(x, l);
    let lambda = brent(&f, -2.0, 2.0);
    if lambda.is_finite() { lambda } else { 1.0 }
}

pub struct PowerTransform;

impl Transform for PowerTransform {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "power-transform",
            env!("CARGO_PKG_VERSION"),
            "Applies log1p, or a per-column Yeo-Johnson transform with fitted lambda \
             (like scikit-learn's PowerTransformer(standardize=False)), to numeric columns.",
        )
        .param(
            ParamSpec::text(
                "method",
                "log1p",
                "log1p (ln(1 + x), needs x > -1) or yeo-johnson",
            )
            .choices(&["log1p", "yeo-johnson"]),
        )
        .param(ParamSpec::text(
            "columns",
            "",
            "comma-separated columns to transform; empty transforms every numeric column",
        ))
    }

    fn fit(data: Table, params: Params) -> Result<Vec<u8>, StepError> {
        let yeo_johnson = match params.text("method")? {
            "log1p" => false,
            "yeo-johnson" => true,
            other => {
                return Err(StepError::invalid_params(format!(
                    "param 'method' must be 'log1p' or 'yeo-johnson', got '{other}'"
                )));
            }
        };
        let names = parse_names(params.text("columns")?, "columns")?;
        Ok(Power::fit(&data, &names, yeo_johnson)?.to_bytes())
    }

    fn apply(state: Vec<u8>, data: Table) -> Result<Table, StepError> {
        Power::from_bytes(&state)?.apply(data)
    }
}

sluice_sdk::export_transform!(PowerTransform);
