//! Test support for the plugins' unit tests, so no plugin copies it: params
//! resolved as the host resolves a step's ([`params`], [`try_params`],
//! [`text`], [`int`], [`num`]), float comparison ([`assert_close`]), a
//! column's numbers ([`f64s`]), columns against a parity reference
//! ([`nullable_f64s`], [`assert_columns_match`]), stand-in models for evaluators and
//! explainers ([`install_model`], [`install_scored_binary`]), and the repo's datasets, split and
//! standardized exactly as `plugins/parity/make_reference.py` does, with the
//! reference numbers it wrote to `plugins/parity/sklearn_reference.json`:
//!
//! - Data row `i` (0-based, header excluded) is holdout when `i % 4 == 3`.
//! - Standardization: train mean and train std (ddof 0, a std of 0 -> 1),
//!   applied to both parts.
//!
//! Not part of the SDK's API (hidden from its docs), and not for plugin
//! code outside `#[cfg(test)]`: it panics instead of returning errors.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::{Column, ParamValue, Params, PluginInfo, StepError, Table};

/// `pairs` resolved against the params a plugin describes (`info`, its
/// `describe()`), as the host resolves a step's params: the refusal, if
/// any, is the error. Values outside a param's choices or range are let
/// through, so that a test reaches the plugin's own checks of them.
pub fn try_params(info: &PluginInfo, pairs: &[(&str, ParamValue)]) -> Result<Params, StepError> {
    Params::resolve_with(
        &info.params,
        pairs.iter().map(|(n, v)| (n.to_string(), v.clone())),
        false,
    )
}

/// [`try_params`] that must succeed.
pub fn params(info: &PluginInfo, pairs: &[(&str, ParamValue)]) -> Params {
    try_params(info, pairs).unwrap()
}

/// A text param.
pub fn text(v: &str) -> ParamValue {
    ParamValue::Text(v.to_string())
}

/// An integer param.
pub fn int(v: i64) -> ParamValue {
    ParamValue::Integer(v)
}

/// A number param.
pub fn num(v: f64) -> ParamValue {
    ParamValue::Number(v)
}

/// Panics unless `a` and `b` are at most `tol` apart.
pub fn assert_close(a: f64, b: f64, tol: f64) {
    assert!((a - b).abs() <= tol, "{a} vs {b}");
}

/// An f64 column of `values`, a null wherever one is `None` (as a NaN
/// of a pandas frame in the parity references).
pub fn nullable_f64s(name: &str, values: &[Option<f64>]) -> Column {
    let nulls: Vec<usize> = (0..values.len()).filter(|&i| values[i].is_none()).collect();
    Column::f64(name, values.iter().map(|v| v.unwrap_or(0.0)).collect()).with_nulls(&nulls)
}

/// Panics unless `got` has exactly the columns `want` names (in any
/// order: scikit-learn's `ColumnTransformer` puts the transformed ones
/// first), each f64 with a null (or NaN) exactly where `want` has `None`
/// and elsewhere a value within `tol` of `want`'s, relative to its size
/// (absolute below 1).
pub fn assert_columns_match(got: &Table, want: &[(String, Vec<Option<f64>>)], tol: f64) {
    let mut names: Vec<&str> = got.names();
    names.sort_unstable();
    let mut wanted: Vec<&str> = want.iter().map(|(n, _)| n.as_str()).collect();
    wanted.sort_unstable();
    assert_eq!(names, wanted);
    for (name, values) in want {
        let column = got.column(name).unwrap();
        let got_values = column.f64_values().unwrap();
        assert_eq!(got_values.len(), values.len(), "rows of '{name}'");
        for (row, want) in values.iter().enumerate() {
            let missing = column.is_null(row) || got_values[row].is_nan();
            match want {
                None => assert!(
                    missing,
                    "'{name}' row {row}: {} for a null",
                    got_values[row]
                ),
                Some(w) => {
                    assert!(!missing, "'{name}' row {row}: null for {w}");
                    let g = got_values[row];
                    assert!(
                        (g - w).abs() <= tol * w.abs().max(1.0),
                        "'{name}' row {row}: {g} vs {w}"
                    );
                }
            }
        }
    }
}

/// The values of `table`'s f64 column `name`; panics if there is none.
pub fn f64s<'a>(table: &'a Table, name: &str) -> &'a [f64] {
    table.column(name).unwrap().f64_values().unwrap()
}

/// `relative` to the repository root.
fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// One dataset, split into train and holdout.
pub struct Split {
    pub train: Table,
    pub train_target: Column,
    pub holdout: Table,
    pub holdout_target: Column,
}

/// Installs a stand-in model whose `prediction` column is `f(features)`,
/// and returns how many times it has been called.
pub fn install_model(
    f: impl Fn(&Table) -> Result<Vec<f64>, StepError> + Send + Sync + 'static,
) -> Arc<AtomicUsize> {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    crate::model::set_native_predictor(Box::new(move |t: &Table| {
        counter.fetch_add(1, Ordering::SeqCst);
        Ok(Table::new().with(Column::f64("prediction", f(t)?)))
    }));
    calls
}

/// Installs a stand-in binary classifier: `p_1` is the `score` column,
/// `p_0` is `1 - score`, the prediction is `score > 0.5` as an i64 label.
/// A `y` column among its features fails it (the target leaked).
pub fn install_scored_binary() {
    crate::model::set_native_predictor(Box::new(|t: &Table| {
        if t.contains("y") {
            return Err(StepError::internal("the target leaked into the model"));
        }
        let p = t.column("score")?.as_f64()?.to_vec();
        Ok(Table::new()
            .with(Column::f64("p_0", p.iter().map(|p| 1.0 - p).collect()))
            .with(Column::i64(
                "prediction",
                p.iter().map(|&p| i64::from(p > 0.5)).collect(),
            ))
            .with(Column::f64("p_1", p)))
    }));
}

/// Reads `pipelines/data/<name>.csv` (a header, then numbers only) and
/// splits it. The target is an i64 column when `classification`, else f64.
pub fn load(name: &str, target: &str, classification: bool) -> Split {
    let path = repo_path(&format!("pipelines/data/{name}.csv"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    let mut columns: Vec<Vec<f64>> = vec![Vec::new(); header.len()];
    for (row, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), header.len(), "{name}.csv row {row}");
        for (column, cell) in columns.iter_mut().zip(cells) {
            let value: f64 = cell
                .trim()
                .parse()
                .unwrap_or_else(|e| panic!("{name}.csv row {row}: '{cell}': {e}"));
            column.push(value);
        }
    }
    let holdout = |i: usize| i % 4 == 3;
    let part = |values: &[f64], want_holdout: bool| -> Vec<f64> {
        values
            .iter()
            .enumerate()
            .filter(|(i, _)| holdout(*i) == want_holdout)
            .map(|(_, v)| *v)
            .collect()
    };
    let mut split = Split {
        train: Table::new(),
        train_target: Column::f64(target, Vec::new()),
        holdout: Table::new(),
        holdout_target: Column::f64(target, Vec::new()),
    };
    for (name, values) in header.iter().zip(&columns) {
        let (tr, ho) = (part(values, false), part(values, true));
        if *name == target {
            let column = |v: Vec<f64>| {
                if classification {
                    Column::i64(target, v.iter().map(|&x| x as i64).collect())
                } else {
                    Column::f64(target, v)
                }
            };
            split.train_target = column(tr);
            split.holdout_target = column(ho);
        } else {
            split.train.push(Column::f64(*name, tr));
            split.holdout.push(Column::f64(*name, ho));
        }
    }
    assert!(!split.train_target.is_empty(), "no column '{target}'");
    split
}

/// Standardizes every feature with the train mean and std (ddof 0).
pub fn standardize(split: Split) -> Split {
    let mut train = Table::new();
    let mut holdout = Table::new();
    for (tr, ho) in split.train.columns().iter().zip(split.holdout.columns()) {
        let tr_v = tr.f64_values().unwrap();
        let n = tr_v.len() as f64;
        let mean = tr_v.iter().sum::<f64>() / n;
        let var = tr_v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        let std = if var == 0.0 { 1.0 } else { var.sqrt() };
        let scale = |v: &[f64]| v.iter().map(|x| (x - mean) / std).collect();
        train.push(Column::f64(tr.name.clone(), scale(tr_v)));
        holdout.push(Column::f64(
            ho.name.clone(),
            scale(ho.f64_values().unwrap()),
        ));
    }
    Split {
        train,
        holdout,
        ..split
    }
}

/// The number stored under `results[key]` in `sklearn_reference.json`
/// (keys look like `"diabetes/linear/r2"`; one `"key": number` per line).
pub fn reference(key: &str) -> f64 {
    reference_in("sklearn_reference.json", key)
}

/// The number stored under `key` in `plugins/parity/<file>`, a JSON file
/// written like `sklearn_reference.json` (one `"key": number` per line).
pub fn reference_in(file: &str, key: &str) -> f64 {
    let path = repo_path(&format!("plugins/parity/{file}"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let needle = format!("\"{key}\":");
    let start = text
        .find(&needle)
        .unwrap_or_else(|| panic!("no '{key}' in {path:?}"))
        + needle.len();
    let rest = &text[start..];
    let end = rest.find([',', '\n', '}']).unwrap_or(rest.len());
    rest[..end]
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("'{key}' in {path:?}: {e}"))
}

/// Fraction of equal entries.
pub fn accuracy(truth: &Column, pred: &Column) -> f64 {
    let n = truth.len();
    assert_eq!(n, pred.len());
    let same = (0..n)
        .filter(|&i| truth.value_text(i) == pred.value_text(i))
        .count();
    same as f64 / n as f64
}

/// R2 and RMSE of `pred` against `truth`.
pub fn r2_rmse(truth: &[f64], pred: &[f64]) -> (f64, f64) {
    let n = truth.len() as f64;
    let mean = truth.iter().sum::<f64>() / n;
    let ss_res: f64 = truth.iter().zip(pred).map(|(t, p)| (t - p) * (t - p)).sum();
    let ss_tot: f64 = truth.iter().map(|t| (t - mean) * (t - mean)).sum();
    (1.0 - ss_res / ss_tot, (ss_res / n).sqrt())
}

/// Each row's index in `classes` (matched by text); panics on an unknown
/// label.
pub fn class_index(classes: &crate::classes::Classes, truth: &Column) -> Vec<usize> {
    let texts = classes.texts();
    (0..truth.len())
        .map(|i| {
            let label = truth.value_text(i).expect("no nulls in a parity target");
            texts
                .iter()
                .position(|t| *t == label)
                .unwrap_or_else(|| panic!("label '{label}' is not a class"))
        })
        .collect()
}
