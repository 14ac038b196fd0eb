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
    /// target, are ignored). A column of the schema that `input` lacks is
    /// an error naming it, unless the chain does not read it: see
    /// [`Registry::read_columns`].
    pub async fn predict(
        &self,
        runtime: &Runtime,
        version: &ModelVersion,
        input: &RecordBatch,
    ) -> Result<RecordBatch, RegistryError> {
        let prepared = self.prepare(runtime, version).await?;
        let table = crate::data::batch_to_table(input)?;
        let missing = prepared.missing(&table);
        let features = if missing.is_empty() {
            prepared.features(table)?
        } else {
            let read = self.read_columns(runtime, &prepared, &missing).await?;
            if !read.is_empty() {
                return Err(prepared.lacks(&read));
            }
            prepared.features_without(table, &missing)?
        };
        let predicted = prepared
            .predict(runtime, features, StepLimits::default())
            .await
            .map_err(|e| RegistryError::Invalid(e.to_string()))?;
        Ok(crate::data::table_to_batch(predicted)?)
    }

    /// Which of `missing` (columns of the version's input schema) the
    /// chain reads: a column is not read when the chain, given the first
    /// rows of the version's training data without it, hands the trainer
    /// the same features, bit for bit, as with it. A transform that needs
    /// the column fails or computes something else without it; one that
    /// passes it through keeps it for the trainer, which reads it. So only
    /// columns the chain drops (a `select-columns` leaving them out) are
    /// found unread. Without recorded training data, every column is read.
    pub async fn read_columns(
        &self,
        runtime: &Runtime,
        prepared: &PreparedModel,
        missing: &[String],
    ) -> Result<Vec<String>, RegistryError> {
        const PROBE_ROWS: usize = 64;
        let Some(train) = &prepared.version.data.train else {
            return Ok(missing.to_vec());
        };
        let bytes = self.artifacts.get(train).await?;
        let batch = crate::data::read_parquet(&bytes)?;
        let sample = batch.slice(0, batch.num_rows().min(PROBE_ROWS));
        let limits = StepLimits::default();
        let features = |drop: &[String]| -> Result<wit::Table, RegistryError> {
            let table = crate::data::batch_to_table(&sample)?;
            prepared.features_without(table, drop)
        };
        let encode = |t: wit::Table| -> Option<Vec<u8>> {
            let batch = crate::data::table_to_batch(t).ok()?;
            crate::data::write_parquet(&batch).ok()
        };
        let Some(reference) = prepared
            .transform(runtime, features(&[])?, limits)
            .await
            .ok()
            .and_then(encode)
        else {
            return Ok(missing.to_vec());
        };
        let same_without = async |drop: &[String]| -> Result<bool, RegistryError> {
            let out = prepared.transform(runtime, features(drop)?, limits).await;
            Ok(out.ok().and_then(encode).as_ref() == Some(&reference))
        };
        // Most often none is read (a dropped id) or the first probe says
        // which: one column at a time only when some are.
        if same_without(missing).await? {
            return Ok(Vec::new());
        }
        let mut read = Vec::new();
        for column in missing {
            if !same_without(std::slice::from_ref(column)).await? {
                read.push(column.clone());
            }
        }
        if read.is_empty() {
            // Each alone is unread but not all together: name them all.
            read = missing.to_vec();
        }
        Ok(read)
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
        self.features_without(table, &[])
    }

    /// The columns of the version's input schema that `table` lacks.
    pub fn missing(&self, table: &wit::Table) -> Vec<String> {
        let present: std::collections::HashSet<&str> =
            table.columns.iter().map(|c| c.name.as_str()).collect();
        self.version
            .input_schema
            .iter()
            .filter(|(name, _)| !present.contains(name.as_str()))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// The error for an input that lacks `columns`, which the chain reads.
    fn lacks(&self, columns: &[String]) -> RegistryError {
        RegistryError::Invalid(format!(
            "the input lacks {} feature column(s) the model {}:{} reads: {}",
            columns.len(),
            self.version.name,
            self.version.version,
            columns.join(", ")
        ))
    }

    /// [`features`](Self::features) but for the columns in `skip`, which
    /// `table` need not have.
    fn features_without(
        &self,
        table: wit::Table,
        skip: &[String],
    ) -> Result<wit::Table, RegistryError> {
        let mut by_name: std::collections::HashMap<String, wit::Column> = table
            .columns
            .into_iter()
            .map(|c| (c.name.clone(), c))
            .collect();
        let mut columns = Vec::with_capacity(self.version.input_schema.len());
        let mut missing = Vec::new();
        for (name, _) in &self.version.input_schema {
            if skip.contains(name) {
                continue;
            }
            match by_name.remove(name) {
                Some(c) => columns.push(c),
                None => missing.push(name.clone()),
            }
        }
        if !missing.is_empty() {
            return Err(self.lacks(&missing));
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
