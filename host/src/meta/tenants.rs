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
        count_tenant_artifact(&self.pool, tenant, digest, size).await
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

    /// The artifact `text` names: a whole digest (`sha256:` optional), or a
    /// unique prefix of at least 4 hex characters of a digest the tenant
    /// stores or one of its runs recorded, as run ids take prefixes.
    pub async fn resolve_digest(&self, tenant: &str, text: &str) -> Result<ArtifactDigest> {
        if let Ok(digest) = ArtifactDigest::parse(text) {
            return Ok(digest);
        }
        let prefix = text.strip_prefix("sha256:").unwrap_or(text);
        let hex = prefix
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex || prefix.len() < 4 || prefix.len() > 64 {
            return Err(MetaError::BadDigest {
                text: text.to_owned(),
            });
        }
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT digest FROM tenant_artifacts \
             WHERE tenant = ?1 AND substr(digest, 1, length(?2)) = ?2 \
             UNION SELECT io.digest FROM step_io io JOIN runs r ON r.id = io.run_id \
             WHERE r.tenant = ?1 AND substr(io.digest, 1, length(?2)) = ?2 \
             ORDER BY 1 LIMIT 10",
        )
        .bind(tenant)
        .bind(prefix)
        .fetch_all(&self.pool)
        .await
        .map_err(db(format!(
            "look up artifact prefix `{prefix}` of tenant `{tenant}`"
        )))?;
        match rows.as_slice() {
            [] => Err(MetaError::DigestNotFound {
                prefix: prefix.to_owned(),
                tenant: tenant.to_owned(),
            }),
            [one] => {
                ArtifactDigest::parse(one).map_err(|_| MetaError::BadDigest { text: one.clone() })
            }
            many => Err(MetaError::AmbiguousDigest {
                prefix: prefix.to_owned(),
                candidates: many
                    .iter()
                    .map(|d| d[..16.min(d.len())].to_owned())
                    .collect(),
            }),
        }
    }

    /// Admit an output of `size` bytes (`digest`) under `tenant`'s storage
    /// cap of `cap` bytes, reserving the room until it is recorded
    /// ([`commit_reservation`](Self::commit_reservation)) or given up
    /// ([`release_reservation`](Self::release_reservation)). The check and
    /// the reservation are one statement, so concurrent writers, in this
    /// process or another, never share the same room. Reservations of
    /// processes that died are released first when the room is short.
    pub async fn reserve_storage(
        &self,
        tenant: &str,
        digest: &ArtifactDigest,
        size: i64,
        cap: i64,
    ) -> Result<Admission> {
        let holder = self.leases.token().await?.to_owned();
        let mut released_dead = false;
        loop {
            let done = sqlx::query(
                "INSERT INTO storage_reservations (tenant, digest, size, holder, created_at) \
                 SELECT ?1, ?2, ?3, ?4, ?5 \
                 WHERE (SELECT COALESCE(SUM(size), 0) FROM tenant_artifacts WHERE tenant = ?1) \
                     + (SELECT COALESCE(SUM(size), 0) FROM storage_reservations \
                        WHERE tenant = ?1) + ?3 <= ?6",
            )
            .bind(tenant)
            .bind(digest.to_hex())
            .bind(size)
            .bind(&holder)
            .bind(now())
            .bind(cap)
            .execute(&self.pool)
            .await
            .map_err(db(format!("reserve storage for tenant `{tenant}`")))?;
            if done.rows_affected() == 1 {
                return Ok(Admission::Reserved(done.last_insert_rowid()));
            }
            if self.tenant_has_artifact(tenant, digest).await? {
                return Ok(Admission::AlreadyStored);
            }
            if released_dead || self.release_dead_reservations(Some(tenant)).await? == 0 {
                break;
            }
            released_dead = true;
        }
        let (_, stored) = self.tenant_usage(tenant).await?;
        let row =
            sqlx::query("SELECT COALESCE(SUM(size), 0) FROM storage_reservations WHERE tenant = ?")
                .bind(tenant)
                .fetch_one(&self.pool)
                .await
                .map_err(db(format!("sum the reservations of tenant `{tenant}`")))?;
        let reserved = row
            .try_get(0)
            .map_err(db(format!("sum the reservations of tenant `{tenant}`")))?;
        Ok(Admission::OverCap { stored, reserved })
    }

    /// Record an output admitted by [`reserve_storage`](Self::reserve_storage)
    /// as stored by its tenant, and drop its reservation, at once.
    pub async fn commit_reservation(
        &self,
        reservation: i64,
        tenant: &str,
        digest: &ArtifactDigest,
        size: i64,
    ) -> Result<()> {
        let action = || format!("count artifact {digest} for tenant `{tenant}`");
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db(action()))?;
        count_tenant_artifact(&mut *tx, tenant, digest, size).await?;
        sqlx::query("DELETE FROM storage_reservations WHERE id = ?")
            .bind(reservation)
            .execute(&mut *tx)
            .await
            .map_err(db(action()))?;
        tx.commit().await.map_err(db(action()))
    }

    /// Give up a reservation whose write failed.
    pub async fn release_reservation(&self, reservation: i64) -> Result<()> {
        sqlx::query("DELETE FROM storage_reservations WHERE id = ?")
            .bind(reservation)
            .execute(&self.pool)
            .await
            .map_err(db(format!("release storage reservation {reservation}")))?;
        Ok(())
    }

    /// Release the reservations of processes that died (of `tenant`, or of
    /// every tenant); how many were released.
    pub async fn release_dead_reservations(&self, tenant: Option<&str>) -> Result<u64> {
        let holders: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT holder FROM storage_reservations \
             WHERE ?1 IS NULL OR tenant = ?1",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await
        .map_err(db("list the holders of storage reservations"))?;
        let mut released = 0;
        for holder in holders {
            if self.leases.alive(&holder)? {
                continue;
            }
            let done = sqlx::query("DELETE FROM storage_reservations WHERE holder = ?")
                .bind(&holder)
                .execute(&self.pool)
                .await
                .map_err(db(format!(
                    "release the storage reservations of dead process {holder}"
                )))?;
            released += done.rows_affected();
        }
        Ok(released)
    }

    /// Lock run `run_id` for this process while it executes it, or `None`
    /// if another process is running it.
    pub fn lock_run(&self, run_id: &str) -> Result<Option<super::RunLock>> {
        self.leases.lock_run(run_id)
    }

    /// The artifacts a tenant's storage counts.
    pub async fn tenant_artifact_digests(&self, tenant: &str) -> Result<Vec<ArtifactDigest>> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT digest FROM tenant_artifacts WHERE tenant = ?")
                .bind(tenant)
                .fetch_all(&self.pool)
                .await
                .map_err(db(format!("list the artifacts of tenant `{tenant}`")))?;
        rows.into_iter()
            .map(|d| {
                ArtifactDigest::parse(&d).map_err(|_| MetaError::InvalidRecord {
                    what: "artifact digest",
                    value: d,
                })
            })
            .collect()
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

/// The outcome of [`MetaStore::reserve_storage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The room is reserved under this id.
    Reserved(i64),
    /// The tenant stores this artifact already: it takes no more room.
    AlreadyStored,
    /// It does not fit: the tenant stores `stored` bytes and writes in
    /// flight have reserved `reserved` more.
    OverCap {
        /// Bytes the tenant stores.
        stored: i64,
        /// Bytes reserved by writes in flight.
        reserved: i64,
    },
}

/// Count `digest` against `tenant`'s storage (once per digest).
async fn count_tenant_artifact<'e>(
    executor: impl sqlx::SqliteExecutor<'e>,
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
    .execute(executor)
    .await
    .map_err(db(format!("count artifact {digest} for tenant `{tenant}`")))?;
    Ok(())
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
