//! The model registry: every registered model version holds everything
//! needed to predict from raw features (the chain of fitted transforms and
//! the trainer, all by sha256), its metrics, data digests and lineage.
//! Aliases (`staging`, `production`, any name) point at versions; moving
//! them is gated and every move lands in an append-only audit history.

pub mod gates;
mod names;
mod registrar;
#[cfg(test)]
mod scope_tests;
pub mod serve;

use names::{KeyScope, ModelKey};
pub use names::{NameRule, check_model_name};
pub use registrar::RunRegistrar;

use crate::artifacts::{ArtifactDigest, ArtifactStore};
pub use crate::meta::AuditEvent;
use crate::meta::{AuditEntry, MetaStore, NewModelVersion, Registered, RunRecord, StepRunRecord};
use crate::pipeline::PipelineFile;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    #[error("no model named `{0}`; `sluice models list` shows the registered models")]
    NoModel(String),
    /// A lookup by a text that cannot be a model name: no model has it.
    #[error("no model named `{name}`: {rule}")]
    NoSuchName { name: String, rule: NameRule },
    /// A model name to register that breaks the naming rule.
    #[error("`{name}` is not a model name: {rule}")]
    BadName { name: String, rule: NameRule },
    #[error(
        "model `{name}` has no version {version}; `sluice models show {name}` lists its versions"
    )]
    NoVersion { name: String, version: i64 },
    #[error("model `{name}` has no alias `{alias}`")]
    NoAlias { name: String, alias: String },
    #[error("`{0}` is not a model reference: use NAME, NAME@ALIAS or NAME:VERSION")]
    BadSpec(String),
    #[error("cannot register step `{step}` of run {run}: {reason}")]
    NotRegistrable {
        run: String,
        step: String,
        reason: String,
    },
    #[error(
        "promotion of {name} v{version} to `{alias}` refused by its gates:\n{}\nuse --force with a --reason to promote anyway",
        failed.iter().map(|g| format!("  - {}: {}", g.gate, g.detail)).collect::<Vec<_>>().join("\n")
    )]
    GateFailed {
        name: String,
        version: i64,
        alias: String,
        failed: Vec<gates::GateResult>,
    },
    #[error(
        "cannot promote {} v{} to `{}`: its {} {} is {}. `sluice verify {}` re-executes \
         the run the version came from and writes back what it reproduces; `sluice store \
         check` names everything else affected",
        .0.name, .0.version, .0.alias, .0.part, .0.digest, .0.integrity, .0.run
    )]
    DamagedArtifact(Box<DamagedArtifact>),
    #[error("{0}")]
    Invalid(String),
    #[error("alias `{alias}` of model `{name}` has no earlier version to roll back to")]
    NothingToRollBack { name: String, alias: String },
    #[error(
        "`{0}` is not a time: use RFC 3339 (2026-11-26T22:00:00Z) or `YYYY-MM-DD HH:MM:SS` (UTC)"
    )]
    BadTime(String),
    #[error("metadata store: {0}")]
    Meta(#[from] crate::meta::MetaError),
    #[error("metadata store: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("artifact store: {0}")]
    Artifacts(#[from] crate::artifacts::ArtifactError),
    #[error("data: {0}")]
    Data(#[from] crate::data::DataError),
}

type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// An artifact of a model version whose stored bytes are corrupt or
/// missing, found when promoting it.
#[derive(Debug)]
pub struct DamagedArtifact {
    pub name: String,
    pub version: i64,
    pub alias: String,
    /// Which of the version's artifacts: `model`, ``fitted state of step
    /// `scale` ``, ...
    pub part: String,
    pub digest: ArtifactDigest,
    pub integrity: crate::artifacts::Integrity,
    /// The run the version was registered from.
    pub run: String,
}

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

/// What a promotion did.
#[derive(Debug, Clone, Serialize)]
pub struct Promotion {
    pub name: String,
    pub alias: String,
    pub from_version: Option<i64>,
    pub to_version: i64,
    pub forced: bool,
    pub gates: Vec<gates::GateResult>,
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

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parse a time as given on the command line.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, fmt) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight").and_utc());
    }
    Err(RegistryError::BadTime(text.to_string()))
}

/// Which version each alias held at time `at`, replaying the history.
pub fn aliases_at(events: &[AuditEvent], at: DateTime<Utc>) -> BTreeMap<String, i64> {
    let mut held = BTreeMap::new();
    for e in events {
        let Ok(t) = DateTime::parse_from_rfc3339(&e.at) else {
            continue;
        };
        if t.with_timezone(&Utc) > at {
            break;
        }
        if let (Some(alias), Some(v)) = (&e.alias, e.to_version)
            && (e.action == "promote" || e.action == "rollback")
        {
            held.insert(alias.clone(), v);
        }
    }
    held
}

/// The registry over the metadata and artifact stores.
#[derive(Clone)]
pub struct Registry {
    pub meta: MetaStore,
    /// The tenant's artifact store.
    pub artifacts: ArtifactStore,
    /// Whose models these are: a tenant sees and changes only its own
    /// (private, so it cannot drift from `scope`).
    tenant: String,
    scope: KeyScope,
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
    /// The default tenant's registry.
    pub fn new(meta: MetaStore, artifacts: ArtifactStore) -> Self {
        Self::for_tenant(meta, artifacts, crate::tenants::DEFAULT_TENANT)
    }

    /// A tenant's registry over its artifact store.
    pub fn for_tenant(meta: MetaStore, artifacts: ArtifactStore, tenant: &str) -> Self {
        Registry {
            meta,
            artifacts,
            tenant: tenant.to_string(),
            scope: KeyScope::of(tenant),
        }
    }

    /// The tenant whose models these are.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The key `name` is stored under in this tenant's scope. A text that
    /// is not a model name (`OTHER/NAME` above all) names no model.
    fn key(&self, name: &str) -> Result<ModelKey> {
        self.scope
            .key(name)
            .map_err(|rule| RegistryError::NoSuchName {
                name: name.to_string(),
                rule,
            })
    }

    /// Build a model version from a trainer step of a recorded run: walk the
    /// pipeline from the trainer's input back to its dataset, collecting
    /// each transform's fitted state.
    async fn version_from_run(
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
        })
    }

    /// Register a trainer step of a run as the next version of `name`.
    /// `gates`, when given, replace the model's declared gates. Registering
    /// the same run and step twice returns the existing version.
    pub async fn register(
        &self,
        run_id: &str,
        step_id: &str,
        name: &str,
        gates: Option<&[String]>,
        actor: &str,
    ) -> Result<ModelVersion> {
        let key = self
            .scope
            .key(name)
            .map_err(|rule| RegistryError::BadName {
                name: name.to_string(),
                rule,
            })?;
        if let Some(gates) = gates {
            for g in gates {
                gates::parse(g).map_err(RegistryError::Invalid)?;
            }
        }
        let run = self.meta.get_run_in(Some(&self.tenant), run_id).await?;
        let mut version = self.version_from_run(&run, step_id, name).await?;
        let gates_json = gates.map(|g| serde_json::to_string(g).expect("strings serialize"));
        let new = NewModelVersion {
            key: key.as_str(),
            run_id: &version.run_id,
            step_id: &version.step_id,
            pipeline_name: &version.pipeline_name,
            pipeline_version: &version.pipeline_version,
            pipeline_sha256: &version.pipeline_sha256,
            created_at: &version.created_at,
            gates_json: gates_json.as_deref(),
        };
        let reason = format!("run {} step {}", run.id, step_id);
        let audit = AuditEntry {
            actor,
            action: "register",
            alias: None,
            from_version: None,
            to_version: None,
            forced: false,
            reason: &reason,
        };
        let body = |next: i64| {
            let mut numbered = version.clone();
            numbered.version = next;
            serde_json::to_string(&numbered).expect("a model version serializes")
        };
        match self.meta.register_model_version(&new, body, audit).await? {
            Registered::Existing(body) => serde_json::from_str(&body).map_err(|e| {
                RegistryError::Invalid(format!("stored model version is invalid: {e}"))
            }),
            Registered::New(next) => {
                version.version = next;
                Ok(version)
            }
        }
    }

    pub async fn gates(&self, name: &str) -> Result<Vec<String>> {
        let gates = self
            .meta
            .model_gates_json(self.key(name)?.as_str())
            .await?
            .ok_or_else(|| RegistryError::NoModel(name.to_string()))?;
        Ok(serde_json::from_str(&gates).unwrap_or_default())
    }

    pub async fn version(&self, name: &str, version: i64) -> Result<ModelVersion> {
        self.gates(name).await?;
        let body = self
            .meta
            .model_version_body(self.key(name)?.as_str(), version)
            .await?
            .ok_or_else(|| RegistryError::NoVersion {
                name: name.to_string(),
                version,
            })?;
        serde_json::from_str(&body).map_err(|e| {
            RegistryError::Invalid(format!(
                "stored model version {name}:{version} is invalid: {e}"
            ))
        })
    }

    pub async fn aliases(&self, name: &str) -> Result<BTreeMap<String, i64>> {
        let aliases = self.meta.model_aliases(self.key(name)?.as_str()).await?;
        Ok(aliases.into_iter().collect())
    }

    pub async fn resolve(&self, spec: &ModelSpec) -> Result<ModelVersion> {
        match spec {
            ModelSpec::Version(n, v) => self.version(n, *v).await,
            ModelSpec::Alias(n, a) => {
                self.gates(n).await?;
                let v = *self
                    .aliases(n)
                    .await?
                    .get(a)
                    .ok_or_else(|| RegistryError::NoAlias {
                        name: n.clone(),
                        alias: a.clone(),
                    })?;
                self.version(n, v).await
            }
            ModelSpec::Latest(n) => {
                let v = self
                    .versions(n)
                    .await?
                    .last()
                    .copied()
                    .ok_or_else(|| RegistryError::NoModel(n.clone()))?;
                self.version(n, v).await
            }
        }
    }

    pub async fn versions(&self, name: &str) -> Result<Vec<i64>> {
        Ok(self.meta.model_versions(self.key(name)?.as_str()).await?)
    }

    pub async fn list(&self) -> Result<Vec<ModelSummary>> {
        // Only this tenant's keys: the default tenant's hold no `/`, every
        // other tenant's start with `TENANT/`.
        let rows = self.meta.list_models(self.scope.prefix()).await?;
        let mut out = Vec::new();
        for r in rows {
            let Some(name) = self.scope.name_of(&r.key).map(str::to_string) else {
                continue;
            };
            out.push(ModelSummary {
                aliases: self.aliases(&name).await?,
                gates: serde_json::from_str(&r.gates_json).unwrap_or_default(),
                versions: r.versions,
                latest: r.latest,
                name,
            });
        }
        Ok(out)
    }

    /// Move `alias` to `version`, after re-hashing the version's stored
    /// artifacts (never forced) and checking the model's gates (unless
    /// forced, which needs a reason and is recorded as forced).
    pub async fn promote(
        &self,
        name: &str,
        version: i64,
        alias: &str,
        reason: &str,
        force: bool,
        actor: &str,
    ) -> Result<Promotion> {
        let key = self.key(name)?;
        if alias.is_empty()
            || !alias
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        {
            return Err(RegistryError::Invalid(format!(
                "`{alias}` is not an alias name: use letters, digits, '-' or '_'"
            )));
        }
        if force && reason.trim().is_empty() {
            return Err(RegistryError::Invalid(
                "a forced promotion needs --reason".into(),
            ));
        }
        let candidate = self.version(name, version).await?;
        self.check_stored(&candidate, alias).await?;
        let gate_texts = self.gates(name).await?;
        let parsed: Vec<gates::Gate> = gate_texts
            .iter()
            .map(|g| gates::parse(g).map_err(RegistryError::Invalid))
            .collect::<Result<_>>()?;
        let aliases = self.aliases(name).await?;
        let mut holders = BTreeMap::new();
        for (a, v) in &aliases {
            holders.insert(a.clone(), (*v, self.version(name, *v).await?.metrics));
        }
        let results = gates::check(&parsed, &candidate.metrics, &|a| holders.get(a).cloned());
        let failed: Vec<gates::GateResult> =
            results.iter().filter(|r| !r.passed).cloned().collect();
        if !failed.is_empty() && !force {
            return Err(RegistryError::GateFailed {
                name: name.to_string(),
                version,
                alias: alias.to_string(),
                failed,
            });
        }
        let from = aliases.get(alias).copied();
        let forced = force && !failed.is_empty();
        let audit = AuditEntry {
            actor,
            action: "promote",
            alias: Some(alias),
            from_version: from,
            to_version: Some(version),
            forced,
            reason,
        };
        self.meta
            .set_model_alias(key.as_str(), alias, version, audit)
            .await?;
        Ok(Promotion {
            name: name.to_string(),
            alias: alias.to_string(),
            from_version: from,
            to_version: version,
            forced,
            gates: results,
        })
    }

    /// Re-reads and re-hashes every artifact serving `version` reads (each
    /// fitted state and plugin component of its chain, the trainer's
    /// component, the model): a version is not promoted on bytes that went
    /// bad, with or without `--force`.
    async fn check_stored(&self, version: &ModelVersion, alias: &str) -> Result<()> {
        let mut parts = Vec::new();
        for c in &version.chain {
            parts.push((
                format!(
                    "plugin component of step `{}` ({})",
                    c.plugin.step_id, c.plugin.name
                ),
                ArtifactDigest::parse(&c.plugin.sha256)?,
            ));
            parts.push((
                format!("fitted state of step `{}`", c.plugin.step_id),
                c.state.clone(),
            ));
        }
        parts.push((
            format!(
                "plugin component of trainer `{}` ({})",
                version.trainer.step_id, version.trainer.name
            ),
            ArtifactDigest::parse(&version.trainer.sha256)?,
        ));
        parts.push(("model".to_owned(), version.model.clone()));
        for (part, digest) in parts {
            let integrity = self.artifacts.check(&digest).await?;
            if !integrity.is_intact() {
                return Err(RegistryError::DamagedArtifact(Box::new(DamagedArtifact {
                    name: version.name.clone(),
                    version: version.version,
                    alias: alias.to_owned(),
                    part,
                    digest,
                    integrity,
                    run: version.run_id.clone(),
                })));
            }
        }
        Ok(())
    }

    /// Move `alias` back to the version that held it before its current
    /// holder was promoted to it. Repeated rollbacks walk further back.
    pub async fn rollback(
        &self,
        name: &str,
        alias: &str,
        reason: &str,
        actor: &str,
    ) -> Result<Promotion> {
        let key = self.key(name)?;
        let events = self.history(name).await?;
        // Promotions push a holder, rollbacks pop one.
        let mut stack: Vec<i64> = Vec::new();
        for e in events.iter().filter(|e| e.alias.as_deref() == Some(alias)) {
            match e.action.as_str() {
                "promote" => stack.extend(e.to_version),
                "rollback" => {
                    stack.pop();
                }
                _ => {}
            }
        }
        let (Some(&current), Some(&previous)) = (
            stack.last(),
            stack.len().checked_sub(2).and_then(|i| stack.get(i)),
        ) else {
            return Err(RegistryError::NothingToRollBack {
                name: name.to_string(),
                alias: alias.to_string(),
            });
        };
        let audit = AuditEntry {
            actor,
            action: "rollback",
            alias: Some(alias),
            from_version: Some(current),
            to_version: Some(previous),
            forced: false,
            reason,
        };
        self.meta
            .set_model_alias(key.as_str(), alias, previous, audit)
            .await?;
        Ok(Promotion {
            name: name.to_string(),
            alias: alias.to_string(),
            from_version: Some(current),
            to_version: previous,
            forced: false,
            gates: Vec::new(),
        })
    }

    pub async fn history(&self, name: &str) -> Result<Vec<AuditEvent>> {
        self.gates(name).await?;
        Ok(self.meta.model_audit(self.key(name)?.as_str()).await?)
    }
}

/// Who is acting: `SLUICE_ACTOR`, else the login name.
pub fn default_actor() -> String {
    std::env::var("SLUICE_ACTOR")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        assert_eq!(
            ModelSpec::parse("m").unwrap(),
            ModelSpec::Latest("m".into())
        );
        assert_eq!(
            ModelSpec::parse("m@prod").unwrap(),
            ModelSpec::Alias("m".into(), "prod".into())
        );
        assert_eq!(
            ModelSpec::parse("m:3").unwrap(),
            ModelSpec::Version("m".into(), 3)
        );
        assert_eq!(
            ModelSpec::parse("m:v3").unwrap(),
            ModelSpec::Version("m".into(), 3)
        );
        assert!(ModelSpec::parse("m:x").is_err());
        assert!(ModelSpec::parse("@a").is_err());
    }

    #[test]
    fn aliases_replay_up_to_a_time() {
        let ev = |id, at: &str, action: &str, to| AuditEvent {
            id,
            at: at.into(),
            actor: "t".into(),
            action: action.into(),
            alias: Some("production".into()),
            from_version: None,
            to_version: Some(to),
            forced: false,
            reason: String::new(),
        };
        let events = vec![
            ev(1, "2026-01-01T00:00:00Z", "promote", 1),
            ev(2, "2026-02-01T00:00:00Z", "promote", 2),
            ev(3, "2026-03-01T00:00:00Z", "rollback", 1),
        ];
        let at = |t| {
            aliases_at(&events, parse_time(t).unwrap())
                .get("production")
                .copied()
        };
        assert_eq!(at("2025-12-31"), None);
        assert_eq!(at("2026-01-15"), Some(1));
        assert_eq!(at("2026-02-15 12:00:00"), Some(2));
        assert_eq!(at("2026-03-02T00:00:00Z"), Some(1));
        assert!(parse_time("yesterday").is_err());
    }
}
