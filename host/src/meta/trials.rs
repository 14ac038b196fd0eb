//! The trials of a trainer step's hyperparameter search.

use super::MetaError;
use super::store::{MetaStore, db};
use serde::Serialize;
use sqlx::Row;
use std::collections::BTreeMap;

type Result<T, E = MetaError> = std::result::Result<T, E>;

/// One trial of a search: a set of params scored on every fold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialRecord {
    /// 0-based, in the order the search generated the trials.
    pub trial: i64,
    /// The searched params of this trial (the step's other params are
    /// shared by every trial).
    pub params: serde_json::Value,
    /// `succeeded` or `failed`.
    pub status: String,
    /// The metric the search optimises, e.g. `roc_auc`.
    pub metric: String,
    /// The mean of `fold_scores` (absent for a failed trial).
    pub score: Option<f64>,
    /// The metric on each fold's validation rows (one entry for a holdout).
    pub fold_scores: Vec<f64>,
    /// The trainer's own metrics, averaged over the folds.
    pub metrics: BTreeMap<String, f64>,
    /// Why the trial failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Time spent in the trial's calls over all its folds, in milliseconds.
    pub duration_ms: i64,
    /// The trial whose params the step's model was trained with.
    pub best: bool,
}

/// NaN is stored as NULL (SQLite has no NaN) and `null` in JSON.
fn finite_or_none(x: f64) -> Option<f64> {
    (!x.is_nan()).then_some(x)
}

impl MetaStore {
    /// Records a finished trial of step `step_id` (replacing a record of
    /// the same trial, which a resumed run may have left).
    pub async fn record_trial(&self, run_id: &str, step_id: &str, t: &TrialRecord) -> Result<()> {
        let fold_scores: Vec<Option<f64>> =
            t.fold_scores.iter().copied().map(finite_or_none).collect();
        let metrics: BTreeMap<&String, Option<f64>> = t
            .metrics
            .iter()
            .map(|(k, v)| (k, finite_or_none(*v)))
            .collect();
        sqlx::query(
            "INSERT OR REPLACE INTO step_trials (run_id, step_id, trial, params_json, status, \
             metric, score, fold_scores_json, metrics_json, error, duration_ms, best) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(run_id)
        .bind(step_id)
        .bind(t.trial)
        .bind(t.params.to_string())
        .bind(&t.status)
        .bind(&t.metric)
        .bind(t.score.and_then(finite_or_none))
        .bind(serde_json::to_string(&fold_scores).expect("numbers serialize"))
        .bind(serde_json::to_string(&metrics).expect("numbers serialize"))
        .bind(&t.error)
        .bind(t.duration_ms)
        .bind(t.best)
        .execute(&self.pool)
        .await
        .map_err(db(format!(
            "record trial {} of step `{step_id}` in run `{run_id}`",
            t.trial
        )))?;
        Ok(())
    }

    /// Marks trial `trial` as the one the step's model was trained with.
    pub async fn mark_best_trial(&self, run_id: &str, step_id: &str, trial: i64) -> Result<()> {
        sqlx::query("UPDATE step_trials SET best = (trial = ?) WHERE run_id = ? AND step_id = ?")
            .bind(trial)
            .bind(run_id)
            .bind(step_id)
            .execute(&self.pool)
            .await
            .map_err(db(format!(
                "mark the best trial of step `{step_id}` in run `{run_id}`"
            )))?;
        Ok(())
    }

    /// The trials of one step, in trial order (empty for a step without a
    /// search).
    pub async fn trials_of(&self, run_id: &str, step_id: &str) -> Result<Vec<TrialRecord>> {
        let trials = self.trials_in(run_id, Some(step_id)).await?;
        Ok(trials.into_iter().map(|(_, t)| t).collect())
    }

    /// The trials of every step of a run (`step_id` given: of that step),
    /// as `(step_id, trial)` in step and trial order.
    pub(super) async fn trials_in(
        &self,
        run_id: &str,
        step_id: Option<&str>,
    ) -> Result<Vec<(String, TrialRecord)>> {
        let action = || format!("read the trials of run `{run_id}`");
        let rows = sqlx::query(
            "SELECT step_id, trial, params_json, status, metric, score, fold_scores_json, \
             metrics_json, error, duration_ms, best FROM step_trials \
             WHERE run_id = ?1 AND (?2 IS NULL OR step_id = ?2) ORDER BY step_id, trial",
        )
        .bind(run_id)
        .bind(step_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db(action()))?;
        rows.iter()
            .map(
                |r| -> std::result::Result<(String, TrialRecord), sqlx::Error> {
                    let params: String = r.try_get("params_json")?;
                    let folds: String = r.try_get("fold_scores_json")?;
                    let metrics: String = r.try_get("metrics_json")?;
                    let folds: Vec<Option<f64>> = serde_json::from_str(&folds).unwrap_or_default();
                    let metrics: BTreeMap<String, Option<f64>> =
                        serde_json::from_str(&metrics).unwrap_or_default();
                    let trial = TrialRecord {
                        trial: r.try_get("trial")?,
                        params: serde_json::from_str(&params).unwrap_or(serde_json::Value::Null),
                        status: r.try_get("status")?,
                        metric: r.try_get("metric")?,
                        score: r.try_get("score")?,
                        fold_scores: folds.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect(),
                        metrics: metrics
                            .into_iter()
                            .map(|(k, v)| (k, v.unwrap_or(f64::NAN)))
                            .collect(),
                        error: r.try_get("error")?,
                        duration_ms: r.try_get("duration_ms")?,
                        best: r.try_get("best")?,
                    };
                    Ok((r.try_get("step_id")?, trial))
                },
            )
            .collect::<std::result::Result<_, _>>()
            .map_err(db(action()))
    }

    /// Copies the trials of a step whose outputs another run reuses, so
    /// `sluice runs show` of the reusing run lists them too.
    pub async fn copy_trials(&self, from: (&str, &str), to: (&str, &str)) -> Result<()> {
        sqlx::query(
            "INSERT OR REPLACE INTO step_trials (run_id, step_id, trial, params_json, status, \
             metric, score, fold_scores_json, metrics_json, error, duration_ms, best) \
             SELECT ?, ?, trial, params_json, status, metric, score, fold_scores_json, \
             metrics_json, error, duration_ms, best FROM step_trials \
             WHERE run_id = ? AND step_id = ?",
        )
        .bind(to.0)
        .bind(to.1)
        .bind(from.0)
        .bind(from.1)
        .execute(&self.pool)
        .await
        .map_err(db(format!(
            "copy the trials of step `{}` in run `{}`",
            from.1, from.0
        )))?;
        Ok(())
    }
}
