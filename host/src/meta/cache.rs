//! The step cache's records, and what `sluice resume` needs of a run.

use super::MetaError;
use super::store::{MetaStore, db};
use crate::artifacts::ArtifactDigest;
use sqlx::Row;

type Result<T, E = MetaError> = std::result::Result<T, E>;

/// A succeeded step run whose outputs a step with the same cache key may
/// reuse.
#[derive(Debug, Clone, PartialEq)]
pub struct StepOutputs {
    /// The run it succeeded in.
    pub run_id: String,
    /// The step's id.
    pub step_id: String,
    /// The step's cache key, if it had one.
    pub cache_key: Option<String>,
    /// Its outputs, by name.
    pub outputs: Vec<(String, ArtifactDigest)>,
    /// NaN is recorded as NULL and comes back as NaN.
    pub metrics: Vec<(String, f64)>,
}

impl MetaStore {
    /// Records the cache key of a step (before it is finished as succeeded).
    pub async fn set_step_cache_key(&self, run_id: &str, step_id: &str, key: &str) -> Result<()> {
        sqlx::query("UPDATE step_runs SET cache_key = ? WHERE run_id = ? AND step_id = ?")
            .bind(key)
            .bind(run_id)
            .bind(step_id)
            .execute(&self.pool)
            .await
            .map_err(db(format!(
                "record the cache key of step `{step_id}` in run `{run_id}`"
            )))?;
        Ok(())
    }

    /// `tenant`'s succeeded step runs with cache key `key`, newest first
    /// (never another tenant's).
    pub async fn cache_hits(&self, tenant: &str, key: &str) -> Result<Vec<StepOutputs>> {
        let rows = sqlx::query(
            "SELECT s.run_id, s.step_id FROM step_runs s JOIN runs r ON r.id = s.run_id \
             WHERE s.cache_key = ? AND s.status = 'succeeded' AND r.tenant = ? \
             ORDER BY s.finished_at DESC LIMIT 8",
        )
        .bind(key)
        .bind(tenant)
        .fetch_all(&self.pool)
        .await
        .map_err(db("look up the step cache"))?;
        let mut hits = Vec::new();
        for r in &rows {
            let run_id: String = r.try_get(0).map_err(db("look up the step cache"))?;
            let step_id: String = r.try_get(1).map_err(db("look up the step cache"))?;
            hits.push(self.step_outputs(&run_id, &step_id).await?);
        }
        Ok(hits)
    }

    /// Whether `tenant` has a succeeded step run of `kind` with these
    /// params and a cache key: one a step may be reused from if its inputs
    /// are unchanged (a dataset read before, from the same file).
    pub async fn may_reuse(&self, tenant: &str, kind: &str, params_json: &str) -> Result<bool> {
        let row = sqlx::query(
            "SELECT 1 FROM step_runs s JOIN runs r ON r.id = s.run_id \
             WHERE s.kind = ? AND s.params_json = ? AND s.status = 'succeeded' \
             AND s.cache_key IS NOT NULL AND r.tenant = ? LIMIT 1",
        )
        .bind(kind)
        .bind(params_json)
        .bind(tenant)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("look up the step cache"))?;
        Ok(row.is_some())
    }

    /// The outputs and metrics a step run recorded.
    pub async fn step_outputs(&self, run_id: &str, step_id: &str) -> Result<StepOutputs> {
        let action = || format!("read the outputs of step `{step_id}` in run `{run_id}`");
        let outputs = self.io_of(run_id, step_id, "out").await?;
        let rows = sqlx::query(
            "SELECT name, value FROM metrics WHERE run_id = ? AND step_id = ? ORDER BY name",
        )
        .bind(run_id)
        .bind(step_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db(action()))?;
        let mut metrics = Vec::new();
        for r in &rows {
            let name: String = r.try_get(0).map_err(db(action()))?;
            let value: Option<f64> = r.try_get(1).map_err(db(action()))?;
            metrics.push((name, value.unwrap_or(f64::NAN)));
        }
        let cache_key: Option<String> =
            sqlx::query_scalar("SELECT cache_key FROM step_runs WHERE run_id = ? AND step_id = ?")
                .bind(run_id)
                .bind(step_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db(action()))?
                .flatten();
        Ok(StepOutputs {
            run_id: run_id.to_owned(),
            step_id: step_id.to_owned(),
            cache_key,
            outputs,
            metrics,
        })
    }

    /// Marks a started step as served from the cache: its outputs come from
    /// step `from_step` of run `from_run`, which had the same cache key.
    pub async fn mark_step_cached_from(
        &self,
        run_id: &str,
        step_id: &str,
        from_run: &str,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE step_runs SET cached = 1, cached_from = ? WHERE run_id = ? AND step_id = ?",
        )
        .bind(from_run)
        .bind(run_id)
        .bind(step_id)
        .execute(&self.pool)
        .await
        .map_err(db(format!(
            "mark step `{step_id}` of run `{run_id}` cached"
        )))?;
        if done.rows_affected() == 0 {
            return Err(MetaError::StepNotFound {
                run_id: run_id.to_owned(),
                step_id: step_id.to_owned(),
            });
        }
        Ok(())
    }

    /// Where a run's pipeline file was, and its plugin directories (JSON).
    pub async fn run_source(&self, run_id: &str) -> Result<(Option<String>, Option<String>)> {
        let row = sqlx::query("SELECT pipeline_path, plugin_dirs_json FROM runs WHERE id = ?")
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db(format!("read the pipeline file of run `{run_id}`")))?;
        match row {
            Some(r) => Ok((r.try_get(0).ok().flatten(), r.try_get(1).ok().flatten())),
            None => Err(MetaError::RunNotFound {
                id: run_id.to_owned(),
            }),
        }
    }

    /// Prepares a failed or interrupted run to continue: status back to
    /// `running`, and every step that did not succeed forgotten (with its
    /// io edges and metrics), so it runs again. Succeeded steps stay.
    pub async fn reopen_run(&self, run_id: &str) -> Result<()> {
        let action = || format!("reopen run `{run_id}`");
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db(action()))?;
        for sql in [
            "DELETE FROM step_trials WHERE run_id = ?1 AND step_id IN \
             (SELECT step_id FROM step_runs WHERE run_id = ?1 AND status != 'succeeded')",
            "DELETE FROM metrics WHERE run_id = ?1 AND step_id IN \
             (SELECT step_id FROM step_runs WHERE run_id = ?1 AND status != 'succeeded')",
            "DELETE FROM step_io WHERE run_id = ?1 AND step_id IN \
             (SELECT step_id FROM step_runs WHERE run_id = ?1 AND status != 'succeeded')",
            "DELETE FROM step_runs WHERE run_id = ?1 AND status != 'succeeded'",
            "UPDATE runs SET status = 'running', finished_at = NULL, error = NULL WHERE id = ?1",
        ] {
            sqlx::query(sql)
                .bind(run_id)
                .execute(&mut *tx)
                .await
                .map_err(db(action()))?;
        }
        tx.commit().await.map_err(db(action()))
    }

    /// Forgets one step of a run (its io edges and metrics too), so a
    /// resumed run can run it again.
    pub async fn forget_step(&self, run_id: &str, step_id: &str) -> Result<()> {
        let action = || format!("forget step `{step_id}` of run `{run_id}`");
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db(action()))?;
        for sql in [
            "DELETE FROM step_trials WHERE run_id = ? AND step_id = ?",
            "DELETE FROM metrics WHERE run_id = ? AND step_id = ?",
            "DELETE FROM step_io WHERE run_id = ? AND step_id = ?",
            "DELETE FROM step_runs WHERE run_id = ? AND step_id = ?",
        ] {
            sqlx::query(sql)
                .bind(run_id)
                .bind(step_id)
                .execute(&mut *tx)
                .await
                .map_err(db(action()))?;
        }
        tx.commit().await.map_err(db(action()))
    }
}
