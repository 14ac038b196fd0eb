//! Prediction from a registered model version: the raw features go
//! through each fitted transform's `apply` with its stored state, then the
//! trainer's `predict`, every call in its own sandbox, with the same seeds
//! as in the training run. So serving computes features exactly as
//! training did. The calls are async: they yield at every epoch tick, so
//! serving shares the async runtime's threads with everything else.

use super::{ModelVersion, Registry, RegistryError};
use crate::artifacts::ArtifactDigest;
use crate::pipeline::seed::step_seed;
use crate::runtime::{Plugin, Runtime, StepContext, StepLimits};
use crate::wit;
use arrow::record_batch::RecordBatch;
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
        let table = crate::data::batch_to_table(input)?;
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
        let mut features = wit::Table { columns };
        for step in &version.chain {
            let plugin = self.plugin(runtime, &step.plugin.sha256).await?;
            let state = self.artifacts.get(&step.state).await?.to_vec();
            let ctx = StepContext::new(
                step.plugin.step_id.clone(),
                StepLimits::default(),
                step_seed(version.seed, &step.plugin.step_id),
            );
            features = runtime
                .apply(&plugin, &ctx, &state, &features)
                .await
                .map_err(|e| RegistryError::Invalid(e.to_string()))?
                .value;
        }
        let trainer = self.plugin(runtime, &version.trainer.sha256).await?;
        let model = self.artifacts.get(&version.model).await?.to_vec();
        let ctx = StepContext::new(
            version.step_id.clone(),
            StepLimits::default(),
            step_seed(version.seed, &version.step_id),
        );
        let predicted = runtime
            .predict(&trainer, &ctx, &model, &features)
            .await
            .map_err(|e| RegistryError::Invalid(e.to_string()))?
            .value;
        Ok(crate::data::table_to_batch(predicted)?)
    }
}
