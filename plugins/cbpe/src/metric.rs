//! The metrics CBPE estimates, each two ways: estimated from calibrated
//! scores alone (NannyML's `estimate_*` functions), and realized from the
//! true labels (NannyML's `_realized_performance`, scikit-learn's scores),
//! which the reference chunks' thresholds are made of.

use sluice_sdk::StepError;
use sluice_sdk::metrics::roc_auc;

/// A binary classification metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Accuracy,
    RocAuc,
    F1,
    Precision,
    Recall,
    Specificity,
}

impl Metric {
    /// Every metric, in the order of the docs.
    pub const ALL: [Metric; 6] = [
        Metric::Accuracy,
        Metric::RocAuc,
        Metric::F1,
        Metric::Precision,
        Metric::Recall,
        Metric::Specificity,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::RocAuc => "roc_auc",
            Metric::F1 => "f1",
            Metric::Precision => "precision",
            Metric::Recall => "recall",
            Metric::Specificity => "specificity",
        }
    }

    /// The metrics of a comma-separated list (blanks ignored, repeats
    /// kept once, in the list's order): an unknown name or an empty list is
    /// an invalid-params error.
    pub fn parse_list(text: &str) -> Result<Vec<Metric>, StepError> {
        let mut metrics = Vec::new();
        for name in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let metric = Metric::ALL
                .into_iter()
                .find(|m| m.name() == name)
                .ok_or_else(|| {
                    StepError::invalid_params(format!(
                        "param 'metrics': unknown metric '{name}'; known: {}",
                        Metric::ALL.map(Metric::name).join(", ")
                    ))
                })?;
            if !metrics.contains(&metric) {
                metrics.push(metric);
            }
        }
        if metrics.is_empty() {
            return Err(StepError::invalid_params(format!(
                "param 'metrics' names no metric; known: {}",
                Metric::ALL.map(Metric::name).join(", ")
            )));
        }
        Ok(metrics)
    }

    /// The metric estimated from predictions and calibrated scores:
    /// `predicted` (the prediction is the positive class), `calibrated`
    /// (calibrated probability of the positive class) and, for ROC AUC,
    /// `raw` (the scores before calibration, which order the rows). NaN
    /// when undefined (no rows; ROC AUC with no expected positive or
    /// negative).
    pub fn estimate(self, predicted: &[bool], calibrated: &[f64], raw: &[f64]) -> f64 {
        if predicted.is_empty() {
            return f64::NAN;
        }
        if self == Metric::RocAuc {
            return estimate_roc_auc(calibrated, raw);
        }
        let m = ExpectedConfusion::new(predicted, calibrated);
        let ratio = |num: f64, den: f64| if den != 0.0 { num / den } else { 0.0 };
        match self {
            Metric::Accuracy => (m.tp + m.tn) / predicted.len() as f64,
            Metric::Precision => ratio(m.tp, m.tp + m.fp),
            Metric::Recall => ratio(m.tp, m.tp + m.fn_),
            Metric::F1 => ratio(m.tp, m.tp + 0.5 * (m.fp + m.fn_)),
            Metric::Specificity => ratio(m.tn, m.tn + m.fp),
            Metric::RocAuc => unreachable!("handled above"),
        }
    }

    /// The metric realized against the labels, NaN where NannyML gives NaN:
    /// no rows; ROC AUC with one class in `truth`; precision, recall and F1
    /// with one class in `truth` or in `predicted`; specificity with no
    /// negative in `truth`. A zero denominator otherwise scores 0
    /// (scikit-learn's `zero_division`).
    pub fn realized(self, truth: &[bool], predicted: &[bool], raw: &[f64]) -> f64 {
        let n = truth.len();
        if n == 0 {
            return f64::NAN;
        }
        let one_class = |v: &[bool]| v.iter().all(|&x| x == v[0]);
        let (mut tp, mut fp, mut tn, mut fn_) = (0usize, 0usize, 0usize, 0usize);
        for (&t, &p) in truth.iter().zip(predicted) {
            match (t, p) {
                (true, true) => tp += 1,
                (false, true) => fp += 1,
                (false, false) => tn += 1,
                (true, false) => fn_ += 1,
            }
        }
        let ratio = |num: usize, den: usize| {
            if den == 0 {
                0.0
            } else {
                num as f64 / den as f64
            }
        };
        match self {
            Metric::Accuracy => (tp + tn) as f64 / n as f64,
            Metric::RocAuc => roc_auc(truth, raw).unwrap_or(f64::NAN),
            _ if matches!(self, Metric::F1 | Metric::Precision | Metric::Recall)
                && (one_class(truth) || one_class(predicted)) =>
            {
                f64::NAN
            }
            Metric::Precision => ratio(tp, tp + fp),
            Metric::Recall => ratio(tp, tp + fn_),
            Metric::F1 => ratio(2 * tp, 2 * tp + fp + fn_),
            Metric::Specificity if tn + fp == 0 => f64::NAN,
            Metric::Specificity => ratio(tn, tn + fp),
        }
    }
}

/// The expected confusion matrix of rows with calibrated scores: a row
/// predicted positive adds its score to TP and the rest to FP, a row
/// predicted negative adds its score to FN and the rest to TN.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExpectedConfusion {
    pub tp: f64,
    pub fp: f64,
    pub tn: f64,
    pub fn_: f64,
}

impl ExpectedConfusion {
    pub fn new(predicted: &[bool], calibrated: &[f64]) -> ExpectedConfusion {
        let mut m = ExpectedConfusion {
            tp: 0.0,
            fp: 0.0,
            tn: 0.0,
            fn_: 0.0,
        };
        for (&p, &c) in predicted.iter().zip(calibrated) {
            if p {
                m.tp += c;
                m.fp += 1.0 - c;
            } else {
                m.fn_ += c;
                m.tn += 1.0 - c;
            }
        }
        m
    }
}

/// NannyML's `estimate_roc_auc`: rows by decreasing raw score; the
/// cumulative calibrated scores are the expected true positives and the
/// rest the expected false positives at each cut (both rounded to 5
/// decimals, as NannyML does); the area under the expected ROC curve by
/// the trapezoidal rule. Every row is a point of the curve, which for
/// tied raw scores (tied calibrated scores too) lies on the segment the
/// tie would draw. NaN when the expected positives or negatives are 0.
pub fn estimate_roc_auc(calibrated: &[f64], raw: &[f64]) -> f64 {
    let mut order: Vec<usize> = (0..raw.len()).collect();
    order.sort_by(|&a, &b| raw[b].total_cmp(&raw[a]));
    let round5 = |x: f64| (x * 1e5).round_ties_even() / 1e5;
    let mut tps = Vec::with_capacity(raw.len() + 1);
    let mut fps = Vec::with_capacity(raw.len() + 1);
    tps.push(0.0);
    fps.push(0.0);
    let mut cumulative = 0.0;
    for (k, &i) in order.iter().enumerate() {
        cumulative += calibrated[i];
        tps.push(round5(cumulative));
        fps.push(round5(1.0 + k as f64 - cumulative));
    }
    let (tp_total, fp_total) = (*tps.last().unwrap(), *fps.last().unwrap());
    if tp_total == 0.0 || fp_total == 0.0 {
        return f64::NAN;
    }
    // tpr = tps / tps[-1], fpr = fps / fps[-1], then sklearn's `auc`.
    let tpr: Vec<f64> = tps.iter().map(|t| t / tp_total).collect();
    let fpr: Vec<f64> = fps.iter().map(|f| f / fp_total).collect();
    (1..tpr.len())
        .map(|k| (fpr[k] - fpr[k - 1]) * (tpr[k] + tpr[k - 1]) / 2.0)
        .sum()
}
