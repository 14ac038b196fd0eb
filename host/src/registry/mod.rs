//! The model registry: every registered model version holds everything
//! needed to predict from raw features (the chain of fitted transforms and
//! the trainer, all by sha256), its metrics, data digests and lineage.
//! Aliases (`staging`, `production`, any name) point at versions; moving
//! them is gated and every move lands in an append-only audit history.

//!
//! This module holds the registry's errors and its entry points
//! (register, look up, list); the model version's types are in
//! `version` ([`ModelVersion`]), how a version is rebuilt from a recorded run in
//! `from_run`, aliases and their audit history in `aliases`. The SQL is
//! the metadata store's ([`crate::meta`]): nothing here queries the
//! database itself.

mod aliases;
mod from_run;
pub mod gates;
mod housekeeping;
pub mod name_rule;
mod names;
mod registrar;
mod rescore;
mod retention;
mod routes;
#[cfg(test)]
mod scope_tests;
pub mod serve;
mod version;

pub use name_rule::{NameRule, check_model_name};
use names::{KeyScope, ModelKey};
pub use registrar::RunRegistrar;
pub use rescore::{Evaluator, Rescored, evaluators};
pub use retention::{KeptRun, PrunePlan, PruneRule};
pub use routes::{Arm, Mirror, ServingPolicy};
pub use serve::PreparedModel;

pub use aliases::{Judgement, Promotion, aliases_at, parse_time};
pub use version::{ChainStep, DataRef, ModelSpec, ModelSummary, ModelVersion, PluginRef};

use crate::artifacts::{ArtifactDigest, ArtifactStore};
pub use crate::meta::AuditEvent;
use crate::meta::{AuditEntry, MetaStore, NewModelVersion, Registered};

/// Why a registry operation failed: a name, version or alias that does not
/// exist or is malformed, a promotion its gates refuse, or a failure of the
/// stores underneath.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// No model has this name (in the caller's tenant).
    #[error("no model named `{0}`; `sluice models list` shows the registered models")]
    NoModel(String),
    /// A lookup by a text that cannot be a model name: no model has it.
    #[error("no model named `{name}`: {rule}")]
    NoSuchName {
        /// The text looked up.
        name: String,
        /// The naming rule it breaks.
        rule: NameRule,
    },
    /// A model name to register that breaks the naming rule.
    #[error("`{name}` is not a model name: {rule}")]
    BadName {
        /// The refused name.
        name: String,
        /// The naming rule it breaks.
        rule: NameRule,
    },
    /// The model exists but not this version.
    #[error(
        "model `{name}` has no version {version}; `sluice models show {name}` lists its versions"
    )]
    NoVersion {
        /// The model.
        name: String,
        /// The version asked for.
        version: i64,
    },
    /// The model exists but has no alias of this name.
    #[error("model `{name}` has no alias `{alias}`")]
    NoAlias {
        /// The model.
        name: String,
        /// The alias asked for.
        alias: String,
    },
    /// A model reference that is neither `NAME`, `NAME@ALIAS` nor
    /// `NAME:VERSION`.
    #[error("`{0}` is not a model reference: use NAME, NAME@ALIAS or NAME:VERSION")]
    BadSpec(String),
    /// A step of a run cannot become a model version (not a trainer, not
    /// succeeded, its inputs not traceable, ...).
    #[error("cannot register step `{step}` of run {run}: {reason}")]
    NotRegistrable {
        /// The run's id.
        run: String,
        /// The step's id.
        step: String,
        /// Why it cannot be registered.
        reason: String,
    },
    /// A promotion refused by the model's gates (`--force` with a reason
    /// overrides them).
    #[error(
        "promotion of {name} v{version} to `{alias}` refused by its gates:\n{}\nuse --force with a --reason to promote anyway",
        failed.iter().map(|g| format!("  - {}: {}", g.gate, g.detail)).collect::<Vec<_>>().join("\n")
    )]
    GateFailed {
        /// The model.
        name: String,
        /// The version to promote.
        version: i64,
        /// The alias it was to get.
        alias: String,
        /// The gates that failed, each with what it found.
        failed: Vec<gates::GateResult>,
    },
    /// A promotion refused because an artifact of the version is corrupt or
    /// missing.
    #[error(
        "cannot promote {} v{} to `{}`: its {} {} is {}. `sluice verify {}` re-executes \
         the run the version came from and writes back what it reproduces; `sluice store \
         check` names everything else affected",
        .0.name, .0.version, .0.alias, .0.which, .0.digest, .0.integrity, .0.run
    )]
    DamagedArtifact(Box<DamagedArtifact>),
    /// A stored record or an argument is not valid (the message says which and
    /// why).
    #[error("{0}")]
    Invalid(String),
    /// A rollback of an alias that has no earlier version in its history.
    #[error("alias `{alias}` of model `{name}` has no earlier version to roll back to")]
    NothingToRollBack {
        /// The model.
        name: String,
        /// The alias to roll back.
        alias: String,
    },
    /// A time filter that is neither RFC 3339 nor `YYYY-MM-DD HH:MM:SS`.
    #[error(
        "`{0}` is not a time: use RFC 3339 (2026-11-26T22:00:00Z) or `YYYY-MM-DD HH:MM:SS` (UTC)"
    )]
    BadTime(String),
    /// The metadata database failed.
    #[error("metadata store: {0}")]
    Meta(#[from] crate::meta::MetaError),
    /// The artifact store failed.
    #[error("artifact store: {0}")]
    Artifacts(#[from] crate::artifacts::ArtifactError),
    /// A stored table could not be read.
    #[error("data: {0}")]
    Data(#[from] crate::data::DataError),
}

type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// An artifact of a model version whose stored bytes are corrupt or
/// missing, found when promoting it.
#[derive(Debug)]
pub struct DamagedArtifact {
    /// The model.
    pub name: String,
    /// The version being promoted.
    pub version: i64,
    /// The alias it was to get.
    pub alias: String,
    /// Which of the version's artifacts it is, in words: `model`,
    /// ``fitted state of step `scale` ``, ...
    pub which: String,
    /// The damaged artifact's digest.
    pub digest: ArtifactDigest,
    /// What is wrong with its stored bytes (corrupt, missing).
    pub integrity: crate::artifacts::Integrity,
    /// The run the version was registered from.
    pub run: String,
}

/// The registry over the metadata and artifact stores.
#[derive(Clone)]
pub struct Registry {
    /// The metadata store the models, versions, aliases and audit live in.
    pub meta: MetaStore,
    /// The tenant's artifact store.
    pub artifacts: ArtifactStore,
    /// Whose models these are: a tenant sees and changes only its own
    /// (private, so it cannot drift from `scope`).
    tenant: String,
    scope: KeyScope,
}

/// What [`Registry::register`] did.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The version the step's model is (new, or reused).
    pub version: ModelVersion,
    /// An existing version held exactly this model: it is reused, and no
    /// version was registered.
    pub reused: bool,
}

/// What a pipeline declares for a model that its versions keep.
#[derive(Debug, Clone, Copy, Default)]
pub struct Declared<'a> {
    /// The monitor, its plugins resolved.
    pub monitoring: Option<&'a crate::monitor::MonitorSpec>,
    /// How to roll a version out.
    pub rollout: Option<&'a crate::rollout::RolloutSpec>,
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
    /// the same run and step twice returns the existing version; a step
    /// whose version would hold exactly what a version not archived holds
    /// (the same model bytes and chain: a cached rerun) reuses that
    /// version instead of registering another.
    pub async fn register(
        &self,
        run_id: &str,
        step_id: &str,
        name: &str,
        gates: Option<&[String]>,
        actor: &str,
    ) -> Result<Registration> {
        self.register_declared(run_id, step_id, name, gates, Declared::default(), actor)
            .await
    }

    /// [`register`](Self::register), the version keeping what its
    /// pipeline `declared` for the model.
    pub async fn register_declared(
        &self,
        run_id: &str,
        step_id: &str,
        name: &str,
        gates: Option<&[String]>,
        declared: Declared<'_>,
        actor: &str,
    ) -> Result<Registration> {
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
        version.monitoring = declared.monitoring.cloned();
        version.rollout = declared.rollout.cloned();
        let gates_json = gates.map(|g| serde_json::to_string(g).expect("strings serialize"));
        if let Some(existing) = self.identical_version(name, &version).await? {
            // The same run and step registered before (a resumed run) is
            // that registration, not a reuse.
            let reused = existing.run_id != run.id || existing.step_id != step_id;
            if let Some(gates) = &gates_json
                && reused
            {
                self.meta.set_model_gates(key.as_str(), gates).await?;
            }
            return Ok(Registration {
                version: self.version(name, existing.version).await?,
                reused,
            });
        }
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
            detail: "",
        };
        let body = |next: i64| {
            let mut numbered = version.clone();
            numbered.version = next;
            serde_json::to_string(&numbered).expect("a model version serializes")
        };
        let version = match self.meta.register_model_version(&new, body, audit).await? {
            Registered::Existing(body) => serde_json::from_str(&body).map_err(|e| {
                RegistryError::Invalid(format!("stored model version is invalid: {e}"))
            })?,
            Registered::New(next) => {
                version.version = next;
                version
            }
        };
        Ok(Registration {
            version,
            reused: false,
        })
    }

    /// The gate expressions of model `name` (checked on every promotion); an
    /// error if there is no such model.
    pub async fn gates(&self, name: &str) -> Result<Vec<String>> {
        let gates = self
            .meta
            .model_gates_json(self.key(name)?.as_str())
            .await?
            .ok_or_else(|| RegistryError::NoModel(name.to_string()))?;
        Ok(serde_json::from_str(&gates).unwrap_or_default())
    }

    /// Version `version` of model `name`, as registered.
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

    /// The version a reference names: a given version, the version an alias
    /// points at, or the latest not archived.
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
                let archived = self.archived(n).await?;
                let v = self
                    .versions(n)
                    .await?
                    .into_iter()
                    .rfind(|v| !archived.contains(v))
                    .ok_or_else(|| RegistryError::NoModel(n.clone()))?;
                self.version(n, v).await
            }
        }
    }

    /// The versions of model `name`, ascending (empty for an unknown model).
    pub async fn versions(&self, name: &str) -> Result<Vec<i64>> {
        Ok(self.meta.model_versions(self.key(name)?.as_str()).await?)
    }

    /// Every model of the tenant with a version not archived, with its
    /// version count, latest version, aliases and gates; archived
    /// versions are not counted.
    pub async fn list(&self) -> Result<Vec<ModelSummary>> {
        self.list_with(false).await
    }

    /// [`list`](Self::list), with `archived`: every model, its archived
    /// versions counted and named.
    pub async fn list_with(&self, archived: bool) -> Result<Vec<ModelSummary>> {
        // Only this tenant's keys: the default tenant's hold no `/`, every
        // other tenant's start with `TENANT/`.
        let rows = self.meta.list_models(self.scope.prefix(), archived).await?;
        let mut out = Vec::new();
        for r in rows {
            let Some(name) = self.scope.name_of(&r.key).map(str::to_string) else {
                continue;
            };
            if r.versions == 0 && !archived {
                continue;
            }
            out.push(ModelSummary {
                aliases: self.aliases(&name).await?,
                gates: serde_json::from_str(&r.gates_json).unwrap_or_default(),
                versions: r.versions,
                latest: r.latest,
                archived: if archived {
                    self.archived(&name).await?
                } else {
                    Vec::new()
                },
                name,
            });
        }
        Ok(out)
    }
}

/// Who is acting: `SLUICE_ACTOR`, else `$USER`, else `$LOGNAME`, else the
/// name `/etc/passwd` gives the process's user, else `unknown`.
pub fn default_actor() -> String {
    ["SLUICE_ACTOR", "USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        .or_else(login_name)
        .unwrap_or_else(|| "unknown".into())
}

/// The name `/etc/passwd` gives this process's user (a service or a
/// container often runs without `$USER`).
fn login_name() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    passwd_name(&std::fs::read_to_string("/etc/passwd").ok()?, uid)
}

/// The name of user `uid` in a passwd file's text.
fn passwd_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id: u32 = fields.nth(1)?.parse().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uid_is_named_by_the_passwd_file() {
        let passwd =
            "root:x:0:0:root:/root:/bin/bash\n# a comment\nana:x:1000:1000::/home/ana:/bin/sh\n";
        assert_eq!(passwd_name(passwd, 1000).as_deref(), Some("ana"));
        assert_eq!(passwd_name(passwd, 0).as_deref(), Some("root"));
        assert_eq!(passwd_name(passwd, 7), None);
    }

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
