//! `permutation-importance`: how much the model under test relies on each
//! feature, measured by shuffling it.
//!
//! Params: `n_repeats` (integer, 5), `seed` (integer, 0), `scoring` (text,
//! default `accuracy`), `positive` (text, `"1"`: the positive class, whose
//! `p_<positive>` column `log_loss` and `roc_auc` score).
//!
//! Scorings, as scikit-learn's scorers of the same names:
//!
//! - classifiers: `accuracy` (share of correct `prediction`s), `roc_auc`
//!   (binary ROC AUC of `p_<positive>`; a target of more than two classes
//!   is refused, as scikit-learn's `roc_auc` scorer refuses it) and
//!   `log_loss` (binary log loss of `p_<positive>`, clipped at machine
//!   epsilon: scikit-learn's `neg_log_loss` with the sign turned, so lower
//!   is better and a rise is importance);
//! - regressors: `r2` (`r2_score`), `neg_mean_squared_error` and
//!   `neg_mean_absolute_error` (minus the error, so higher is better).
//!
//! A scoring that does not fit the model is an invalid-params error, found
//! on the baseline predictions before any shuffle (the host cannot know
//! at plan time what a trainer's model will be): a classification scoring
//! on a regressor (no `p_<class>` columns and a `prediction` with
//! non-integral numbers: scikit-learn raises on such continuous values
//! too) or on a continuous target, a regression scoring on a classifier
//! (`p_<class>` columns, or text or boolean predictions) or on a target
//! that is not numeric.
//!
//! Needs the target. The model is scored on the features as given (all
//! its output columns, which tell a classifier from a regressor), then
//! once per feature and repeat with that feature's rows shuffled (values
//! and null mask together, by a seeded Fisher-Yates shuffle: one seed per
//! feature and repeat, drawn from `seed`). The features cross into the
//! model once (`model.hold`); each shuffle is a request of
//! `model.predict-each` that the host answers by permuting the held column
//! itself, asking only for the columns the scoring reads (`prediction`
//! for accuracy, which spares the model its probabilities), with the
//! answer `predict` would give on the whole shuffled table. Many requests
//! go in one call, which the host may answer on more than one core. A
//! feature's importance is the mean drop of the score (`baseline -
//! permuted`, as `sklearn.inspection.permutation_importance`), or the mean
//! rise of log loss: larger means more important. `baseline_score` is the
//! score itself (negative for the `neg_` scorings, as in scikit-learn).
//! `global` is sorted by importance, highest first, ties by name. Metrics:
//! `baseline_score`, `features`. Same inputs and seed, same bytes out.

mod scoring;

pub use scoring::Scoring;
use sluice_sdk::model::PredictionRequest;
use sluice_sdk::{
    Column, Explainer, Explanation, ParamSpec, Params, PluginInfo, StepError, Table, model,
    progress,
};

pub use sluice_sdk::random::SplitMix64;

/// The settings of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub n_repeats: usize,
    pub seed: u64,
    pub scoring: Scoring,
    pub positive: String,
}

/// At most this many bytes of predictions per model call (at least one
/// request's).
const CALL_BYTES: usize = 64 << 20;

/// Permutation importance of every feature, scored by the model under
/// test: the features cross into it once (`model::hold`); each shuffle is
/// then a request the host answers by permuting the held column itself
/// (`model::predict_each`), asking for the columns the scoring needs only.
pub fn permutation_importance(
    mut features: Table,
    target: &Column,
    settings: &Settings,
) -> Result<Explanation, StepError> {
    let outputs = settings.scoring.outputs(&settings.positive);
    if (0..target.len()).all(|i| target.is_null(i)) {
        return Err(StepError::invalid_input(format!(
            "no rows to score: the target '{}' is null in every row",
            target.name
        )));
    }
    let score = |predictions: Table| {
        settings
            .scoring
            .score(&predictions, target, &settings.positive)
    };
    model::hold(&mut features)?;
    // The baseline asks for every column: whether the model gives
    // probabilities tells a classifier from a regressor, so a scoring that
    // does not fit the model is refused before any shuffle.
    let full = model::predict_each(vec![PredictionRequest::new()])?.remove(0);
    settings.scoring.check_fits(&full, target)?;
    let baseline = score(full)?;
    let rows = features.num_rows();
    let n = features.num_columns();
    let total = (n * settings.n_repeats) as u64;
    // One seed per feature and repeat, drawn in that order: the shuffle of
    // feature j's repeat r is `SplitMix64::new(seeds[j][r]).shuffle`.
    let mut rng = SplitMix64::new(settings.seed);
    let shuffles: Vec<(usize, u64)> = (0..n)
        .flat_map(|j| (0..settings.n_repeats).map(move |_| j))
        .map(|j| (j, rng.next_u64()))
        .collect();
    // As many requests per call as keep its answers within CALL_BYTES; the
    // host may answer a call's requests on more than one core.
    let per_call = (CALL_BYTES / (rows.max(1) * 8 * outputs.len())).max(1);
    let mut sums = vec![0.0; n];
    let mut done = 0;
    for call in shuffles.chunks(per_call) {
        let requests = call
            .iter()
            .map(|&(j, seed)| {
                PredictionRequest::new()
                    .permute(features.columns[j].name.clone(), seed)
                    .outputs(outputs.clone())
            })
            .collect();
        let answers = model::predict_each(requests)?;
        for (&(j, _), predictions) in call.iter().zip(answers) {
            sums[j] += settings.scoring.loss_of(baseline, score(predictions)?);
            done += 1;
        }
        progress(done, total);
    }
    let mut importances: Vec<(String, f64)> = features
        .columns
        .iter()
        .zip(sums)
        .map(|(c, sum)| (c.name.clone(), sum / settings.n_repeats.max(1) as f64))
        .collect();
    importances.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));

    let mut explanation = Explanation::new();
    for (feature, score) in importances {
        explanation.attribution(feature, score);
    }
    explanation.metric("baseline_score", baseline);
    explanation.metric("features", features.num_columns() as f64);
    Ok(explanation)
}

pub struct PermutationImportance;

impl Explainer for PermutationImportance {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "permutation-importance",
            env!("CARGO_PKG_VERSION"),
            "Permutation feature importance of the model under test: the mean loss of \
             score when a feature's rows are shuffled.",
        )
        .metrics(&["baseline_score", "features"])
        .param(ParamSpec::integer("n_repeats", 5, "shuffles per feature").at_least(1.0))
        .param(ParamSpec::integer("seed", 0, "seed of the shuffles"))
        .param(
            ParamSpec::text(
                "scoring",
                "accuracy",
                "classifiers: accuracy, roc_auc (binary; a drop is importance) or log_loss (a \
             rise is importance); regressors: r2, neg_mean_squared_error or \
             neg_mean_absolute_error (a drop is importance)",
            )
            .choices(&[
                "accuracy",
                "log_loss",
                "roc_auc",
                "r2",
                "neg_mean_squared_error",
                "neg_mean_absolute_error",
            ]),
        )
        .param(ParamSpec::text(
            "positive",
            "1",
            "the positive class, as text (log_loss and roc_auc score the model's \
             p_<positive>)",
        ))
    }

    fn explain(
        features: Table,
        target: Option<Column>,
        params: Params,
    ) -> Result<Explanation, StepError> {
        let n_repeats = params.integer("n_repeats")?;
        if n_repeats < 1 {
            return Err(StepError::invalid_params(format!(
                "param 'n_repeats' must be at least 1, got {n_repeats}"
            )));
        }
        let settings = Settings {
            n_repeats: n_repeats as usize,
            // Negative seeds are fine: they name other streams.
            seed: params.integer("seed")? as u64,
            scoring: Scoring::parse(params.text("scoring")?)?,
            positive: params.text("positive")?.to_string(),
        };
        let target = target.ok_or_else(|| {
            StepError::invalid_input("permutation-importance needs the target column")
        })?;
        // The table crosses once; each call sends only the shuffled column.
        permutation_importance(features, &target, &settings)
    }
}

sluice_sdk::export_explainer!(PermutationImportance);

#[cfg(test)]
mod tests;
