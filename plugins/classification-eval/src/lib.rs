//! `classification-eval`: scores a classifier under test on held-out data.
//!
//! Params: `target` (text, required: the label column of `data`),
//! `positive` (text, default `"1"`: the positive class as text), `average`
//! (text, `binary` or `macro`, default `binary`), `min_accuracy`,
//! `min_precision`, `min_recall`, `min_f1`, `min_roc_auc` (number, 0.0),
//! `max_log_loss` (number, 1e300).
//!
//! The target column is taken out of `data`, the rest goes to the model
//! (through the host's `model.predict`), and its output is scored with
//! scikit-learn's semantics. Labels compare as text; rows whose target is
//! null are left out.
//!
//! - `accuracy`: the share of rows whose `prediction` equals the target.
//! - `precision`, `recall`, `f1`: with `average = "binary"`, for the
//!   positive class only (the labels may hold at most two classes); with
//!   `average = "macro"`, the unweighted mean over every class seen in the
//!   target or the predictions. A zero denominator scores 0
//!   (`zero_division=0`).
//! - `roc_auc`: binary, of `p_<positive>` (rank-based, ties averaged); macro,
//!   the mean one-vs-rest AUC of `p_<class>` over the classes of the target.
//!   Left out when the target holds only one class.
//! - `log_loss`: the mean of `-ln p_<true class>`, the probability clipped
//!   to `[eps, 1 - eps]` with `eps` the machine epsilon (2.2e-16), as
//!   scikit-learn's `log_loss`; the one definition of
//!   `sluice_sdk::metrics::true_class_log_loss`, which `holdout-eval`
//!   reports too (on a binary model's output the two agree bit for bit).
//!
//! Checks `accuracy`, `precision`, `recall`, `f1`, `roc_auc`, `log_loss`,
//! one per threshold, with the numbers in the detail. Metrics: the six
//! scores (`roc_auc` only when defined) and `rows`.

use sluice_sdk::metrics::{self, check_max, check_min, check_roc_auc, roc_auc};
use sluice_sdk::{
    Column, ParamSpec, Params, PluginInfo, StepError, Table, ValidationReport, Validator, log,
    model,
};

/// How precision, recall and F1 are averaged over classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Average {
    /// The positive class only.
    Binary,
    /// The unweighted mean over all classes.
    Macro,
}

impl Average {
    pub fn parse(text: &str) -> Result<Average, StepError> {
        match text {
            "binary" => Ok(Average::Binary),
            "macro" => Ok(Average::Macro),
            other => Err(StepError::invalid_params(format!(
                "param 'average' must be 'binary' or 'macro', got '{other}'"
            ))),
        }
    }
}

/// A classifier's output lined up with the truth (rows with a label only).
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    /// The true labels, as text.
    pub truth: Vec<String>,
    /// The predicted labels, as text (`None` for a null prediction).
    pub predicted: Vec<Option<String>>,
    /// The probability columns of the output: class name and values.
    pub proba: Vec<(String, Vec<f64>)>,
}

impl Labelled {
    /// Lines up the model's `prediction` and `p_<class>` columns with
    /// `truth`; rows with a null label are left out.
    pub fn new(output: &Table, truth: &Column) -> Result<Labelled, StepError> {
        let prediction = output.column("prediction").map_err(|_| {
            StepError::invalid_input(format!(
                "the model's output has no 'prediction' column; columns: {}",
                output.names().join(", ")
            ))
        })?;
        let rows = truth.len();
        if output.num_rows() != rows {
            return Err(StepError::invalid_input(format!(
                "the model returned {} rows for {rows} input rows",
                output.num_rows()
            )));
        }
        let keep: Vec<usize> = (0..rows).filter(|&i| !truth.is_null(i)).collect();
        let mut proba = Vec::new();
        for column in output.columns() {
            if let Some(class) = column.name.strip_prefix("p_") {
                let p = column.to_f64_lossy()?;
                proba.push((class.to_string(), keep.iter().map(|&i| p[i]).collect()));
            }
        }
        Ok(Labelled {
            truth: keep.iter().filter_map(|&i| truth.value_text(i)).collect(),
            predicted: keep.iter().map(|&i| prediction.value_text(i)).collect(),
            proba,
        })
    }

    pub fn len(&self) -> usize {
        self.truth.len()
    }

    pub fn is_empty(&self) -> bool {
        self.truth.is_empty()
    }

    /// The probabilities of `class`, or an invalid-input error naming the
    /// missing column.
    pub fn proba_of(&self, class: &str) -> Result<&[f64], StepError> {
        self.proba
            .iter()
            .find(|(c, _)| c == class)
            .map(|(_, p)| p.as_slice())
            .ok_or_else(|| {
                StepError::invalid_input(format!(
                    "the model's output has no column 'p_{class}' for class '{class}'; \
                     probability columns: {}",
                    self.proba
                        .iter()
                        .map(|(c, _)| format!("p_{c}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    }

    /// The distinct true labels, sorted.
    pub fn true_classes(&self) -> Vec<String> {
        let mut classes = self.truth.clone();
        classes.sort();
        classes.dedup();
        classes
    }

    /// The distinct labels of the truth and the predictions, sorted
    /// (scikit-learn's `unique_labels`).
    pub fn labels(&self) -> Vec<String> {
        let mut labels: Vec<String> = self
            .truth
            .iter()
            .chain(self.predicted.iter().flatten())
            .cloned()
            .collect();
        labels.sort();
        labels.dedup();
        labels
    }
}

/// Precision, recall and F1 of one class, 0 where a denominator is 0.
pub fn precision_recall_f1(
    truth: &[String],
    predicted: &[Option<String>],
    class: &str,
) -> (f64, f64, f64) {
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    for (t, p) in truth.iter().zip(predicted) {
        let is_true = t == class;
        let is_pred = p.as_deref() == Some(class);
        match (is_true, is_pred) {
            (true, true) => tp += 1,
            (false, true) => fp += 1,
            (true, false) => fn_ += 1,
            (false, false) => {}
        }
    }
    let ratio = |num: usize, den: usize| {
        if den == 0 {
            0.0
        } else {
            num as f64 / den as f64
        }
    };
    (
        ratio(tp, tp + fp),
        ratio(tp, tp + fn_),
        ratio(2 * tp, 2 * tp + fp + fn_),
    )
}

/// The scores of one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// `None` when the target holds only one class.
    pub roc_auc: Option<f64>,
    pub log_loss: f64,
    pub rows: usize,
}

/// Scores lined-up rows (at least one) with scikit-learn's semantics.
pub fn score(rows: &Labelled, positive: &str, average: Average) -> Result<Scores, StepError> {
    let n = rows.len();
    let correct = rows
        .truth
        .iter()
        .zip(&rows.predicted)
        .filter(|(t, p)| p.as_deref() == Some(t.as_str()))
        .count();
    let accuracy = correct as f64 / n as f64;

    let (precision, recall, f1, roc) = match average {
        Average::Binary => {
            let labels = rows.labels();
            if labels.len() > 2 {
                return Err(StepError::invalid_input(format!(
                    "average 'binary' needs at most two classes, the labels hold {}: {} \
                     (set the param 'average' to 'macro')",
                    labels.len(),
                    labels.join(", ")
                )));
            }
            let (p, r, f) = precision_recall_f1(&rows.truth, &rows.predicted, positive);
            let positives: Vec<bool> = rows.truth.iter().map(|t| t == positive).collect();
            let roc = roc_auc(&positives, rows.proba_of(positive)?);
            (p, r, f, roc)
        }
        Average::Macro => {
            let labels = rows.labels();
            let (mut p, mut r, mut f) = (0.0, 0.0, 0.0);
            for class in &labels {
                let (pc, rc, fc) = precision_recall_f1(&rows.truth, &rows.predicted, class);
                p += pc;
                r += rc;
                f += fc;
            }
            let k = labels.len() as f64;
            let classes = rows.true_classes();
            let roc = if classes.len() < 2 {
                None
            } else {
                let mut sum = 0.0;
                for class in &classes {
                    let positives: Vec<bool> = rows.truth.iter().map(|t| t == class).collect();
                    sum += roc_auc(&positives, rows.proba_of(class)?).unwrap_or(0.0);
                }
                Some(sum / classes.len() as f64)
            };
            (p / k, r / k, f / k, roc)
        }
    };

    // p_<true class> of each row, in row order: one lookup per class.
    let classes = rows.true_classes();
    let proba: Vec<&[f64]> = classes
        .iter()
        .map(|c| rows.proba_of(c))
        .collect::<Result<_, _>>()?;
    let log_loss = metrics::true_class_log_loss(rows.truth.iter().enumerate().map(|(i, t)| {
        let k = classes.binary_search(t).expect("a class of the truth");
        proba[k][i]
    }));

    Ok(Scores {
        accuracy,
        precision,
        recall,
        f1,
        roc_auc: roc,
        log_loss,
        rows: n,
    })
}

/// The thresholds a model must meet.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    pub min_accuracy: f64,
    pub min_precision: f64,
    pub min_recall: f64,
    pub min_f1: f64,
    pub min_roc_auc: f64,
    pub max_log_loss: f64,
}

/// Checks the scores against the thresholds, one check per threshold.
pub fn evaluate(scores: &Scores, average: Average, limits: &Thresholds) -> ValidationReport {
    let mut report = ValidationReport::new();
    let how = match average {
        Average::Binary => "binary",
        Average::Macro => "macro",
    };
    check_min(
        &mut report,
        "accuracy",
        "accuracy",
        scores.accuracy,
        limits.min_accuracy,
        &format!(" on {} rows", scores.rows),
    );
    for (name, value, min) in [
        ("precision", scores.precision, limits.min_precision),
        ("recall", scores.recall, limits.min_recall),
        ("f1", scores.f1, limits.min_f1),
    ] {
        check_min(&mut report, name, &format!("{how} {name}"), value, min, "");
    }
    check_roc_auc(
        &mut report,
        &format!("{how} ROC AUC"),
        scores.roc_auc,
        limits.min_roc_auc,
    );
    check_max(
        &mut report,
        "log_loss",
        "log loss",
        scores.log_loss,
        limits.max_log_loss,
        "",
    );

    report.metric("accuracy", scores.accuracy);
    report.metric("precision", scores.precision);
    report.metric("recall", scores.recall);
    report.metric("f1", scores.f1);
    if let Some(auc) = scores.roc_auc {
        report.metric("roc_auc", auc);
    }
    report.metric("log_loss", scores.log_loss);
    report.metric("rows", scores.rows as f64);
    report
}

pub struct ClassificationEval;

impl Validator for ClassificationEval {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "classification-eval",
            env!("CARGO_PKG_VERSION"),
            "Scores the classifier under test on held-out data (accuracy, precision, recall, \
             F1, ROC AUC, log loss; binary or macro-averaged) and checks thresholds.",
        )
        .metrics(&[
            "accuracy",
            "precision",
            "recall",
            "f1",
            "roc_auc",
            "log_loss",
            "rows",
        ])
        .param(ParamSpec::text_required(
            "target",
            "the label column in the data",
        ))
        .param(ParamSpec::text(
            "positive",
            "1",
            "the positive class, as text (binary average scores it and its p_<positive>)",
        ))
        .param(
            ParamSpec::text(
                "average",
                "binary",
                "binary (the positive class) or macro (unweighted mean over classes)",
            )
            .choices(&["binary", "macro"]),
        )
        .param(ParamSpec::number(
            "min_accuracy",
            0.0,
            "lowest accuracy that passes",
        ))
        .param(ParamSpec::number(
            "min_precision",
            0.0,
            "lowest precision that passes",
        ))
        .param(ParamSpec::number(
            "min_recall",
            0.0,
            "lowest recall that passes",
        ))
        .param(ParamSpec::number("min_f1", 0.0, "lowest F1 that passes"))
        .param(ParamSpec::number(
            "min_roc_auc",
            0.0,
            "lowest ROC AUC that passes",
        ))
        .param(ParamSpec::number(
            "max_log_loss",
            1e300,
            "highest log loss that passes",
        ))
    }

    fn validate(
        mut data: Table,
        _reference: Option<Table>,
        params: Params,
    ) -> Result<ValidationReport, StepError> {
        let target_name = params.text("target")?;
        let positive = params.text("positive")?;
        let average = Average::parse(params.text("average")?)?;
        let limits = Thresholds {
            min_accuracy: params.number("min_accuracy")?,
            min_precision: params.number("min_precision")?,
            min_recall: params.number("min_recall")?,
            min_f1: params.number("min_f1")?,
            min_roc_auc: params.number("min_roc_auc")?,
            max_log_loss: params.number("max_log_loss")?,
        };
        let target = data.take(target_name).map_err(|_| {
            StepError::invalid_input(format!(
                "the target column '{target_name}' is not in the data; columns: {}",
                data.names().join(", ")
            ))
        })?;
        let output = model::predict(&data)?;
        let rows = Labelled::new(&output, &target)?;
        if rows.is_empty() {
            return Err(StepError::invalid_input(format!(
                "no rows to evaluate: the data has {} rows, none with a target",
                target.len()
            )));
        }
        let scores = score(&rows, positive, average)?;
        log::info(format!(
            "classification-eval: {} rows, accuracy {:.4}, f1 {:.4}",
            scores.rows, scores.accuracy, scores.f1
        ));
        Ok(evaluate(&scores, average, &limits))
    }
}

sluice_sdk::export_validator!(ClassificationEval);

#[cfg(test)]
mod tests;
