//! What the model is scored by, whether that fits the model, and the
//! score itself, as scikit-learn's scorers of the same names compute it.

use sluice_sdk::metrics::{self, ScoredRows};
use sluice_sdk::{Column, StepError, Table, Values};

/// What to score the model by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scoring {
    /// Share of correct labels (classifiers).
    Accuracy,
    /// Binary log loss of `p_<positive>`; lower is better (classifiers).
    LogLoss,
    /// Binary ROC AUC of `p_<positive>` (classifiers, two classes).
    RocAuc,
    /// `r2_score` (regressors).
    R2,
    /// Minus the mean squared error (regressors).
    NegMeanSquaredError,
    /// Minus the mean absolute error (regressors).
    NegMeanAbsoluteError,
}

const CLASSIFIER_SCORINGS: &str = "accuracy, log_loss or roc_auc";
const REGRESSOR_SCORINGS: &str = "r2, neg_mean_squared_error or neg_mean_absolute_error";

impl Scoring {
    const ALL: [Scoring; 6] = [
        Scoring::Accuracy,
        Scoring::LogLoss,
        Scoring::RocAuc,
        Scoring::R2,
        Scoring::NegMeanSquaredError,
        Scoring::NegMeanAbsoluteError,
    ];

    /// The param's text for this scoring (scikit-learn's scorer name, but
    /// `log_loss` for its `neg_log_loss`).
    pub fn name(self) -> &'static str {
        match self {
            Scoring::Accuracy => "accuracy",
            Scoring::LogLoss => "log_loss",
            Scoring::RocAuc => "roc_auc",
            Scoring::R2 => "r2",
            Scoring::NegMeanSquaredError => "neg_mean_squared_error",
            Scoring::NegMeanAbsoluteError => "neg_mean_absolute_error",
        }
    }

    pub fn parse(text: &str) -> Result<Scoring, StepError> {
        Scoring::ALL
            .into_iter()
            .find(|s| s.name() == text)
            .ok_or_else(|| {
                StepError::invalid_params(format!(
                    "param 'scoring' must be one of {} (classifiers) or {} (regressors), \
                     got '{text}'",
                    CLASSIFIER_SCORINGS, REGRESSOR_SCORINGS
                ))
            })
    }

    /// Whether this scores a classifier (else a regressor).
    pub fn for_classifiers(self) -> bool {
        matches!(self, Scoring::Accuracy | Scoring::LogLoss | Scoring::RocAuc)
    }

    /// The model's columns this scoring reads: `prediction`, with
    /// `p_<positive>` for log loss and ROC AUC.
    pub fn outputs(self, positive: &str) -> Vec<String> {
        match self {
            Scoring::LogLoss | Scoring::RocAuc => {
                vec!["prediction".into(), format!("p_{positive}")]
            }
            _ => vec!["prediction".into()],
        }
    }

    /// How much worse `permuted` is than `baseline` (positive = worse):
    /// the drop of a score where higher is better, the rise of log loss.
    pub fn loss_of(self, baseline: f64, permuted: f64) -> f64 {
        match self {
            Scoring::LogLoss => permuted - baseline,
            _ => baseline - permuted,
        }
    }

    /// Refuses a scoring that does not fit the model, judged on its full
    /// output for the unshuffled rows (`output`) and on the target, as
    /// scikit-learn refuses to score continuous predictions as classes:
    /// a classification scoring on a model with no `p_<class>` column whose
    /// `prediction` holds a non-integral number (a regressor), or on a
    /// target that does; a regression scoring on a model with `p_<class>`
    /// columns or text or boolean predictions (a classifier), or on a
    /// target that is not numeric; `roc_auc` on a target of more than two
    /// classes.
    pub fn check_fits(self, output: &Table, target: &Column) -> Result<(), StepError> {
        let name = self.name();
        let probabilities: Vec<&str> = output
            .names()
            .into_iter()
            .filter(|n| n.starts_with("p_"))
            .collect();
        let prediction = output.column("prediction").map_err(|_| {
            StepError::invalid_input(format!(
                "the model's output has no 'prediction' column; columns: {}",
                output.names().join(", ")
            ))
        })?;
        if self.for_classifiers() {
            if let (true, Some(x)) = (probabilities.is_empty(), continuous(prediction)) {
                return Err(StepError::invalid_params(format!(
                    "scoring '{name}' scores a classifier, but the model under test is a \
                     regressor: its 'prediction' holds continuous numbers ({x}) and it gives \
                     no p_<class> columns; score a regressor with {REGRESSOR_SCORINGS}"
                )));
            }
            if let Some(x) = continuous(target) {
                return Err(StepError::invalid_params(format!(
                    "scoring '{name}' scores class labels, but the target '{}' holds \
                     continuous numbers ({x}); score a regressor with {REGRESSOR_SCORINGS}",
                    target.name
                )));
            }
            if self == Scoring::RocAuc {
                let classes = distinct_labels(target);
                if classes > 2 {
                    return Err(StepError::invalid_params(format!(
                        "scoring 'roc_auc' is binary (as scikit-learn's 'roc_auc' scorer), \
                         but the target '{}' holds {classes} classes; use accuracy or log_loss",
                        target.name
                    )));
                }
            }
            return Ok(());
        }
        let labels = matches!(prediction.values, Values::Str(_) | Values::Bool(_));
        if !probabilities.is_empty() || labels {
            let why = if probabilities.is_empty() {
                "its 'prediction' holds labels".to_string()
            } else {
                format!("its output has {}", probabilities.join(", "))
            };
            return Err(StepError::invalid_params(format!(
                "scoring '{name}' scores a regressor, but the model under test is a \
                 classifier ({why}); score a classifier with {CLASSIFIER_SCORINGS}"
            )));
        }
        if matches!(target.values, Values::Str(_) | Values::Bool(_)) {
            return Err(StepError::invalid_params(format!(
                "scoring '{name}' scores a regressor, but the target '{}' is not numeric; \
                 score a classifier with {CLASSIFIER_SCORINGS}",
                target.name
            )));
        }
        Ok(())
    }

    /// The score of `predictions` against `target`.
    pub fn score(
        self,
        predictions: &Table,
        target: &Column,
        positive: &str,
    ) -> Result<f64, StepError> {
        match self {
            Scoring::Accuracy => metrics::accuracy_of(predictions, target, positive),
            Scoring::LogLoss => Ok(ScoredRows::new(predictions, target, positive)?.log_loss()),
            Scoring::RocAuc => ScoredRows::new(predictions, target, positive)?
                .roc_auc()
                .ok_or_else(|| {
                    StepError::invalid_input(format!(
                        "scoring 'roc_auc' needs both classes in the target '{}', which holds \
                         only one (positive class '{positive}')",
                        target.name
                    ))
                }),
            Scoring::R2 | Scoring::NegMeanSquaredError | Scoring::NegMeanAbsoluteError => {
                let (truth, predicted) = metrics::regressed_rows(predictions, target)?;
                let s = metrics::regression_scores(&truth, &predicted);
                Ok(match self {
                    Scoring::R2 => s.r2,
                    Scoring::NegMeanSquaredError => -s.mse,
                    _ => -s.mae,
                })
            }
        }
    }
}

/// The first finite, non-integral value of a float column (what makes
/// scikit-learn's `type_of_target` say "continuous"), if any.
fn continuous(column: &Column) -> Option<f64> {
    match &column.values {
        Values::F64(v) => v
            .iter()
            .enumerate()
            .find(|&(i, x)| !column.is_null(i) && x.is_finite() && x.fract() != 0.0)
            .map(|(_, &x)| x),
        _ => None,
    }
}

/// How many distinct non-null labels `column` holds (compared as text).
fn distinct_labels(column: &Column) -> usize {
    let mut labels: Vec<String> = (0..column.len())
        .filter_map(|i| column.value_text(i))
        .collect();
    labels.sort();
    labels.dedup();
    labels.len()
}
