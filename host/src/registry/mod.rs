//! The model registry: every registered model version holds everything
//! needed to predict from raw features (the chain of fitted transforms and
//! the trainer, all by sha256), its metrics, data digests and lineage.
//! Aliases (`staging`, `production`, any name) point at versions; moving
//! them is gated and every move lands in an append-only audit history.

//!
//! This module holds the registry's errors and its entry points
//! (register, look up, list); the model version's types are in
//! [`version`], how a version is rebuilt from a recorded run in
//! `from_run`, aliases and their audit history in `aliases`. The SQL is
//! the metadata store's ([`crate::meta`]): nothing here queries the
//! database itself.

mod aliases;
mod from_run;
pub mod gates;
pub mod name_rule;
mod names;
mod registrar;
#[cfg(test)]
mod scope_tests;
pub mod serve;
mod version;

pub use name_rule::{NameRule, check_model_name};
use names::{KeyScope, ModelKey};
pub use registrar::RunRegistrar;
pub use serve::PreparedModel;

pub use aliases::{Promotion, aliases_at, parse_time};
pub use version::{ChainStep, DataRef, ModelSpec, ModelSummary, ModelVersion, PluginRef};

use crate::artifacts::{ArtifactDigest, ArtifactStore};
pub use crate::meta::AuditEvent;
use crate::meta::{AuditEntry, MetaStore, NewModelVersion, Registered};

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
}
