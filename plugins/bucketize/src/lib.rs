//! `bucketize`: a transform that replaces numeric values with their
//! quantile bin, like scikit-learn's
//! `KBinsDiscretizer(strategy='quantile', encode='ordinal')` with numpy's
//! default (`linear`) percentile method.
//!
//! Params:
//! - `n_bins` (integer, default 5): bins per column before duplicate edges
//!   are removed; at least 2.
//! - `columns` (text, default `""`): comma-separated columns to bin; `""`
//!   bins every numeric (f64 or i64) column.
//!
//! - `fit` computes, per column over its present values (not null, not
//!   NaN), the edges `percentile(x, linspace(0, 100, n_bins + 1))` with
//!   numpy's linear interpolation, then drops every edge that is not more
//!   than 1e-8 above the edge before it (scikit-learn's rule), so a column
//!   may get fewer bins. A constant column, or one without present values,
//!   gets the single bin `(-inf, inf)`. A listed column that is missing or
//!   not numeric is an invalid-input error.
//! - `apply` writes, as f64, the bin index `0..k-1`: the number of inner
//!   edges `<= x` (numpy `searchsorted(edges[1:-1], x, side='right')`, as
//!   scikit-learn's `transform`). Values below the first edge fall in bin 0
//!   and values above the last in bin `k-1`. Null masks are kept; NaN stays
//!   NaN. Columns the state does not know pass unchanged; a state column
//!   missing from the data is an invalid-input error.

mod state;
#[cfg(test)]
mod tests;

use sluice_sdk::{ParamSpec, Params, PluginInfo, StepError, Table, Transform};
pub use state::Bins;

pub use sluice_sdk::columns::parse_names;

/// numpy's `percentile(sorted, qs)` with the default `linear` method;
/// `sorted` must be sorted and non-empty, `qs` in [0, 100].
pub fn percentiles(sorted: &[f64], qs: &[f64]) -> Vec<f64> {
    let n = sorted.len();
    qs.iter()
        .map(|&q| {
            let index = (n - 1) as f64 * (q / 100.0);
            let lo = (index.floor() as usize).min(n - 1);
            let hi = (lo + 1).min(n - 1);
            let t = index - lo as f64;
            let (a, b) = (sorted[lo], sorted[hi]);
            // numpy's _lerp: a + (b - a) t, from the upper end when t >= 0.5.
            let diff = b - a;
            if t >= 0.5 {
                b - diff * (1.0 - t)
            } else {
                a + diff * t
            }
        })
        .collect()
}

/// numpy's `linspace(0, 100, num)`.
pub fn linspace_0_100(num: usize) -> Vec<f64> {
    let step = 100.0 / (num - 1) as f64;
    let mut out: Vec<f64> = (0..num).map(|i| i as f64 * step).collect();
    out[num - 1] = 100.0;
    out
}

/// The bin edges of one column's present values, as scikit-learn fits them.
pub fn quantile_edges(values: &[f64], n_bins: usize) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match (sorted.first(), sorted.last()) {
        (Some(lo), Some(hi)) if lo != hi => {}
        _ => return vec![f64::NEG_INFINITY, f64::INFINITY],
    }
    let edges = percentiles(&sorted, &linspace_0_100(n_bins + 1));
    let mut kept = vec![edges[0]];
    for w in edges.windows(2) {
        if w[1] - w[0] > 1e-8 {
            kept.push(w[1]);
        }
    }
    kept
}

/// The bin of `x` among `edges` (NaN stays NaN).
pub fn bin_of(edges: &[f64], x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let inner = &edges[1..edges.len() - 1];
    inner.partition_point(|&e| e <= x) as f64
}

pub struct Bucketize;

impl Transform for Bucketize {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "bucketize",
            env!("CARGO_PKG_VERSION"),
            "Replaces numeric values with their quantile bin index 0..k-1 \
             (like scikit-learn's KBinsDiscretizer with strategy='quantile', encode='ordinal').",
        )
        .param(
            ParamSpec::integer(
                "n_bins",
                5,
                "quantile bins per column (at least 2); duplicate edges are merged",
            )
            .range(2.0, 1_000_000.0),
        )
        .param(ParamSpec::text(
            "columns",
            "",
            "comma-separated columns to bin; empty bins every numeric column",
        ))
    }

    fn fit(data: Table, params: Params) -> Result<Vec<u8>, StepError> {
        let n_bins = params.integer("n_bins")?;
        if !(2..=1_000_000).contains(&n_bins) {
            return Err(StepError::invalid_params(format!(
                "param 'n_bins' must be between 2 and 1000000, got {n_bins}"
            )));
        }
        let names = parse_names(params.text("columns")?, "columns")?;
        Ok(Bins::fit(&data, &names, n_bins as usize)?.to_bytes())
    }

    fn apply(state: Vec<u8>, data: Table) -> Result<Table, StepError> {
        Bins::from_bytes(&state)?.apply(data)
    }
}

sluice_sdk::export_transform!(Bucketize);
