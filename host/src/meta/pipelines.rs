//! Recorded pipeline versions and the runs of each.

use serde::Serialize;
use sqlx::Row;

use super::store::{MetaStore, RUN_COLUMNS, db, run_from_row};
use super::{MetaError, RunRecord};

type Result<T, E = MetaError> = std::result::Result<T, E>;

/// One recorded version of a pipeline: a name, the version it declares and
/// the sha256 of its definition's text (an edit without a version bump is a
/// new definition under the same version).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipelineVersion {
    pub name: String,
    pub version: String,
    pub definition_sha256: String,
    /// RFC3339, UTC: when it was first run.
    pub created_at: String,
    pub runs: i64,
    pub last_run: Option<String>,
}

impl MetaStore {
    /// Every recorded pipeline version (of `name`, when given), by name,
    /// then oldest first.
    pub async fn pipeline_versions(&self, name: Option<&str>) -> Result<Vec<PipelineVersion>> {
        let rows = sqlx::query(
            "SELECT p.name, p.version, p.definition_sha256, p.created_at, \
             (SELECT count(*) FROM runs r WHERE r.pipeline_name = p.name \
                AND r.pipeline_version = p.version AND r.pipeline_sha256 = p.definition_sha256), \
             (SELECT max(r.started_at) FROM runs r WHERE r.pipeline_name = p.name \
                AND r.pipeline_version = p.version AND r.pipeline_sha256 = p.definition_sha256) \
             FROM pipeline_versions p WHERE ?1 IS NULL OR p.name = ?1 \
             ORDER BY p.name, p.created_at, p.version",
        )
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

    /// The runs of pipeline `name` (any version), newest first, without
    /// their steps.
    pub async fn runs_of_pipeline(&self, name: &str) -> Result<Vec<RunRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE pipeline_name = ? \
             ORDER BY started_at DESC, rowid DESC"
        ))
        .bind(name)
        .fetch_all(&self.pool)
        .await
        .map_err(db(format!("list the runs of pipeline `{name}`")))?;
        rows.iter().map(run_from_row).collect()
    }
}
