//! Housekeeping's SQL: archiving a model version, and deleting runs with
//! everything only they refer to (their steps, io edges, metrics and
//! trials) in one transaction. Which runs must be kept, and why, is the
//! registry's to say ([`crate::registry::Registry::keepers`]); the
//! deletion checks again, inside its transaction, that no live version
//! and no other run's cached step came to need a run meanwhile.

use sqlx::Row;

use super::MetaError;
use super::models::{AuditEntry, append_audit, now};
use super::store::{MetaStore, db};

type Result<T, E = MetaError> = std::result::Result<T, E>;

/// What [`MetaStore::set_version_archived`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Archiving {
    /// Archived (or unarchived), with its audit line.
    Done,
    /// It was so already: nothing changed.
    AlreadySo,
    /// Not archived: these aliases point at the version.
    Aliased(Vec<String>),
    /// The model has no such version.
    NoVersion,
}

/// A step's place in the step cache (see [`MetaStore::cache_records`]).
#[derive(Debug, Clone)]
pub struct CacheRecord {
    /// The run.
    pub run_id: String,
    /// The step.
    pub step_id: String,
    /// What determines its outputs, if it succeeded.
    pub cache_key: Option<String>,
    /// The run its outputs were taken from, if it was cached.
    pub cached_from: Option<String>,
}

/// A model version that is not archived, as housekeeping reads it.
#[derive(Debug, Clone)]
pub struct LiveVersion {
    /// The model's key (see [`super::ModelRow::key`]).
    pub key: String,
    /// The version number.
    pub version: i64,
    /// The run it was registered from.
    pub run_id: String,
    /// Its stored body (the registry's JSON).
    pub body: serde_json::Value,
}

/// A condition on `column` (a model key): in the scope of the prefix
/// bound as `?1`. With `""`, keys holding no `/` (the default tenant's);
/// else keys starting with it.
pub(super) fn in_scope(column: &str) -> String {
    format!(
        "((?1 = '' AND instr({column}, '/') = 0) \
         OR (?1 <> '' AND substr({column}, 1, length(?1)) = ?1))"
    )
}

/// Whether version `version` of model `key` is archived, or `None` if
/// there is no such version.
pub(super) async fn is_archived(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    key: &str,
    version: i64,
) -> Result<Option<bool>> {
    sqlx::query_scalar(
        "SELECT archived_at IS NOT NULL FROM model_versions WHERE name = ? AND version = ?",
    )
    .bind(key)
    .bind(version)
    .fetch_optional(&mut **tx)
    .await
    .map_err(db(format!("look up version {version} of model `{key}`")))
}

impl MetaStore {
    /// Archive (or, with `archived` false, unarchive) version `version` of
    /// model `key`, with its audit line, in one transaction. An archived
    /// version holds no alias: a version an alias points at is not
    /// archived ([`Archiving::Aliased`]). Archiving an archived version (or
    /// unarchiving a live one) changes nothing and writes no audit line.
    pub async fn set_version_archived(
        &self,
        key: &str,
        version: i64,
        archived: bool,
        audit: AuditEntry<'_>,
    ) -> Result<Archiving> {
        let action = || format!("archive version {version} of model `{key}`");
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db(action()))?;
        match is_archived(&mut tx, key, version).await? {
            None => return Ok(Archiving::NoVersion),
            Some(was) if was == archived => return Ok(Archiving::AlreadySo),
            Some(_) => {}
        }
        if archived {
            let aliases: Vec<String> = sqlx::query_scalar(
                "SELECT alias FROM model_aliases WHERE name = ? AND version = ? ORDER BY alias",
            )
            .bind(key)
            .bind(version)
            .fetch_all(&mut *tx)
            .await
            .map_err(db(action()))?;
            if !aliases.is_empty() {
                return Ok(Archiving::Aliased(aliases));
            }
        }
        sqlx::query("UPDATE model_versions SET archived_at = ? WHERE name = ? AND version = ?")
            .bind(archived.then(now))
            .bind(key)
            .bind(version)
            .execute(&mut *tx)
            .await
            .map_err(db(action()))?;
        append_audit(&mut tx, key, &audit).await?;
        tx.commit().await.map_err(db(action()))?;
        Ok(Archiving::Done)
    }

    /// The archived versions of model `key`, ascending.
    pub async fn archived_versions(&self, key: &str) -> Result<Vec<i64>> {
        sqlx::query_scalar(
            "SELECT version FROM model_versions WHERE name = ? AND archived_at IS NOT NULL \
             ORDER BY version",
        )
        .bind(key)
        .fetch_all(&self.pool)
        .await
        .map_err(db(format!(
            "look up the archived versions of model `{key}`"
        )))
    }

    /// The versions not archived of the models in the scope of `prefix`
    /// (see [`list_models`](Self::list_models)), by key and version.
    pub async fn live_versions(&self, prefix: &str) -> Result<Vec<LiveVersion>> {
        let action = || "read the live model versions".to_owned();
        let rows = sqlx::query(&format!(
            "SELECT v.name, v.version, v.run_id, v.body_json FROM model_versions v \
             WHERE v.archived_at IS NULL AND {} ORDER BY v.name, v.version",
            in_scope("v.name")
        ))
        .bind(prefix)
        .fetch_all(&self.pool)
        .await
        .map_err(db(action()))?;
        let mut live = Vec::with_capacity(rows.len());
        for r in &rows {
            let body: String = r.try_get(3).map_err(db(action()))?;
            live.push(LiveVersion {
                key: r.try_get(0).map_err(db(action()))?,
                version: r.try_get(1).map_err(db(action()))?,
                run_id: r.try_get(2).map_err(db(action()))?,
                body: serde_json::from_str(&body).map_err(|_| MetaError::InvalidRecord {
                    what: "model version",
                    value: body.chars().take(80).collect(),
                })?,
            });
        }
        Ok(live)
    }

    /// Every step of `tenant`'s runs that has a cache key: where its
    /// outputs came from, for housekeeping to follow a cached step back
    /// to the run that made them.
    pub async fn cache_records(&self, tenant: &str) -> Result<Vec<CacheRecord>> {
        let action = || "look up the cached steps".to_owned();
        let rows = sqlx::query(
            "SELECT s.run_id, s.step_id, s.cache_key, s.cached_from FROM step_runs s \
             JOIN runs r ON r.id = s.run_id \
             WHERE r.tenant = ? AND (s.cache_key IS NOT NULL OR s.cached_from IS NOT NULL) \
             ORDER BY s.run_id, s.position",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await
        .map_err(db(action()))?;
        rows.iter()
            .map(|r| {
                Ok(CacheRecord {
                    run_id: r.try_get(0)?,
                    step_id: r.try_get(1)?,
                    cache_key: r.try_get(2)?,
                    cached_from: r.try_get(3)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(db(action()))
    }

    /// Delete `tenant`'s runs `ids` with their steps, io edges, metrics and
    /// trials, all in one transaction: all of them or none. First each
    /// `(run, step, from)` of `repoint` says that a kept step cached from
    /// one of them now names run `from` (where the outputs were first
    /// made) instead. Refused (a [`MetaError::Conflict`], nothing
    /// deleted) if a version not archived was registered from one of
    /// them, or a step of a run not deleted is still cached from one, as
    /// may have happened since the caller checked. The artifacts stay
    /// stored: `sluice gc` deletes those nothing refers to any more.
    pub async fn delete_runs(
        &self,
        tenant: &str,
        ids: &[String],
        repoint: &[(String, String, String)],
    ) -> Result<()> {
        let action = || format!("delete {} runs", ids.len());
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db(action()))?;
        for (run, step, from) in repoint {
            sqlx::query("UPDATE step_runs SET cached_from = ? WHERE run_id = ? AND step_id = ?")
                .bind(from)
                .bind(run)
                .bind(step)
                .execute(&mut *tx)
                .await
                .map_err(db(action()))?;
        }
        for id in ids {
            let version: Option<(String, i64)> = sqlx::query_as(
                "SELECT name, version FROM model_versions WHERE run_id = ? \
                 AND archived_at IS NULL ORDER BY name, version LIMIT 1",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db(action()))?;
            if let Some((key, version)) = version {
                return Err(MetaError::Conflict(format!(
                    "run {id} is kept: model {key}:{version} was registered from it"
                )));
            }
            let user: Option<(String, String)> = sqlx::query_as(
                "SELECT run_id, step_id FROM step_runs WHERE cached_from = ? ORDER BY run_id",
            )
            .bind(id)
            .fetch_all(&mut *tx)
            .await
            .map_err(db(action()))?
            .into_iter()
            .find(|(run, _): &(String, String)| !ids.contains(run));
            if let Some((run, step)) = user {
                return Err(MetaError::Conflict(format!(
                    "run {id} is kept: step `{step}` of run {run} reuses its outputs"
                )));
            }
            let deleted = sqlx::query("DELETE FROM runs WHERE id = ? AND tenant = ?")
                .bind(id)
                .bind(tenant)
                .execute(&mut *tx)
                .await
                .map_err(db(format!("delete run {id}")))?;
            if deleted.rows_affected() == 0 {
                return Err(MetaError::RunNotFound { id: id.clone() });
            }
        }
        tx.commit().await.map_err(db(action()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::ArtifactDigest;
    use crate::meta::{NewModelVersion, NewRun, NewStep, StepEnd, StepStatus};

    async fn run_with_output(meta: &MetaStore, id: &str, bytes: &[u8]) {
        meta.create_run(&NewRun {
            id: id.into(),
            tenant: "default".into(),
            pipeline_name: "p".into(),
            pipeline_version: "1".into(),
            pipeline_sha256: "00".repeat(32),
            seed: 1,
            pipeline_path: None,
            plugin_dirs_json: None,
            unique_definition: false,
            overrides_json: None,
        })
        .await
        .unwrap();
        let step = NewStep {
            run_id: id,
            step_id: "train",
            position: 0,
            kind: "trainer",
            plugin_name: "logreg",
            plugin_version: "0.1.0",
            plugin_sha256: "",
            params_json: "{}",
        };
        meta.start_step(&step, &[]).await.unwrap();
        let outputs = [("model".to_owned(), ArtifactDigest::of(bytes))];
        let end = StepEnd {
            status: StepStatus::Succeeded,
            outputs: &outputs,
            metrics: &[],
            log: "",
            error: None,
        };
        meta.finish_step(id, "train", &end).await.unwrap();
    }

    fn audit(action: &str) -> AuditEntry<'_> {
        AuditEntry {
            actor: "me",
            action,
            alias: None,
            from_version: None,
            to_version: Some(1),
            forced: false,
            reason: "",
            detail: "",
        }
    }

    /// A deletion that would drop a live version's run deletes nothing,
    /// not even the other runs asked for; once the version is archived,
    /// the runs and everything they recorded go in one transaction, and
    /// the archived version can hold no alias.
    #[tokio::test]
    async fn runs_go_all_or_none_and_an_archived_version_holds_no_alias() {
        let dir = tempfile::tempdir().unwrap();
        let meta = MetaStore::open_path(&dir.path().join("m.db"))
            .await
            .unwrap();
        run_with_output(&meta, "r1", b"one").await;
        run_with_output(&meta, "r2", b"two").await;
        let new = NewModelVersion {
            key: "m",
            run_id: "r1",
            step_id: "train",
            pipeline_name: "p",
            pipeline_version: "1",
            pipeline_sha256: "00",
            created_at: "2026-01-01T00:00:00Z",
            gates_json: None,
        };
        meta.register_model_version(&new, |_| "{}".into(), audit("register"))
            .await
            .unwrap();
        let both = ["r2".to_owned(), "r1".to_owned()];
        let err = meta.delete_runs("default", &both, &[]).await.unwrap_err();
        assert!(
            err.to_string().contains("m:1 was registered from it"),
            "{err}"
        );
        assert_eq!(meta.get_run("r2").await.unwrap().steps.len(), 1);
        assert_eq!(meta.run_artifacts(None).await.unwrap().len(), 2);

        assert_eq!(
            meta.set_version_archived("m", 1, true, audit("archive"))
                .await
                .unwrap(),
            Archiving::Done
        );
        let err = meta
            .set_model_alias("m", "production", 1, audit("promote"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("is archived"), "{err}");
        meta.delete_runs("default", &both, &[]).await.unwrap();
        for id in ["r1", "r2"] {
            assert!(matches!(
                meta.get_run(id).await,
                Err(MetaError::RunNotFound { .. })
            ));
        }
        assert!(meta.run_artifacts(None).await.unwrap().is_empty());
        let history = meta.model_audit("m").await.unwrap();
        let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["register", "archive"]);
    }
}
