//! Prediction from a registered model version: the raw features go
//! through each fitted transform's `apply` with its stored state, then the
//! trainer's `predict`, every call in its own sandbox, with the same seeds
//! as in the training run. So serving computes features exactly as
//! training did. The calls are async: they yield at every epoch tick, so
//! serving shares the async runtime's threads with everything else.

use super::{ModelVersion, Registry, RegistryError};
use crate::artifacts::ArtifactDigest;
use crate::pipeline::seed::step_seed;
use crate::runtime::{Plugin, Runtime, StepContext, StepFailure, StepLimits};
use crate::wit;
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use std::path::Path;
use std::sync::Arc;

impl Registry {
    /// Load a plugin by its sha256 from the artifact store (where every
    /// run keeps the components it ran). Loading compiles (or reads the
    /// compile cache), so it runs on a blocking thread; the calls of
    /// [`Registry::predict`] run on the async runtime itself.
    pub async fn plugin(
        &self,
        runtime: &Runtime,
        sha256: &str,
    ) -> Result<Arc<Plugin>, RegistryError> {
        let digest = ArtifactDigest::parse(sha256)?;
        let bytes = self.artifacts.get(&digest).await?;
        let runtime = runtime.clone();
        let label = format!("artifact:{sha256}");
        tokio::task::spawn_blocking(move || runtime.load_bytes(&bytes, Path::new(&label)))
            .await
            .map_err(|e| RegistryError::Invalid(format!("loading plugin {sha256}: {e}")))?
            .map_err(|e| RegistryError::Invalid(e.to_string()))
    }

    /// Predict with `version` for the rows of `input`. Columns are matched
    /// by name to the version's input schema (extra columns, including the
    /// target, are ignored; missing ones are an error naming them).
    pub async fn predict(
        &self,
        runtime: &Runtime,
        version: &ModelVersion,
        input: &RecordBatch,
    ) -> Result<RecordBatch, RegistryError> {
        let prepared = self.prepare(runtime, version).await?;
        let table = crate::data::batch_to_table(input)?;
        let features = prepared.features(table)?;
        let predicted = prepared
            .predict(runtime, features, StepLimits::default())
            .await
            .map_err(|e| RegistryError::Invalid(e.to_string()))?;
        Ok(crate::data::table_to_batch(predicted)?)
    }

    /// Everything predicting with `version` needs, loaded once: its
    /// plugins compiled, its fitted states and model read from the store.
    /// A server keeps one per version it serves.
    pub async fn prepare(
        &self,
        runtime: &Runtime,
        version: &ModelVersion,
    ) -> Result<PreparedModel, RegistryError> {
        let mut chain = Vec::with_capacity(version.chain.len());
        for step in &version.chain {
            chain.push(PreparedStep {
                plugin: self.plugin(runtime, &step.plugin.sha256).await?,
                state: self.artifacts.get(&step.state).await?,
                step_id: step.plugin.step_id.clone(),
                seed: step_seed(version.seed, &step.plugin.step_id),
            });
        }
        Ok(PreparedModel {
            trainer: self.plugin(runtime, &version.trainer.sha256).await?,
            model: self.artifacts.get(&version.model).await?,
            seed: step_seed(version.seed, &version.step_id),
            chain,
            version: version.clone(),
        })
    }
}

/// A fitted transform of a [`PreparedModel`]'s chain, ready to apply.
struct PreparedStep {
    plugin: Arc<Plugin>,
    state: Bytes,
    step_id: String,
    seed: u64,
}

/// A model version ready to predict: see [`Registry::prepare`]. Each
/// prediction still runs every plugin in a fresh sandbox of its own.
pub struct PreparedModel {
    /// The version this predicts with.
    pub version: ModelVersion,
    chain: Vec<PreparedStep>,
    trainer: Arc<Plugin>,
    model: Bytes,
    seed: u64,
}

impl PreparedModel {
    /// The version's feature columns, in its input schema's order, taken
    /// by name from `table` (columns it does not use are dropped); an
    /// error names the missing ones.
    pub fn features(&self, table: wit::Table) -> Result<wit::Table, RegistryError> {
        let version = &self.version;
        let mut columns = Vec::with_capacity(version.input_schema.len());
        let mut missing = Vec::new();
        let mut by_name: std::collections::HashMap<String, wit::Column> = table
            .columns
            .into_iter()
            .map(|c| (c.name.clone(), c))
            .collect();
        for (name, _) in &version.input_schema {
            match by_name.remove(name) {
                Some(c) => columns.push(c),
                None => missing.push(name.clone()),
            }
        }
        if !missing.is_empty() {
            return Err(RegistryError::Invalid(format!(
                "the input lacks {} feature column(s) the model {}:{} needs: {}",
                missing.len(),
                version.name,
                version.version,
                missing.join(", ")
            )));
        }
        Ok(wit::Table { columns })
    }

    /// How many sandboxes one prediction starts: one per fitted transform
    /// and one for the trainer.
    pub fn sandboxes(&self) -> u64 {
        self.chain.len() as u64 + 1
    }

    /// `features` (as [`features`](Self::features) orders them) through
    /// every fitted transform of the chain: what the trainer reads.
    pub async fn transform(
        &self,
        runtime: &Runtime,
        mut features: wit::Table,
        limits: StepLimits,
    ) -> Result<wit::Table, StepFailure> {
        for step in &self.chain {
            let ctx = StepContext::new(step.step_id.clone(), limits, step.seed);
            features = runtime
                .apply(&step.plugin, &ctx, &step.state, &features)
                .await?
                .value;
        }
        Ok(features)
    }

    /// The model bound for a validator's `model` import: its trainer
    /// answers, each call under `limits`, in one instance.
    pub fn binding(&self, limits: StepLimits) -> crate::runtime::ModelBinding {
        crate::runtime::ModelBinding {
            trainer: self.trainer.clone(),
            model: Arc::new(self.model.to_vec()),
            limits,
            spare_sessions: None,
        }
    }

    /// The trainer's predictions for `features` (the version's input
    /// columns, as [`features`](Self::features) orders them), after every
    /// fitted transform of the chain, each call under `limits`.
    pub async fn predict(
        &self,
        runtime: &Runtime,
        features: wit::Table,
        limits: StepLimits,
    ) -> Result<wit::Table, StepFailure> {
        let features = self.transform(runtime, features, limits).await?;
        let ctx = StepContext::new(self.version.step_id.clone(), limits, self.seed);
        Ok(runtime
            .predict(&self.trainer, &ctx, &self.model, &features)
            .await?
            .value)
    }
}
