//! The files of the inference log (`sluice serve`): each a Parquet file
//! of one model version's requests in the tenant's artifact store, listed
//! here with its time span so that a reader (`sluice serve logs`,
//! monitoring) opens only the files of its window.

use super::MetaError;
use super::store::{db, now};
use crate::artifacts::ArtifactDigest;
use crate::meta::MetaStore;
use serde::Serialize;
use sqlx::Row;
use std::collections::BTreeSet;

type Result<T, E = MetaError> = std::result::Result<T, E>;

/// One file of a model's inference log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InferenceLogFile {
    /// The Parquet file's digest in the tenant's artifact store.
    pub digest: ArtifactDigest,
    /// The model's name.
    pub model: String,
    /// The version that answered the file's requests.
    pub version: i64,
    /// Its rows (one per request row; one for a request refused before
    /// its rows were read).
    pub rows: i64,
    /// Its requests.
    pub requests: i64,
    /// When its first request arrived, in Unix milliseconds.
    pub first_ms: i64,
    /// When its last request arrived, in Unix milliseconds.
    pub last_ms: i64,
}

impl MetaStore {
    /// List a written log file of `tenant`; listing it again does nothing.
    pub async fn record_inference_log(&self, tenant: &str, file: &InferenceLogFile) -> Result<()> {
        sqlx::query(
            "INSERT INTO inference_logs \
             (digest, tenant, model, version, rows, requests, first_ms, last_ms, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, digest) DO NOTHING",
        )
        .bind(file.digest.to_hex())
        .bind(tenant)
        .bind(&file.model)
        .bind(file.version)
        .bind(file.rows)
        .bind(file.requests)
        .bind(file.first_ms)
        .bind(file.last_ms)
        .bind(now())
        .execute(&self.pool)
        .await
        .map_err(db(format!(
            "list an inference log file of model `{}`",
            file.model
        )))?;
        Ok(())
    }

    /// The log files of `tenant`'s model `model` holding requests at or
    /// after `since_ms` (all with `None`), oldest first.
    pub async fn inference_logs(
        &self,
        tenant: &str,
        model: &str,
        since_ms: Option<i64>,
    ) -> Result<Vec<InferenceLogFile>> {
        let action = || format!("read the inference log of model `{model}`");
        let rows = sqlx::query(
            "SELECT digest, model, version, rows, requests, first_ms, last_ms \
             FROM inference_logs WHERE tenant = ? AND model = ? AND last_ms >= ? \
             ORDER BY first_ms, rowid",
        )
        .bind(tenant)
        .bind(model)
        .bind(since_ms.unwrap_or(i64::MIN))
        .fetch_all(&self.pool)
        .await
        .map_err(db(action()))?;
        rows.iter()
            .map(|r| {
                let text: String = r.try_get("digest").map_err(db(action()))?;
                let digest =
                    ArtifactDigest::parse(&text).map_err(|_| MetaError::InvalidRecord {
                        what: "artifact digest",
                        value: text,
                    })?;
                Ok(InferenceLogFile {
                    digest,
                    model: r.try_get("model").map_err(db(action()))?,
                    version: r.try_get("version").map_err(db(action()))?,
                    rows: r.try_get("rows").map_err(db(action()))?,
                    requests: r.try_get("requests").map_err(db(action()))?,
                    first_ms: r.try_get("first_ms").map_err(db(action()))?,
                    last_ms: r.try_get("last_ms").map_err(db(action()))?,
                })
            })
            .collect()
    }

    /// Every log file's digest, of every tenant: garbage collection keeps
    /// them.
    pub(super) async fn inference_log_artifacts(&self) -> Result<BTreeSet<ArtifactDigest>> {
        let texts: Vec<String> = sqlx::query_scalar("SELECT DISTINCT digest FROM inference_logs")
            .fetch_all(&self.pool)
            .await
            .map_err(db("list the inference log's files"))?;
        Ok(texts
            .iter()
            .filter_map(|t| ArtifactDigest::parse(t).ok())
            .collect())
    }
}
