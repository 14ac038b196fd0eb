//! Rollouts' state: one row per rollout, the whole of it, so that a
//! restarted server resumes where it was.

use super::MetaError;
use super::store::{db, is_violation};
use crate::meta::MetaStore;
use serde::Serialize;
use sqlx::Row;

type Result<T, E = MetaError> = std::result::Result<T, E>;

/// A rollout as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RolloutRow {
    /// Its id.
    pub id: i64,
    /// The model.
    pub model: String,
    /// The version rolled out.
    pub candidate: i64,
    /// The alias it takes over (`production`).
    pub alias: String,
    /// Its plan (JSON of [`crate::rollout::RolloutSpec`]).
    pub spec_json: String,
    /// The traffic policy before it (JSON), if there was one.
    pub route_before_json: Option<String>,
    /// `running`, `paused`, `promoted`, `failed` or `aborted`.
    pub state: String,
    /// The step it is at (index into the plan's steps).
    pub step: i64,
    /// The start of the interval being gathered (Unix milliseconds).
    pub window_start_ms: i64,
    /// Failed intervals so far.
    pub failures: i64,
    /// Inconclusive intervals so far.
    pub inconclusive: i64,
    /// The last interval's outcome, in words.
    pub last: String,
    /// Who started it.
    pub actor: String,
    /// When it started (Unix milliseconds).
    pub started_ms: i64,
    /// When it last changed.
    pub updated_ms: i64,
}

const COLUMNS: &str = "id, model, candidate, alias, spec_json, route_before_json, state, step, \
     window_start_ms, failures, inconclusive, last, actor, started_ms, updated_ms";

fn row(r: &sqlx::sqlite::SqliteRow) -> std::result::Result<RolloutRow, sqlx::Error> {
    Ok(RolloutRow {
        id: r.try_get("id")?,
        model: r.try_get("model")?,
        candidate: r.try_get("candidate")?,
        alias: r.try_get("alias")?,
        spec_json: r.try_get("spec_json")?,
        route_before_json: r.try_get("route_before_json")?,
        state: r.try_get("state")?,
        step: r.try_get("step")?,
        window_start_ms: r.try_get("window_start_ms")?,
        failures: r.try_get("failures")?,
        inconclusive: r.try_get("inconclusive")?,
        last: r.try_get("last")?,
        actor: r.try_get("actor")?,
        started_ms: r.try_get("started_ms")?,
        updated_ms: r.try_get("updated_ms")?,
    })
}

impl MetaStore {
    /// Record a new rollout of `tenant` (its id set); an error when the
    /// model has one going on already.
    pub async fn start_rollout(&self, tenant: &str, r: &RolloutRow) -> Result<i64> {
        let done = sqlx::query(
            "INSERT INTO rollouts (tenant, model, candidate, alias, spec_json, route_before_json, \
             state, step, window_start_ms, failures, inconclusive, last, actor, started_ms, \
             updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(tenant)
        .bind(&r.model)
        .bind(r.candidate)
        .bind(&r.alias)
        .bind(&r.spec_json)
        .bind(&r.route_before_json)
        .bind(&r.state)
        .bind(r.step)
        .bind(r.window_start_ms)
        .bind(r.failures)
        .bind(r.inconclusive)
        .bind(&r.last)
        .bind(&r.actor)
        .bind(r.started_ms)
        .bind(r.updated_ms)
        .execute(&self.pool)
        .await;
        match done {
            Ok(d) => Ok(d.last_insert_rowid()),
            Err(e) if is_violation(&e, sqlx::error::ErrorKind::UniqueViolation) => {
                Err(MetaError::Conflict(format!(
                    "model `{}` has a rollout going on: see `sluice models rollout status {}`",
                    r.model, r.model
                )))
            }
            Err(e) => Err(db(format!("start a rollout of model `{}`", r.model))(e)),
        }
    }

    /// Store `r`'s state (by its id).
    pub async fn update_rollout(&self, r: &RolloutRow) -> Result<()> {
        sqlx::query(
            "UPDATE rollouts SET state = ?, step = ?, window_start_ms = ?, failures = ?, \
             inconclusive = ?, last = ?, updated_ms = ? WHERE id = ?",
        )
        .bind(&r.state)
        .bind(r.step)
        .bind(r.window_start_ms)
        .bind(r.failures)
        .bind(r.inconclusive)
        .bind(&r.last)
        .bind(r.updated_ms)
        .bind(r.id)
        .execute(&self.pool)
        .await
        .map_err(db(format!("update the rollout of model `{}`", r.model)))?;
        Ok(())
    }

    /// `tenant`'s rollouts going on (running or paused).
    pub async fn active_rollouts(&self, tenant: &str) -> Result<Vec<RolloutRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM rollouts WHERE tenant = ? AND state IN ('running', 'paused') \
             ORDER BY id"
        ))
        .bind(tenant)
        .fetch_all(&self.pool)
        .await
        .map_err(db("read the rollouts going on"))?;
        rows.iter()
            .map(|r| row(r).map_err(db("read the rollouts going on")))
            .collect()
    }

    /// Whether a rollout of `tenant`'s model `model` ran during any part
    /// of `start_ms..end_ms` (one still running or paused counts up to now).
    pub async fn rollout_during(
        &self,
        tenant: &str,
        model: &str,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM rollouts WHERE tenant = ? AND model = ? AND started_ms < ? \
             AND (state IN ('running', 'paused') OR updated_ms > ?)",
        )
        .bind(tenant)
        .bind(model)
        .bind(end_ms)
        .bind(start_ms)
        .fetch_one(&self.pool)
        .await
        .map_err(db(format!("read the rollouts of model `{model}`")))?;
        Ok(n > 0)
    }

    /// The latest rollout of `tenant`'s model `model`, if any.
    pub async fn latest_rollout(&self, tenant: &str, model: &str) -> Result<Option<RolloutRow>> {
        let action = || format!("read the rollout of model `{model}`");
        let r = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM rollouts WHERE tenant = ? AND model = ? ORDER BY id DESC LIMIT 1"
        ))
        .bind(tenant)
        .bind(model)
        .fetch_optional(&self.pool)
        .await
        .map_err(db(action()))?;
        r.map(|r| row(&r).map_err(db(action()))).transpose()
    }
}
