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
    /// The step's id in the pipeline.
    pub step_id: String,
    /// The plugin's name.
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// The plugin component's sha256, in hex: what serving loads.
    pub sha256: String,
    /// The step's params, as recorded in the run.
    pub params: serde_json::Value,
}

/// One fitted transform of the chain, applied in order before the trainer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChainStep {
    /// The transform that was fitted.
    pub plugin: PluginRef,
    /// The fitted state's artifact.
    pub state: ArtifactDigest,
}

/// The data a model version was trained on: the artifacts of its dataset step.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DataRef {
    /// The dataset's step id in the run (`dataset:NAME`).
    pub dataset_step: String,
    /// The dataset file's bytes, by digest (the dataset step's `source`
    /// input), if recorded; for a dataset directory, the manifest of its
    /// files (their names and digests).
    pub source: Option<ArtifactDigest>,
    /// The training rows.
    pub train: Option<ArtifactDigest>,
    /// The holdout rows, if the dataset has a holdout.
    pub holdout: Option<ArtifactDigest>,
}

/// Everything a model version holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelVersion {
    /// The model's name in the registry.
    pub name: String,
    /// The version number: 1, 2, ... per model.
    pub version: i64,
    /// The run the version was registered from.
    pub run_id: String,
    /// The trainer's step id in that run.
    pub step_id: String,
    /// The pipeline's `name`.
    pub pipeline_name: String,
    /// The pipeline's `version`.
    pub pipeline_version: String,
    /// The sha256 of the pipeline file's text, in hex.
    pub pipeline_sha256: String,
    /// The run's seed: each step's seed derives from it and its id.
    pub seed: u64,
    /// When the version was registered (RFC 3339, UTC).
    pub created_at: String,
    /// The fitted transforms that prepare the trainer's input, in order.
    pub chain: Vec<ChainStep>,
    /// The trainer that made the model.
    pub trainer: PluginRef,
    /// The model's artifact.
    pub model: ArtifactDigest,
    /// The target column, if the dataset names one.
    pub target: Option<String>,
    /// Feature columns (name, type) the chain expects, in order.
    pub input_schema: Vec<(String, String)>,
    /// `step.metric` of the trainer and of every step that evaluated or
    /// explained the model in its run.
    pub metrics: BTreeMap<String, f64>,
    /// The data it was trained on.
    pub data: DataRef,
    /// The trainer's predictions for the holdout, made in the run.
    pub holdout_predictions: Option<ArtifactDigest>,
    /// An explainer's output for this model in its run, if any.
    pub explanation: Option<ArtifactDigest>,
    /// The monitor the pipeline declared for the model when this version
    /// was registered, its plugins by sha256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<crate::monitor::MonitorSpec>,
    /// How the pipeline said to roll the version out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<crate::rollout::RolloutSpec>,
}

/// One model in a listing.
#[derive(Debug, Clone, Serialize)]
pub struct ModelSummary {
    /// The model's name.
    pub name: String,
    /// How many versions it has (without the archived ones unless they
    /// were asked for).
    pub versions: i64,
    /// Its highest version number (of those counted).
    pub latest: i64,
    /// Its aliases and the versions they point at.
    pub aliases: BTreeMap<String, i64>,
    /// Its gate expressions.
    pub gates: Vec<String>,
    /// Its archived versions (listed only when asked for), ascending.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub archived: Vec<i64>,
}

/// A model reference: `NAME`, `NAME@ALIAS` or `NAME:VERSION`.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSpec {
    /// The latest version of the model.
    Latest(String),
    /// The version an alias of the model points at: (name, alias).
    Alias(String, String),
    /// A given version: (name, version).
    Version(String, i64),
}

impl ModelSpec {
    /// Parses `NAME`, `NAME@ALIAS` or `NAME:VERSION`; anything else is
    /// [`RegistryError::BadSpec`].
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

    /// The model's name.
    pub fn name(&self) -> &str {
        match self {
            ModelSpec::Latest(n) | ModelSpec::Alias(n, _) | ModelSpec::Version(n, _) => n,
        }
    }
}
