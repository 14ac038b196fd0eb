//! The files of the inference log (`sluice serve`): each a Parquet file
//! of one model version's requests in the tenant's artifact store, listed
//! here with its time span so that a reader (`sluice serve logs`,
//! monitoring) opens only the files of its window; and the files of
//! labels sent for logged requests (feedback).

use super::MetaError;
use super::store::{db, now};
use crate::artifacts::ArtifactDigest;
use crate::meta::MetaStore;
use serde::Serialize;
use sqlx::Row;
use std::collections::BTreeSet;

type Result<T, E = MetaError> = std::result::Result<T, E>;

fn parse_digest(text: String) -> Result<ArtifactDigest> {
    ArtifactDigest::parse(&text).map_err(|_| MetaError::InvalidRecord {
        what: "artifact digest",
        value: text,
    })
}

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

/// One file of labels for a model's logged requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InferenceLabelFile {
    /// The Parquet file's digest in the tenant's artifact store.
    pub digest: ArtifactDigest,
    /// The model's name.
    pub model: String,
    /// Its labels.
    pub rows: i64,
    /// When they were received, in Unix milliseconds.
    pub received_ms: i64,
}

impl MetaStore {
    /// List a written file of labels of `tenant`; listing it again does
    /// nothing.
    pub async fn record_inference_labels(
        &self,
        tenant: &str,
        file: &InferenceLabelFile,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO inference_labels (digest, tenant, model, rows, received_ms, created_at) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, digest) DO NOTHING",
        )
        .bind(file.digest.to_hex())
        .bind(tenant)
        .bind(&file.model)
        .bind(file.rows)
        .bind(file.received_ms)
        .bind(now())
        .execute(&self.pool)
        .await
        .map_err(db(format!("list labels of model `{}`", file.model)))?;
        Ok(())
    }

    /// The files of labels of `tenant`'s model `model`, oldest first.
    pub async fn inference_labels(
        &self,
        tenant: &str,
        model: &str,
    ) -> Result<Vec<InferenceLabelFile>> {
        let action = || format!("read the labels of model `{model}`");
        let rows = sqlx::query(
            "SELECT digest, model, rows, received_ms FROM inference_labels \
             WHERE tenant = ? AND model = ? ORDER BY received_ms, rowid",
        )
        .bind(tenant)
        .bind(model)
        .fetch_all(&self.pool)
        .await
        .map_err(db(action()))?;
        rows.iter()
            .map(|r| {
                let text: String = r.try_get("digest").map_err(db(action()))?;
                Ok(InferenceLabelFile {
                    digest: parse_digest(text)?,
                    model: r.try_get("model").map_err(db(action()))?,
                    rows: r.try_get("rows").map_err(db(action()))?,
                    received_ms: r.try_get("received_ms").map_err(db(action()))?,
                })
            })
            .collect()
    }

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
                Ok(InferenceLogFile {
                    digest: parse_digest(text)?,
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

    /// Every log and label file's digest and every stored monitor
    /// reference's, of every tenant: garbage collection keeps them.
    pub(super) async fn inference_log_artifacts(&self) -> Result<BTreeSet<ArtifactDigest>> {
        let texts: Vec<String> = sqlx::query_scalar(
            "SELECT digest FROM inference_logs UNION SELECT digest FROM inference_labels \
             UNION SELECT digest FROM monitor_references",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("list the inference log's files"))?;
        Ok(texts
            .iter()
            .filter_map(|t| ArtifactDigest::parse(t).ok())
            .collect())
    }
}
