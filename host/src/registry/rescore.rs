//! The champion measured again on the challenger's holdout, so that a
//! gate relative to an alias (`evaluate.roc_auc >= production - 0.01`)
//! compares two models on the same rows, not each on its own holdout
//! (which, for a dataset that grows, are different days).
//!
//! The challenger's evaluators are the validator steps of its pipeline
//! that read its trainer's model on the holdout of the trainer's own
//! input (validators in between pass rows on unchanged). Each runs again,
//! the same plugin with the same params and seed, on the challenger's
//! holdout rows put through the champion's chain, with the champion's
//! model bound to its `model` import: the numbers it reports are the
//! champion's on the challenger's holdout, under the same metric names.

use super::{ModelVersion, Registry, RegistryError};
use crate::pipeline::Plan;
use crate::pipeline::definition::Part;
use crate::pipeline::plan::{PlannedStep, Source};
use crate::runtime::{Plugin, Runtime, StepContext, StepLimits, World};
use crate::wit;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A step of the challenger's pipeline that evaluates its model on the
/// holdout of the trainer's input: see [`evaluators`].
#[derive(Clone)]
pub struct Evaluator {
    /// The step's id: its metrics are `ID.METRIC`.
    pub step_id: String,
    /// Its plugin.
    pub plugin: Arc<Plugin>,
    /// Its params, as the plugin saw them in the run.
    pub params: Vec<wit::Param>,
    /// Its seed in the run.
    pub seed: u64,
}

/// The evaluator steps of `plan` for the model its step `trainer` trains:
/// validators with `model = trainer` reading the holdout of the trainer's
/// own input (through any validators, which pass rows on unchanged).
pub fn evaluators(plan: &Plan, trainer: &str) -> Vec<Evaluator> {
    fn step<'p>(plan: &'p Plan, id: &str) -> Option<&'p PlannedStep> {
        plan.steps.iter().find(|s| s.id == id)
    }
    // A source, followed back through validators to the table they pass on.
    let rows_of = |source: &Source| {
        let mut source = source.clone();
        while let Source::Step(id) = &source {
            match step(plan, id) {
                Some(s) if s.world() == World::Validator => source = s.input.clone(),
                _ => break,
            }
        }
        source
    };
    let Some(trained) = step(plan, trainer) else {
        return Vec::new();
    };
    let rows = rows_of(&trained.input);
    plan.steps
        .iter()
        .filter(|s| {
            s.world() == World::Validator
                && s.model.as_deref() == Some(trainer)
                && s.on == Part::Holdout
                && s.reference.is_none()
                && rows_of(&s.input) == rows
        })
        .map(|s| Evaluator {
            step_id: s.id.clone(),
            plugin: s.plugin.clone(),
            params: s.params.clone(),
            seed: s.seed,
        })
        .collect()
}

/// The champion's numbers on the challenger's holdout: see [`Registry::rescore`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rescored {
    /// The champion measured.
    pub champion: i64,
    /// The challenger whose holdout it was measured on.
    pub challenger: i64,
    /// The holdout's rows.
    pub rows: usize,
    /// `step.metric` as each evaluator reported it for the champion.
    pub metrics: BTreeMap<String, f64>,
}

impl Registry {
    /// Measure `champion` again on `challenger`'s holdout rows with the
    /// challenger's `evaluators` (see [`evaluators`]), each call under
    /// `limits`. An error says why it cannot be done (no holdout, the
    /// rows lack a column the champion reads, a plugin failed); the
    /// caller then falls back on each version's own numbers.
    pub async fn rescore(
        &self,
        runtime: &Runtime,
        champion: &ModelVersion,
        challenger: &ModelVersion,
        evaluators: &[Evaluator],
        limits: StepLimits,
    ) -> Result<Rescored, RegistryError> {
        let who = |v: &ModelVersion| format!("{}:{}", v.name, v.version);
        let invalid = |what: String| RegistryError::Invalid(what);
        if evaluators.is_empty() {
            return Err(invalid(format!(
                "{}'s pipeline has no step evaluating its model on the holdout",
                who(challenger)
            )));
        }
        let target = challenger
            .target
            .as_deref()
            .ok_or_else(|| invalid(format!("{} has no target column", who(challenger))))?;
        if champion.target.as_deref() != Some(target) {
            return Err(invalid(format!(
                "{} predicts `{}`, not `{target}`",
                who(champion),
                champion.target.as_deref().unwrap_or("nothing")
            )));
        }
        let digest = challenger.data.holdout.as_ref().ok_or_else(|| {
            invalid(format!(
                "{} has no holdout (its dataset has no split)",
                who(challenger)
            ))
        })?;
        let bytes = self.artifacts.get(digest).await?;
        let holdout = crate::data::read_parquet(&bytes)
            .map_err(|e| invalid(format!("reading {}'s holdout: {e}", who(challenger))))?;
        let rows = holdout.num_rows();
        let mut table = crate::data::batch_to_table(&holdout)?;
        let label = table
            .columns
            .iter()
            .find(|c| c.name == target)
            .cloned()
            .ok_or_else(|| invalid(format!("the holdout has no target column `{target}`")))?;
        table.columns.retain(|c| c.name != target);
        let prepared = self.prepare(runtime, champion).await?;
        let features = prepared.features(table)?;
        let mut transformed = prepared
            .transform(runtime, features, limits)
            .await
            .map_err(|e| invalid(format!("{}'s chain: {e}", who(champion))))?;
        transformed.columns.push(label);
        let mut metrics = BTreeMap::new();
        for e in evaluators {
            let mut ctx = StepContext::new(e.step_id.clone(), limits, e.seed);
            ctx.model = Some(prepared.binding(limits));
            let report = runtime
                .validate(&e.plugin, &ctx, &transformed, None, &e.params)
                .await
                .map_err(|err| {
                    invalid(format!(
                        "step `{}` on {} with {}: {err}",
                        e.step_id,
                        who(challenger),
                        who(champion)
                    ))
                })?
                .value;
            for m in report.metrics {
                metrics.insert(format!("{}.{}", e.step_id, m.name), m.value);
            }
        }
        Ok(Rescored {
            champion: champion.version,
            challenger: challenger.version,
            rows,
            metrics,
        })
    }
}
