//! What a registered model version is: its plugins, fitted chain, model,
//! data and metrics ([`ModelVersion`], stored as JSON), a model's summary,
//! and how a model is named on the command line ([`ModelSpec`]). Types
//! only: building a version from a run is `from_run`'s, storing it the
//! metadata store's.

use super::{RegistryError, Result};
use crate::artifacts::ArtifactDigest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A plugin by identity and the params it ran with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PluginRef {
    pub step_id: String,
    pub name: String,
    pub version: String,
    pub sha256: String,
    pub params: serde_json::Value,
}

/// One fitted transform of the chain, applied in order before the trainer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChainStep {
    pub plugin: PluginRef,
    /// The fitted state's artifact.
    pub state: ArtifactDigest,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DataRef {
    pub dataset_step: String,
    pub source: Option<ArtifactDigest>,
    pub train: Option<ArtifactDigest>,
    pub holdout: Option<ArtifactDigest>,
}

/// Everything a model version holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelVersion {
    pub name: String,
    pub version: i64,
    pub run_id: String,
    pub step_id: String,
    pub pipeline_name: String,
    pub pipeline_version: String,
    pub pipeline_sha256: String,
    /// The run's seed: each step's seed derives from it and its id.
    pub seed: u64,
    pub created_at: String,
    pub chain: Vec<ChainStep>,
    pub trainer: PluginRef,
    pub model: ArtifactDigest,
    pub target: Option<String>,
    /// Feature columns (name, type) the chain expects, in order.
    pub input_schema: Vec<(String, String)>,
    /// `step.metric` of the trainer and of every step that evaluated or
    /// explained the model in its run.
    pub metrics: BTreeMap<String, f64>,
    pub data: DataRef,
    /// The trainer's predictions for the holdout, made in the run.
    pub holdout_predictions: Option<ArtifactDigest>,
    /// An explainer's output for this model in its run, if any.
    pub explanation: Option<ArtifactDigest>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelSummary {
    pub name: String,
    pub versions: i64,
    pub latest: i64,
    pub aliases: BTreeMap<String, i64>,
    pub gates: Vec<String>,
}

/// A model reference: `NAME`, `NAME@ALIAS` or `NAME:VERSION`.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSpec {
    Latest(String),
    Alias(String, String),
    Version(String, i64),
}

impl ModelSpec {
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || RegistryError::BadSpec(text.to_string());
        if let Some((n, a)) = text.split_once('@') {
            if n.is_empty() || a.is_empty() {
                return Err(bad());
            }
            Ok(ModelSpec::Alias(n.into(), a.into()))
        } else if let Some((n, v)) = text.rsplit_once(':') {
            let v = v.trim_start_matches('v').parse().map_err(|_| bad())?;
            Ok(ModelSpec::Version(n.into(), v))
        } else if text.is_empty() {
            Err(bad())
        } else {
            Ok(ModelSpec::Latest(text.into()))
        }
    }

    pub fn name(&self) -> &str {
        match self {
            ModelSpec::Latest(n) | ModelSpec::Alias(n, _) | ModelSpec::Version(n, _) => n,
        }
    }
}
