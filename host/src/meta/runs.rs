//! Runs: recording one as started and finished, listing them and looking
//! one up by id or prefix.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::store::{MetaStore, RUN_COLUMNS, db, is_violation, now};
use super::{MetaError, NewRun, RunRecord, RunStatus};

type Result<T, E = MetaError> = std::result::Result<T, E>;

impl MetaStore {
    /// Records a run as started now, with status `running`.
    pub async fn create_run(&self, run: &NewRun) -> Result<()> {
        let result = sqlx::query(
            "INSERT INTO runs (id, tenant, pipeline_name, pipeline_version, pipeline_sha256, \
             status, seed, started_at, pipeline_path, plugin_dirs_json, overrides_json) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?12 \
             WHERE NOT ?11 OR NOT EXISTS (SELECT 1 FROM runs WHERE tenant = ?2 \
                 AND pipeline_name = ?3 AND pipeline_version = ?4 AND pipeline_sha256 != ?5 \
                 AND status != 'failed')",
        )
        .bind(&run.id)
        .bind(&run.tenant)
        .bind(&run.pipeline_name)
        .bind(&run.pipeline_version)
        .bind(&run.pipeline_sha256)
        .bind(RunStatus::Running.as_str())
        .bind(run.seed)
        .bind(now())
        .bind(&run.pipeline_path)
        .bind(&run.plugin_dirs_json)
        .bind(run.unique_definition)
        .bind(&run.overrides_json)
        .execute(&self.pool)
        .await;
        match result {
            Ok(done) if done.rows_affected() == 0 => {
                let recorded = self
                    .other_definition(
                        &run.tenant,
                        &run.pipeline_name,
                        &run.pipeline_version,
                        &run.pipeline_sha256,
                    )
                    .await?
                    .unwrap_or_default();
                Err(MetaError::OtherDefinition {
                    id: run.id.clone(),
                    recorded,
                })
            }
            Ok(_) => Ok(()),
            Err(e) if is_violation(&e, sqlx::error::ErrorKind::UniqueViolation) => {
                Err(MetaError::RunExists { id: run.id.clone() })
            }
            Err(e) => Err(db(format!("create run `{}`", run.id))(e)),
        }
    }

    /// Marks a run finished now.
    pub async fn finish_run(&self, id: &str, status: RunStatus, error: Option<&str>) -> Result<()> {
        let done =
            sqlx::query("UPDATE runs SET status = ?, finished_at = ?, error = ? WHERE id = ?")
                .bind(status.as_str())
                .bind(now())
                .bind(error)
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(db(format!("finish run `{id}`")))?;
        if done.rows_affected() == 0 {
            return Err(MetaError::RunNotFound { id: id.to_owned() });
        }
        Ok(())
    }

    /// The most recent runs of every tenant, newest first, without their
    /// steps. A negative `limit` lists all.
    pub async fn list_runs(&self, limit: i64) -> Result<Vec<RunRecord>> {
        self.list_runs_in(None, limit).await
    }

    /// The most recent runs of one tenant (or of all with `None`), newest
    /// first, without their steps. A negative `limit` lists all.
    pub async fn list_runs_in(&self, tenant: Option<&str>, limit: i64) -> Result<Vec<RunRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE ?1 IS NULL OR tenant = ?1 \
             ORDER BY started_at DESC, rowid DESC LIMIT ?2"
        ))
        .bind(tenant)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db("list runs"))?;
        rows.iter().map(run_from_row).collect()
    }

    /// The run with this id, or the one run whose id starts with it, with
    /// its steps in position order, their inputs, outputs and metrics,
    /// whichever tenant it belongs to.
    pub async fn get_run(&self, id_or_prefix: &str) -> Result<RunRecord> {
        self.get_run_in(None, id_or_prefix).await
    }

    /// As [`get_run`](Self::get_run), seeing only the runs of `tenant` (a
    /// run of another tenant is reported as not found).
    pub async fn get_run_in(&self, tenant: Option<&str>, id_or_prefix: &str) -> Result<RunRecord> {
        let not_found = || MetaError::RunNotFound {
            id: id_or_prefix.to_owned(),
        };
        if id_or_prefix.is_empty() {
            return Err(not_found());
        }
        let action = || format!("look up run `{id_or_prefix}`");
        let exact = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1 AND (?2 IS NULL OR tenant = ?2)"
        ))
        .bind(id_or_prefix)
        .bind(tenant)
        .fetch_optional(&self.pool)
        .await
        .map_err(db(action()))?;
        let row = match exact {
            Some(row) => row,
            None => {
                // substr, not LIKE, so `_` and `%` in a prefix match literally.
                let mut rows = sqlx::query(&format!(
                    "SELECT {RUN_COLUMNS} FROM runs WHERE substr(id, 1, length(?1)) = ?1 \
                     AND (?2 IS NULL OR tenant = ?2) ORDER BY started_at DESC LIMIT 10"
                ))
                .bind(id_or_prefix)
                .bind(tenant)
                .fetch_all(&self.pool)
                .await
                .map_err(db(action()))?;
                match rows.len() {
                    0 => return Err(not_found()),
                    1 => rows.remove(0),
                    _ => {
                        return Err(MetaError::AmbiguousRun {
                            prefix: id_or_prefix.to_owned(),
                            candidates: rows
                                .iter()
                                .map(|r| r.try_get("id"))
                                .collect::<Result<_, _>>()
                                .map_err(db(action()))?,
                        });
                    }
                }
            }
        };
        let mut run = run_from_row(&row)?;
        run.steps = self.steps_of(&run.id).await?;
        Ok(run)
    }
    /// Every metric of a run as `(step_id, name, value)`, in step order.
    pub async fn run_metrics(&self, run_id: &str) -> Result<Vec<(String, String, f64)>> {
        let rows = sqlx::query(
            "SELECT m.step_id, m.name, m.value FROM metrics m \
             JOIN step_runs s ON s.run_id = m.run_id AND s.step_id = m.step_id \
             WHERE m.run_id = ? ORDER BY s.position, m.step_id, m.rowid",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db(format!("read the metrics of run `{run_id}`")))?;
        rows.iter()
            .map(|row| {
                let value: Option<f64> = row.try_get(2)?;
                Ok((row.try_get(0)?, row.try_get(1)?, value.unwrap_or(f64::NAN)))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(db(format!("read the metrics of run `{run_id}`")))
    }
}

pub(super) fn run_from_row(row: &SqliteRow) -> Result<RunRecord> {
    let read = || -> Result<_, sqlx::Error> {
        Ok(RunRecord {
            id: row.try_get("id")?,
            tenant: row.try_get("tenant")?,
            pipeline_name: row.try_get("pipeline_name")?,
            pipeline_version: row.try_get("pipeline_version")?,
            pipeline_sha256: row.try_get("pipeline_sha256")?,
            status: RunStatus::Running,
            seed: row.try_get("seed")?,
            started_at: row.try_get("started_at")?,
            finished_at: row.try_get("finished_at")?,
            error: row.try_get("error")?,
            steps: Vec::new(),
            overrides: Vec::new(),
        })
    };
    let mut run = read().map_err(db("read a run"))?;
    let overrides: Option<String> = row.try_get("overrides_json").map_err(db("read a run"))?;
    if let Some(json) = overrides {
        run.overrides = serde_json::from_str(&json).map_err(|_| MetaError::InvalidRecord {
            what: "run overrides",
            value: json,
        })?;
    }
    let status: String = row.try_get("status").map_err(db("read a run"))?;
    run.status = RunStatus::parse(&status).ok_or(MetaError::InvalidRecord {
        what: "run status",
        value: status,
    })?;
    Ok(run)
}
