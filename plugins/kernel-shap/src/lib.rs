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

mod coalitions;
mod solve;
#[cfg(test)]
mod tests;

use sluice_sdk::{
    Column, Explainer, Explanation, ParamSpec, Params, PluginInfo, StepError, Table, Values, log,
    model, progress,
};

/// The most synthetic rows sent to the model in one call.
pub const MAX_BATCH_ROWS: usize = 65_536;

pub use coalitions::{Coalitions, binom, coalitions};
pub use sluice_sdk::random::SplitMix64;
pub use solve::solve;

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
    let read = |rows: &[usize]| {
        let mut picked = Table::new();
        for column in features.columns() {
            picked.push(gather(column, rows));
        }
        Ok(picked)
    };
    kernel_shap_of(
        features.num_columns(),
        features.num_rows(),
        settings,
        read,
        predict,
    )
}

/// [`kernel_shap`] of a table of `columns` columns and `n` rows, of which
/// it reads only the rows it needs, through `read`: the background sample
/// and the row explained, in that order (a table of those rows). The
/// explanation is the same bits as of the whole table.
pub fn kernel_shap_of(
    columns: usize,
    n: usize,
    settings: &Settings,
    read: impl FnOnce(&[usize]) -> Result<Table, StepError>,
    predict: impl Fn(&Table) -> Result<Table, StepError>,
) -> Result<Explanation, StepError> {
    if columns == 0 || n == 0 {
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
    let sample: Vec<usize> = if n <= settings.background {
        (0..n).collect()
    } else {
        let mut s = rng.sample(n, settings.background);
        s.sort_unstable();
        s
    };
    // From here on the rows are those read: the background's, then the
    // row's.
    let mut wanted = sample.clone();
    wanted.push(settings.row);
    let features = read(&wanted)?;
    if features.num_columns() != columns || features.num_rows() != wanted.len() {
        return Err(StepError::internal(format!(
            "read {} rows of {} columns, not {} of {columns}",
            features.num_rows(),
            features.num_columns(),
            wanted.len()
        )));
    }
    let background: Vec<usize> = (0..sample.len()).collect();
    let features = &features;
    let x = sample.len();
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

/// The rows `rows` of the call's table, read one at a time through
/// [`sluice_sdk::rows`], stacked in that order.
fn read_rows(rows: &[usize]) -> Result<Table, StepError> {
    let mut blocks = Vec::with_capacity(rows.len());
    for &row in rows {
        let (block, _) = sluice_sdk::rows::read(row as u64, 1)?;
        if block.num_rows() != 1 {
            return Err(StepError::internal(format!(
                "the host read {} rows at row {row}, not 1",
                block.num_rows()
            )));
        }
        blocks.push(block);
    }
    Ok(stack(blocks))
}

/// The rows of `blocks` (tables of the same columns), one after another.
pub fn stack(blocks: Vec<Table>) -> Table {
    let Some(first) = blocks.first() else {
        return Table::new();
    };
    let mut out = Table::new();
    for (j, head) in first.columns().iter().enumerate() {
        let parts: Vec<&Column> = blocks.iter().map(|b| &b.columns()[j]).collect();
        fn cat<'a, T: Clone + 'a>(
            parts: &[&'a Column],
            values: impl Fn(&'a Column) -> Option<&'a [T]>,
        ) -> Vec<T> {
            parts
                .iter()
                .flat_map(|c| values(c).unwrap_or(&[]))
                .cloned()
                .collect()
        }
        let values = match &head.values {
            Values::F64(_) => Values::F64(cat(&parts, Column::f64_values)),
            Values::I64(_) => Values::I64(cat(&parts, Column::i64_values)),
            Values::Bool(_) => Values::Bool(cat(&parts, Column::bool_values)),
            Values::Str(_) => Values::Str(cat(&parts, Column::str_values)),
        };
        let valid = parts.iter().any(|c| c.valid.is_some()).then(|| {
            parts
                .iter()
                .flat_map(|c| match &c.valid {
                    Some(m) => m.clone(),
                    None => vec![true; c.len()],
                })
                .collect()
        });
        out.push(Column {
            name: head.name.clone(),
            values,
            valid,
        });
    }
    out
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
        .metrics(&["base_value", "prediction", "nsamples"])
        .param(ParamSpec::integer("row", 0, "the row of the input to explain").at_least(0.0))
        .param(
            ParamSpec::integer(
                "background",
                50,
                "background rows, sampled from the input with the seed",
            )
            .at_least(1.0),
        )
        .param(
            ParamSpec::integer(
                "nsamples",
                0,
                "coalitions to evaluate; 0 = 2 * features + 2048 (all when that covers 2^M - 2)",
            )
            .at_least(0.0),
        )
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
        let explanation = match sluice_sdk::rows::streamed() {
            // Passed without its rows: read only those it needs.
            Some(n) => kernel_shap_of(
                features.num_columns(),
                usize::try_from(n).unwrap_or(usize::MAX),
                &settings,
                read_rows,
                model::predict,
            )?,
            None => kernel_shap(&features, &settings, model::predict)?,
        };
        log::info(format!(
            "kernel-shap: row {}, {} coalitions",
            settings.row,
            explanation.metric_value("nsamples").unwrap_or(0.0)
        ));
        Ok(explanation)
    }
}

sluice_sdk::export_explainer!(KernelShap);
