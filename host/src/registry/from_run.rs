//! A model version rebuilt from a recorded run: the trainer step's model,
//! the chain of fitted transforms back to its dataset (read from the run's
//! pipeline definition), the data digests, the input schema and the
//! metrics of every step that evaluated the model. Not where a version is
//! stored or numbered (that is [`Registry::register`]).

use super::{ChainStep, DataRef, ModelVersion, PluginRef, Registry, RegistryError, Result};
use crate::artifacts::ArtifactDigest;
use crate::meta::{RunRecord, StepRunRecord};
use crate::pipeline::definition::PipelineFile;
use chrono::{SecondsFormat, Utc};
use std::collections::BTreeMap;

pub(super) fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn output<'a>(s: &'a StepRunRecord, name: &str) -> Option<&'a ArtifactDigest> {
    s.outputs.iter().find(|(n, _)| n == name).map(|(_, d)| d)
}

fn input<'a>(s: &'a StepRunRecord, name: &str) -> Option<&'a ArtifactDigest> {
    s.inputs.iter().find(|(n, _)| n == name).map(|(_, d)| d)
}

fn plugin_ref(s: &StepRunRecord) -> PluginRef {
    PluginRef {
        step_id: s.step_id.clone(),
        name: s.plugin_name.clone(),
        version: s.plugin_version.clone(),
        sha256: s.plugin_sha256.clone(),
        params: serde_json::from_str(&s.params_json).unwrap_or(serde_json::Value::Null),
    }
}

impl Registry {
    /// Build a model version from a trainer step of a recorded run: walk the
    /// pipeline from the trainer's input back to its dataset, collecting
    /// each transform's fitted state.
    pub(super) async fn version_from_run(
        &self,
        run: &RunRecord,
        step_id: &str,
        name: &str,
    ) -> Result<ModelVersion> {
        let not = |reason: String| RegistryError::NotRegistrable {
            run: run.id.clone(),
            step: step_id.to_string(),
            reason,
        };
        let step = |id: &str| run.steps.iter().find(|s| s.step_id == id);
        let trainer = step(step_id).ok_or_else(|| not("the run has no such step".into()))?;
        if trainer.kind != "trainer" {
            return Err(not(format!("it is a {} step, not a trainer", trainer.kind)));
        }
        if trainer.status.to_string() != "succeeded" {
            return Err(not(format!("the step {}", trainer.status)));
        }
        let model = output(trainer, "model")
            .cloned()
            .ok_or_else(|| not("the step recorded no model".into()))?;
        let definition = self
            .meta
            .definition_by_sha256(&run.pipeline_sha256)
            .await?
            .ok_or_else(|| not("the run's pipeline definition is not recorded".into()))?;
        let file = PipelineFile::parse(&definition)
            .map_err(|e| not(format!("its pipeline no longer parses: {e}")))?;
        let inputs: BTreeMap<&str, &str> = file
            .steps
            .iter()
            .map(|s| (s.id.as_str(), s.input.as_str()))
            .collect();

        let mut chain = Vec::new();
        let mut current = *inputs
            .get(step_id)
            .ok_or_else(|| not("the step is not in the run's pipeline".into()))?;
        let dataset = loop {
            if file.datasets.contains_key(current) {
                break current.to_string();
            }
            let s = step(current)
                .ok_or_else(|| not(format!("upstream step `{current}` is not in the run")))?;
            if s.kind == "transform" {
                let state = output(s, "state").cloned().ok_or_else(|| {
                    not(format!("transform `{current}` recorded no fitted state"))
                })?;
                chain.push(ChainStep {
                    plugin: plugin_ref(s),
                    state,
                });
            }
            current = inputs
                .get(current)
                .ok_or_else(|| not(format!("step `{current}` has no input")))?;
        };
        chain.reverse();
        let dataset_step = format!("dataset:{dataset}");
        let ds = step(&dataset_step);
        let target = file.datasets.get(&dataset).and_then(|d| d.target.clone());
        let data = DataRef {
            dataset_step: dataset_step.clone(),
            source: ds.and_then(|s| input(s, "source")).cloned(),
            train: ds.and_then(|s| output(s, "train")).cloned(),
            holdout: ds.and_then(|s| output(s, "holdout")).cloned(),
        };
        let input_schema = match &data.train {
            Some(d) => {
                let bytes = self.artifacts.get(d).await?;
                let batch = crate::data::read_parquet(&bytes)?;
                crate::data::schema_summary(&batch)
                    .into_iter()
                    .filter(|(n, _)| Some(n) != target.as_ref())
                    .collect()
            }
            None => Vec::new(),
        };
        let mut metrics = BTreeMap::new();
        let mut explanation = None;
        for s in &run.steps {
            let evaluates = input(s, "model") == Some(&model);
            if s.step_id == step_id || evaluates {
                for (m, v) in &s.metrics {
                    metrics.insert(format!("{}.{m}", s.step_id), *v);
                }
            }
            if evaluates && let Some(e) = output(s, "explanation") {
                explanation = Some(e.clone());
            }
        }
        Ok(ModelVersion {
            name: name.to_string(),
            version: 0,
            run_id: run.id.clone(),
            step_id: step_id.to_string(),
            pipeline_name: run.pipeline_name.clone(),
            pipeline_version: run.pipeline_version.clone(),
            pipeline_sha256: run.pipeline_sha256.clone(),
            seed: run.seed as u64,
            created_at: now(),
            chain,
            trainer: plugin_ref(trainer),
            model,
            target,
            input_schema,
            metrics,
            data,
            holdout_predictions: output(trainer, "predictions").cloned(),
            explanation,
            monitoring: None,
            rollout: None,
        })
    }
}
