//! Classifier scores shared by evaluators and explainers, with
//! scikit-learn's conventions: labels compare as text, log loss clips
//! probabilities to `[eps, 1 - eps]` (`eps` the machine epsilon), ROC AUC is rank-based with tied
//! scores given their average rank. The formulas themselves (accuracy, log
//! loss, ROC AUC) are `sluice-determ`'s, which the host's search scores
//! with too; this module lines a model's output up with the labels and
//! reports thresholds as checks.

pub use sluice_determ::metrics::{
    LOG_LOSS_EPS, RegressionScores, accuracy, binary_class_log_loss, log_loss, multiclass_log_loss,
    regression_scores, roc_auc, true_class_log_loss,
};

use crate::{Column, StepError, Table, ValidationReport, Values};

/// A classifier's predictions lined up with the true labels: only rows whose
/// label is not null take part.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredRows {
    /// Whether the predicted label equals the true one (compared as text).
    pub correct: Vec<bool>,
    /// Whether the true label is the positive class.
    pub positive: Vec<bool>,
    /// The predicted probability of the positive class.
    pub p_positive: Vec<f64>,
}

impl ScoredRows {
    /// Lines up a model's output (`prediction` and `p_<positive>` columns)
    /// with `truth`. Rows with a null label are left out. A model output of
    /// the wrong shape is an invalid-input error that says what is missing.
    pub fn new(output: &Table, truth: &Column, positive: &str) -> Result<ScoredRows, StepError> {
        Self::lined_up(output, truth, positive, true)
    }

    /// [`ScoredRows::new`] for a model output that needs only its
    /// `prediction` column (asked for alone, it saves the model computing
    /// probabilities): `p_positive` is left empty, so only
    /// [`ScoredRows::accuracy`] means anything.
    pub fn labels(output: &Table, truth: &Column, positive: &str) -> Result<ScoredRows, StepError> {
        Self::lined_up(output, truth, positive, false)
    }

    fn lined_up(
        output: &Table,
        truth: &Column,
        positive: &str,
        probabilities: bool,
    ) -> Result<ScoredRows, StepError> {
        let prediction = output.column("prediction").map_err(|_| {
            StepError::invalid_input(format!(
                "the model's output has no 'prediction' column; columns: {}",
                output.names().join(", ")
            ))
        })?;
        let p_name = format!("p_{positive}");
        let p = if probabilities {
            let p = output.column(&p_name).map_err(|_| {
                StepError::invalid_input(format!(
                    "the model's output has no column '{p_name}' for positive class '{positive}'; \
                     columns: {} (set the param 'positive' to one of the classes)",
                    output.names().join(", ")
                ))
            })?;
            Some(p.to_f64_lossy()?)
        } else {
            None
        };
        let p = p.as_deref();
        let rows = truth.len();
        if prediction.len() != rows || p.is_some_and(|p| p.len() != rows) {
            return Err(StepError::invalid_input(format!(
                "the model returned {} rows for {rows} input rows",
                prediction.len()
            )));
        }
        // Labels of the same type compare by value, which for integers,
        // booleans and strings is comparing their text, without a string
        // per row (an explainer scores the model over and over).
        match (&truth.values, &prediction.values) {
            (Values::I64(t), Values::I64(pr)) => {
                let positive = parse_exact::<i64>(positive);
                return Ok(Self::by_value(truth, t, prediction, pr, p, |v| {
                    Some(*v) == positive
                }));
            }
            (Values::Bool(t), Values::Bool(pr)) => {
                let positive = parse_exact::<bool>(positive);
                return Ok(Self::by_value(truth, t, prediction, pr, p, |v| {
                    Some(*v) == positive
                }));
            }
            (Values::Str(t), Values::Str(pr)) => {
                return Ok(Self::by_value(truth, t, prediction, pr, p, |v| {
                    v == positive
                }));
            }
            _ => {}
        }
        Ok(Self::by_text(truth, prediction, p, positive))
    }

    /// Rows scored by comparing labels of the same type by value.
    fn by_value<T: PartialEq>(
        truth: &Column,
        t: &[T],
        prediction: &Column,
        pr: &[T],
        p: Option<&[f64]>,
        is_positive: impl Fn(&T) -> bool,
    ) -> ScoredRows {
        if truth.valid.is_none() && prediction.valid.is_none() {
            // No nulls: every row counts, in loops without a branch per row.
            return ScoredRows {
                correct: pr.iter().zip(t).map(|(a, b)| a == b).collect(),
                positive: t.iter().map(is_positive).collect(),
                p_positive: p.map_or_else(Vec::new, <[f64]>::to_vec),
            };
        }
        let rows = t.len();
        let mut scored = ScoredRows {
            correct: Vec::with_capacity(rows),
            positive: Vec::with_capacity(rows),
            p_positive: Vec::with_capacity(p.map_or(0, <[f64]>::len)),
        };
        for i in 0..rows {
            if truth.is_null(i) {
                continue;
            }
            scored.correct.push(!prediction.is_null(i) && pr[i] == t[i]);
            scored.positive.push(is_positive(&t[i]));
            if let Some(p) = p {
                scored.p_positive.push(p[i]);
            }
        }
        scored
    }

    /// Rows scored by comparing labels as text (any types).
    fn by_text(
        truth: &Column,
        prediction: &Column,
        p: Option<&[f64]>,
        positive: &str,
    ) -> ScoredRows {
        let rows = truth.len();
        let mut scored = ScoredRows {
            correct: Vec::with_capacity(rows),
            positive: Vec::with_capacity(rows),
            p_positive: Vec::with_capacity(p.map_or(0, <[f64]>::len)),
        };
        for i in 0..rows {
            let Some(label) = truth.value_text(i) else {
                continue;
            };
            scored
                .correct
                .push(prediction.value_text(i).as_deref() == Some(label.as_str()));
            scored.positive.push(label == positive);
            if let Some(p) = p {
                scored.p_positive.push(p[i]);
            }
        }
        scored
    }

    /// How many rows were scored (rows with a null truth are left out).
    pub fn len(&self) -> usize {
        self.correct.len()
    }

    /// Whether no row was scored.
    pub fn is_empty(&self) -> bool {
        self.correct.is_empty()
    }

    /// The share of correct predictions (NaN without rows).
    pub fn accuracy(&self) -> f64 {
        accuracy(&self.correct)
    }

    /// The mean binary log loss of the positive-class probabilities, clipped
    /// to `[eps, 1 - eps]`, `eps` the machine epsilon (NaN without rows).
    pub fn log_loss(&self) -> f64 {
        log_loss(&self.positive, &self.p_positive)
    }

    /// The area under the ROC curve of the positive-class probabilities;
    /// `None` when only one class occurs.
    pub fn roc_auc(&self) -> Option<f64> {
        roc_auc(&self.positive, &self.p_positive)
    }
}

/// [`ScoredRows::labels`]`(output, truth, positive)?.accuracy()` without
/// building the rows: for labels of one type and no nulls, one counting
/// pass (an explainer scores the model over and over).
pub fn accuracy_of(output: &Table, truth: &Column, positive: &str) -> Result<f64, StepError> {
    fn share<T: PartialEq>(truth: &[T], prediction: &[T]) -> f64 {
        let equal = truth.iter().zip(prediction).filter(|(a, b)| a == b).count();
        equal as f64 / truth.len() as f64
    }
    if let Ok(prediction) = output.column("prediction")
        && truth.valid.is_none()
        && prediction.valid.is_none()
        && prediction.len() == truth.len()
    {
        match (&truth.values, &prediction.values) {
            (Values::I64(t), Values::I64(p)) => return Ok(share(t, p)),
            (Values::Bool(t), Values::Bool(p)) => return Ok(share(t, p)),
            (Values::Str(t), Values::Str(p)) => return Ok(share(t, p)),
            _ => {}
        }
    }
    Ok(ScoredRows::labels(output, truth, positive)?.accuracy())
}

/// A regressor's `prediction` lined up with the numeric `target`: the
/// rows with a target, as `(truth, predicted)`. A missing `prediction`, a
/// row count that is not the target's, or a null prediction for a row
/// with a target is an invalid-input error.
pub fn regressed_rows(output: &Table, target: &Column) -> Result<(Vec<f64>, Vec<f64>), StepError> {
    let prediction = output.column("prediction").map_err(|_| {
        StepError::invalid_input(format!(
            "the model's output has no 'prediction' column; columns: {}",
            output.names().join(", ")
        ))
    })?;
    if prediction.len() != target.len() {
        return Err(StepError::invalid_input(format!(
            "the model returned {} rows for {} input rows",
            prediction.len(),
            target.len()
        )));
    }
    let y = target.to_f64_lossy()?;
    let p = prediction.to_f64_lossy()?;
    let (mut truth, mut predicted) = (Vec::new(), Vec::new());
    for i in 0..y.len() {
        if target.is_null(i) {
            continue;
        }
        if prediction.is_null(i) {
            return Err(StepError::invalid_input(format!(
                "the model's prediction is null at row {i}"
            )));
        }
        truth.push(y[i]);
        predicted.push(p[i]);
    }
    Ok((truth, predicted))
}

/// The value whose text is exactly `text` ("01" is no integer's text).
fn parse_exact<T: std::str::FromStr + ToString>(text: &str) -> Option<T> {
    text.parse::<T>().ok().filter(|v| v.to_string() == text)
}

/// `x` rounded to 6 decimal places, as evaluators show scores in check
/// details.
pub fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Adds check `name`, passed when `value >= min`, detailed as
/// `"<label> <value rounded to 6 places> (minimum <min>)<suffix>"`.
pub fn check_min(
    report: &mut ValidationReport,
    name: &str,
    label: &str,
    value: f64,
    min: f64,
    suffix: &str,
) {
    report.check(
        name,
        value >= min,
        format!("{label} {} (minimum {min}){suffix}", round6(value)),
    );
}

/// Adds check `name`, passed when `value <= max`, detailed as
/// `"<label> <value rounded to 6 places> (maximum <max>)<suffix>"`.
pub fn check_max(
    report: &mut ValidationReport,
    name: &str,
    label: &str,
    value: f64,
    max: f64,
    suffix: &str,
) {
    report.check(
        name,
        value <= max,
        format!("{label} {} (maximum {max}){suffix}", round6(value)),
    );
}

/// Adds the `roc_auc` check: `roc_auc >= min` (detail `"<label> <auc>
/// (minimum <min>)"`), or, when ROC AUC is undefined because the target has
/// one class, passed only if `min <= 0`.
pub fn check_roc_auc(report: &mut ValidationReport, label: &str, roc_auc: Option<f64>, min: f64) {
    match roc_auc {
        Some(auc) => check_min(report, "roc_auc", label, auc, min, ""),
        None => report.check(
            "roc_auc",
            min <= 0.0,
            format!("ROC AUC undefined: only one class in the target (minimum {min})"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Same-typed labels scored by value give what scoring by text gives,
    /// nulls included on either side.
    #[test]
    fn scoring_by_value_is_scoring_by_text() {
        let p = vec![0.1, 0.9, 0.4, 0.6, 0.5];
        let cases: Vec<(Column, Column, &str)> = vec![
            (
                Column::i64("y", vec![1, 0, 1, 1, 0]).with_nulls(&[2]),
                Column::i64("prediction", vec![1, 1, 0, 1, 0]).with_nulls(&[3]),
                "1",
            ),
            (
                Column::i64("y", vec![1, 0, 1, 1, 0]),
                Column::i64("prediction", vec![1, 1, 0, 1, 0]),
                "01",
            ),
            (
                Column::bool("y", vec![true, false, true, true, false]),
                Column::bool("prediction", vec![true, true, false, true, false]),
                "true",
            ),
            (
                Column::strings("y", ["a", "b", "a", "c", "b"]).with_nulls(&[0]),
                Column::strings("prediction", ["a", "a", "a", "c", "c"]),
                "b",
            ),
            // Mixed types go by text.
            (
                Column::i64("y", vec![1, 0, 1, 1, 0]),
                Column::strings("prediction", ["1", "1", "0", "1", "0"]),
                "1",
            ),
        ];
        for (truth, prediction, positive) in cases {
            let output = Table::new()
                .with(Column::f64(format!("p_{positive}"), p.clone()))
                .with(prediction.clone());
            let scored = ScoredRows::new(&output, &truth, positive).unwrap();
            let text = ScoredRows::by_text(&truth, &prediction, Some(&p), positive);
            assert_eq!(scored, text, "{truth:?} {prediction:?}");
            assert!(scored.correct.iter().any(|c| *c) && scored.correct.iter().any(|c| !*c));
            // By labels alone (no probability column needed): the same
            // rows, without probabilities.
            let labels_only = Table::new().with(prediction.clone());
            let labels = ScoredRows::labels(&labels_only, &truth, positive).unwrap();
            assert_eq!(labels.correct, scored.correct, "{truth:?} {prediction:?}");
            let fast = accuracy_of(&labels_only, &truth, positive).unwrap();
            assert_eq!(fast.to_bits(), labels.accuracy().to_bits(), "{truth:?}");
            assert_eq!(labels.positive, scored.positive);
            assert!(labels.p_positive.is_empty());
            assert!(ScoredRows::new(&labels_only, &truth, positive).is_err());
        }
        // And the positives are found.
        let truth = Column::i64("y", vec![1, 0, 1]);
        let output = Table::new()
            .with(Column::f64("p_1", vec![0.5; 3]))
            .with(Column::i64("prediction", vec![1, 1, 1]));
        let scored = ScoredRows::new(&output, &truth, "1").unwrap();
        assert_eq!(scored.positive, vec![true, false, true]);
        assert_eq!(scored.correct, vec![true, false, true]);
    }

    #[test]
    fn scored_rows_compare_labels_as_text_and_skip_null_labels() {
        let output = Table::new()
            .with(Column::f64("p_0", vec![0.9, 0.2, 0.4]))
            .with(Column::f64("p_1", vec![0.1, 0.8, 0.6]))
            .with(Column::i64("prediction", vec![0, 1, 1]));
        let truth = Column::f64("y", vec![0.0, 0.0, 1.0]).with_nulls(&[2]);
        let s = ScoredRows::new(&output, &truth, "1").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s.correct, vec![true, false]);
        assert_eq!(s.positive, vec![false, false]);
        assert_eq!(s.accuracy(), 0.5);

        let err = ScoredRows::new(&output, &truth, "yes").unwrap_err();
        assert!(err.message.contains("'p_yes'"), "{}", err.message);
    }

    #[test]
    fn threshold_checks_round_and_describe() {
        assert_eq!(round6(0.123_456_789), 0.123457);
        let mut report = ValidationReport::new();
        check_min(&mut report, "accuracy", "accuracy", 0.8, 0.9, " on 5 rows");
        check_max(
            &mut report,
            "log_loss",
            "log loss",
            0.3486395805227249,
            0.5,
            "",
        );
        check_roc_auc(&mut report, "macro ROC AUC", Some(1.0), 0.9);
        check_roc_auc(&mut report, "ROC AUC", None, 0.5);
        let got: Vec<(&str, bool, &str)> = report
            .checks
            .iter()
            .map(|c| (c.name.as_str(), c.passed, c.detail.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("accuracy", false, "accuracy 0.8 (minimum 0.9) on 5 rows"),
                ("log_loss", true, "log loss 0.34864 (maximum 0.5)"),
                ("roc_auc", true, "macro ROC AUC 1 (minimum 0.9)"),
                (
                    "roc_auc",
                    false,
                    "ROC AUC undefined: only one class in the target (minimum 0.5)"
                ),
            ]
        );
    }
}
