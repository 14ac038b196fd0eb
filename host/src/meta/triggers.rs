//! Triggers armed from pipeline files and their firings: see
//! [`crate::triggers`].

use super::MetaError;
use super::store::db;
use crate::meta::MetaStore;
use serde::Serialize;
use sqlx::Row;

type Result<T, E = MetaError> = std::result::Result<T, E>;

/// A trigger armed for a tenant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmedTrigger {
    /// The tenant.
    pub tenant: String,
    /// The pipeline's name.
    pub pipeline: String,
    /// The trigger's name.
    pub name: String,
    /// The pipeline file a firing runs.
    pub path: String,
    /// The trigger as declared (JSON of a `TriggerSpec`).
    pub spec: serde_json::Value,
    /// When it was first armed (Unix milliseconds).
    pub armed_ms: i64,
    /// What was handled last.
    pub cursor: String,
    /// A change seen, not fired yet.
    pub pending: String,
    /// Since when `pending` has been seen.
    pub pending_since_ms: i64,
}

/// One firing of a trigger.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Firing {
    /// Its id.
    pub id: i64,
    /// The pipeline.
    pub pipeline: String,
    /// The trigger.
    pub trigger: String,
    /// What makes it this firing and no other.
    pub key: String,
    /// Why it fired, in words.
    pub reason: String,
    /// `pending`, `running`, `succeeded`, `failed` or `skipped`.
    pub state: String,
    /// The run it started.
    pub run_id: Option<String>,
    /// What came of it: the versions registered, the error, why skipped.
    pub detail: String,
    /// When it fired (Unix milliseconds).
    pub fired_ms: i64,
    /// When its state last changed.
    pub updated_ms: i64,
}

fn firing(r: &sqlx::sqlite::SqliteRow) -> std::result::Result<Firing, sqlx::Error> {
    Ok(Firing {
        id: r.try_get("id")?,
        pipeline: r.try_get("pipeline")?,
        trigger: r.try_get("trigger_name")?,
        key: r.try_get("firing_key")?,
        reason: r.try_get("reason")?,
        state: r.try_get("state")?,
        run_id: r.try_get("run_id")?,
        detail: r.try_get("detail")?,
        fired_ms: r.try_get("fired_ms")?,
        updated_ms: r.try_get("updated_ms")?,
    })
}

const FIRING_COLUMNS: &str = "id, pipeline, trigger_name, firing_key, reason, state, run_id, \
                              detail, fired_ms, updated_ms";

impl MetaStore {
    /// Arm `tenant`'s triggers of `pipeline` from the file at `path`:
    /// `(name, spec JSON, first cursor)` each. A trigger armed before keeps
    /// its cursor (what it handled stays handled); one the file no longer
    /// declares is disarmed (its firings stay on record).
    pub async fn arm_triggers(
        &self,
        tenant: &str,
        pipeline: &str,
        path: &str,
        triggers: &[(String, serde_json::Value, String)],
        now_ms: i64,
    ) -> Result<()> {
        let action = || format!("arm the triggers of pipeline `{pipeline}`");
        let mut tx = self.pool.begin().await.map_err(db(action()))?;
        let names: Vec<String> =
            sqlx::query_scalar("SELECT name FROM triggers WHERE tenant = ? AND pipeline = ?")
                .bind(tenant)
                .bind(pipeline)
                .fetch_all(&mut *tx)
                .await
                .map_err(db(action()))?;
        for gone in names
            .iter()
            .filter(|n| !triggers.iter().any(|(name, ..)| name == *n))
        {
            sqlx::query("DELETE FROM triggers WHERE tenant = ? AND pipeline = ? AND name = ?")
                .bind(tenant)
                .bind(pipeline)
                .bind(gone)
                .execute(&mut *tx)
                .await
                .map_err(db(action()))?;
        }
        for (name, spec, cursor) in triggers {
            sqlx::query(
                "INSERT INTO triggers (tenant, pipeline, name, path, spec_json, armed_ms, cursor) \
                 VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, pipeline, name) \
                 DO UPDATE SET path = excluded.path, spec_json = excluded.spec_json",
            )
            .bind(tenant)
            .bind(pipeline)
            .bind(name)
            .bind(path)
            .bind(spec.to_string())
            .bind(now_ms)
            .bind(cursor)
            .execute(&mut *tx)
            .await
            .map_err(db(action()))?;
        }
        tx.commit().await.map_err(db(action()))?;
        Ok(())
    }

    /// The armed triggers (of `tenant`, when given), by pipeline and name.
    pub async fn armed_triggers(&self, tenant: Option<&str>) -> Result<Vec<ArmedTrigger>> {
        let action = || "read the armed triggers".to_owned();
        let rows = sqlx::query(
            "SELECT tenant, pipeline, name, path, spec_json, armed_ms, cursor, pending, \
             pending_since_ms FROM triggers WHERE (? IS NULL OR tenant = ?) \
             ORDER BY tenant, pipeline, name",
        )
        .bind(tenant)
        .bind(tenant)
        .fetch_all(&self.pool)
        .await
        .map_err(db(action()))?;
        rows.iter()
            .map(|r| {
                let spec: String = r.try_get("spec_json").map_err(db(action()))?;
                Ok(ArmedTrigger {
                    tenant: r.try_get("tenant").map_err(db(action()))?,
                    pipeline: r.try_get("pipeline").map_err(db(action()))?,
                    name: r.try_get("name").map_err(db(action()))?,
                    path: r.try_get("path").map_err(db(action()))?,
                    spec: serde_json::from_str(&spec).map_err(|_| MetaError::InvalidRecord {
                        what: "trigger",
                        value: spec.clone(),
                    })?,
                    armed_ms: r.try_get("armed_ms").map_err(db(action()))?,
                    cursor: r.try_get("cursor").map_err(db(action()))?,
                    pending: r.try_get("pending").map_err(db(action()))?,
                    pending_since_ms: r.try_get("pending_since_ms").map_err(db(action()))?,
                })
            })
            .collect()
    }

    /// Move a trigger's cursor and pending change.
    pub async fn set_trigger_cursor(
        &self,
        t: &ArmedTrigger,
        cursor: &str,
        pending: &str,
        pending_since_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE triggers SET cursor = ?, pending = ?, pending_since_ms = ? \
             WHERE tenant = ? AND pipeline = ? AND name = ?",
        )
        .bind(cursor)
        .bind(pending)
        .bind(pending_since_ms)
        .bind(&t.tenant)
        .bind(&t.pipeline)
        .bind(&t.name)
        .execute(&self.pool)
        .await
        .map_err(db(format!("move trigger `{}`", t.name)))?;
        Ok(())
    }

    /// Record a firing of `t` in `state`; `None` when the same key fired
    /// before (nothing is recorded).
    pub async fn record_firing(
        &self,
        t: &ArmedTrigger,
        key: &str,
        reason: &str,
        state: &str,
        detail: &str,
        now_ms: i64,
    ) -> Result<Option<i64>> {
        let done = sqlx::query(
            "INSERT INTO trigger_firings (tenant, pipeline, trigger_name, firing_key, reason, \
             state, detail, fired_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (tenant, pipeline, trigger_name, firing_key) DO NOTHING",
        )
        .bind(&t.tenant)
        .bind(&t.pipeline)
        .bind(&t.name)
        .bind(key)
        .bind(reason)
        .bind(state)
        .bind(detail)
        .bind(now_ms)
        .bind(now_ms)
        .execute(&self.pool)
        .await
        .map_err(db(format!("record a firing of trigger `{}`", t.name)))?;
        Ok((done.rows_affected() == 1).then(|| done.last_insert_rowid()))
    }

    /// Set a firing's state, run and detail.
    pub async fn update_firing(
        &self,
        id: i64,
        state: &str,
        run_id: Option<&str>,
        detail: &str,
        now_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE trigger_firings SET state = ?, run_id = COALESCE(?, run_id), detail = ?, \
             updated_ms = ? WHERE id = ?",
        )
        .bind(state)
        .bind(run_id)
        .bind(detail)
        .bind(now_ms)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(db("update a trigger firing".to_owned()))?;
        Ok(())
    }

    /// `tenant`'s firings (of `pipeline`, and of its trigger `trigger`,
    /// when given) in `states` (all when empty), the latest `limit`,
    /// oldest first.
    pub async fn firings(
        &self,
        tenant: &str,
        pipeline: Option<&str>,
        trigger: Option<&str>,
        states: &[&str],
        limit: i64,
    ) -> Result<Vec<Firing>> {
        let action = || "read the trigger firings".to_owned();
        // Read by the engine at every look: filtered and limited by the
        // database (the index on tenant and state), not here.
        let in_states = if states.is_empty() {
            String::new()
        } else {
            format!(" AND state IN ({})", vec!["?"; states.len()].join(", "))
        };
        let sql = format!(
            "SELECT * FROM (SELECT {FIRING_COLUMNS} FROM trigger_firings WHERE tenant = ? \
             AND (? IS NULL OR pipeline = ?) AND (? IS NULL OR trigger_name = ?){in_states} \
             ORDER BY id DESC LIMIT ?) ORDER BY id"
        );
        let mut query = sqlx::query(&sql)
            .bind(tenant)
            .bind(pipeline)
            .bind(pipeline)
            .bind(trigger)
            .bind(trigger);
        for state in states {
            query = query.bind(*state);
        }
        let rows = query
            .bind(limit.max(0))
            .fetch_all(&self.pool)
            .await
            .map_err(db(action()))?;
        rows.iter()
            .map(firing)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(db(action()))
    }
}
