//! Monitoring's records: each check's result per model version and
//! window (a time series), and the alerts failing checks raised.

use super::MetaError;
use super::store::db;
use crate::artifacts::ArtifactDigest;
use crate::meta::MetaStore;
use serde::Serialize;
use sqlx::Row;

type Result<T, E = MetaError> = std::result::Result<T, E>;

/// One check's result for one version in one window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonitorRecord {
    /// The model.
    pub model: String,
    /// The version.
    pub version: i64,
    /// The check's name.
    pub check: String,
    /// Its kind (`drift`, `performance`, ...).
    pub kind: String,
    /// The window's first millisecond (Unix).
    pub window_start_ms: i64,
    /// The millisecond after the window.
    pub window_end_ms: i64,
    /// `pass`, `fail`, `inconclusive` or `error`.
    pub status: String,
    /// The rows it looked at.
    pub rows: i64,
    /// Its numbers.
    pub metrics: std::collections::BTreeMap<String, f64>,
    /// Why, in words.
    pub detail: String,
    /// When it was evaluated (Unix milliseconds).
    pub at_ms: i64,
}

/// An alert: a check that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonitorAlert {
    /// The model.
    pub model: String,
    /// The version whose check failed.
    pub version: i64,
    /// The check.
    pub check: String,
    /// The end of the window it failed in (Unix milliseconds).
    pub window_end_ms: i64,
    /// When it was raised.
    pub at_ms: i64,
    /// The failure, with its numbers.
    pub detail: String,
    /// What was done.
    pub action: String,
    /// What the version was doing in the window: `production` (it held
    /// production, no rollout ran), `rollout` (a rollout of the model ran
    /// during the window) or `other`. Only `production` alerts fire
    /// `on_alert` triggers.
    pub role: String,
}

/// One column of a stored monitor reference, in numbers (non-finite
/// values left out of the numbers).
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct ColumnSummary {
    /// The column.
    pub name: String,
    /// `numeric` or `categorical`.
    pub kind: String,
    /// Its rows.
    pub rows: u64,
    /// Those null.
    pub nulls: u64,
    /// Its distinct values.
    pub distinct: u64,
    /// The smallest number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// The largest number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The mean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    /// The (population) standard deviation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std: Option<f64>,
    /// The 5th, 25th, 50th, 75th and 95th percentiles (linear
    /// interpolation, as numpy's default).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quantiles: Vec<f64>,
    /// The ten most frequent categories with their counts, most frequent
    /// first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub top: Vec<(String, u64)>,
}

/// A version's monitor reference, stored once: see
/// [`crate::monitor::reference`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonitorReference {
    /// The model.
    pub model: String,
    /// The version.
    pub version: i64,
    /// `inputs` (training rows) or `outputs` (holdout predictions).
    pub kind: String,
    /// The Parquet file of its sorted columns in the artifact store.
    pub digest: ArtifactDigest,
    /// Its rows.
    pub rows: i64,
    /// Each column, in numbers.
    pub columns: Vec<ColumnSummary>,
    /// When it was built (Unix milliseconds).
    pub created_ms: i64,
}

impl MetaStore {
    /// List `tenant`'s monitor reference `r`, in place of one listed
    /// before for the same version and kind (whose file the store lost).
    pub async fn record_monitor_reference(&self, tenant: &str, r: &MonitorReference) -> Result<()> {
        let columns = serde_json::to_string(&r.columns).expect("summaries serialize");
        sqlx::query(
            "INSERT INTO monitor_references (tenant, model, version, kind, digest, rows, \
             columns_json, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (tenant, model, version, kind) DO UPDATE SET digest = excluded.digest, \
             rows = excluded.rows, columns_json = excluded.columns_json, \
             created_ms = excluded.created_ms",
        )
        .bind(tenant)
        .bind(&r.model)
        .bind(r.version)
        .bind(&r.kind)
        .bind(r.digest.to_hex())
        .bind(r.rows)
        .bind(columns)
        .bind(r.created_ms)
        .execute(&self.pool)
        .await
        .map_err(db(format!(
            "list a monitor reference of model `{}`",
            r.model
        )))?;
        Ok(())
    }

    /// `tenant`'s stored `kind` reference of `model`'s `version`, if built.
    pub async fn monitor_reference(
        &self,
        tenant: &str,
        model: &str,
        version: i64,
        kind: &str,
    ) -> Result<Option<MonitorReference>> {
        let action = || format!("read the monitor reference of model `{model}`");
        let Some(r) = sqlx::query(
            "SELECT digest, rows, columns_json, created_ms FROM monitor_references \
             WHERE tenant = ? AND model = ? AND version = ? AND kind = ?",
        )
        .bind(tenant)
        .bind(model)
        .bind(version)
        .bind(kind)
        .fetch_optional(&self.pool)
        .await
        .map_err(db(action()))?
        else {
            return Ok(None);
        };
        let digest: String = r.try_get("digest").map_err(db(action()))?;
        let columns: String = r.try_get("columns_json").map_err(db(action()))?;
        Ok(Some(MonitorReference {
            model: model.to_owned(),
            version,
            kind: kind.to_owned(),
            digest: ArtifactDigest::parse(&digest).map_err(|_| MetaError::InvalidRecord {
                what: "artifact digest",
                value: digest.clone(),
            })?,
            rows: r.try_get("rows").map_err(db(action()))?,
            columns: serde_json::from_str(&columns).map_err(|_| MetaError::InvalidRecord {
                what: "monitor reference columns",
                value: columns.clone(),
            })?,
            created_ms: r.try_get("created_ms").map_err(db(action()))?,
        }))
    }

    /// Record `result` of `tenant` (replacing the same check's result of
    /// the same version and window).
    pub async fn record_monitor_result(&self, tenant: &str, r: &MonitorRecord) -> Result<()> {
        let metrics = serde_json::to_string(&r.metrics).expect("numbers serialize");
        sqlx::query(
            "INSERT INTO monitor_results (tenant, model, version, check_name, kind, \
             window_start_ms, window_end_ms, status, rows, metrics_json, detail, at_ms) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (tenant, model, version, check_name, window_start_ms, window_end_ms) \
             DO UPDATE SET kind = excluded.kind, status = excluded.status, rows = excluded.rows, \
             metrics_json = excluded.metrics_json, detail = excluded.detail, at_ms = excluded.at_ms",
        )
        .bind(tenant)
        .bind(&r.model)
        .bind(r.version)
        .bind(&r.check)
        .bind(&r.kind)
        .bind(r.window_start_ms)
        .bind(r.window_end_ms)
        .bind(&r.status)
        .bind(r.rows)
        .bind(metrics)
        .bind(&r.detail)
        .bind(r.at_ms)
        .execute(&self.pool)
        .await
        .map_err(db(format!("record a monitor result of model `{}`", r.model)))?;
        Ok(())
    }

    /// The results of `tenant`'s model `model` whose window ended at or
    /// after `since_ms`, oldest window first; at most `limit` of the
    /// latest.
    pub async fn monitor_results(
        &self,
        tenant: &str,
        model: &str,
        since_ms: Option<i64>,
        limit: i64,
    ) -> Result<Vec<MonitorRecord>> {
        let action = || format!("read the monitor results of model `{model}`");
        let rows = sqlx::query(
            "SELECT * FROM (SELECT model, version, check_name, kind, window_start_ms, \
             window_end_ms, status, rows, metrics_json, detail, at_ms, id FROM monitor_results \
             WHERE tenant = ? AND model = ? AND window_end_ms >= ? \
             ORDER BY window_end_ms DESC, id DESC LIMIT ?) ORDER BY window_end_ms, id",
        )
        .bind(tenant)
        .bind(model)
        .bind(since_ms.unwrap_or(i64::MIN))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db(action()))?;
        rows.iter()
            .map(|r| {
                let metrics: String = r.try_get("metrics_json").map_err(db(action()))?;
                Ok(MonitorRecord {
                    model: r.try_get("model").map_err(db(action()))?,
                    version: r.try_get("version").map_err(db(action()))?,
                    check: r.try_get("check_name").map_err(db(action()))?,
                    kind: r.try_get("kind").map_err(db(action()))?,
                    window_start_ms: r.try_get("window_start_ms").map_err(db(action()))?,
                    window_end_ms: r.try_get("window_end_ms").map_err(db(action()))?,
                    status: r.try_get("status").map_err(db(action()))?,
                    rows: r.try_get("rows").map_err(db(action()))?,
                    metrics: serde_json::from_str(&metrics).map_err(|_| {
                        MetaError::InvalidRecord {
                            what: "monitor metrics",
                            value: metrics.clone(),
                        }
                    })?,
                    detail: r.try_get("detail").map_err(db(action()))?,
                    at_ms: r.try_get("at_ms").map_err(db(action()))?,
                })
            })
            .collect()
    }

    /// The statuses of `check` of `model`'s `version` in its latest
    /// `count` windows evaluated, latest first.
    pub async fn monitor_streak(
        &self,
        tenant: &str,
        model: &str,
        version: i64,
        check: &str,
        count: i64,
    ) -> Result<Vec<String>> {
        sqlx::query_scalar(
            "SELECT status FROM monitor_results WHERE tenant = ? AND model = ? AND version = ? \
             AND check_name = ? ORDER BY window_end_ms DESC, id DESC LIMIT ?",
        )
        .bind(tenant)
        .bind(model)
        .bind(version)
        .bind(check)
        .bind(count)
        .fetch_all(&self.pool)
        .await
        .map_err(db(format!("read the monitor results of model `{model}`")))
    }

    /// Record `alert` of `tenant`; `false` when the same check of the same
    /// version already alerted for that window (nothing is recorded).
    pub async fn record_monitor_alert(&self, tenant: &str, a: &MonitorAlert) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO monitor_alerts (tenant, model, version, check_name, window_end_ms, \
             at_ms, detail, action, role) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (tenant, model, version, check_name, window_end_ms) DO NOTHING",
        )
        .bind(tenant)
        .bind(&a.model)
        .bind(a.version)
        .bind(&a.check)
        .bind(a.window_end_ms)
        .bind(a.at_ms)
        .bind(&a.detail)
        .bind(&a.action)
        .bind(&a.role)
        .execute(&self.pool)
        .await
        .map_err(db(format!("record an alert of model `{}`", a.model)))?;
        Ok(done.rows_affected() == 1)
    }

    /// The alerts of `tenant`'s model `model` raised at or after
    /// `since_ms`, oldest first.
    pub async fn monitor_alerts(
        &self,
        tenant: &str,
        model: &str,
        since_ms: Option<i64>,
    ) -> Result<Vec<MonitorAlert>> {
        let action = || format!("read the alerts of model `{model}`");
        let rows = sqlx::query(
            "SELECT model, version, check_name, window_end_ms, at_ms, detail, action, role \
             FROM monitor_alerts WHERE tenant = ? AND model = ? AND at_ms >= ? ORDER BY at_ms, id",
        )
        .bind(tenant)
        .bind(model)
        .bind(since_ms.unwrap_or(i64::MIN))
        .fetch_all(&self.pool)
        .await
        .map_err(db(action()))?;
        rows.iter()
            .map(|r| {
                Ok(MonitorAlert {
                    model: r.try_get("model").map_err(db(action()))?,
                    version: r.try_get("version").map_err(db(action()))?,
                    check: r.try_get("check_name").map_err(db(action()))?,
                    window_end_ms: r.try_get("window_end_ms").map_err(db(action()))?,
                    at_ms: r.try_get("at_ms").map_err(db(action()))?,
                    detail: r.try_get("detail").map_err(db(action()))?,
                    action: r.try_get("action").map_err(db(action()))?,
                    role: r.try_get("role").map_err(db(action()))?,
                })
            })
            .collect()
    }
}
