//! `partial-dependence`: the average output of the model under test as one
//! or two features sweep a grid.
//!
//! Params: `features` (text, required: one feature name, or two separated
//! by a comma for a 2-D grid), `grid_resolution` (integer, 20),
//! `percentiles` (numbers, `[0.05, 0.95]`), `output` (text, `""`: the model
//! output column to average; empty means `p_1` when the model returns it,
//! else `prediction`).
//!
//! Like scikit-learn's `partial_dependence(kind="average", method="brute")`:
//!
//! - A feature's grid is its distinct non-null values, sorted, when it has
//!   fewer than `grid_resolution` of them; otherwise `grid_resolution`
//!   evenly spaced values (numpy's `linspace`) between its lower and upper
//!   percentile, computed as scikit-learn does with `mquantiles`
//!   (`alphap = betap = 0.4`). Equal percentiles are an error.
//! - Two features: the cartesian product, the first feature varying
//!   slowest.
//! - For each grid point the feature(s) are set to the grid value in every
//!   row (i64 and bool columns keep their type while the value fits), the
//!   table goes to the model in one `model.predict` call, and the chosen
//!   output column is averaged over the rows.
//!
//! `global`: one attribution per grid point, in grid order, named
//! `feature=value` (`a=1|b=2` for two features; values printed with at
//! most 10 significant digits), the averaged output as its score. Metrics:
//! `grid_points`, `pd_range` (the largest average minus the smallest).

use sluice_sdk::{
    Column, Explainer, Explanation, ParamSpec, Params, PluginInfo, StepError, Table, ValueKind,
    log, model, progress,
};

/// scipy's `mstats.mquantiles` with `alphap = betap = 0.4` (the plotting
/// positions scikit-learn uses for grids) of `sorted` (ascending, not
/// empty) at probability `p`.
pub fn mquantile(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 1 {
        return sorted[0];
    }
    let m = 0.4 + p * 0.2;
    let aleph = n as f64 * p + m;
    let k = aleph.clamp(1.0, (n - 1) as f64).floor();
    let gamma = (aleph - k).clamp(0.0, 1.0);
    let k = k as usize;
    (1.0 - gamma) * sorted[k - 1] + gamma * sorted[k]
}

/// numpy's `linspace(start, stop, num)` with the endpoint.
pub fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    if num == 1 {
        return vec![start];
    }
    let step = (stop - start) / (num - 1) as f64;
    let mut v: Vec<f64> = (0..num).map(|i| start + i as f64 * step).collect();
    v[num - 1] = stop;
    v
}

/// The grid of one feature's values (nulls left out), as scikit-learn's
/// `_grid_from_X` builds it.
pub fn feature_grid(
    name: &str,
    values: &[f64],
    resolution: usize,
    percentiles: (f64, f64),
) -> Result<Vec<f64>, StepError> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if sorted.is_empty() {
        return Err(StepError::invalid_input(format!(
            "feature '{name}' has no values"
        )));
    }
    sorted.sort_by(f64::total_cmp);
    let mut uniques = sorted.clone();
    uniques.dedup();
    if uniques.len() < resolution {
        return Ok(uniques);
    }
    let lo = mquantile(&sorted, percentiles.0);
    let hi = mquantile(&sorted, percentiles.1);
    if lo == hi {
        return Err(StepError::invalid_input(format!(
            "the percentiles of feature '{name}' are too close to each other ({lo}), \
             unable to build the grid; widen 'percentiles'"
        )));
    }
    Ok(linspace(lo, hi, resolution))
}

/// The settings of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// One or two feature names.
    pub features: Vec<String>,
    pub grid_resolution: usize,
    pub percentiles: (f64, f64),
    /// Empty = `p_1` when the model returns it, else `prediction`.
    pub output: String,
}

/// A value as printed in an attribution name: at most 10 significant
/// digits, shortest form (`12.5`, `1`, `4.46`).
pub fn label(v: f64) -> String {
    let rounded: f64 = format!("{v:.9e}").parse().unwrap_or(v);
    rounded.to_string()
}

/// A column of `rows` copies of `value`, of the kind of `like` when the
/// value fits it (integral for i64, 0 or 1 for bool), else f64.
pub fn constant_column(like: &Column, value: f64, rows: usize) -> Column {
    let name = like.name.clone();
    match like.kind() {
        ValueKind::I64 if value.fract() == 0.0 && value.abs() < 9.0e15 => {
            Column::i64(name, vec![value as i64; rows])
        }
        ValueKind::Bool if value == 0.0 || value == 1.0 => {
            Column::bool(name, vec![value == 1.0; rows])
        }
        _ => Column::f64(name, vec![value; rows]),
    }
}

/// The mean of the output column to average.
fn mean_output(out: &Table, wanted: &str, rows: usize) -> Result<f64, StepError> {
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
    let v = column.to_f64_lossy()?;
    Ok(v.iter().sum::<f64>() / rows as f64)
}

/// Partial dependence of the model (called through `predict`) on the
/// settings' feature(s).
pub fn partial_dependence(
    features: &Table,
    settings: &Settings,
    predict: impl Fn(&Table) -> Result<Table, StepError>,
) -> Result<Explanation, StepError> {
    let rows = features.num_rows();
    if rows == 0 {
        return Err(StepError::invalid_input("partial-dependence needs rows"));
    }
    let mut axes = Vec::with_capacity(settings.features.len());
    for name in &settings.features {
        let column = features.column(name)?;
        let mut values = column.to_f64_lossy()?;
        for (i, v) in values.iter_mut().enumerate() {
            if column.is_null(i) {
                *v = f64::NAN;
            }
        }
        axes.push(feature_grid(
            name,
            &values,
            settings.grid_resolution,
            settings.percentiles,
        )?);
    }
    // Cartesian product, the first feature slowest.
    let mut points: Vec<Vec<f64>> = vec![Vec::new()];
    for axis in &axes {
        points = points
            .iter()
            .flat_map(|p| {
                axis.iter().map(move |&v| {
                    let mut q = p.clone();
                    q.push(v);
                    q
                })
            })
            .collect();
    }

    let mut table = features.clone();
    let mut explanation = Explanation::new();
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for (done, point) in points.iter().enumerate() {
        let mut names = Vec::with_capacity(point.len());
        for (name, &value) in settings.features.iter().zip(point) {
            let column = constant_column(features.column(name)?, value, rows);
            table.set(column);
            names.push(format!("{name}={}", label(value)));
        }
        let mean = mean_output(&predict(&table)?, &settings.output, rows)?;
        lo = lo.min(mean);
        hi = hi.max(mean);
        explanation.attribution(names.join("|"), mean);
        progress(done as u64 + 1, points.len() as u64);
    }
    explanation.metric("grid_points", points.len() as f64);
    explanation.metric("pd_range", hi - lo);
    Ok(explanation)
}

/// The feature names of the `features` param: one or two, comma-separated.
pub fn parse_features(text: &str) -> Result<Vec<String>, StepError> {
    let names: Vec<String> = text
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if names.is_empty() || names.len() > 2 {
        return Err(StepError::invalid_params(format!(
            "param 'features' must name one or two features separated by a comma, got '{text}'"
        )));
    }
    if names.len() == 2 && names[0] == names[1] {
        return Err(StepError::invalid_params(format!(
            "param 'features' names '{}' twice",
            names[0]
        )));
    }
    Ok(names)
}

pub struct PartialDependence;

impl Explainer for PartialDependence {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "partial-dependence",
            env!("CARGO_PKG_VERSION"),
            "Partial dependence of the model under test on one or two features (the mean \
             output over the rows as the features sweep a grid, as scikit-learn's brute \
             method).",
        )
        .metrics(&["grid_points", "pd_range"])
        .param(ParamSpec::text_required(
            "features",
            "one feature, or two separated by a comma for a 2-D grid",
        ))
        .param(
            ParamSpec::integer(
                "grid_resolution",
                20,
                "grid points per feature (fewer when the feature has fewer distinct values)",
            )
            .at_least(2.0),
        )
        .param(
            ParamSpec::numbers(
                "percentiles",
                vec![0.05, 0.95],
                "the lower and upper percentile (in [0, 1]) bounding each feature's grid",
            )
            .range(0.0, 1.0),
        )
        .param(ParamSpec::text(
            "output",
            "",
            "the model output column to average; empty = p_1 if present, else prediction",
        ))
    }

    fn explain(
        features: Table,
        _target: Option<Column>,
        params: Params,
    ) -> Result<Explanation, StepError> {
        let grid_resolution = params.integer("grid_resolution")?;
        if grid_resolution < 2 {
            return Err(StepError::invalid_params(format!(
                "param 'grid_resolution' must be at least 2, got {grid_resolution}"
            )));
        }
        let percentiles = match params.numbers("percentiles")? {
            &[lo, hi] if (0.0..=1.0).contains(&lo) && (0.0..=1.0).contains(&hi) && lo < hi => {
                (lo, hi)
            }
            other => {
                return Err(StepError::invalid_params(format!(
                    "param 'percentiles' must be two numbers 0 <= low < high <= 1, got {other:?}"
                )));
            }
        };
        let settings = Settings {
            features: parse_features(params.text("features")?)?,
            grid_resolution: grid_resolution as usize,
            percentiles,
            output: params.text("output")?.to_string(),
        };
        let explanation = partial_dependence(&features, &settings, model::predict)?;
        log::info(format!(
            "partial-dependence: {} grid points for {}",
            explanation.global.len(),
            settings.features.join(", ")
        ));
        Ok(explanation)
    }
}

sluice_sdk::export_explainer!(PartialDependence);

#[cfg(test)]
mod tests;
