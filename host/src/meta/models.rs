//! The model registry's tables (`models`, `model_versions`,
//! `model_aliases`, `model_audit`): the SQL behind
//! [`registry::Registry`](crate::registry::Registry). Models are named here
//! by their stored key (the registry scopes names by tenant); a version's
//! body is the registry's JSON, kept as text.

use serde::Serialize;
use sqlx::Row;

use super::MetaError;
use super::store::{MetaStore, db};

type Result<T, E = MetaError> = std::result::Result<T, E>;

/// One line of a model's audit history.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEvent {
    /// The line's number, in the order lines were written.
    pub id: i64,
    /// When (RFC 3339, UTC, to the microsecond).
    pub at: String,
    /// Who acted (`--actor`, else `SLUICE_ACTOR`, else the login name).
    pub actor: String,
    /// What was done: `register`, `promote`, `rollback`, `route`,
    /// `judge` (a challenger judged against the champion by the gates,
    /// the verdict and numbers in `detail`), `archive` or `unarchive`.
    pub action: String,
    /// The alias it moved, if any.
    pub alias: Option<String>,
    /// The version the alias pointed at before, if any.
    pub from_version: Option<i64>,
    /// The version it points at after (or the version registered).
    pub to_version: Option<i64>,
    /// Whether failed gates were overridden (`--force`).
    pub forced: bool,
    /// Why, as the actor said (required with `--force`).
    pub reason: String,
    /// What changed beyond the columns above: for `route`, the traffic
    /// policy now in force (JSON; empty when cleared).
    pub detail: String,
}

/// An audit line to append, with the change it records.
#[derive(Debug, Clone, Copy)]
pub struct AuditEntry<'a> {
    /// Who acts.
    pub actor: &'a str,
    /// What is done: `register`, `promote`, `rollback`, `route`, `judge`,
    /// `archive` or `unarchive`.
    pub action: &'a str,
    /// The alias it moves, if any.
    pub alias: Option<&'a str>,
    /// The version the alias points at before, if any.
    pub from_version: Option<i64>,
    /// The version it points at after (or the version registered).
    pub to_version: Option<i64>,
    /// Whether failed gates are overridden.
    pub forced: bool,
    /// Why, as the actor said.
    pub reason: &'a str,
    /// What changed beyond the other fields (for `route`: the policy).
    pub detail: &'a str,
}

/// What [`MetaStore::register_model_version`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    /// The run's step was registered before: the stored body.
    Existing(String),
    /// Registered as this new version.
    New(i64),
}

/// A model of [`MetaStore::list_models`]: key, gates (JSON), how many
/// versions and the latest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRow {
    /// The model's key: its name, prefixed by `TENANT/` outside the default
    /// tenant.
    pub key: String,
    /// Its gate expressions, as a JSON list.
    pub gates_json: String,
    /// How many versions it has.
    pub versions: i64,
    /// Its highest version number.
    pub latest: i64,
}

/// A model's traffic policies, as [`MetaStore::model_serving`] reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServingRow {
    /// The policy in force (JSON), if any.
    pub in_force: Option<String>,
    /// The policy a pipeline file last declared (JSON), if any.
    pub declared: Option<String>,
}

/// Which version a registration records.
pub struct NewModelVersion<'a> {
    /// The model's key: its name, prefixed by `TENANT/` outside the default
    /// tenant.
    pub key: &'a str,
    /// The run the version comes from.
    pub run_id: &'a str,
    /// The trainer's step id in that run.
    pub step_id: &'a str,
    /// The pipeline's `name`.
    pub pipeline_name: &'a str,
    /// The pipeline's `version`.
    pub pipeline_version: &'a str,
    /// sha256 of the pipeline definition's text, in hex.
    pub pipeline_sha256: &'a str,
    /// When it is registered (RFC 3339, UTC).
    pub created_at: &'a str,
    /// Replace the model's gates (JSON list) with these.
    pub gates_json: Option<&'a str>,
}

/// Now, to the microsecond: the registry's times (an alias's history is
/// replayed up to a time given on the command line).
pub(super) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

impl MetaStore {
    /// Append `entry` to model `key`'s audit history, changing nothing
    /// else (a verdict, a decision).
    pub async fn append_audit(&self, key: &str, entry: AuditEntry<'_>) -> Result<()> {
        let action = || format!("write the audit history of model `{key}`");
        let mut tx = self.pool.begin().await.map_err(db(action()))?;
        append_audit(&mut tx, key, &entry).await?;
        tx.commit().await.map_err(db(action()))?;
        Ok(())
    }

    /// A recorded pipeline definition by its sha256.
    pub async fn definition_by_sha256(&self, sha256: &str) -> Result<Option<String>> {
        sqlx::query_scalar(
            "SELECT definition FROM pipeline_versions WHERE definition_sha256 = ? LIMIT 1",
        )
        .bind(sha256)
        .fetch_optional(&self.pool)
        .await
        .map_err(db(format!("look up pipeline definition {sha256}")))
    }

    /// Register a run's trainer step as the next version of model `key`, in
    /// one transaction with its audit line; `body` makes the stored JSON for
    /// the version number. A step registered before returns its body.
    pub async fn register_model_version(
        &self,
        new: &NewModelVersion<'_>,
        body: impl FnOnce(i64) -> String,
        audit: AuditEntry<'_>,
    ) -> Result<Registered> {
        let key = new.key;
        let action = || format!("register a version of model `{key}`");
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db(action()))?;
        let existing: Option<String> = sqlx::query_scalar(
            "SELECT body_json FROM model_versions WHERE name = ? AND run_id = ? AND step_id = ?",
        )
        .bind(key)
        .bind(new.run_id)
        .bind(new.step_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db(action()))?;
        if let Some(body) = existing {
            return Ok(Registered::Existing(body));
        }
        sqlx::query(
            "INSERT INTO models (name, gates_json, created_at) VALUES (?, ?, ?) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(key)
        .bind(new.gates_json.unwrap_or("[]"))
        .bind(now())
        .execute(&mut *tx)
        .await
        .map_err(db(action()))?;
        if let Some(gates) = new.gates_json {
            sqlx::query("UPDATE models SET gates_json = ? WHERE name = ?")
                .bind(gates)
                .bind(key)
                .execute(&mut *tx)
                .await
                .map_err(db(action()))?;
        }
        let next: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE name = ?",
        )
        .bind(key)
        .fetch_one(&mut *tx)
        .await
        .map_err(db(action()))?;
        sqlx::query(
            "INSERT INTO model_versions (name, version, run_id, step_id, pipeline_name, \
             pipeline_version, pipeline_sha256, body_json, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(key)
        .bind(next)
        .bind(new.run_id)
        .bind(new.step_id)
        .bind(new.pipeline_name)
        .bind(new.pipeline_version)
        .bind(new.pipeline_sha256)
        .bind(body(next))
        .bind(new.created_at)
        .execute(&mut *tx)
        .await
        .map_err(db(action()))?;
        let audit = AuditEntry {
            to_version: Some(next),
            ..audit
        };
        append_audit(&mut tx, key, &audit).await?;
        tx.commit().await.map_err(db(action()))?;
        Ok(Registered::New(next))
    }

    /// Replace model `key`'s gates with `gates_json` (a JSON list).
    pub async fn set_model_gates(&self, key: &str, gates_json: &str) -> Result<()> {
        sqlx::query("UPDATE models SET gates_json = ? WHERE name = ?")
            .bind(gates_json)
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(db(format!("set the gates of model `{key}`")))?;
        Ok(())
    }

    /// Model `key`'s gates (a JSON list), or `None` if no such model.
    pub async fn model_gates_json(&self, key: &str) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT gates_json FROM models WHERE name = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db(format!("look up model `{key}`")))
    }

    /// The stored body of version `version` of model `key`.
    pub async fn model_version_body(&self, key: &str, version: i64) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT body_json FROM model_versions WHERE name = ? AND version = ?")
            .bind(key)
            .bind(version)
            .fetch_optional(&self.pool)
            .await
            .map_err(db(format!("look up version {version} of model `{key}`")))
    }

    /// Model `key`'s aliases and the versions they point at, by alias.
    pub async fn model_aliases(&self, key: &str) -> Result<Vec<(String, i64)>> {
        let rows =
            sqlx::query("SELECT alias, version FROM model_aliases WHERE name = ? ORDER BY alias")
                .bind(key)
                .fetch_all(&self.pool)
                .await
                .map_err(db(format!("look up the aliases of model `{key}`")))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Model `key`'s version numbers, in order.
    pub async fn model_versions(&self, key: &str) -> Result<Vec<i64>> {
        sqlx::query_scalar("SELECT version FROM model_versions WHERE name = ? ORDER BY version")
            .bind(key)
            .fetch_all(&self.pool)
            .await
            .map_err(db(format!("look up the versions of model `{key}`")))
    }

    /// The models whose keys are in the scope of `prefix`: with `""`, keys
    /// holding no `/` (the default tenant's); else keys starting with it.
    /// Their versions are counted without the archived ones unless
    /// `archived`.
    pub async fn list_models(&self, prefix: &str, archived: bool) -> Result<Vec<ModelRow>> {
        let rows = sqlx::query(&format!(
            "SELECT m.name, m.gates_json, COUNT(v.version), COALESCE(MAX(v.version), 0) \
             FROM models m LEFT JOIN model_versions v ON v.name = m.name \
             AND (?2 OR v.archived_at IS NULL) WHERE {} \
             GROUP BY m.name ORDER BY m.name",
            super::housekeeping::in_scope("m.name")
        ))
        .bind(prefix)
        .bind(archived)
        .fetch_all(&self.pool)
        .await
        .map_err(db("list the models"))?;
        Ok(rows
            .iter()
            .map(|r| ModelRow {
                key: r.get(0),
                gates_json: r.get(1),
                versions: r.get(2),
                latest: r.get(3),
            })
            .collect())
    }

    /// Point `alias` of model `key` at `version` (creating the alias), with
    /// its audit line, in one transaction. An archived version holds no
    /// alias: a [`MetaError::Conflict`].
    pub async fn set_model_alias(
        &self,
        key: &str,
        alias: &str,
        version: i64,
        audit: AuditEntry<'_>,
    ) -> Result<()> {
        let action = || format!("move alias `{alias}` of model `{key}`");
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db(action()))?;
        if super::housekeeping::is_archived(&mut tx, key, version).await? == Some(true) {
            return Err(MetaError::Conflict(format!(
                "version {version} of model `{key}` is archived and can hold no alias; \
                 `sluice models unarchive {key}:{version}` brings it back"
            )));
        }
        sqlx::query(
            "INSERT INTO model_aliases (name, alias, version, updated_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version, \
             updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(alias)
        .bind(version)
        .bind(now())
        .execute(&mut *tx)
        .await
        .map_err(db(action()))?;
        append_audit(&mut tx, key, &audit).await?;
        tx.commit().await.map_err(db(action()))
    }

    /// Model `key`'s traffic policy in force and the one a pipeline file
    /// last declared (both JSON, `None` for none), or `None` if no such
    /// model.
    pub async fn model_serving(&self, key: &str) -> Result<Option<ServingRow>> {
        let row =
            sqlx::query("SELECT serving_json, serving_declared_json FROM models WHERE name = ?")
                .bind(key)
                .fetch_optional(&self.pool)
                .await
                .map_err(db(format!("read the traffic policy of model `{key}`")))?;
        Ok(row.map(|r| ServingRow {
            in_force: r.get(0),
            declared: r.get(1),
        }))
    }

    /// Put `policy` (JSON, `None` to clear) in force for model `key`, with
    /// its audit line, in one transaction; `declared` also records it as
    /// the one the pipeline file declares.
    pub async fn set_model_serving(
        &self,
        key: &str,
        policy: Option<&str>,
        declared: bool,
        audit: AuditEntry<'_>,
    ) -> Result<()> {
        let action = || format!("set the traffic policy of model `{key}`");
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db(action()))?;
        let sql = if declared {
            "UPDATE models SET serving_json = ?1, serving_declared_json = ?1 WHERE name = ?2"
        } else {
            "UPDATE models SET serving_json = ?1 WHERE name = ?2"
        };
        sqlx::query(sql)
            .bind(policy)
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(db(action()))?;
        append_audit(&mut tx, key, &audit).await?;
        tx.commit().await.map_err(db(action()))
    }

    /// Model `key`'s audit history, oldest first.
    pub async fn model_audit(&self, key: &str) -> Result<Vec<AuditEvent>> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, alias, from_version, to_version, forced, reason, \
             detail FROM model_audit WHERE name = ? ORDER BY id",
        )
        .bind(key)
        .fetch_all(&self.pool)
        .await
        .map_err(db(format!("read the audit history of model `{key}`")))?;
        Ok(rows
            .iter()
            .map(|r| AuditEvent {
                id: r.get(0),
                at: r.get(1),
                actor: r.get(2),
                action: r.get(3),
                alias: r.get(4),
                from_version: r.get(5),
                to_version: r.get(6),
                forced: r.get::<i64, _>(7) != 0,
                reason: r.get(8),
                detail: r.get(9),
            })
            .collect())
    }
}

pub(super) async fn append_audit(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    key: &str,
    e: &AuditEntry<'_>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO model_audit (name, at, actor, action, alias, from_version, to_version, \
         forced, reason, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(key)
    .bind(now())
    .bind(e.actor)
    .bind(e.action)
    .bind(e.alias)
    .bind(e.from_version)
    .bind(e.to_version)
    .bind(i64::from(e.forced))
    .bind(e.reason)
    .bind(e.detail)
    .execute(&mut **tx)
    .await
    .map_err(db(format!("append to the audit history of model `{key}`")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_audit_history_is_append_only() {
        let dir = tempfile::tempdir().unwrap();
        let meta = MetaStore::open_path(&dir.path().join("m.db"))
            .await
            .unwrap();
        let audit = AuditEntry {
            actor: "me",
            action: "register",
            alias: None,
            from_version: None,
            to_version: Some(1),
            forced: false,
            reason: "why",
            detail: "",
        };
        let new = NewModelVersion {
            key: "m",
            run_id: "r",
            step_id: "train",
            pipeline_name: "p",
            pipeline_version: "1",
            pipeline_sha256: "00",
            created_at: "2026-01-01T00:00:00Z",
            gates_json: None,
        };
        let registered = meta.register_model_version(&new, |_| "{}".into(), audit);
        assert_eq!(registered.await.unwrap(), Registered::New(1));
        let update = sqlx::query("UPDATE model_audit SET to_version = 2")
            .execute(&meta.pool)
            .await;
        assert!(update.unwrap_err().to_string().contains("append-only"));
        let delete = sqlx::query("DELETE FROM model_audit")
            .execute(&meta.pool)
            .await;
        assert!(delete.unwrap_err().to_string().contains("append-only"));
        assert_eq!(meta.model_audit("m").await.unwrap().len(), 1);
    }
}
