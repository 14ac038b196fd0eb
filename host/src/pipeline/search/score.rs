//! Scoring a model's output with a search's metric, as scikit-learn does.

use super::Metric;
use crate::wit;

/// The metric of a model's `output` for the true labels `truth` (rows
/// whose label is null are left out). An output of the wrong shape is an
/// error that says what is missing.
pub fn score(
    metric: Metric,
    positive: &str,
    output: &wit::Table,
    truth: &wit::Column,
) -> Result<f64, String> {
    let rows = column_len(truth);
    let column = |name: &str| -> Result<&wit::Column, String> {
        output
            .columns
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| {
                format!(
                    "the model's output has no '{name}' column (columns: {})",
                    output
                        .columns
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    };
    let prediction = column("prediction")?;
    if column_len(prediction) != rows {
        return Err(format!(
            "the model returned {} rows for {rows} input rows",
            column_len(prediction)
        ));
    }
    let keep: Vec<usize> = (0..rows).filter(|&i| is_valid(truth, i)).collect();
    if keep.is_empty() {
        return Err("no validation row has a label".into());
    }
    if metric.classification() {
        let truth_text: Vec<String> = keep.iter().map(|&i| text(truth, i)).collect();
        match metric {
            Metric::Accuracy => {
                let correct: Vec<bool> = keep
                    .iter()
                    .zip(&truth_text)
                    .map(|(&i, t)| is_valid(prediction, i) && &text(prediction, i) == t)
                    .collect();
                Ok(sluice_determ::metrics::accuracy(&correct))
            }
            Metric::F1 => {
                let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
                for (&i, t) in keep.iter().zip(&truth_text) {
                    let predicted_pos = is_valid(prediction, i) && text(prediction, i) == positive;
                    let actual_pos = t == positive;
                    match (predicted_pos, actual_pos) {
                        (true, true) => tp += 1,
                        (true, false) => fp += 1,
                        (false, true) => fn_ += 1,
                        _ => {}
                    }
                }
                // scikit-learn's zero_division=0.
                let denominator = 2 * tp + fp + fn_;
                Ok(if denominator == 0 {
                    0.0
                } else {
                    2.0 * tp as f64 / denominator as f64
                })
            }
            Metric::RocAuc => {
                let p = numbers(
                    column(&format!("p_{positive}"))
                        .map_err(|e| format!("{e}; set search.positive to the positive class"))?,
                )?;
                let labels: Vec<bool> = truth_text.iter().map(|t| t == positive).collect();
                let scores: Vec<f64> = keep.iter().map(|&i| p[i]).collect();
                sluice_determ::metrics::roc_auc(&labels, &scores).ok_or_else(|| {
                    format!(
                        "roc_auc needs both classes among the validation rows; only {} present \
                         (is search.positive = \"{positive}\" a class?)",
                        if labels.iter().any(|l| *l) {
                            "the positive class is"
                        } else {
                            "other classes are"
                        }
                    )
                })
            }
            Metric::LogLoss => {
                // p_<true class> of each row, in row order.
                let mut cache: std::collections::HashMap<&str, Vec<f64>> =
                    std::collections::HashMap::new();
                let mut q = Vec::with_capacity(keep.len());
                for (&i, t) in keep.iter().zip(&truth_text) {
                    if !cache.contains_key(t.as_str()) {
                        let p = numbers(column(&format!("p_{t}"))?)?;
                        cache.insert(t.as_str(), p);
                    }
                    q.push(cache[t.as_str()][i]);
                }
                Ok(sluice_determ::metrics::true_class_log_loss(q))
            }
            _ => unreachable!("classification metrics"),
        }
    } else {
        let y = numbers(truth)?;
        let p = numbers(prediction)?;
        if let Some(&i) = keep.iter().find(|&&i| !is_valid(prediction, i)) {
            return Err(format!("the model predicted null for row {i}"));
        }
        let n = keep.len() as f64;
        let residual = keep.iter().map(|&i| p[i] - y[i]);
        Ok(match metric {
            Metric::Rmse => (residual.map(|r| r * r).sum::<f64>() / n).sqrt(),
            Metric::Mae => residual.map(f64::abs).sum::<f64>() / n,
            Metric::R2 => {
                let mean = keep.iter().map(|&i| y[i]).sum::<f64>() / n;
                let ss_res: f64 = residual.map(|r| r * r).sum();
                let ss_tot: f64 = keep.iter().map(|&i| (y[i] - mean).powi(2)).sum();
                if ss_tot == 0.0 {
                    if ss_res == 0.0 { 1.0 } else { 0.0 }
                } else {
                    1.0 - ss_res / ss_tot
                }
            }
            _ => unreachable!("regression metrics"),
        })
    }
}

fn column_len(c: &wit::Column) -> usize {
    match &c.values {
        wit::Values::F64s(v) => v.len(),
        wit::Values::I64s(v) => v.len(),
        wit::Values::Bools(v) => v.len(),
        wit::Values::Strings(v) => v.len(),
    }
}

fn is_valid(c: &wit::Column, i: usize) -> bool {
    c.valid.as_ref().is_none_or(|v| v[i])
}

/// A value as text, the way plugins name classes (`1`, `2.5`, `true`).
fn text(c: &wit::Column, i: usize) -> String {
    match &c.values {
        wit::Values::F64s(v) => v[i].to_string(),
        wit::Values::I64s(v) => v[i].to_string(),
        wit::Values::Bools(v) => v[i].to_string(),
        wit::Values::Strings(v) => v[i].clone(),
    }
}

fn numbers(c: &wit::Column) -> Result<Vec<f64>, String> {
    match &c.values {
        wit::Values::F64s(v) => Ok(v.clone()),
        wit::Values::I64s(v) => Ok(v.iter().map(|&x| x as f64).collect()),
        _ => Err(format!("column '{}' is not numeric", c.name)),
    }
}
