//! What refers to an artifact: the step runs that read or wrote it or ran
//! it as their plugin, and the model versions that hold it. `sluice store
//! check` names them for every object that went bad, so a user knows what
//! to rerun and which models not to trust.

use std::collections::BTreeSet;

use serde::Serialize;
use sqlx::Row;

use super::store::{MetaStore, db};
use super::{MetaError, RunStatus};
use crate::artifacts::ArtifactDigest;

type Result<T, E = MetaError> = std::result::Result<T, E>;

/// How a step run used an artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepRole {
    /// It read the artifact (as the input `name`).
    Input,
    /// It wrote the artifact (as the output `name`).
    Output,
    /// The artifact is the step's plugin component (`name` is the plugin).
    Plugin,
}

impl StepRole {
    /// The role's name in records and JSON (`input`, `output`, `plugin`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Input => "input",
            Self::Output => "output",
            Self::Plugin => "plugin",
        }
    }
}

/// A step run that used an artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepUse {
    /// The artifact.
    pub digest: ArtifactDigest,
    /// The run.
    pub run_id: String,
    /// The run's state.
    pub run_status: RunStatus,
    /// The run's pipeline `name`.
    pub pipeline_name: String,
    /// The run's pipeline `version`.
    pub pipeline_version: String,
    /// The step's id in the run.
    pub step_id: String,
    /// How the step used the artifact.
    pub role: StepRole,
    /// The input or output name, or the plugin's name.
    pub name: String,
}

/// A model version holding an artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelVersionUse {
    /// The artifact.
    pub digest: ArtifactDigest,
    /// The model's name as its tenant sees it.
    pub model: String,
    /// The version.
    pub version: i64,
    /// The run the version was registered from.
    pub run_id: String,
    /// Where in the version the digest is: `model`, `chain[0].state`,
    /// `data.train`, `trainer.sha256`, ...
    pub field: String,
}

impl MetaStore {
    /// The step runs of `tenant`'s runs that read, wrote or ran `digest`,
    /// oldest run first.
    pub async fn step_uses(&self, tenant: &str, digest: &ArtifactDigest) -> Result<Vec<StepUse>> {
        let action = || format!("look up the step runs using artifact {digest}");
        let rows = sqlx::query(
            "SELECT r.id, r.status, r.pipeline_name, r.pipeline_version, s.step_id, \
             CASE io.direction WHEN 'in' THEN 'input' ELSE 'output' END, io.name, \
             r.started_at, r.rowid, s.position \
             FROM step_io io JOIN step_runs s ON s.run_id = io.run_id AND s.step_id = io.step_id \
             JOIN runs r ON r.id = io.run_id WHERE io.digest = ?1 AND r.tenant = ?2 \
             UNION ALL \
             SELECT r.id, r.status, r.pipeline_name, r.pipeline_version, s.step_id, 'plugin', \
             s.plugin_name, r.started_at, r.rowid, s.position \
             FROM step_runs s JOIN runs r ON r.id = s.run_id \
             WHERE s.plugin_sha256 = ?1 AND r.tenant = ?2 \
             ORDER BY 8, 9, 10, 6, 7",
        )
        .bind(digest.to_hex())
        .bind(tenant)
        .fetch_all(&self.pool)
        .await
        .map_err(db(action()))?;
        let mut uses = Vec::with_capacity(rows.len());
        for r in &rows {
            let status: String = r.try_get(1).map_err(db(action()))?;
            let role: String = r.try_get(5).map_err(db(action()))?;
            uses.push(StepUse {
                digest: digest.clone(),
                run_id: r.try_get(0).map_err(db(action()))?,
                run_status: RunStatus::parse(&status).ok_or(MetaError::InvalidRecord {
                    what: "run status",
                    value: status.clone(),
                })?,
                pipeline_name: r.try_get(2).map_err(db(action()))?,
                pipeline_version: r.try_get(3).map_err(db(action()))?,
                step_id: r.try_get(4).map_err(db(action()))?,
                role: match role.as_str() {
                    "input" => StepRole::Input,
                    "output" => StepRole::Output,
                    _ => StepRole::Plugin,
                },
                name: r.try_get(6).map_err(db(action()))?,
            });
        }
        Ok(uses)
    }

    /// The model versions registered from `tenant`'s runs that hold any of
    /// `digests`, by model and version.
    pub async fn model_version_uses(
        &self,
        tenant: &str,
        digests: &BTreeSet<ArtifactDigest>,
    ) -> Result<Vec<ModelVersionUse>> {
        let mut uses = Vec::new();
        if digests.is_empty() {
            return Ok(uses);
        }
        for (key, version, run_id, body) in self.model_versions_of(Some(tenant)).await? {
            // The registry keys another tenant's models `TENANT/NAME`.
            let model = key
                .strip_prefix(&format!("{tenant}/"))
                .unwrap_or(&key)
                .to_owned();
            let mut fields = Vec::new();
            strings_at(&body, String::new(), &mut fields);
            for (field, text) in fields {
                if let Ok(digest) = ArtifactDigest::parse(&text)
                    && digests.contains(&digest)
                {
                    uses.push(ModelVersionUse {
                        digest,
                        model: model.clone(),
                        version,
                        run_id: run_id.clone(),
                        field,
                    });
                }
            }
        }
        uses.sort_by(|a, b| (&a.model, a.version).cmp(&(&b.model, b.version)));
        Ok(uses)
    }

    /// The artifacts `tenant`'s runs recorded (every tenant's when
    /// `None`): each step's inputs and outputs and its plugin component. A
    /// model version holds only artifacts of its run's steps, so these are
    /// all the artifacts a tenant's store must hold.
    pub async fn run_artifacts(&self, tenant: Option<&str>) -> Result<BTreeSet<ArtifactDigest>> {
        let texts: Vec<String> = sqlx::query_scalar(
            "SELECT io.digest FROM step_io io JOIN runs r ON r.id = io.run_id \
             WHERE ?1 IS NULL OR r.tenant = ?1 \
             UNION SELECT s.plugin_sha256 FROM step_runs s JOIN runs r ON r.id = s.run_id \
             WHERE ?1 IS NULL OR r.tenant = ?1",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await
        .map_err(db("collect the artifacts runs recorded"))?;
        // Dataset steps run no plugin: their plugin digest is empty.
        Ok(texts
            .iter()
            .filter_map(|t| ArtifactDigest::parse(t).ok())
            .collect())
    }

    /// (key, version, run, body) of the model versions registered from
    /// `tenant`'s runs (everyone's when `None`).
    pub(super) async fn model_versions_of(
        &self,
        tenant: Option<&str>,
    ) -> Result<Vec<(String, i64, String, serde_json::Value)>> {
        let action = || "read the model versions".to_owned();
        let rows = sqlx::query(
            "SELECT v.name, v.version, v.run_id, v.body_json FROM model_versions v \
             WHERE ?1 IS NULL OR EXISTS (SELECT 1 FROM runs r WHERE r.id = v.run_id \
             AND r.tenant = ?1) ORDER BY v.name, v.version",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await
        .map_err(db(action()))?;
        let mut versions = Vec::with_capacity(rows.len());
        for r in &rows {
            let body: String = r.try_get(3).map_err(db(action()))?;
            let value = serde_json::from_str(&body).map_err(|_| MetaError::InvalidRecord {
                what: "model version",
                value: body.chars().take(80).collect(),
            })?;
            versions.push((
                r.try_get(0).map_err(db(action()))?,
                r.try_get(1).map_err(db(action()))?,
                r.try_get(2).map_err(db(action()))?,
                value,
            ));
        }
        Ok(versions)
    }
}

/// Every string in `value`, with its path (`chain[0].state`).
pub(super) fn strings_at(value: &serde_json::Value, path: String, out: &mut Vec<(String, String)>) {
    match value {
        serde_json::Value::String(s) => out.push((path, s.clone())),
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                strings_at(v, format!("{path}[{i}]"), out);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let path = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                strings_at(v, path, out);
            }
        }
        _ => {}
    }
}
