//! Recorded pipeline versions and the runs of each.

use serde::Serialize;
use sqlx::Row;

use super::runs::run_from_row;
use super::store::{MetaStore, RUN_COLUMNS, db, now};
use super::{MetaError, RunRecord};

type Result<T, E = MetaError> = std::result::Result<T, E>;

/// One recorded version of a pipeline: a name, the version it declares and
/// the sha256 of its definition's text (an edit without a version bump is a
/// new definition under the same version).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipelineVersion {
    /// The pipeline's `name`.
    pub name: String,
    /// The pipeline's `version`.
    pub version: String,
    /// The sha256 of the definition's text, in hex.
    pub definition_sha256: String,
    /// RFC3339, UTC: when it was first run.
    pub created_at: String,
    /// How many runs it has.
    pub runs: i64,
    /// When its latest run started (RFC3339, UTC).
    pub last_run: Option<String>,
}

impl MetaStore {
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

    /// The pipeline versions `tenant` has run (of `name`, when given), by
    /// name, then oldest first; `created_at` is the tenant's first run of
    /// the version. Definitions are shared by sha256, but a tenant only
    /// sees the versions of its own runs.
    pub async fn pipeline_versions(
        &self,
        tenant: &str,
        name: Option<&str>,
    ) -> Result<Vec<PipelineVersion>> {
        let rows = sqlx::query(
            "SELECT pipeline_name, pipeline_version, pipeline_sha256, min(started_at), \
             count(*), max(started_at) FROM runs \
             WHERE tenant = ?1 AND (?2 IS NULL OR pipeline_name = ?2) \
             GROUP BY pipeline_name, pipeline_version, pipeline_sha256 \
             ORDER BY pipeline_name, min(started_at), pipeline_version",
        )
        .bind(tenant)
        .bind(name)
        .fetch_all(&self.pool)
        .await
        .map_err(db("list pipeline versions"))?;
        rows.iter()
            .map(|r| {
                Ok(PipelineVersion {
                    name: r.try_get(0)?,
                    version: r.try_get(1)?,
                    definition_sha256: r.try_get(2)?,
                    created_at: r.try_get(3)?,
                    runs: r.try_get(4)?,
                    last_run: r.try_get(5)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(db("list pipeline versions"))
    }

    /// The text of a recorded pipeline definition.
    pub async fn pipeline_definition(&self, name: &str, sha256: &str) -> Result<Option<String>> {
        sqlx::query_scalar(
            "SELECT definition FROM pipeline_versions WHERE name = ? AND definition_sha256 = ? \
             LIMIT 1",
        )
        .bind(name)
        .bind(sha256)
        .fetch_optional(&self.pool)
        .await
        .map_err(db(format!("read the definition of pipeline `{name}`")))
    }

    /// `tenant`'s runs of pipeline `name` (any version), newest first, without
    /// their steps.
    pub async fn runs_of_pipeline(&self, tenant: &str, name: &str) -> Result<Vec<RunRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE tenant = ? AND pipeline_name = ? \
             ORDER BY started_at DESC, rowid DESC"
        ))
        .bind(tenant)
        .bind(name)
        .fetch_all(&self.pool)
        .await
        .map_err(db(format!("list the runs of pipeline `{name}`")))?;
        rows.iter().map(run_from_row).collect()
    }

    /// The sha256 of a definition other than `sha256` that one of
    /// `tenant`'s runs recorded as pipeline `name` version `version` (a
    /// failed run claims no version: fixing its file needs no new one).
    pub async fn other_definition(
        &self,
        tenant: &str,
        name: &str,
        version: &str,
        sha256: &str,
    ) -> Result<Option<String>> {
        sqlx::query_scalar(
            "SELECT pipeline_sha256 FROM runs WHERE tenant = ? AND pipeline_name = ? \
             AND pipeline_version = ? AND pipeline_sha256 != ? AND status != 'failed' \
             ORDER BY started_at LIMIT 1",
        )
        .bind(tenant)
        .bind(name)
        .bind(version)
        .bind(sha256)
        .fetch_optional(&self.pool)
        .await
        .map_err(db(format!("look up pipeline `{name}` version {version}")))
    }
}
