//! [`MetaStore`]: the SQLite implementation.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
};
use sqlx::{Row, Sqlite, Transaction};

use super::{MetaError, NewRun, RunRecord, RunStatus, StepRunRecord, StepStatus};
use crate::artifacts::ArtifactDigest;

type Result<T, E = MetaError> = std::result::Result<T, E>;

/// An exclusive lock on `<database>.open-lock` (created if missing), held
/// while one process opens and migrates the database; released when
/// dropped (the file descriptor closes).
async fn open_lock(database: &Path) -> Result<std::fs::File> {
    let path = beside(database, ".open-lock");
    let lock_error = |source| MetaError::Lock {
        path: path.clone(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(lock_error)?;
    tokio::task::spawn_blocking(move || {
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor this closure owns; no memory is
        // shared with the call.
        match unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } {
            0 => Ok(file),
            _ => Err(std::io::Error::last_os_error()),
        }
    })
    .await
    .map_err(|e| lock_error(std::io::Error::other(e)))?
    .map_err(lock_error)
}

/// Create the database at `path` whole or not at all: made and migrated
/// under a temporary name (with a rollback journal, so every commit is in
/// the file itself), closed, then renamed into place. A process killed meanwhile leaves only
/// the temporary file, removed by the next attempt, so a `sluice.db` of 0
/// bytes is never one of sluice's own making. Called with the open lock
/// held.
async fn create_database(url: &str, path: &Path, options: &SqliteConnectOptions) -> Result<()> {
    let named = |suffix: &str| beside(path, suffix);
    let creating = named(".creating");
    let io = |source: std::io::Error| MetaError::Create {
        path: path.to_owned(),
        source,
    };
    for leftover in [
        creating.clone(),
        named(".creating-wal"),
        named(".creating-shm"),
        named(".creating-journal"),
    ] {
        match std::fs::remove_file(&leftover) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
    }
    let options = options
        .clone()
        .filename(&creating)
        .create_if_missing(true)
        // Every commit lands in the file itself, not in a log beside it
        // that the rename would leave behind; the normal open switches it
        // to WAL.
        .journal_mode(SqliteJournalMode::Delete);
    let pool = connect_and_migrate(url, options, 1).await?;
    pool.close().await;
    std::fs::rename(&creating, path).map_err(io)
}

/// A pool of `connections` over `options`, with every migration applied.
async fn connect_and_migrate(
    url: &str,
    options: SqliteConnectOptions,
    connections: u32,
) -> Result<SqlitePool> {
    let pool = connect(url, options, connections).await?;
    sqlx::migrate!("./migrations")
        .run(&pool)
        .await
        .map_err(|source| MetaError::Migrate {
            url: url.to_owned(),
            source,
        })?;
    Ok(pool)
}

/// A pool of `connections` over `options`.
async fn connect(url: &str, options: SqliteConnectOptions, connections: u32) -> Result<SqlitePool> {
    SqlitePoolOptions::new()
        .max_connections(connections)
        .connect_with(options)
        .await
        .map_err(|source| MetaError::Open {
            url: url.to_owned(),
            source,
        })
}

/// The file beside the database `path` named `<path><suffix>`.
pub(super) fn beside(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    std::path::PathBuf::from(name)
}

/// Whether `path` is an existing file of 0 bytes with no write-ahead log
/// beside it: what SQLite would silently take for a new, empty database.
fn is_empty_file(path: &Path) -> bool {
    let empty = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() == 0);
    let wal = beside(path, "-wal");
    empty(path) && (!wal.exists() || empty(&wal))
}

/// Whether this process may write the database file `path` and create
/// files beside it (the write-ahead log, the locks).
fn writable(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let can_write = |p: &Path| {
        let Ok(c) = std::ffi::CString::new(p.as_os_str().as_bytes()) else {
            return false;
        };
        // SAFETY: access() reads the NUL-terminated path and nothing else.
        unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    can_write(path) && can_write(dir)
}

/// The metadata store. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct MetaStore {
    pub(crate) pool: SqlitePool,
    pub(crate) leases: std::sync::Arc<super::leases::Leases>,
}

pub(super) fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A closure turning a `sqlx::Error` into [`MetaError::Database`].
pub(super) fn db(action: impl Into<String>) -> impl FnOnce(sqlx::Error) -> MetaError {
    let action = action.into();
    move |source| MetaError::Database { action, source }
}

pub(super) fn is_violation(error: &sqlx::Error, kind: sqlx::error::ErrorKind) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.kind() == kind)
}

pub(super) const RUN_COLUMNS: &str = "id, tenant, pipeline_name, pipeline_version, pipeline_sha256, status, seed, \
                           started_at, finished_at, error";

impl MetaStore {
    /// Opens (creating if missing) the store at `url`: `sqlite:///path/db`,
    /// `sqlite:relative/db`, `sqlite::memory:` or a plain file path, and
    /// applies any pending migrations. The database runs in WAL mode with
    /// foreign keys enforced.
    pub async fn open(url: &str) -> Result<Self> {
        let options = if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url).map_err(|source| MetaError::Open {
                url: url.to_owned(),
                source,
            })?
        } else if url.contains("://") {
            return Err(MetaError::UnsupportedUrl {
                url: url.to_owned(),
            });
        } else {
            SqliteConnectOptions::new().filename(url)
        };
        let filename = options.get_filename();
        let database = (url != "sqlite::memory:" && !filename.as_os_str().is_empty())
            .then(|| filename.to_owned());
        if url != "sqlite::memory:"
            && let Some(dir) = filename.parent().filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|source| MetaError::CreateDir {
                path: dir.to_owned(),
                source,
            })?;
        }
        if let Some(path) = &database
            && path.is_file()
            && !writable(path)
        {
            return Self::open_read_only(url, path, options.clone()).await;
        }
        // Processes opening one database at once take turns: creating it,
        // switching it to WAL and migrating it are not safe to race (9 of
        // 10 concurrent first runs on a fresh home failed).
        let _turn = match url != "sqlite::memory:" && !filename.as_os_str().is_empty() {
            true => Some(open_lock(filename).await?),
            false => None,
        };
        if url != "sqlite::memory:" && !filename.as_os_str().is_empty() {
            if is_empty_file(filename) {
                return Err(MetaError::EmptyDatabase {
                    path: filename.to_owned(),
                });
            }
            if !filename.exists() {
                create_database(url, filename, &options).await?;
            }
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = connect_and_migrate(url, options, 4).await?;
        Ok(Self {
            pool,
            leases: std::sync::Arc::new(super::leases::Leases::new(database.as_deref())),
        })
    }

    /// Opens an existing database that this process cannot write (a
    /// read-only home or file system) for reading: commands that only read
    /// (`runs list`, `runs show`, `lineage`, ...) work; writes fail with
    /// SQLite's "attempt to write a readonly database". Nothing is created
    /// beside it: without a write-ahead log to read, the file is opened as
    /// immutable. A database that needs migrating cannot be read this way.
    async fn open_read_only(url: &str, path: &Path, options: SqliteConnectOptions) -> Result<Self> {
        let has_log = beside(path, "-wal").is_file() && beside(path, "-shm").is_file();
        let options = options
            .read_only(true)
            .immutable(!has_log)
            .busy_timeout(Duration::from_secs(10));
        let pool = connect(url, options, 4).await?;
        let applied: Vec<i64> = sqlx::query_scalar(
            "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
        )
        .fetch_all(&pool)
        .await
        .map_err(db(format!("read the migrations of `{url}`")))?;
        let expected: Vec<i64> = sqlx::migrate!("./migrations")
            .iter()
            .map(|m| m.version)
            .collect();
        if applied != expected {
            return Err(MetaError::ReadOnlyOutdated {
                path: path.to_owned(),
            });
        }
        Ok(Self {
            pool,
            leases: std::sync::Arc::new(super::leases::Leases::new(Some(path))),
        })
    }

    /// Opens the SQLite file at `path`; see [`open`](Self::open).
    pub async fn open_path(path: &Path) -> Result<Self> {
        let url = path.to_str().ok_or_else(|| MetaError::UnsupportedUrl {
            url: path.display().to_string(),
        })?;
        Self::open(url).await
    }

    /// Closes every connection, waiting for queries in flight.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Records a pipeline definition; recording the same one again does
    /// nothing.
    pub async fn record_pipeline_version(
        &self,
        name: &str,
        version: &str,
        sha256: &str,
        definition: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT OR IGNORE INTO pipeline_versions \
             (name, version, definition_sha256, definition, created_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(name)
        .bind(version)
        .bind(sha256)
        .bind(definition)
        .bind(now())
        .execute(&self.pool)
        .await
        .map_err(db(format!("record pipeline `{name}` version {version}")))?;
        Ok(())
    }

    /// Records a run as started now, with status `running`.
    pub async fn create_run(&self, run: &NewRun) -> Result<()> {
        let result = sqlx::query(
            "INSERT INTO runs (id, tenant, pipeline_name, pipeline_version, pipeline_sha256, \
             status, seed, started_at, pipeline_path, plugin_dirs_json) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 \
             WHERE NOT ?11 OR NOT EXISTS (SELECT 1 FROM runs WHERE tenant = ?2 \
                 AND pipeline_name = ?3 AND pipeline_version = ?4 AND pipeline_sha256 != ?5)",
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

    // Every write transaction begins IMMEDIATE: it takes the write lock
    // up front, so concurrent steps queue on the busy timeout instead of
    // failing with "database is locked" when a read turns into a write.

    /// Records a step as started now (status `running`) with the artifacts
    /// it reads, by input name.
    #[allow(clippy::too_many_arguments)] // one column each; a struct would only rename them
    pub async fn start_step(
        &self,
        run_id: &str,
        step_id: &str,
        position: i64,
        kind: &str,
        plugin_name: &str,
        plugin_version: &str,
        plugin_sha256: &str,
        params_json: &str,
        inputs: &[(String, ArtifactDigest)],
    ) -> Result<()> {
        let step = StepRow {
            run_id,
            step_id,
            position,
            kind,
            plugin_name,
            plugin_version,
            plugin_sha256,
            params_json,
        };
        self.insert_step(&step, StepStatus::Running, inputs).await
    }

    /// Records a step the run never reached (status `skipped`).
    #[allow(clippy::too_many_arguments)]
    pub async fn skip_step(
        &self,
        run_id: &str,
        step_id: &str,
        position: i64,
        kind: &str,
        plugin_name: &str,
        plugin_version: &str,
        plugin_sha256: &str,
        params_json: &str,
    ) -> Result<()> {
        let step = StepRow {
            run_id,
            step_id,
            position,
            kind,
            plugin_name,
            plugin_version,
            plugin_sha256,
            params_json,
        };
        self.insert_step(&step, StepStatus::Skipped, &[]).await
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
        step: &StepRow<'_>,
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
    #[allow(clippy::too_many_arguments)]
    pub async fn finish_step(
        &self,
        run_id: &str,
        step_id: &str,
        status: StepStatus,
        outputs: &[(String, ArtifactDigest)],
        metrics: &[(String, f64)],
        log: &str,
        error: Option<&str>,
    ) -> Result<()> {
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
        .bind(status.as_str())
        .bind(finished.to_rfc3339_opts(SecondsFormat::Millis, true))
        .bind(duration_ms)
        .bind(log)
        .bind(error)
        .bind(run_id)
        .bind(step_id)
        .execute(&mut *tx)
        .await
        .map_err(db(action()))?;
        insert_io(&mut tx, run_id, step_id, "out", outputs).await?;
        for (name, value) in metrics {
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

    /// Records an artifact's size and media type; recording it again does
    /// nothing.
    pub async fn record_artifact(
        &self,
        digest: &ArtifactDigest,
        size: i64,
        media_type: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT OR IGNORE INTO artifacts (digest, size, media_type, created_at) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(digest.to_hex())
        .bind(size)
        .bind(media_type)
        .bind(now())
        .execute(&self.pool)
        .await
        .map_err(db(format!("record artifact {digest}")))?;
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

    async fn steps_of(&self, run_id: &str) -> Result<Vec<StepRunRecord>> {
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

    /// Which steps wrote this artifact, as `(run_id, step_id, output name)`,
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

/// The columns of a step known when it starts.
struct StepRow<'a> {
    run_id: &'a str,
    step_id: &'a str,
    position: i64,
    kind: &'a str,
    plugin_name: &'a str,
    plugin_version: &'a str,
    plugin_sha256: &'a str,
    params_json: &'a str,
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
        })
    };
    let mut run = read().map_err(db("read a run"))?;
    let status: String = row.try_get("status").map_err(db("read a run"))?;
    run.status = RunStatus::parse(&status).ok_or(MetaError::InvalidRecord {
        what: "run status",
        value: status,
    })?;
    Ok(run)
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
