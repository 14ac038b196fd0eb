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
//! probabilities to `[eps, 1 - eps]` (`eps` the machine epsilon, as the
//! evaluator plugins), `roc_auc` is rank based with ties
//! averaged, `r2` is `1 - SS_res / SS_tot`. A trial's score is the mean
//! over its folds; the best is the highest (the lowest for `log_loss`,
//! `rmse`, `mae`), the earlier trial on a tie.
//!
//! Planning a search (checking the declaration, generating its trials) is
//! in `trials.rs`; scoring a model's output is in `score.rs`.

mod score;
#[cfg(test)]
mod tests;
mod trials;

use crate::wit;
use serde_json::{Value, json};

pub use score::score;
pub use trials::plan_search;

/// More trials than this is refused (a grid grows fast).
pub const MAX_TRIALS: usize = 1000;

/// The score a search ranks its trials by (`metric = "..."`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// The share of correct labels.
    Accuracy,
    /// The area under the ROC curve of the positive class.
    RocAuc,
    /// The mean log loss of the positive class's probability (lower is better).
    LogLoss,
    /// The F1 score of the positive class.
    F1,
    /// The root mean squared error (lower is better).
    Rmse,
    /// The mean absolute error (lower is better).
    Mae,
    /// The coefficient of determination, `1 - SS_res / SS_tot`.
    R2,
}

impl Metric {
    /// Every metric, in the order error messages list them.
    pub const ALL: [Metric; 7] = [
        Metric::Accuracy,
        Metric::RocAuc,
        Metric::LogLoss,
        Metric::F1,
        Metric::Rmse,
        Metric::Mae,
        Metric::R2,
    ];

    /// The metric's name in a pipeline (`roc_auc`, ...).
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

    /// The metric named `text`, if there is one.
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
    Folds {
        /// The number of folds.
        k: usize,
        /// Whether each fold keeps the classes' shares.
        stratify: bool,
    },
    /// One seeded holdout of this share of the train part.
    Holdout {
        /// The share of the train part held out, strictly between 0 and 1.
        share: f64,
        /// Whether the holdout keeps the classes' shares.
        stratify: bool,
    },
}

impl Validation {
    /// Whether the validation rows keep the classes' shares.
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
    /// Whether the trials were drawn at random (else: the whole grid).
    pub random: bool,
    /// How each trial is scored.
    pub validation: Validation,
    /// The score trials are ranked by.
    pub metric: Metric,
    /// The label of the positive class, as text (`"1"` by default), for the
    /// metrics of one class.
    pub positive: String,
    /// The trials, in the order they are recorded.
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

/// The mean of a trial's fold scores.
pub fn mean(scores: &[f64]) -> f64 {
    scores.iter().sum::<f64>() / scores.len() as f64
}
