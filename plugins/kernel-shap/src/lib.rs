//! `kernel-shap`: Kernel SHAP values of one row for the model under test.
//!
//! Params: `row` (integer, 0: the row of the input to explain),
//! `background` (integer, 50: how many background rows to sample from the
//! input), `nsamples` (integer, 0: coalitions to evaluate, 0 = SHAP's
//! default `2 * M + 2048`), `seed` (integer, 0: seeds the background sample
//! and the coalition sampling), `output` (text, `""`: the model's output
//! column to explain; empty means `p_1` when the model returns it, else
//! `prediction`).
//!
//! The algorithm is SHAP's `KernelExplainer` (Lundberg and Lee, 2017):
//!
//! - Background: all input rows when there are at most `background` of
//!   them, else a seeded sample without replacement (in row order).
//! - Features whose value in the row equals every background row's value
//!   (nulls equal nulls) cannot change the output: their SHAP value is 0
//!   and they take no part. `M` is the number of the others.
//! - Coalitions: when `2^M - 2 <= nsamples` every coalition is enumerated
//!   (the result is then the exact Shapley value of the background-averaged
//!   model). Otherwise coalition sizes are filled completely, smallest
//!   first together with their complements, while the budget covers a
//!   size's expected share; the rest is sampled with the seed: a size by the
//!   Shapley kernel's weight, a uniform subset of that size and its
//!   complement, repeated draws adding weight to the coalition already
//!   drawn. Each sampled coalition's weight is then scaled so the sampled
//!   part carries the kernel weight of the sizes not enumerated.
//! - A coalition is evaluated as the mean model output over the background
//!   rows with the coalition's features set to the row's values. All
//!   synthetic rows go to the model in as few `model.predict` calls as
//!   possible (chunks of at most 65536 rows, or one coalition when the
//!   background alone is larger); the background rows and the row itself
//!   ride along with the first chunk.
//! - The SHAP values solve the weighted least squares of the coalition
//!   means on the coalition masks, with the efficiency constraint
//!   `sum(phi) = f(x) - E[f(background)]` eliminated exactly, as SHAP does.
//!   SHAP's optional L1 feature selection (`l1_reg`) is not applied.
//!
//! `global`: one attribution per input column, its SHAP value for the row,
//! sorted by absolute value (largest first, ties by name). Metrics:
//! `base_value` (mean output over the background), `prediction` (the
//! output for the row), `nsamples` (coalitions evaluated). Same inputs and
//! seed, same bytes out.

use std::collections::HashMap;

use sluice_sdk::{
    Column, Explainer, Explanation, ParamSpec, Params, PluginInfo, StepError, Table, Values, log,
    model, progress,
};

/// The most synthetic rows sent to the model in one call.
pub const MAX_BATCH_ROWS: usize = 65_536;

pub use sluice_sdk::random::SplitMix64;

/// The binomial coefficient as f64.
pub fn binom(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// The coalitions to evaluate (masks over the `m` features) and their
/// kernel weights, chosen as SHAP's `KernelExplainer` does.
#[derive(Debug, Clone, PartialEq)]
pub struct Coalitions {
    pub masks: Vec<Vec<bool>>,
    pub weights: Vec<f64>,
}

/// SHAP's coalition plan for `m >= 2` features and a budget of `nsamples`
/// coalitions (clipped to `2^m - 2`).
pub fn coalitions(m: usize, nsamples: usize, rng: &mut SplitMix64) -> Coalitions {
    let max_samples = if m <= 30 { (1usize << m) - 2 } else { 1 << 30 };
    let nsamples = nsamples.min(max_samples);
    // ceil((m - 1) / 2) sizes, the first floor((m - 1) / 2) paired with
    // their complements.
    let num_subset_sizes = (m - 1).div_ceil(2);
    let num_paired = (m - 1) / 2;
    let mut weight_vector: Vec<f64> = (1..=num_subset_sizes)
        .map(|i| (m as f64 - 1.0) / (i as f64 * (m - i) as f64))
        .collect();
    for w in weight_vector.iter_mut().take(num_paired) {
        *w *= 2.0;
    }
    let total: f64 = weight_vector.iter().sum();
    weight_vector.iter_mut().for_each(|w| *w /= total);

    let mut plan = Coalitions {
        masks: Vec::new(),
        weights: Vec::new(),
    };
    let mut num_full = 0;
    let mut samples_left = nsamples as f64;
    let mut remaining = weight_vector.clone();
    for size in 1..=num_subset_sizes {
        let paired = size <= num_paired;
        let mut nsubsets = binom(m, size);
        if paired {
            nsubsets *= 2.0;
        }
        if samples_left * remaining[size - 1] / nsubsets < 1.0 - 1e-8 {
            break;
        }
        num_full += 1;
        samples_left -= nsubsets;
        if remaining[size - 1] < 1.0 {
            let scale = 1.0 - remaining[size - 1];
            remaining.iter_mut().for_each(|w| *w /= scale);
        }
        let mut w = weight_vector[size - 1] / binom(m, size);
        if paired {
            w /= 2.0;
        }
        for_each_combination(m, size, |inds| {
            let mut mask = vec![false; m];
            inds.iter().for_each(|&i| mask[i] = true);
            let complement: Vec<bool> = mask.iter().map(|b| !b).collect();
            plan.masks.push(mask);
            plan.weights.push(w);
            if paired {
                plan.masks.push(complement);
                plan.weights.push(w);
            }
        });
    }

    let nfixed = plan.masks.len();
    let mut left = nsamples.saturating_sub(nfixed);
    if num_full != num_subset_sizes && left > 0 {
        let mut rest = weight_vector.clone();
        for w in rest.iter_mut().take(num_paired) {
            *w /= 2.0;
        }
        let rest = &rest[num_full..];
        let rest_total: f64 = rest.iter().sum();
        let mut used: HashMap<Vec<bool>, usize> = HashMap::new();
        let mut draws = 4 * left;
        while left > 0 && draws > 0 {
            draws -= 1;
            let mut u = rng.next_f64() * rest_total;
            let mut ind = rest.len() - 1;
            for (i, &w) in rest.iter().enumerate() {
                if u < w {
                    ind = i;
                    break;
                }
                u -= w;
            }
            let size = ind + num_full + 1;
            let mut mask = vec![false; m];
            rng.sample(m, size).into_iter().for_each(|i| mask[i] = true);
            let paired = size <= num_paired;
            match used.get(&mask) {
                None => {
                    used.insert(mask.clone(), plan.masks.len());
                    left -= 1;
                    let complement: Vec<bool> = mask.iter().map(|b| !b).collect();
                    plan.masks.push(mask);
                    plan.weights.push(1.0);
                    if left > 0 && paired {
                        left -= 1;
                        plan.masks.push(complement);
                        plan.weights.push(1.0);
                    }
                }
                Some(&at) => {
                    plan.weights[at] += 1.0;
                    if left > 0 && paired && at + 1 < plan.weights.len() {
                        plan.weights[at + 1] += 1.0;
                    }
                }
            }
        }
        let weight_left: f64 = weight_vector[num_full..].iter().sum();
        let sampled: f64 = plan.weights[nfixed..].iter().sum();
        if sampled > 0.0 {
            plan.weights[nfixed..]
                .iter_mut()
                .for_each(|w| *w *= weight_left / sampled);
        }
    }
    plan
}

/// Calls `f` with every `k`-subset of `0..n`, in lexicographic order.
fn for_each_combination(n: usize, k: usize, mut f: impl FnMut(&[usize])) {
    let mut inds: Vec<usize> = (0..k).collect();
    if k > n {
        return;
    }
    loop {
        f(&inds);
        let Some(i) = (0..k).rev().find(|&i| inds[i] != i + n - k) else {
            return;
        };
        inds[i] += 1;
        for j in i + 1..k {
            inds[j] = inds[j - 1] + 1;
        }
    }
}

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

/// The settings of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub row: usize,
    pub background: usize,
    /// 0 = SHAP's default, `2 * M + 2048`.
    pub nsamples: usize,
    pub seed: u64,
    /// Empty = `p_1` when the model returns it, else `prediction`.
    pub output: String,
}

/// The column's rows picked by `rows` (values and mask together).
pub fn gather(column: &Column, rows: &[usize]) -> Column {
    fn pick<T: Clone>(v: &[T], rows: &[usize]) -> Vec<T> {
        rows.iter().map(|&i| v[i].clone()).collect()
    }
    let values = match &column.values {
        Values::F64(v) => Values::F64(pick(v, rows)),
        Values::I64(v) => Values::I64(pick(v, rows)),
        Values::Bool(v) => Values::Bool(pick(v, rows)),
        Values::Str(v) => Values::Str(pick(v, rows)),
    };
    Column {
        name: column.name.clone(),
        values,
        valid: column.valid.as_ref().map(|m| pick(m, rows)),
    }
}

/// The output column to explain, as f64.
fn output_values(out: &Table, wanted: &str, rows: usize) -> Result<Vec<f64>, StepError> {
    let name = if !wanted.is_empty() {
        wanted
    } else if out.contains("p_1") {
        "p_1"
    } else {
        "prediction"
    };
    let column = out.column(name).map_err(|_| {
        StepError::invalid_input(format!(
            "the model's output has no column '{name}'; columns: {} (set the param 'output')",
            out.names().join(", ")
        ))
    })?;
    if column.len() != rows {
        return Err(StepError::invalid_input(format!(
            "the model returned {} rows for {rows} input rows",
            column.len()
        )));
    }
    column.to_f64_lossy()
}

/// Kernel SHAP values of `settings.row`, the model called through
/// `predict`.
pub fn kernel_shap(
    features: &Table,
    settings: &Settings,
    predict: impl Fn(&Table) -> Result<Table, StepError>,
) -> Result<Explanation, StepError> {
    let n = features.num_rows();
    if features.num_columns() == 0 || n == 0 {
        return Err(StepError::invalid_input(
            "kernel-shap needs a non-empty table",
        ));
    }
    if settings.row >= n {
        return Err(StepError::invalid_params(format!(
            "param 'row' is {}, the input has {n} rows",
            settings.row
        )));
    }
    let mut rng = SplitMix64::new(settings.seed);
    let background: Vec<usize> = if n <= settings.background {
        (0..n).collect()
    } else {
        let mut s = rng.sample(n, settings.background);
        s.sort_unstable();
        s
    };
    let x = settings.row;
    let varying: Vec<usize> = (0..features.num_columns())
        .filter(|&j| {
            let c = &features.columns[j];
            let v = c.value_text(x);
            background.iter().any(|&b| c.value_text(b) != v)
        })
        .collect();
    let m = varying.len();
    let nsamples = if settings.nsamples == 0 {
        2 * m + 2048
    } else {
        settings.nsamples
    };
    let plan = if m >= 2 {
        coalitions(m, nsamples, &mut rng)
    } else {
        Coalitions {
            masks: Vec::new(),
            weights: Vec::new(),
        }
    };

    // The first chunk starts with the background rows and the row itself.
    let nb = background.len();
    let per_chunk = (MAX_BATCH_ROWS.saturating_sub(nb + 1) / nb).max(1);
    let mut ey = Vec::with_capacity(plan.masks.len());
    let (mut fnull, mut fx) = (f64::NAN, f64::NAN);
    let mut start = 0;
    let chunks = plan.masks.len().div_ceil(per_chunk).max(1) as u64;
    for chunk in 0..chunks {
        let end = (start + per_chunk).min(plan.masks.len());
        let masks = &plan.masks[start..end];
        let lead = if chunk == 0 { nb + 1 } else { 0 };
        let rows = lead + masks.len() * nb;
        let mut table = Table::new();
        for (j, column) in features.columns.iter().enumerate() {
            let pos = varying.iter().position(|&v| v == j);
            let mut idx = Vec::with_capacity(rows);
            if chunk == 0 {
                idx.extend_from_slice(&background);
                idx.push(x);
            }
            for mask in masks {
                if pos.is_some_and(|p| mask[p]) {
                    idx.extend(std::iter::repeat_n(x, nb));
                } else {
                    idx.extend_from_slice(&background);
                }
            }
            table.push(gather(column, &idx));
        }
        let out = output_values(&predict(&table)?, &settings.output, rows)?;
        if chunk == 0 {
            fnull = out[..nb].iter().sum::<f64>() / nb as f64;
            fx = out[nb];
        }
        for c in 0..masks.len() {
            let s = &out[lead + c * nb..lead + (c + 1) * nb];
            ey.push(s.iter().sum::<f64>() / nb as f64);
        }
        start = end;
        progress(chunk + 1, chunks);
    }

    let phi_varying = if m == 1 {
        vec![fx - fnull]
    } else {
        solve(&plan, &ey, fx, fnull)?
    };
    let mut phi = vec![0.0; features.num_columns()];
    for (p, &j) in phi_varying.iter().zip(&varying) {
        phi[j] = *p;
    }
    let mut scored: Vec<(String, f64)> = features
        .columns
        .iter()
        .zip(phi)
        .map(|(c, p)| (c.name.clone(), p))
        .collect();
    scored.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then_with(|| a.0.cmp(&b.0)));
    let mut explanation = Explanation::new();
    for (feature, value) in scored {
        explanation.attribution(feature, value);
    }
    explanation.metric("base_value", fnull);
    explanation.metric("prediction", fx);
    explanation.metric("nsamples", plan.masks.len() as f64);
    Ok(explanation)
}

pub struct KernelShap;

impl Explainer for KernelShap {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "kernel-shap",
            env!("CARGO_PKG_VERSION"),
            "Kernel SHAP values of one row for the model under test (SHAP's KernelExplainer: \
             Shapley kernel weights, coalition sampling, constrained weighted least squares).",
        )
        .param(ParamSpec::integer(
            "row",
            0,
            "the row of the input to explain",
        ))
        .param(ParamSpec::integer(
            "background",
            50,
            "background rows, sampled from the input with the seed",
        ))
        .param(ParamSpec::integer(
            "nsamples",
            0,
            "coalitions to evaluate; 0 = 2 * features + 2048 (all when that covers 2^M - 2)",
        ))
        .param(ParamSpec::integer(
            "seed",
            0,
            "seed of the background sample and the coalition sampling",
        ))
        .param(ParamSpec::text(
            "output",
            "",
            "the model output column to explain; empty = p_1 if present, else prediction",
        ))
    }

    fn explain(
        features: Table,
        _target: Option<Column>,
        params: Params,
    ) -> Result<Explanation, StepError> {
        let non_negative = |name: &str, min: i64| -> Result<usize, StepError> {
            let v = params.integer(name)?;
            if v < min {
                return Err(StepError::invalid_params(format!(
                    "param '{name}' must be at least {min}, got {v}"
                )));
            }
            Ok(v as usize)
        };
        let settings = Settings {
            row: non_negative("row", 0)?,
            background: non_negative("background", 1)?,
            nsamples: non_negative("nsamples", 0)?,
            // Negative seeds are fine: they name other streams.
            seed: params.integer("seed")? as u64,
            output: params.text("output")?.to_string(),
        };
        let explanation = kernel_shap(&features, &settings, model::predict)?;
        log::info(format!(
            "kernel-shap: row {}, {} coalitions",
            settings.row,
            explanation.metric_value("nsamples").unwrap_or(0.0)
        ));
        Ok(explanation)
    }
}

sluice_sdk::export_explainer!(KernelShap);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_sdk::testing::{self, int};
    use sluice_sdk::{ErrorKind, ParamValue};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn params(pairs: &[(&str, ParamValue)]) -> Params {
        testing::params(&KernelShap::describe(), pairs)
    }

    /// Installs `f(features) -> prediction` and returns a call counter.
    fn install(
        f: impl Fn(&Table) -> Result<Vec<f64>, StepError> + Send + Sync + 'static,
    ) -> Arc<AtomicUsize> {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        model::set_native_predictor(Box::new(move |t: &Table| {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(Table::new().with(Column::f64("prediction", f(t)?)))
        }));
        calls
    }

    /// A linear model `w . x + b` over the named columns.
    fn linear(
        names: Vec<String>,
        w: Vec<f64>,
        b: f64,
    ) -> impl Fn(&Table) -> Result<Vec<f64>, StepError> {
        move |t: &Table| {
            let mut out = vec![b; t.num_rows()];
            for (name, wi) in names.iter().zip(&w) {
                let x = t.column(name)?.to_f64_lossy()?;
                out.iter_mut().zip(x).for_each(|(o, x)| *o += wi * x);
            }
            Ok(out)
        }
    }

    /// `m` features `x0..`, `n` rows of deterministic, varied values.
    fn table(m: usize, n: usize) -> (Table, Vec<String>) {
        let names: Vec<String> = (0..m).map(|j| format!("x{j}")).collect();
        let mut t = Table::new();
        for (j, name) in names.iter().enumerate() {
            let v = (0..n)
                .map(|i| ((i * (j + 3) * 7 + j * 5) % 11) as f64 / 2.0 - 1.5)
                .collect();
            t.push(Column::f64(name.clone(), v));
        }
        (t, names)
    }

    fn value(e: &Explanation, f: &str) -> f64 {
        e.global.iter().find(|a| a.feature == f).unwrap().score
    }

    /// The exact SHAP values of a linear model: w_i (x_i - mean_i).
    fn check_linear(e: &Explanation, t: &Table, rows: &[usize], row: usize, w: &[f64], b: f64) {
        let mut base = b;
        let mut fx = b;
        for (j, wj) in w.iter().enumerate() {
            let x = t.columns[j].to_f64_lossy().unwrap();
            let mean = rows.iter().map(|&i| x[i]).sum::<f64>() / rows.len() as f64;
            let expected = wj * (x[row] - mean);
            let got = value(e, &t.columns[j].name);
            assert!(
                (got - expected).abs() < 1e-9,
                "{}: {got} vs {expected}",
                t.columns[j].name
            );
            base += wj * mean;
            fx += wj * x[row];
        }
        let base_value = e.metric_value("base_value").unwrap();
        let prediction = e.metric_value("prediction").unwrap();
        assert!((base_value - base).abs() < 1e-9);
        assert!((prediction - fx).abs() < 1e-9);
        let sum: f64 = e.global.iter().map(|a| a.score).sum();
        assert!((sum - (prediction - base_value)).abs() < 1e-9);
    }

    #[test]
    fn enumeration_uses_the_shapley_kernel() {
        let plan = coalitions(4, 10_000, &mut SplitMix64::new(0));
        assert_eq!(plan.masks.len(), 14);
        let mut distinct = plan.masks.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 14);
        // Kernel (M-1) / (C(M,s) s (M-s)): size 1 and 3 -> 1/4, size 2 -> 1/8.
        for (mask, w) in plan.masks.iter().zip(&plan.weights) {
            let s = mask.iter().filter(|b| **b).count();
            let kernel = 3.0 / (binom(4, s) * (s * (4 - s)) as f64);
            assert!(
                (w / plan.weights[0] - kernel / 0.25).abs() < 1e-12,
                "{mask:?}"
            );
        }
        // Weights sum to 1, the first coalitions are {0} and its complement.
        assert!((plan.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(plan.masks[0], vec![true, false, false, false]);
        assert_eq!(plan.masks[1], vec![false, true, true, true]);
        assert_eq!(binom(12, 5), 792.0);
    }

    #[test]
    fn linear_model_exact_enumeration() {
        let (t, names) = table(4, 8);
        let (w, b) = (vec![1.5, -2.0, 0.5, 3.0], 0.7);
        let calls = install(linear(names, w.clone(), b));
        let e = KernelShap::explain(t.clone(), None, params(&[("row", int(2))])).unwrap();
        check_linear(&e, &t, &(0..8).collect::<Vec<_>>(), 2, &w, b);
        assert_eq!(e.metric_value("nsamples"), Some(14.0));
        // The base, the row and every coalition in one call.
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Sorted by |value|, largest first.
        let abs: Vec<f64> = e.global.iter().map(|a| a.score.abs()).collect();
        assert!(abs.windows(2).all(|p| p[0] >= p[1]), "{abs:?}");
    }

    #[test]
    fn linear_model_sampled_and_background_subset() {
        // 12 features: 4094 coalitions > 100, so size 1 is enumerated (24
        // coalitions) and 76 more are sampled; a linear model is still
        // solved exactly. 60 rows > 50: the background is a seeded sample.
        let (t, names) = table(12, 60);
        let w: Vec<f64> = (0..12).map(|j| j as f64 - 5.5).collect();
        install(linear(names, w.clone(), -1.0));
        let settings = Settings {
            row: 7,
            background: 50,
            nsamples: 100,
            seed: 11,
            output: String::new(),
        };
        let e = kernel_shap(&t, &settings, model::predict).unwrap();
        assert_eq!(e.metric_value("nsamples"), Some(100.0));
        let mut rng = SplitMix64::new(11);
        let mut rows = rng.sample(60, 50);
        rows.sort_unstable();
        check_linear(&e, &t, &rows, 7, &w, -1.0);
    }

    #[test]
    fn interaction_is_split_and_constants_score_zero() {
        // f = a*b + 2c; background {x, 0}: v(S) = (f(x) + f(z_S)) / 2, so
        // the Shapley values are half those against 0: a 0.25, b 0.25, c 1.
        let t = Table::new()
            .with(Column::f64("a", vec![1.0, 0.0]))
            .with(Column::i64("b", vec![1, 0]))
            .with(Column::strings("id", ["same", "same"]))
            .with(Column::f64("c", vec![1.0, 0.0]));
        install(|t: &Table| {
            let a = t.column("a")?.to_f64_lossy()?;
            let b = t.column("b")?.to_f64_lossy()?;
            let c = t.column("c")?.to_f64_lossy()?;
            assert!(t.column("id")?.as_str()?.iter().all(|s| s == "same"));
            Ok((0..a.len()).map(|i| a[i] * b[i] + 2.0 * c[i]).collect())
        });
        let e = KernelShap::explain(t, None, params(&[])).unwrap();
        assert!((value(&e, "a") - 0.25).abs() < 1e-12);
        assert!((value(&e, "b") - 0.25).abs() < 1e-12);
        assert!((value(&e, "c") - 1.0).abs() < 1e-12);
        assert_eq!(value(&e, "id"), 0.0);
        assert_eq!(e.global[0].feature, "c");
        assert_eq!(e.global[3].feature, "id");
        assert_eq!(e.metric_value("base_value"), Some(1.5));
        assert_eq!(e.metric_value("prediction"), Some(3.0));
        assert_eq!(e.metric_value("nsamples"), Some(6.0));
    }

    #[test]
    fn big_batches_are_chunked() {
        // 5000 background rows x 14 coalitions = 70000 rows: two calls.
        let (t, names) = table(4, 5000);
        let (w, b) = (vec![0.5, 1.0, -1.0, 2.0], 0.0);
        let calls = install(linear(names, w.clone(), b));
        let e = KernelShap::explain(
            t.clone(),
            None,
            params(&[("row", int(3)), ("background", int(5000))]),
        )
        .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        check_linear(&e, &t, &(0..5000).collect::<Vec<_>>(), 3, &w, b);
    }

    #[test]
    fn deterministic_for_a_seed_and_p1_by_default() {
        let (t, _) = table(10, 80);
        model::set_native_predictor(Box::new(|t: &Table| {
            let cols: Vec<Vec<f64>> = t
                .columns()
                .iter()
                .map(|c| c.to_f64_lossy().unwrap())
                .collect();
            let z: Vec<f64> = (0..t.num_rows())
                .map(|i| (0..9).map(|j| cols[j][i] * cols[j + 1][i]).sum::<f64>())
                .collect();
            let p: Vec<f64> = z.iter().map(|z| 1.0 / (1.0 + (-z).exp())).collect();
            Ok(Table::new()
                .with(Column::f64("p_0", p.iter().map(|p| 1.0 - p).collect()))
                .with(Column::f64("p_1", p.clone()))
                .with(Column::i64(
                    "prediction",
                    p.iter().map(|&p| i64::from(p > 0.5)).collect(),
                )))
        }));
        let run = |seed: i64, output: &str| {
            KernelShap::explain(
                t.clone(),
                None,
                params(&[
                    ("seed", int(seed)),
                    ("nsamples", int(150)),
                    ("output", ParamValue::Text(output.into())),
                ]),
            )
            .unwrap()
        };
        let e = run(5, "");
        assert_eq!(e, run(5, ""));
        assert_eq!(e, run(5, "p_1"));
        assert_ne!(e, run(6, ""));
        assert_eq!(e.metric_value("nsamples"), Some(150.0));
        let sum: f64 = e.global.iter().map(|a| a.score).sum();
        let fx = e.metric_value("prediction").unwrap();
        assert!((sum - (fx - e.metric_value("base_value").unwrap())).abs() < 1e-12);
        let p0 = run(5, "p_0");
        assert!((p0.metric_value("prediction").unwrap() - (1.0 - fx)).abs() < 1e-12);
    }

    #[test]
    fn bad_params_and_outputs() {
        let (t, names) = table(3, 5);
        install(linear(names, vec![1.0, 1.0, 1.0], 0.0));
        let err = KernelShap::explain(t.clone(), None, params(&[("row", int(5))])).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidParams);
        let err =
            KernelShap::explain(t.clone(), None, params(&[("background", int(0))])).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidParams);
        let err = KernelShap::explain(
            t.clone(),
            None,
            params(&[("output", ParamValue::Text("p_9".into()))]),
        )
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
        assert!(err.message.contains("'p_9'"), "{}", err.message);
        model::clear_native_predictor();
        let err = KernelShap::explain(t, None, params(&[])).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Internal);
    }
}
