//! Hyperparameter search of a trainer step (`[steps.search]`).
//!
//! ```toml
//! [[steps]]
//! id = "train"
//! plugin = "logreg"
//! input = "scale"
//! params = { max_iter = 200 }
//!
//! [steps.search]
//! method = "grid"          # or "random" (then `trials = N`)
//! folds = 5                # k-fold on the train part; or `holdout = 0.2`
//! metric = "roc_auc"       # accuracy, roc_auc, log_loss, f1, rmse, mae, r2
//! params = { c = [0.01, 0.1, 1.0, 10.0] }
//! ```
//!
//! The planner turns the declaration into a fixed list of trials (random
//! draws come from the step's seed, so a rerun searches the same points).
//! The executor trains every trial on every fold as its own sandboxed call,
//! in parallel up to the tenant's concurrency cap, scores each fold's
//! validation rows with the metric, records every trial, and trains the
//! step's model on the whole train part with the best trial's params.
//!
//! Scores follow scikit-learn's: labels compare as text, `log_loss` clips
//! probabilities to `[1e-15, 1 - 1e-15]`, `roc_auc` is rank based with ties
//! averaged, `r2` is `1 - SS_res / SS_tot`. A trial's score is the mean
//! over its folds; the best is the highest (the lowest for `log_loss`,
//! `rmse`, `mae`), the earlier trial on a tie.

use super::definition::{SearchDef, StepDef};
use super::params::{convert_value, param_json};
use crate::data::SplitMix64;
use crate::runtime::Plugin;
use crate::wit;
use serde_json::{Value, json};

/// More trials than this is refused (a grid grows fast).
pub const MAX_TRIALS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Accuracy,
    RocAuc,
    LogLoss,
    F1,
    Rmse,
    Mae,
    R2,
}

impl Metric {
    pub const ALL: [Metric; 7] = [
        Metric::Accuracy,
        Metric::RocAuc,
        Metric::LogLoss,
        Metric::F1,
        Metric::Rmse,
        Metric::Mae,
        Metric::R2,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::RocAuc => "roc_auc",
            Metric::LogLoss => "log_loss",
            Metric::F1 => "f1",
            Metric::Rmse => "rmse",
            Metric::Mae => "mae",
            Metric::R2 => "r2",
        }
    }

    pub fn parse(text: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == text)
    }

    /// Whether a higher score is better.
    pub fn maximize(self) -> bool {
        !matches!(self, Metric::LogLoss | Metric::Rmse | Metric::Mae)
    }

    /// Whether the metric scores a classifier.
    pub fn classification(self) -> bool {
        matches!(
            self,
            Metric::Accuracy | Metric::RocAuc | Metric::LogLoss | Metric::F1
        )
    }

    /// Whether score `a` beats `b`.
    pub fn better(self, a: f64, b: f64) -> bool {
        if self.maximize() { a > b } else { a < b }
    }
}

/// How a trial's params are scored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Validation {
    /// k-fold cross-validation on the train part.
    Folds { k: usize, stratify: bool },
    /// One seeded holdout of this share of the train part.
    Holdout { share: f64, stratify: bool },
}

impl Validation {
    pub fn stratify(self) -> bool {
        match self {
            Validation::Folds { stratify, .. } | Validation::Holdout { stratify, .. } => stratify,
        }
    }
}

/// One point of the search.
#[derive(Debug, Clone)]
pub struct Trial {
    /// Every param the trainer gets: the step's own, with the searched
    /// ones set to this trial's values.
    pub params: Vec<wit::Param>,
    /// The searched params only, as JSON (`{"c": 0.1}`).
    pub searched: Value,
}

/// A planned search: the trials and how they are scored.
#[derive(Debug, Clone)]
pub struct Search {
    pub random: bool,
    pub validation: Validation,
    pub metric: Metric,
    pub positive: String,
    pub trials: Vec<Trial>,
}

impl Search {
    /// What the search contributes to the step's cache key and records.
    pub fn describe(&self) -> Value {
        json!({
            "method": if self.random { "random" } else { "grid" },
            "validation": match self.validation {
                Validation::Folds { k, stratify } => json!({"folds": k, "stratify": stratify}),
                Validation::Holdout { share, stratify } => json!({"holdout": share, "stratify": stratify}),
            },
            "metric": self.metric.name(),
            "positive": self.positive,
            "trials": self.trials.iter().map(|t| t.searched.clone()).collect::<Vec<_>>(),
        })
    }
}

/// Checks a step's `[steps.search]` against its plugin and generates the
/// trials. Problems go to `issues`, each naming the step and the field.
pub fn plan_search(
    step: &StepDef,
    def: &SearchDef,
    plugin: &Plugin,
    base: &[wit::Param],
    seed: u64,
    issues: &mut Vec<String>,
) -> Option<Search> {
    let id = &step.id;
    let before = issues.len();
    if plugin.world != crate::runtime::World::Trainer {
        issues.push(format!(
            "step '{id}': `search` is only for trainers; plugin '{}' is a {}",
            step.plugin, plugin.world
        ));
        return None;
    }
    let random = match def.method.as_deref().unwrap_or("grid") {
        "grid" => false,
        "random" => true,
        other => {
            issues.push(format!(
                "step '{id}': search.method must be \"grid\" or \"random\", got \"{other}\""
            ));
            false
        }
    };
    let metric = Metric::parse(&def.metric);
    if metric.is_none() {
        issues.push(format!(
            "step '{id}': search.metric \"{}\" is not one of {}",
            def.metric,
            Metric::ALL.map(Metric::name).join(", ")
        ));
    }
    let stratify = def
        .stratify
        .unwrap_or(metric.is_some_and(Metric::classification));
    let validation = match (def.folds, def.holdout) {
        (Some(_), Some(_)) => {
            issues.push(format!(
                "step '{id}': set search.folds or search.holdout, not both"
            ));
            None
        }
        (Some(k), None) if !(2..=100).contains(&k) => {
            issues.push(format!(
                "step '{id}': search.folds must be 2 to 100, got {k}"
            ));
            None
        }
        (Some(k), None) => Some(Validation::Folds {
            k: k as usize,
            stratify,
        }),
        (None, Some(share)) if !(share > 0.0 && share < 1.0) => {
            issues.push(format!(
                "step '{id}': search.holdout is the share of the train part to score on, in (0, 1); got {share}"
            ));
            None
        }
        (None, Some(share)) => Some(Validation::Holdout { share, stratify }),
        (None, None) => Some(Validation::Folds { k: 5, stratify }),
    };
    if def.params.is_empty() {
        issues.push(format!(
            "step '{id}': search.params is empty; give the values to search, e.g. params = {{ c = [0.1, 1.0] }}"
        ));
    }
    match (random, def.trials) {
        (true, None) => issues.push(format!(
            "step '{id}': a random search needs search.trials (how many to draw)"
        )),
        (true, Some(n)) if n < 1 || n as usize > MAX_TRIALS => issues.push(format!(
            "step '{id}': search.trials must be 1 to {MAX_TRIALS}, got {n}"
        )),
        (false, Some(_)) => issues.push(format!(
            "step '{id}': search.trials is for method = \"random\"; a grid tries every combination"
        )),
        _ => {}
    }

    // Each searched param: its spec, and its values or distribution.
    let mut spaces: Vec<(String, Space)> = Vec::new();
    for (name, value) in &def.params {
        let Some(spec) = plugin.param_spec(name) else {
            let known: Vec<&str> = plugin.info.params.iter().map(|p| p.name.as_str()).collect();
            issues.push(format!(
                "step '{id}': search.params: unknown param '{name}' for plugin {} (known: {})",
                plugin.label(),
                known.join(", ")
            ));
            continue;
        };
        match space(&spec.kind, value, random) {
            Ok(s) => spaces.push((name.clone(), s)),
            Err(e) => issues.push(format!(
                "step '{id}': search.params.{name} ({} param of plugin {}): {e}",
                spec.kind,
                plugin.label()
            )),
        }
    }
    if issues.len() > before {
        return None;
    }

    let points: Vec<Vec<(String, wit::ParamValue)>> = if random {
        let mut rng = SplitMix64(seed ^ 0x5EA2_C4ED_0000_0001);
        let n = def.trials.expect("checked") as usize;
        (0..n)
            .map(|_| {
                spaces
                    .iter()
                    .map(|(name, s)| (name.clone(), s.draw(&mut rng)))
                    .collect()
            })
            .collect()
    } else {
        let size = spaces
            .iter()
            .try_fold(1usize, |acc, (_, s)| acc.checked_mul(s.len()));
        match size {
            Some(n) if n <= MAX_TRIALS => {}
            _ => {
                issues.push(format!(
                    "step '{id}': the search grid has {} combinations, more than {MAX_TRIALS}; \
                     use fewer values or method = \"random\"",
                    size.map_or_else(|| "too many".to_string(), |n| n.to_string())
                ));
                return None;
            }
        }
        grid(&spaces)
    };
    let trials = points
        .into_iter()
        .map(|point| {
            let mut params: Vec<wit::Param> = base
                .iter()
                .filter(|p| !point.iter().any(|(n, _)| n == &p.name))
                .cloned()
                .collect();
            let mut searched = serde_json::Map::new();
            for (name, value) in point {
                searched.insert(name.clone(), param_json(&value));
                params.push(wit::Param { name, value });
            }
            Trial {
                params,
                searched: Value::Object(searched),
            }
        })
        .collect();
    Some(Search {
        random,
        validation: validation.expect("checked"),
        metric: metric.expect("checked"),
        positive: def.positive.clone().unwrap_or_else(|| "1".into()),
        trials,
    })
}

/// The values one param may take.
#[derive(Debug, Clone)]
enum Space {
    Values(Vec<wit::ParamValue>),
    Uniform { lo: f64, hi: f64, log: bool },
    IntUniform { lo: i64, hi: i64, as_number: bool },
}

impl Space {
    fn len(&self) -> usize {
        match self {
            Space::Values(v) => v.len(),
            _ => usize::MAX,
        }
    }

    fn draw(&self, rng: &mut SplitMix64) -> wit::ParamValue {
        match self {
            Space::Values(v) => v[rng.below(v.len())].clone(),
            Space::Uniform { lo, hi, log: false } => {
                wit::ParamValue::Number(lo + (hi - lo) * rng.unit())
            }
            Space::Uniform { lo, hi, log: true } => {
                let (a, b) = (lo.ln(), hi.ln());
                wit::ParamValue::Number((a + (b - a) * rng.unit()).exp())
            }
            Space::IntUniform { lo, hi, as_number } => {
                let span = (hi - lo) as u64 + 1;
                let v = lo + rng.below(span as usize) as i64;
                if *as_number {
                    wit::ParamValue::Number(v as f64)
                } else {
                    wit::ParamValue::Integer(v)
                }
            }
        }
    }
}

fn space(kind: &str, value: &toml::Value, random: bool) -> Result<Space, String> {
    match value {
        toml::Value::Array(items) => {
            if items.is_empty() {
                return Err("the list of values is empty".into());
            }
            // A `numbers` param takes a list per value: a list of lists.
            items
                .iter()
                .map(|v| {
                    convert_value(kind, v)
                        .ok_or_else(|| format!("value `{v}` is not of kind {kind}"))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Space::Values)
        }
        toml::Value::Table(t) if random => {
            let (dist, range) = match t.iter().collect::<Vec<_>>().as_slice() {
                [(d, r)] => (d.as_str(), *r),
                _ => {
                    return Err(
                        "give one of { uniform = [lo, hi] }, { log_uniform = [lo, hi] }, \
                         { int_uniform = [lo, hi] }"
                            .into(),
                    );
                }
            };
            let ends: Vec<&toml::Value> = match range {
                toml::Value::Array(a) if a.len() == 2 => a.iter().collect(),
                _ => return Err(format!("{dist} takes [lo, hi], got `{range}`")),
            };
            match dist {
                "uniform" | "log_uniform" => {
                    if kind != "number" {
                        return Err(format!("{dist} draws numbers; use a list of values"));
                    }
                    let num = |v: &toml::Value| match v {
                        toml::Value::Float(f) => Some(*f),
                        toml::Value::Integer(i) => Some(*i as f64),
                        _ => None,
                    };
                    let (Some(lo), Some(hi)) = (num(ends[0]), num(ends[1])) else {
                        return Err(format!("{dist} takes two numbers, got `{range}`"));
                    };
                    let log = dist == "log_uniform";
                    if !(lo.is_finite() && hi.is_finite() && lo < hi) || (log && lo <= 0.0) {
                        return Err(format!(
                            "{dist} needs finite lo < hi{}, got [{lo}, {hi}]",
                            if log { " and lo > 0" } else { "" }
                        ));
                    }
                    Ok(Space::Uniform { lo, hi, log })
                }
                "int_uniform" => {
                    if kind != "integer" && kind != "number" {
                        return Err("int_uniform draws integers; use a list of values".into());
                    }
                    let (Some(lo), Some(hi)) = (ends[0].as_integer(), ends[1].as_integer()) else {
                        return Err(format!("int_uniform takes two integers, got `{range}`"));
                    };
                    if lo > hi || hi - lo >= i64::from(u32::MAX) {
                        return Err(format!("int_uniform needs lo <= hi, got [{lo}, {hi}]"));
                    }
                    Ok(Space::IntUniform {
                        lo,
                        hi,
                        as_number: kind == "number",
                    })
                }
                other => Err(format!(
                    "unknown distribution '{other}' (uniform, log_uniform, int_uniform)"
                )),
            }
        }
        toml::Value::Table(_) => {
            Err("a grid takes a list of values; distributions are for method = \"random\"".into())
        }
        other => Err(format!(
            "give a list of values to try, e.g. [{other}], not a single value"
        )),
    }
}

/// Every combination, the last param varying fastest (scikit-learn's
/// `ParameterGrid` order with the params sorted by name).
fn grid(spaces: &[(String, Space)]) -> Vec<Vec<(String, wit::ParamValue)>> {
    let mut points: Vec<Vec<(String, wit::ParamValue)>> = vec![Vec::new()];
    for (name, s) in spaces {
        let Space::Values(values) = s else {
            unreachable!("grid spaces are lists");
        };
        points = points
            .into_iter()
            .flat_map(|p| {
                values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.push((name.clone(), v.clone()));
                    q
                })
            })
            .collect();
    }
    points
}

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
                let mut total = 0.0;
                let mut cache: std::collections::HashMap<&str, Vec<f64>> =
                    std::collections::HashMap::new();
                for (&i, t) in keep.iter().zip(&truth_text) {
                    if !cache.contains_key(t.as_str()) {
                        let p = numbers(column(&format!("p_{t}"))?)?;
                        cache.insert(t.as_str(), p);
                    }
                    let p = cache[t.as_str()][i].clamp(
                        sluice_determ::metrics::LOG_LOSS_EPS,
                        1.0 - sluice_determ::metrics::LOG_LOSS_EPS,
                    );
                    total -= p.ln();
                }
                Ok(total / keep.len() as f64)
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

/// The mean of a trial's fold scores.
pub fn mean(scores: &[f64]) -> f64 {
    scores.iter().sum::<f64>() / scores.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, values: wit::Values) -> wit::Column {
        wit::Column {
            name: name.into(),
            values,
            valid: None,
        }
    }

    fn classifier_output(p1: &[f64]) -> wit::Table {
        wit::Table {
            columns: vec![
                col(
                    "p_0",
                    wit::Values::F64s(p1.iter().map(|p| 1.0 - p).collect()),
                ),
                col("p_1", wit::Values::F64s(p1.to_vec())),
                col(
                    "prediction",
                    wit::Values::I64s(p1.iter().map(|&p| i64::from(p >= 0.5)).collect()),
                ),
            ],
        }
    }

    #[test]
    fn classification_scores_match_scikit_learn() {
        // sklearn: y = [0, 0, 1, 1, 1], p = [0.1, 0.6, 0.35, 0.8, 0.9]
        // accuracy_score 0.6, f1_score 0.666667, roc_auc_score 0.833333,
        // log_loss 0.479995 (computed by hand below as well).
        let truth = col("y", wit::Values::I64s(vec![0, 0, 1, 1, 1]));
        let out = classifier_output(&[0.1, 0.6, 0.35, 0.8, 0.9]);
        let s = |m| score(m, "1", &out, &truth).unwrap();
        assert!((s(Metric::Accuracy) - 0.6).abs() < 1e-12);
        assert!((s(Metric::F1) - 2.0 / 3.0).abs() < 1e-12);
        assert!((s(Metric::RocAuc) - 5.0 / 6.0).abs() < 1e-12);
        let expected =
            -(0.9f64.ln() + 0.4f64.ln() + 0.35f64.ln() + 0.8f64.ln() + 0.9f64.ln()) / 5.0;
        assert!((s(Metric::LogLoss) - expected).abs() < 1e-12);
        assert!((expected - 0.479_995).abs() < 1e-6);
        // A null label is left out.
        let mut truth = truth;
        truth.valid = Some(vec![true, true, true, true, false]);
        assert!((score(Metric::Accuracy, "1", &out, &truth).unwrap() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn regression_scores_match_scikit_learn() {
        let truth = col("y", wit::Values::F64s(vec![3.0, -0.5, 2.0, 7.0]));
        let out = wit::Table {
            columns: vec![col(
                "prediction",
                wit::Values::F64s(vec![2.5, 0.0, 2.0, 8.0]),
            )],
        };
        // sklearn's r2_score docs example: 0.948...; MSE 0.375.
        let r2 = score(Metric::R2, "1", &out, &truth).unwrap();
        assert!((r2 - 0.948_608_137_044_968).abs() < 1e-12);
        let rmse = score(Metric::Rmse, "1", &out, &truth).unwrap();
        assert!((rmse - 0.375f64.sqrt()).abs() < 1e-12);
        let mae = score(Metric::Mae, "1", &out, &truth).unwrap();
        assert!((mae - 0.5).abs() < 1e-12);
    }

    #[test]
    fn a_wrong_output_is_named() {
        let truth = col("y", wit::Values::I64s(vec![0, 1]));
        let out = wit::Table {
            columns: vec![col("prediction", wit::Values::I64s(vec![0, 1]))],
        };
        let e = score(Metric::RocAuc, "1", &out, &truth).unwrap_err();
        assert!(e.contains("'p_1'") && e.contains("search.positive"), "{e}");
        let e = score(
            Metric::Accuracy,
            "1",
            &wit::Table { columns: vec![] },
            &truth,
        )
        .unwrap_err();
        assert!(e.contains("'prediction'"), "{e}");
        let one_class = col("y", wit::Values::I64s(vec![1, 1]));
        let e = score(
            Metric::RocAuc,
            "1",
            &classifier_output(&[0.2, 0.7]),
            &one_class,
        )
        .unwrap_err();
        assert!(e.contains("both classes"), "{e}");
    }

    #[test]
    fn grid_order_and_random_draws() {
        let spaces = vec![
            (
                "a".to_string(),
                Space::Values(vec![
                    wit::ParamValue::Integer(1),
                    wit::ParamValue::Integer(2),
                ]),
            ),
            (
                "b".to_string(),
                Space::Values(vec![
                    wit::ParamValue::Number(0.1),
                    wit::ParamValue::Number(0.2),
                    wit::ParamValue::Number(0.3),
                ]),
            ),
        ];
        let points = grid(&spaces);
        assert_eq!(points.len(), 6);
        let first: Vec<String> = points
            .iter()
            .map(|p| format!("{}/{}", param_json(&p[0].1), param_json(&p[1].1)))
            .collect();
        assert_eq!(first[0], "1/0.1");
        assert_eq!(first[1], "1/0.2");
        assert_eq!(first[3], "2/0.1");

        let mut rng = SplitMix64(7);
        let log = Space::Uniform {
            lo: 1e-3,
            hi: 10.0,
            log: true,
        };
        let ints = Space::IntUniform {
            lo: 2,
            hi: 4,
            as_number: false,
        };
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let wit::ParamValue::Number(x) = log.draw(&mut rng) else {
                panic!("a number")
            };
            assert!((1e-3..10.0).contains(&x));
            let wit::ParamValue::Integer(i) = ints.draw(&mut rng) else {
                panic!("an integer")
            };
            seen.insert(i);
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![2, 3, 4]);
    }

    #[test]
    fn bad_spaces_are_explained() {
        let v = |s: &str| -> toml::Value { toml::from_str::<toml::Table>(s).unwrap()["x"].clone() };
        assert!(
            space("number", &v("x = 1.0"), false)
                .unwrap_err()
                .contains("list of values")
        );
        assert!(
            space("number", &v("x = []"), false)
                .unwrap_err()
                .contains("empty")
        );
        assert!(
            space("integer", &v("x = [1, 2.5]"), false)
                .unwrap_err()
                .contains("2.5")
        );
        assert!(
            space("number", &v("x = { uniform = [0, 1] }"), false)
                .unwrap_err()
                .contains("random")
        );
        assert!(
            space("number", &v("x = { log_uniform = [0, 1] }"), true)
                .unwrap_err()
                .contains("lo > 0")
        );
        assert!(
            space("text", &v("x = { uniform = [0, 1] }"), true)
                .unwrap_err()
                .contains("list of values")
        );
        assert!(
            space("number", &v("x = { normal = [0, 1] }"), true)
                .unwrap_err()
                .contains("unknown distribution")
        );
        assert!(space("integer", &v("x = { int_uniform = [1, 5] }"), true).is_ok());
    }
}
