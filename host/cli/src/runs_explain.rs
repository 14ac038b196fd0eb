//! `sluice runs show RUN --explain`: the confusion matrix of each
//! evaluator step and the top features of each explainer step.
//!
//! No evaluator plugin reports a confusion matrix, so it is counted here
//! from what the run stored: an evaluator is a validator step with a
//! `model` input and a `target` param (`holdout-eval`,
//! `classification-eval`); the trainer step that wrote that model also
//! stored its predictions for the holdout part (`predictions`), which
//! line up row for row with the holdout table both steps read. Truth
//! (the `target` column) and `prediction` compare as text, as the
//! evaluators compare them; rows whose target is null are left out. When
//! the counted rows are not the evaluator's `rows` metric (it scored
//! another part) no matrix is shown, and the reason is.
//!
//! A regressor's evaluator gets no matrix: the trainer's predictions
//! have no `p_<class>` column.
//!
//! An explainer step stored its global attributions (`explanation`);
//! the features shown are the 10 of largest magnitude. Attributions all
//! named `feature=value` are a partial-dependence grid, not importances:
//! they are shown in grid order (at most [`MAX_GRID`] points).

use super::output::fmt_num;
use super::output::{outln, table};
use super::runs_checks::read_json;
use arrow::array::Array;
use arrow::util::display::array_value_to_string;
use serde_json::{Value, json};
use sluice::artifacts::{ArtifactDigest, ArtifactStore};
use sluice::meta::{RunRecord, StepRunRecord};
use std::collections::BTreeMap;

/// How many features `--explain` shows per explainer step.
pub const TOP_FEATURES: usize = 10;

/// How many points of a partial-dependence grid `--explain` shows.
pub const MAX_GRID: usize = 50;

/// An evaluator step's confusion matrix, or why there is none.
pub struct Confusion {
    pub step: String,
    pub plugin: String,
    pub target: String,
    /// The labels, sorted (as numbers when all are numbers).
    pub labels: Vec<String>,
    /// `cells[truth][predicted]`, indexed as `labels`.
    pub cells: Vec<Vec<u64>>,
    pub unavailable: Option<String>,
}

/// An explainer step's features, largest magnitude first.
pub struct Features {
    pub step: String,
    pub plugin: String,
    /// The attributions are a grid (`feature=value`, in grid order), not
    /// importances.
    pub grid: bool,
    pub total: usize,
    pub top: Vec<(String, f64)>,
}

pub struct Explain {
    pub confusion: Vec<Confusion>,
    pub features: Vec<Features>,
}

impl Explain {
    pub fn json(&self) -> Value {
        json!({
            "confusion": self.confusion.iter().map(|c| json!({
                "step": c.step,
                "plugin": c.plugin,
                "target": c.target,
                "labels": c.labels,
                "cells": c.cells,
                "unavailable": c.unavailable,
            })).collect::<Vec<_>>(),
            "features": self.features.iter().map(|f| json!({
                "step": f.step,
                "plugin": f.plugin,
                "kind": if f.grid { "grid" } else { "importance" },
                "total": f.total,
                "top": f.top.iter().map(|(name, score)| json!({"feature": name, "score": score})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })
    }
}

fn input<'a>(s: &'a StepRunRecord, name: &str) -> Option<&'a ArtifactDigest> {
    s.inputs.iter().find(|(n, _)| n == name).map(|(_, d)| d)
}

fn output<'a>(s: &'a StepRunRecord, name: &str) -> Option<&'a ArtifactDigest> {
    s.outputs.iter().find(|(n, _)| n == name).map(|(_, d)| d)
}

/// What `--explain` shows of `run` (see the module docs).
pub async fn load_explain(store: &ArtifactStore, run: &RunRecord) -> anyhow::Result<Explain> {
    let mut confusion = Vec::new();
    for s in run.steps.iter().filter(|s| s.kind == "validator") {
        let Some(model) = input(s, "model") else {
            continue;
        };
        let params: Value = serde_json::from_str(&s.params_json).unwrap_or(Value::Null);
        let Some(target) = params["target"].as_str() else {
            continue;
        };
        let mut c = Confusion {
            step: s.step_id.clone(),
            plugin: s.plugin_name.clone(),
            target: target.to_owned(),
            labels: Vec::new(),
            cells: Vec::new(),
            unavailable: None,
        };
        if let Err(why) = count(store, run, s, model, &mut c).await {
            c.unavailable = Some(why);
        }
        confusion.push(c);
    }
    let mut features = Vec::new();
    for s in run.steps.iter().filter(|s| s.kind == "explainer") {
        let Some(digest) = output(s, "explanation") else {
            continue;
        };
        let e = read_json(store, digest, &s.step_id, "explanation").await?;
        let mut all: Vec<(String, f64)> = e["global"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                (
                    a["feature"].as_str().unwrap_or_default().to_owned(),
                    a["score"].as_f64().unwrap_or(f64::NAN),
                )
            })
            .collect();
        let grid = !all.is_empty() && all.iter().all(|(name, _)| name.contains('='));
        let shown = if grid {
            MAX_GRID
        } else {
            all.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
            TOP_FEATURES
        };
        features.push(Features {
            step: s.step_id.clone(),
            plugin: s.plugin_name.clone(),
            grid,
            total: all.len(),
            top: all.into_iter().take(shown).collect(),
        });
    }
    Ok(Explain {
        confusion,
        features,
    })
}

/// Counts `c` from the trainer's holdout predictions; the error says why
/// it cannot be counted.
async fn count(
    store: &ArtifactStore,
    run: &RunRecord,
    eval: &StepRunRecord,
    model: &ArtifactDigest,
    c: &mut Confusion,
) -> Result<(), String> {
    let trainer = run
        .steps
        .iter()
        .find(|t| output(t, "model") == Some(model))
        .ok_or("no step of this run wrote its model")?;
    let (Some(predictions), Some(holdout)) =
        (output(trainer, "predictions"), input(eval, "holdout"))
    else {
        return Err(format!(
            "trainer step {} stored no holdout predictions",
            trainer.step_id
        ));
    };
    if input(trainer, "holdout") != Some(holdout) {
        return Err(format!(
            "it read another holdout table than trainer step {}",
            trainer.step_id
        ));
    }
    let truth = column(store, holdout, &c.target, &eval.step_id).await?;
    let predicted = column(store, predictions, "prediction", &trainer.step_id).await?;
    if !predicted.1 {
        return Err(format!(
            "the model of trainer step {} is a regressor (its predictions have no p_<class> column)",
            trainer.step_id
        ));
    }
    let (truth, _) = truth;
    let predicted = predicted.0;
    if truth.len() != predicted.len() {
        return Err(format!(
            "{} holdout rows but {} predictions",
            truth.len(),
            predicted.len()
        ));
    }
    let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
    for (t, p) in truth.iter().zip(&predicted) {
        let Some(t) = t else { continue };
        let p = p.clone().unwrap_or_else(|| "(null)".into());
        *counts.entry((t.clone(), p)).or_default() += 1;
    }
    let rows: u64 = counts.values().sum();
    let reported = eval
        .metrics
        .iter()
        .find(|(n, _)| n == "rows")
        .map(|(_, v)| *v);
    if let Some(r) = reported
        && r != rows as f64
    {
        return Err(format!(
            "it scored {} rows, the holdout has {rows} labelled rows (it scored another part)",
            fmt_num(r)
        ));
    }
    let mut labels: Vec<String> = counts
        .keys()
        .flat_map(|(t, p)| [t.clone(), p.clone()])
        .collect();
    labels.sort_by(|a, b| match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        _ => a.cmp(b),
    });
    labels.dedup();
    c.cells = labels
        .iter()
        .map(|t| {
            labels
                .iter()
                .map(|p| counts.get(&(t.clone(), p.clone())).copied().unwrap_or(0))
                .collect()
        })
        .collect();
    c.labels = labels;
    Ok(())
}

/// Column `name` of the Parquet table `digest`, each value as text
/// (whole floats as integers, so `1.0` and `1` are one label), and
/// whether the table has a `p_<class>` column (a classifier's output).
async fn column(
    store: &ArtifactStore,
    digest: &ArtifactDigest,
    name: &str,
    step: &str,
) -> Result<(Vec<Option<String>>, bool), String> {
    let bytes = store
        .get(digest)
        .await
        .map_err(|e| format!("reading {digest} of step {step}: {e}"))?;
    let batch = sluice::data::read_parquet_columns(bytes, &|n| n == name || n.starts_with("p_"))
        .map_err(|e| format!("reading {digest} of step {step}: {e}"))?;
    let classes = batch
        .schema()
        .fields()
        .iter()
        .any(|f| f.name().starts_with("p_"));
    let array = batch
        .column_by_name(name)
        .ok_or_else(|| format!("the table {digest} of step {step} has no column `{name}`"))?;
    let texts = (0..array.len())
        .map(|i| {
            if array.is_null(i) {
                return Ok(None);
            }
            let text = array_value_to_string(array, i).map_err(|e| e.to_string())?;
            Ok(Some(match text.parse::<f64>() {
                Ok(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{x:.0}"),
                _ => text,
            }))
        })
        .collect::<Result<_, String>>()?;
    Ok((texts, classes))
}

/// Prints the confusion matrices and top features, or one line saying
/// the run has neither.
pub fn print_explain(e: &Explain) {
    if e.confusion.is_empty() && e.features.is_empty() {
        outln!(
            "\nnothing to explain: the run has no evaluator step (holdout-eval, \
             classification-eval: a confusion matrix) and no explainer step \
             (permutation-importance, kernel-shap: top features)"
        );
        return;
    }
    for c in &e.confusion {
        if let Some(why) = &c.unavailable {
            outln!(
                "\nconfusion matrix of step {} ({}): not available: {why}",
                c.step,
                c.plugin
            );
            continue;
        }
        let rows: u64 = c.cells.iter().flatten().sum();
        let right: u64 = (0..c.labels.len()).map(|i| c.cells[i][i]).sum();
        outln!(
            "\nconfusion matrix of step {} ({}): {rows} rows, {right} on the diagonal; \
             rows are the true `{}`, columns the prediction",
            c.step,
            c.plugin,
            c.target
        );
        let mut header = vec![format!("{} \\ predicted", c.target)];
        header.extend(c.labels.iter().cloned());
        header.push("total".into());
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let mut t = table(&header);
        for (label, cells) in c.labels.iter().zip(&c.cells) {
            let mut row = vec![label.clone()];
            row.extend(cells.iter().map(u64::to_string));
            row.push(cells.iter().sum::<u64>().to_string());
            t.add_row(row);
        }
        outln!("{t}");
    }
    for f in e.features.iter().filter(|f| f.grid) {
        outln!(
            "\npartial dependence of step {} ({}): {} of {} grid points, in grid order",
            f.step,
            f.plugin,
            f.top.len(),
            f.total
        );
        let mut t = table(&["grid point", "average output"]);
        for (name, score) in &f.top {
            t.add_row(vec![name.clone(), fmt_num(*score)]);
        }
        outln!("{t}");
    }
    for f in e.features.iter().filter(|f| !f.grid) {
        outln!(
            "\ntop features of step {} ({}): {} of {}, by magnitude",
            f.step,
            f.plugin,
            f.top.len(),
            f.total
        );
        let mut t = table(&["rank", "feature", "importance"]);
        for (i, (name, score)) in f.top.iter().enumerate() {
            t.add_row(vec![(i + 1).to_string(), name.clone(), fmt_num(*score)]);
        }
        outln!("{t}");
    }
}
