//! The steps of a run: recording one as started, skipped and finished
//! (with its inputs, outputs and metrics in one transaction), and reading
//! them back.

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};

use super::store::{MetaStore, db, is_violation, now};
use super::{MetaError, NewStep, StepEnd, StepRunRecord, StepStatus};
use crate::artifacts::ArtifactDigest;

type Result<T, E = MetaError> = std::result::Result<T, E>;

impl MetaStore {
    // Every write transaction begins IMMEDIATE: it takes the write lock
    // up front, so concurrent steps queue on the busy timeout instead of
    // failing with "database is locked" when a read turns into a write.

    /// Records a step as started now (status `running`) with the artifacts
    /// it reads, by input name.
    pub async fn start_step(
        &self,
        step: &NewStep<'_>,
        inputs: &[(String, ArtifactDigest)],
    ) -> Result<()> {
        self.insert_step(step, StepStatus::Running, inputs).await
    }

    /// Records a step the run never reached (status `skipped`).
    pub async fn skip_step(&self, step: &NewStep<'_>) -> Result<()> {
        self.insert_step(step, StepStatus::Skipped, &[]).await
    }

    /// Records the directories a started step was granted (JSON list of
    /// `{name, path}`).
    pub async fn record_step_grants(&self, run_id: &str, step_id: &str, json: &str) -> Result<()> {
        sqlx::query("UPDATE step_runs SET grants_json = ? WHERE run_id = ? AND step_id = ?")
            .bind(json)
            .bind(run_id)
            .bind(step_id)
            .execute(&self.pool)
            .await
            .map_err(db(format!(
                "record the grants of step `{step_id}` in run `{run_id}`"
            )))?;
        Ok(())
    }

    async fn insert_step(
        &self,
        step: &NewStep<'_>,
        status: StepStatus,
        inputs: &[(String, ArtifactDigest)],
    ) -> Result<()> {
        let action = || format!("record step `{}` of run `{}`", step.step_id, step.run_id);
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db(action()))?;
        let started_at = now();
        let finished_at = (status == StepStatus::Skipped).then(|| started_at.clone());
        let inserted = sqlx::query(
            "INSERT INTO step_runs (run_id, step_id, position, kind, plugin_name, \
             plugin_version, plugin_sha256, params_json, status, started_at, finished_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(step.run_id)
        .bind(step.step_id)
        .bind(step.position)
        .bind(step.kind)
        .bind(step.plugin_name)
        .bind(step.plugin_version)
        .bind(step.plugin_sha256)
        .bind(step.params_json)
        .bind(status.as_str())
        .bind(&started_at)
        .bind(finished_at)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if is_violation(&e, sqlx::error::ErrorKind::UniqueViolation) => {
                return Err(MetaError::StepExists {
                    run_id: step.run_id.to_owned(),
                    step_id: step.step_id.to_owned(),
                });
            }
            Err(e) if is_violation(&e, sqlx::error::ErrorKind::ForeignKeyViolation) => {
                return Err(MetaError::RunNotFound {
                    id: step.run_id.to_owned(),
                });
            }
            Err(e) => return Err(db(action())(e)),
        }
        insert_io(&mut tx, step.run_id, step.step_id, "in", inputs).await?;
        tx.commit().await.map_err(db(action()))
    }

    /// Records how a started step ended: status, the artifacts it wrote (by
    /// output name), its metrics (a later duplicate name replaces an earlier
    /// one), log and error, with `finished_at` now and the duration since it
    /// started. All of it in one transaction.
    pub async fn finish_step(&self, run_id: &str, step_id: &str, end: &StepEnd<'_>) -> Result<()> {
        let action = || format!("finish step `{step_id}` of run `{run_id}`");
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db(action()))?;
        let started_at: Option<String> =
            sqlx::query_scalar("SELECT started_at FROM step_runs WHERE run_id = ? AND step_id = ?")
                .bind(run_id)
                .bind(step_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db(action()))?;
        let Some(started_at) = started_at else {
            return Err(MetaError::StepNotFound {
                run_id: run_id.to_owned(),
                step_id: step_id.to_owned(),
            });
        };
        let finished = Utc::now();
        let duration_ms = DateTime::parse_from_rfc3339(&started_at)
            .map(|started| {
                (finished - started.with_timezone(&Utc))
                    .num_milliseconds()
                    .max(0)
            })
            .map_err(|_| MetaError::InvalidRecord {
                what: "step start time",
                value: started_at.clone(),
            })?;
        sqlx::query(
            "UPDATE step_runs SET status = ?, finished_at = ?, duration_ms = ?, log = ?, \
             error = ? WHERE run_id = ? AND step_id = ?",
        )
        .bind(end.status.as_str())
        .bind(finished.to_rfc3339_opts(SecondsFormat::Millis, true))
        .bind(duration_ms)
        .bind(end.log)
        .bind(end.error)
        .bind(run_id)
        .bind(step_id)
        .execute(&mut *tx)
        .await
        .map_err(db(action()))?;
        insert_io(&mut tx, run_id, step_id, "out", end.outputs).await?;
        for (name, value) in end.metrics {
            sqlx::query(
                "INSERT OR REPLACE INTO metrics (run_id, step_id, name, value) \
                 VALUES (?, ?, ?, ?)",
            )
            .bind(run_id)
            .bind(step_id)
            .bind(name)
            // SQLite turns NaN into NULL anyway; say so explicitly.
            .bind((!value.is_nan()).then_some(*value))
            .execute(&mut *tx)
            .await
            .map_err(db(format!("{} (metric `{name}`)", action())))?;
        }
        tx.commit().await.map_err(db(action()))
    }

    /// The steps of a run in position order, with their inputs, outputs,
    /// metrics and trials.
    pub(super) async fn steps_of(&self, run_id: &str) -> Result<Vec<StepRunRecord>> {
        let action = || format!("read the steps of run `{run_id}`");
        let rows = sqlx::query(
            "SELECT step_id, position, kind, plugin_name, plugin_version, plugin_sha256, \
             params_json, status, started_at, finished_at, duration_ms, log, error, cached, \
             cached_from, grants_json \
             FROM step_runs WHERE run_id = ? ORDER BY position, step_id",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db(action()))?;
        let mut steps = rows.iter().map(step_from_row).collect::<Result<Vec<_>>>()?;

        let io = sqlx::query(
            "SELECT step_id, direction, name, digest FROM step_io WHERE run_id = ? ORDER BY rowid",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db(action()))?;
        for row in &io {
            let step_id: String = row.try_get("step_id").map_err(db(action()))?;
            let direction: String = row.try_get("direction").map_err(db(action()))?;
            let name: String = row.try_get("name").map_err(db(action()))?;
            let digest = parse_digest(row.try_get("digest").map_err(db(action()))?)?;
            if let Some(step) = steps.iter_mut().find(|s| s.step_id == step_id) {
                match direction.as_str() {
                    "in" => step.inputs.push((name, digest)),
                    _ => step.outputs.push((name, digest)),
                }
            }
        }

        let metrics =
            sqlx::query("SELECT step_id, name, value FROM metrics WHERE run_id = ? ORDER BY rowid")
                .bind(run_id)
                .fetch_all(&self.pool)
                .await
                .map_err(db(action()))?;
        for row in &metrics {
            let step_id: String = row.try_get("step_id").map_err(db(action()))?;
            let name: String = row.try_get("name").map_err(db(action()))?;
            let value: Option<f64> = row.try_get("value").map_err(db(action()))?;
            if let Some(step) = steps.iter_mut().find(|s| s.step_id == step_id) {
                step.metrics.push((name, value.unwrap_or(f64::NAN)));
            }
        }
        for (step_id, trial) in self.trials_in(run_id, None).await? {
            if let Some(step) = steps.iter_mut().find(|s| s.step_id == step_id) {
                step.trials.push(trial);
            }
        }
        Ok(steps)
    }
    /// oldest run first.
    pub async fn artifact_producers(
        &self,
        digest: &ArtifactDigest,
    ) -> Result<Vec<(String, String, String)>> {
        let action = || format!("look up the producers of artifact {digest}");
        let rows = sqlx::query(
            "SELECT io.run_id, io.step_id, io.name FROM step_io io \
             JOIN runs r ON r.id = io.run_id \
             JOIN step_runs s ON s.run_id = io.run_id AND s.step_id = io.step_id \
             WHERE io.digest = ? AND io.direction = 'out' \
             ORDER BY r.started_at, io.run_id, s.position, io.name",
        )
        .bind(digest.to_hex())
        .fetch_all(&self.pool)
        .await
        .map_err(db(action()))?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(db(action()))
    }
}

async fn insert_io(
    tx: &mut Transaction<'_, Sqlite>,
    run_id: &str,
    step_id: &str,
    direction: &str,
    artifacts: &[(String, ArtifactDigest)],
) -> Result<()> {
    for (name, digest) in artifacts {
        sqlx::query(
            "INSERT INTO step_io (run_id, step_id, direction, name, digest) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(run_id)
        .bind(step_id)
        .bind(direction)
        .bind(name)
        .bind(digest.to_hex())
        .execute(&mut **tx)
        .await
        .map_err(db(format!(
            "record {direction}put `{name}` ({digest}) of step `{step_id}` in run `{run_id}`"
        )))?;
    }
    Ok(())
}

fn parse_digest(text: String) -> Result<ArtifactDigest> {
    ArtifactDigest::parse(&text).map_err(|_| MetaError::InvalidRecord {
        what: "artifact digest",
        value: text,
    })
}

fn step_from_row(row: &SqliteRow) -> Result<StepRunRecord> {
    let read = || -> Result<_, sqlx::Error> {
        Ok(StepRunRecord {
            step_id: row.try_get("step_id")?,
            position: row.try_get("position")?,
            kind: row.try_get("kind")?,
            plugin_name: row.try_get("plugin_name")?,
            plugin_version: row.try_get("plugin_version")?,
            plugin_sha256: row.try_get("plugin_sha256")?,
            params_json: row.try_get("params_json")?,
            status: StepStatus::Running,
            started_at: row.try_get("started_at")?,
            finished_at: row.try_get("finished_at")?,
            duration_ms: row.try_get("duration_ms")?,
            log: row.try_get("log")?,
            error: row.try_get("error")?,
            cached: row.try_get("cached")?,
            cached_from: row.try_get("cached_from")?,
            grants: serde_json::from_str(&row.try_get::<String, _>("grants_json")?)
                .unwrap_or(serde_json::Value::Null),
            inputs: Vec::new(),
            outputs: Vec::new(),
            metrics: Vec::new(),
            trials: Vec::new(),
        })
    };
    let mut step = read().map_err(db("read a step"))?;
    let status: String = row.try_get("status").map_err(db("read a step"))?;
    step.status = StepStatus::parse(&status).ok_or(MetaError::InvalidRecord {
        what: "step status",
        value: status,
    })?;
    Ok(step)
}
