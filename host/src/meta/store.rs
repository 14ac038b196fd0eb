//! [`MetaStore`]: the SQLite implementation's handle, and what its
//! modules share (the timestamp, the error mapping, the run columns).

use chrono::{SecondsFormat, Utc};
use sqlx::sqlite::SqlitePool;

use super::MetaError;
use crate::artifacts::ArtifactDigest;

type Result<T, E = MetaError> = std::result::Result<T, E>;

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
                           started_at, finished_at, error, overrides_json";

impl MetaStore {
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
}
