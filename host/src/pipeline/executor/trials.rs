//! Running a trainer step's hyperparameter search (see
//! [`crate::pipeline::search`]): every trial on every fold as its own
//! sandboxed train + predict, in parallel up to the tenant's concurrency
//! cap, each trial recorded as it finishes.

use super::{RunCtx, RunObserver, StepAbort, take_label};
use crate::data;
use crate::meta::{StepStatus, TrialRecord};
use crate::pipeline::plan::PlannedStep;
use crate::pipeline::search::{Search, Validation, mean, score};
use crate::runtime::StepContext;
use crate::wit;
use arrow::record_batch::RecordBatch;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// The rows of one fold, as the trainer and the scorer see them.
struct Fold {
    train_features: wit::Table,
    train_label: wit::Column,
    valid_features: wit::Table,
    valid_label: wit::Column,
}

/// What a search found.
pub(super) struct Found {
    /// The best trial's index.
    pub best: usize,
    /// Every trial, as recorded.
    pub trials: Vec<TrialRecord>,
}

impl Found {
    /// What the search adds to the step's metrics: the best mean score as
    /// `search_<metric>`, `search_trials` and `search_failed`.
    pub fn metrics(&self, search: &Search) -> [(String, f64); 3] {
        let best = self.trials[self.best]
            .score
            .expect("the best trial has a score");
        let failed = self.trials.iter().filter(|t| t.score.is_none()).count();
        [
            (format!("search_{}", search.metric.name()), best),
            ("search_trials".into(), self.trials.len() as f64),
            ("search_failed".into(), failed as f64),
        ]
    }

    /// The search's output artifact: every trial's params and scores and the
    /// best one. Only what the inputs determine is in it (no timings), so
    /// `sluice verify` can compare it by digest.
    pub fn report(&self, search: &Search) -> Value {
        json!({
            "search": search.describe(),
            "best_trial": self.best,
            "best_params": self.trials[self.best].params,
            "best_score": self.trials[self.best].score,
            "trials": self.trials.iter().map(|t| json!({
                "trial": t.trial,
                "params": t.params,
                "status": t.status,
                "score": t.score,
                "fold_scores": t.fold_scores,
                "metrics": t.metrics,
                "error": t.error,
            })).collect::<Vec<_>>(),
        })
    }
}

impl RunCtx<'_> {
    /// Runs every trial of `search` on `train` (the step's train part,
    /// target included). [`StepAbort::Failed`] when no trial succeeded
    /// or the data cannot be split.
    pub(super) async fn run_search(
        &self,
        step: &PlannedStep,
        search: &Search,
        ctx: &StepContext,
        train: &RecordBatch,
        log: &mut String,
        observer: &dyn RunObserver,
    ) -> Result<Found, StepAbort> {
        let target = step
            .target
            .as_deref()
            .expect("the planner checked the target");
        let folds = match self.folds(search, step.seed, train, target) {
            Ok(f) => Arc::new(f),
            Err(e) => {
                return Err(StepAbort::Failed(format!(
                    "step '{}': search: {e}",
                    step.id
                )));
            }
        };
        let total = search.trials.len();
        let done = AtomicUsize::new(0);
        // How many fold fits run at once, now and at most (for the log).
        let (active, peak) = (AtomicUsize::new(0), AtomicUsize::new(0));
        log.push_str(&format!(
            "[sluice] search: {total} trial(s) x {} fold(s), metric {}\n",
            folds.len(),
            search.metric.name()
        ));
        let runs = search.trials.iter().enumerate().map(|(index, trial)| {
            let folds = folds.clone();
            let (done, active, peak) = (&done, &active, &peak);
            async move {
                let fold_runs = (0..folds.len()).map(|f| {
                    let folds = folds.clone();
                    let params = trial.params.clone();
                    async move {
                        let _permit = self
                            .scheduler
                            .acquire(&self.tenant.name, self.tenant.caps.concurrency)
                            .await;
                        let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        let started = Instant::now();
                        let out = self.fold_run(step, search, ctx, params, folds, f).await;
                        active.fetch_sub(1, Ordering::SeqCst);
                        (out, started.elapsed())
                    }
                });
                let results = futures::future::join_all(fold_runs).await;
                // The trial's own time: its fits, not the wait for a slot.
                let busy: std::time::Duration = results.iter().map(|(_, t)| *t).sum();
                let results = results.into_iter().map(|(out, _)| out);
                let mut log = String::new();
                let mut scores = Vec::new();
                let mut metric_sums: BTreeMap<String, f64> = BTreeMap::new();
                let mut error = None;
                for (f, (result, fold_log)) in results.enumerate() {
                    log.push_str(&fold_log);
                    match result {
                        Ok((s, metrics)) => {
                            scores.push(s);
                            for (k, v) in metrics {
                                *metric_sums.entry(k).or_default() += v;
                            }
                        }
                        Err(e) if error.is_none() => error = Some(format!("fold {f}: {e}")),
                        Err(_) => {}
                    }
                }
                let ok = error.is_none();
                let n = scores.len() as f64;
                let record = TrialRecord {
                    trial: index as i64,
                    params: trial.searched.clone(),
                    status: if ok {
                        StepStatus::Succeeded
                    } else {
                        StepStatus::Failed
                    }
                    .as_str()
                    .into(),
                    metric: search.metric.name().into(),
                    score: ok.then(|| mean(&scores)),
                    fold_scores: scores,
                    metrics: if ok {
                        metric_sums.into_iter().map(|(k, v)| (k, v / n)).collect()
                    } else {
                        BTreeMap::new()
                    },
                    error,
                    duration_ms: busy.as_millis() as i64,
                    best: false,
                };
                self.meta
                    .record_trial(&self.run_id, &step.id, &record)
                    .await?;
                let finished = done.fetch_add(1, Ordering::SeqCst) + 1;
                observer.trial_finished(&step.id, finished, total, &record);
                Ok::<_, super::ExecError>((record, log))
            }
        });
        let mut trials = Vec::with_capacity(total);
        for outcome in futures::future::join_all(runs).await {
            let (record, trial_log) = outcome?;
            log.push_str(&trial_log);
            log.push_str(&match (&record.score, &record.error) {
                (Some(s), _) => format!(
                    "[sluice] trial {} {}: {} = {s}\n",
                    record.trial,
                    record.params,
                    search.metric.name()
                ),
                (None, e) => format!(
                    "[sluice] trial {} {} failed: {}\n",
                    record.trial,
                    record.params,
                    e.as_deref().unwrap_or("?")
                ),
            });
            trials.push(record);
        }
        // The best: highest (or lowest) mean score, the earlier trial on a
        // tie; NaN never wins.
        let mut best: Option<usize> = None;
        for (i, t) in trials.iter().enumerate() {
            let Some(s) = t.score.filter(|s| !s.is_nan()) else {
                continue;
            };
            let beats = match best {
                None => true,
                Some(b) => search
                    .metric
                    .better(s, trials[b].score.expect("best has a score")),
            };
            if beats {
                best = Some(i);
            }
        }
        let Some(best) = best else {
            let first = trials
                .iter()
                .find_map(|t| t.error.as_ref().map(|e| format!("trial {}: {e}", t.trial)))
                .unwrap_or_else(|| "every score was NaN".into());
            return Err(StepAbort::Failed(format!(
                "step '{}': search: none of the {total} trial(s) succeeded; {first}",
                step.id
            )));
        };
        log.push_str(&format!(
            "[sluice] search: at most {} fit(s) ran at once (tenant '{}' may run {})\n",
            peak.load(Ordering::SeqCst),
            self.tenant.name,
            self.tenant.caps.concurrency
        ));
        trials[best].best = true;
        self.meta
            .mark_best_trial(&self.run_id, &step.id, best as i64)
            .await?;
        log.push_str(&format!(
            "[sluice] search: best trial {best} {} with {} = {}; training on the whole train part\n",
            trials[best].params,
            search.metric.name(),
            trials[best].score.expect("best has a score")
        ));
        Ok(Found { best, trials })
    }

    /// The folds of the search's validation: k folds, or one holdout.
    fn folds(
        &self,
        search: &Search,
        seed: u64,
        train: &RecordBatch,
        target: &str,
    ) -> Result<Vec<Fold>, String> {
        let stratify = search.validation.stratify().then_some(target);
        let rows = train.num_rows();
        // Each row's fold, and how many folds are validated.
        let (assignment, k): (Vec<usize>, usize) = match search.validation {
            Validation::Folds { k, .. } => {
                if rows < k {
                    return Err(format!(
                        "{k} folds need at least {k} rows; the train part has {rows}"
                    ));
                }
                let folds = data::assign_folds(train, k, seed, stratify);
                (folds.map_err(|e| e.to_string())?, k)
            }
            // Fold 0 is the holdout, fold 1 the rest (never a validation fold).
            Validation::Holdout { share, .. } => {
                let mask = data::holdout_mask(train, share, seed, stratify);
                let folds = mask.map_err(|e| e.to_string())?.into_iter();
                (folds.map(|h| if h { 0 } else { 1 }).collect(), 1)
            }
        };
        let mut folds = Vec::with_capacity(k);
        for f in 0..k {
            let (valid, fit): (Vec<u64>, Vec<u64>) =
                (0..rows as u64).partition(|&r| assignment[r as usize] == f);
            if valid.is_empty() || fit.is_empty() {
                return Err(format!(
                    "fold {f} would have {} validation and {} training rows; \
                     use fewer folds or a larger holdout",
                    valid.len(),
                    fit.len()
                ));
            }
            let fold_rows = |rows: Vec<u64>| -> Result<(wit::Table, wit::Column), String> {
                let batch = data::take(train, rows).map_err(|e| e.to_string())?;
                let table = data::batch_to_table(&batch).map_err(|e| e.to_string())?;
                let (features, label) = take_label(table, Some(target));
                Ok((
                    features,
                    label.expect("the target column is in the train part"),
                ))
            };
            let (train_features, train_label) = fold_rows(fit)?;
            let (valid_features, valid_label) = fold_rows(valid)?;
            folds.push(Fold {
                train_features,
                train_label,
                valid_features,
                valid_label,
            });
        }
        Ok(folds)
    }

    /// Train one trial's params on one fold and score its validation rows:
    /// the score and the trainer's metrics, or the failure; and the log.
    async fn fold_run(
        &self,
        step: &PlannedStep,
        search: &Search,
        ctx: &StepContext,
        params: Vec<wit::Param>,
        folds: Arc<Vec<Fold>>,
        f: usize,
    ) -> (Result<(f64, Vec<(String, f64)>), String>, String) {
        let mut log = String::new();
        let trained = {
            let folds = folds.clone();
            self.call_with(
                step,
                ctx,
                params,
                &mut log,
                move |rt, p, ctx, params| async move {
                    let fold = &folds[f];
                    rt.train(&p, &ctx, &fold.train_features, &fold.train_label, &params)
                        .await
                },
            )
            .await
        };
        let trained = match trained {
            Ok(t) => t,
            Err(e) => return (Err(e), log),
        };
        let model = Arc::new(trained.model);
        let predicted = {
            let folds = folds.clone();
            self.call_with(
                step,
                ctx,
                Vec::new(),
                &mut log,
                move |rt, p, ctx, _| async move {
                    rt.predict(&p, &ctx, &model, &folds[f].valid_features).await
                },
            )
            .await
        };
        let result = predicted.and_then(|out| {
            score(search.metric, &search.positive, &out, &folds[f].valid_label).map(|s| {
                (
                    s,
                    trained
                        .metrics
                        .iter()
                        .map(|m| (m.name.clone(), m.value))
                        .collect(),
                )
            })
        });
        (result, log)
    }
}
