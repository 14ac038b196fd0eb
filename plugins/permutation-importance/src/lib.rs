//! `permutation-importance`: how much the model under test relies on each
//! feature, measured by shuffling it.
//!
//! Params: `n_repeats` (integer, 5), `seed` (integer, 0), `scoring` (text,
//! `accuracy` or `log_loss`, default `accuracy`), `positive` (text, `"1"`:
//! the positive class, whose `p_<positive>` column `log_loss` scores).
//!
//! Needs the target. The model is scored on the features as given, then
//! once per feature and repeat with that feature's rows shuffled (values
//! and null mask together, by a seeded Fisher-Yates shuffle). The features
//! cross into the model once (`model.hold`); each shuffle sends only the
//! shuffled column (`model.predict-replacing-each`, the shuffles of a few
//! features per call, which the host may answer on more than one core),
//! with the answer `predict` would give on the whole table. A feature's importance is the mean drop of
//! accuracy, or the mean rise of log loss: larger means more important.
//! `global` is sorted by importance, highest first, ties by name. Metrics:
//! `baseline_score`, `features`. Same inputs and seed, same bytes out.

use sluice_sdk::metrics::ScoredRows;
use sluice_sdk::{
    Column, Explainer, Explanation, ParamSpec, Params, PluginInfo, StepError, Table, Values, model,
    progress,
};

pub use sluice_sdk::random::SplitMix64;

/// What to score the model by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scoring {
    Accuracy,
    LogLoss,
}

impl Scoring {
    pub fn parse(text: &str) -> Result<Scoring, StepError> {
        match text {
            "accuracy" => Ok(Scoring::Accuracy),
            "log_loss" => Ok(Scoring::LogLoss),
            other => Err(StepError::invalid_params(format!(
                "param 'scoring' must be 'accuracy' or 'log_loss', got '{other}'"
            ))),
        }
    }

    fn score(self, rows: &ScoredRows) -> f64 {
        match self {
            Scoring::Accuracy => rows.accuracy(),
            Scoring::LogLoss => rows.log_loss(),
        }
    }

    /// How much worse `permuted` is than `baseline` (positive = worse).
    fn loss_of(self, baseline: f64, permuted: f64) -> f64 {
        match self {
            Scoring::Accuracy => baseline - permuted,
            Scoring::LogLoss => permuted - baseline,
        }
    }
}

/// The settings of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub n_repeats: usize,
    pub seed: u64,
    pub scoring: Scoring,
    pub positive: String,
}

/// The column with its rows (values and mask together) in the order of
/// `rng.permutation(rows)`, and `rng` where that leaves it: the same
/// Fisher-Yates swaps applied to a copy of the values (and of the mask),
/// without the index vector and the gather through it.
pub fn shuffled(column: &Column, rng: &mut SplitMix64) -> Column {
    fn swapped<T: Clone>(v: &[T], rng: &mut SplitMix64) -> Vec<T> {
        let mut v = v.to_vec();
        rng.shuffle(&mut v);
        v
    }
    // The mask takes the very swaps the values take: from a copy of the
    // stream as it was.
    let valid = column.valid.as_ref().map(|m| swapped(m, &mut rng.clone()));
    let values = match &column.values {
        Values::F64(v) => Values::F64(swapped(v, rng)),
        Values::I64(v) => Values::I64(swapped(v, rng)),
        Values::Bool(v) => Values::Bool(swapped(v, rng)),
        Values::Str(v) => Values::Str(swapped(v, rng)),
    };
    Column {
        name: column.name.clone(),
        values,
        valid,
    }
}

/// At most this many bytes of shuffled f64 columns per model call (at
/// least one feature's shuffles).
const CALL_BYTES: usize = 32 << 20;

/// Permutation importance of every feature, scored by the model under
/// test: the features cross into it once (`model::hold`), then only the
/// shuffled columns.
pub fn permutation_importance(
    mut features: Table,
    target: &Column,
    settings: &Settings,
) -> Result<Explanation, StepError> {
    let score = |predictions: Result<Table, StepError>| -> Result<f64, StepError> {
        let rows = ScoredRows::new(&predictions?, target, &settings.positive)?;
        if rows.is_empty() {
            return Err(StepError::invalid_input(format!(
                "no rows to score: the target '{}' is null in every row",
                target.name
            )));
        }
        Ok(settings.scoring.score(&rows))
    };
    model::hold(&mut features)?;
    let baseline = score(model::predict_replacing(Vec::new()))?;
    let rows = features.num_rows();
    let total = (features.num_columns() * settings.n_repeats) as u64;
    let mut rng = SplitMix64::new(settings.seed);
    let mut done = 0;
    let mut importances = Vec::with_capacity(features.num_columns());
    // The shuffles of a few features go to the model in one call, which
    // the host may answer on more than one core: as many features as keep
    // the shuffled columns of a call within CALL_BYTES (at least one).
    let n = features.num_columns();
    let per_call = (CALL_BYTES / (rows.max(1) * 8 * settings.n_repeats.max(1))).clamp(1, n.max(1));
    for first in (0..n).step_by(per_call) {
        let picked = first..(first + per_call).min(n);
        let mut shuffled = Vec::with_capacity(picked.len() * settings.n_repeats);
        for j in picked.clone() {
            for _ in 0..settings.n_repeats {
                shuffled.push(self::shuffled(&features.columns[j], &mut rng));
            }
        }
        let requests = shuffled.into_iter().map(|c| vec![c]).collect();
        let mut answers = model::predict_replacing_each(requests)?.into_iter();
        for j in picked {
            let mut sum = 0.0;
            for predictions in answers.by_ref().take(settings.n_repeats) {
                let permuted = score(Ok(predictions))?;
                sum += settings.scoring.loss_of(baseline, permuted);
                done += 1;
            }
            let mean = if settings.n_repeats == 0 {
                0.0
            } else {
                sum / settings.n_repeats as f64
            };
            importances.push((features.columns[j].name.clone(), mean));
        }
        progress(done, total);
    }
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
        .param(ParamSpec::integer("n_repeats", 5, "shuffles per feature"))
        .param(ParamSpec::integer("seed", 0, "seed of the shuffles"))
        .param(ParamSpec::text(
            "scoring",
            "accuracy",
            "accuracy (drop is importance) or log_loss (rise is importance)",
        ))
        .param(ParamSpec::text(
            "positive",
            "1",
            "the positive class, as text (log_loss scores the model's p_<positive>)",
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
mod tests {
    use super::*;
    use sluice_sdk::{ErrorKind, ParamValue};

    /// A model that predicts 1 when `a > 0` and ignores everything else;
    /// p_1 leans on `b` a little, so log loss sees `b` too.
    fn toy_model(t: &Table) -> Result<Table, StepError> {
        let a = t.column("a")?.to_f64_lossy()?;
        let b = t.column("b")?.to_f64_lossy()?;
        let p: Vec<f64> = a
            .iter()
            .zip(&b)
            .map(|(a, b)| if *a > 0.0 { 0.8 } else { 0.2 } + 0.1 * b)
            .collect();
        Ok(Table::new()
            .with(Column::f64("p_0", p.iter().map(|p| 1.0 - p).collect()))
            .with(Column::f64("p_1", p.clone()))
            .with(Column::i64(
                "prediction",
                a.iter().map(|&a| i64::from(a > 0.0)).collect(),
            )))
    }

    fn data() -> (Table, Column) {
        let n = 50;
        let a: Vec<f64> = (0..n)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let b: Vec<f64> = (0..n)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let c: Vec<i64> = (0..n).map(|i| i % 7).collect();
        let y: Vec<i64> = (0..n).map(|i| i64::from(i % 2 == 0)).collect();
        (
            Table::new()
                .with(Column::f64("a", a))
                .with(Column::f64("b", b))
                .with(Column::i64("c", c)),
            Column::i64("y", y),
        )
    }

    fn params(pairs: &[(&str, ParamValue)]) -> Params {
        Params::resolve(
            &PermutationImportance::describe().params,
            pairs.iter().map(|(n, v)| (n.to_string(), v.clone())),
        )
        .unwrap()
    }

    #[test]
    fn only_used_features_matter() {
        model::set_native_predictor(Box::new(toy_model));
        let (x, y) = data();
        let e = PermutationImportance::explain(x, Some(y), params(&[])).unwrap();
        assert_eq!(e.metric_value("baseline_score"), Some(1.0));
        assert_eq!(e.metric_value("features"), Some(3.0));
        assert_eq!(e.global[0].feature, "a");
        assert!(e.global[0].score > 0.3, "{:?}", e.global);
        // b and c do not change the predicted label: ties sorted by name.
        assert_eq!(e.global[1].feature, "b");
        assert_eq!(e.global[1].score, 0.0);
        assert_eq!(e.global[2].feature, "c");
        assert_eq!(e.global[2].score, 0.0);
    }

    #[test]
    fn log_loss_sees_probability_features() {
        model::set_native_predictor(Box::new(toy_model));
        let (x, y) = data();
        let e = PermutationImportance::explain(
            x,
            Some(y),
            params(&[("scoring", ParamValue::Text("log_loss".into()))]),
        )
        .unwrap();
        let score = |f: &str| e.global.iter().find(|a| a.feature == f).unwrap().score;
        assert!(
            score("a") > score("b") && score("b") > 0.0,
            "{:?}",
            e.global
        );
        assert_eq!(score("c"), 0.0);
    }

    #[test]
    fn deterministic_for_a_seed() {
        model::set_native_predictor(Box::new(toy_model));
        let (x, y) = data();
        let run = |seed: i64| {
            PermutationImportance::explain(
                x.clone(),
                Some(y.clone()),
                params(&[("seed", ParamValue::Integer(seed))]),
            )
            .unwrap()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7).global[0].score, run(8).global[0].score);
    }

    #[test]
    fn shuffled_puts_rows_in_the_order_of_the_permutation() {
        let n = 1000;
        let columns = [
            Column::f64("f", (0..n).map(|i| i as f64 * 0.5).collect()).with_nulls(&[3, 999]),
            Column::i64("i", (0..n as i64).collect()),
            Column::bool("b", (0..n).map(|i| i % 3 == 0).collect()).with_nulls(&[0]),
            Column::strings("s", (0..n).map(|i| format!("v{i}"))).with_nulls(&[5]),
        ];
        for column in &columns {
            let (mut a, mut b) = (SplitMix64::new(9), SplitMix64::new(9));
            let order = a.permutation(n);
            let got = shuffled(column, &mut b);
            for (row, &from) in order.iter().enumerate() {
                // Value and null mask move together (None: null).
                assert_eq!(
                    got.value_text(row),
                    column.value_text(from),
                    "{}",
                    column.name
                );
            }
            assert_ne!(got, *column, "{} was not shuffled", column.name);
            // The stream is left where the permutation leaves it.
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn needs_target_and_valid_params() {
        model::set_native_predictor(Box::new(toy_model));
        let (x, _) = data();
        let err = PermutationImportance::explain(x.clone(), None, params(&[])).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
        let err = PermutationImportance::explain(
            x,
            None,
            params(&[("scoring", ParamValue::Text("f1".into()))]),
        )
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidParams);
    }
}
