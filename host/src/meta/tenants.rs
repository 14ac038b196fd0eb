//! Tenants and their storage accounting in the metadata store.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::MetaError;
use super::store::{db, is_violation, now};
use crate::artifacts::ArtifactDigest;
use crate::meta::MetaStore;
use crate::tenants::{Admin, DEFAULT_TENANT, Tenant, TenantCaps};

type Result<T, E = MetaError> = std::result::Result<T, E>;

impl MetaStore {
    /// Records a new tenant with these caps (an admin operation).
    pub async fn create_tenant(
        &self,
        _admin: &Admin,
        name: &str,
        caps: &TenantCaps,
    ) -> Result<Tenant> {
        crate::tenants::check_name(name).map_err(|message| MetaError::InvalidTenant { message })?;
        let at = now();
        let inserted = sqlx::query(
            "INSERT INTO tenants (name, caps_json, created_at, updated_at) VALUES (?, ?, ?, ?)",
        )
        .bind(name)
        .bind(caps_json(caps))
        .bind(&at)
        .bind(&at)
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => self.tenant(name).await,
            Err(e) if is_violation(&e, sqlx::error::ErrorKind::UniqueViolation) => {
                Err(MetaError::TenantExists {
                    name: name.to_owned(),
                })
            }
            Err(e) => Err(db(format!("create tenant `{name}`"))(e)),
        }
    }

    /// The tenant with this name. The default tenant always exists (it is
    /// recorded with the default caps the first time it is asked for).
    pub async fn tenant(&self, name: &str) -> Result<Tenant> {
        let row = sqlx::query(
            "SELECT name, caps_json, created_at, updated_at FROM tenants WHERE name = ?",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .map_err(db(format!("look up tenant `{name}`")))?;
        match row {
            Some(row) => tenant_from_row(&row),
            None if name == DEFAULT_TENANT => {
                sqlx::query(
                    "INSERT OR IGNORE INTO tenants (name, caps_json, created_at, updated_at) \
                     VALUES (?, ?, ?, ?)",
                )
                .bind(name)
                .bind(caps_json(&TenantCaps::default()))
                .bind(now())
                .bind(now())
                .execute(&self.pool)
                .await
                .map_err(db("record the default tenant"))?;
                Box::pin(self.tenant(name)).await
            }
            None => Err(MetaError::TenantNotFound {
                name: name.to_owned(),
            }),
        }
    }

    /// Every tenant, by name (the default one included).
    pub async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        self.tenant(DEFAULT_TENANT).await?;
        let rows = sqlx::query(
            "SELECT name, caps_json, created_at, updated_at FROM tenants ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("list tenants"))?;
        rows.iter().map(tenant_from_row).collect()
    }

    /// Replaces a tenant's caps (an admin operation).
    pub async fn set_tenant_caps(
        &self,
        _admin: &Admin,
        name: &str,
        caps: &TenantCaps,
    ) -> Result<Tenant> {
        self.tenant(name).await?;
        sqlx::query("UPDATE tenants SET caps_json = ?, updated_at = ? WHERE name = ?")
            .bind(caps_json(caps))
            .bind(now())
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(db(format!("set the caps of tenant `{name}`")))?;
        self.tenant(name).await
    }

    /// Counts an artifact against a tenant's storage (once per digest).
    pub async fn record_tenant_artifact(
        &self,
        tenant: &str,
        digest: &ArtifactDigest,
        size: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT OR IGNORE INTO tenant_artifacts (tenant, digest, size, created_at) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(tenant)
        .bind(digest.to_hex())
        .bind(size)
        .bind(now())
        .execute(&self.pool)
        .await
        .map_err(db(format!("count artifact {digest} for tenant `{tenant}`")))?;
        Ok(())
    }

    /// Whether the tenant already stores this artifact.
    pub async fn tenant_has_artifact(&self, tenant: &str, digest: &ArtifactDigest) -> Result<bool> {
        let row = sqlx::query("SELECT 1 FROM tenant_artifacts WHERE tenant = ? AND digest = ?")
            .bind(tenant)
            .bind(digest.to_hex())
            .fetch_optional(&self.pool)
            .await
            .map_err(db(format!(
                "look up artifact {digest} of tenant `{tenant}`"
            )))?;
        Ok(row.is_some())
    }

    /// `(artifacts, bytes)` a tenant stores.
    pub async fn tenant_usage(&self, tenant: &str) -> Result<(i64, i64)> {
        let row = sqlx::query(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM tenant_artifacts WHERE tenant = ?",
        )
        .bind(tenant)
        .fetch_one(&self.pool)
        .await
        .map_err(db(format!("sum the storage of tenant `{tenant}`")))?;
        let read = || -> Result<(i64, i64), sqlx::Error> { Ok((row.try_get(0)?, row.try_get(1)?)) };
        read().map_err(db(format!("sum the storage of tenant `{tenant}`")))
    }
}

fn caps_json(caps: &TenantCaps) -> String {
    serde_json::to_string(caps).expect("caps serialize")
}

fn tenant_from_row(row: &SqliteRow) -> Result<Tenant> {
    let read = || -> Result<_, sqlx::Error> {
        Ok((
            row.try_get::<String, _>("name")?,
            row.try_get::<String, _>("caps_json")?,
            row.try_get::<String, _>("created_at")?,
            row.try_get::<String, _>("updated_at")?,
        ))
    };
    let (name, caps, created_at, updated_at) = read().map_err(db("read a tenant"))?;
    let caps = serde_json::from_str(&caps).map_err(|_| MetaError::InvalidRecord {
        what: "tenant caps",
        value: caps,
    })?;
    Ok(Tenant {
        name,
        caps,
        created_at,
        updated_at,
    })
}
