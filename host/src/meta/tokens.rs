//! Bearer tokens of the server in the metadata store: each bound to a
//! tenant, kept as the SHA-256 of its secret (a token is shown once, when
//! it is made), revoked by id. Making and revoking tokens is an admin
//! operation.

use super::MetaError;
use super::store::{db, now};
use crate::meta::MetaStore;
use crate::tenants::Admin;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

type Result<T, E = MetaError> = std::result::Result<T, E>;

/// What is known of a token (never its secret).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TokenInfo {
    /// The token's public id (`tok-` and 12 hex digits), to list and
    /// revoke it by.
    pub id: String,
    /// The tenant it acts as.
    pub tenant: String,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
}

/// The stored form of a token: the hex SHA-256 of its text.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl MetaStore {
    /// A new token for `tenant` (which must exist): its record, and the
    /// token itself, which is not stored and cannot be shown again.
    pub async fn create_token(&self, _admin: &Admin, tenant: &str) -> Result<(TokenInfo, String)> {
        self.tenant(tenant).await?;
        // 244 random bits from the OS's generator, twice over.
        let secret = format!(
            "sluice_{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let id = format!("tok-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let at = now();
        sqlx::query("INSERT INTO tokens (id, tenant, sha256, created_at) VALUES (?, ?, ?, ?)")
            .bind(&id)
            .bind(tenant)
            .bind(token_hash(&secret))
            .bind(&at)
            .execute(&self.pool)
            .await
            .map_err(db(format!("create a token for tenant `{tenant}`")))?;
        let info = TokenInfo {
            id,
            tenant: tenant.to_owned(),
            created_at: at,
            revoked_at: None,
        };
        Ok((info, secret))
    }

    /// The tokens of `tenant`, oldest first, revoked ones included.
    pub async fn tokens(&self, tenant: &str) -> Result<Vec<TokenInfo>> {
        let rows = sqlx::query(
            "SELECT id, tenant, created_at, revoked_at FROM tokens WHERE tenant = ? \
             ORDER BY created_at, id",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await
        .map_err(db(format!("list the tokens of tenant `{tenant}`")))?;
        Ok(rows
            .iter()
            .map(|r| TokenInfo {
                id: r.get("id"),
                tenant: r.get("tenant"),
                created_at: r.get("created_at"),
                revoked_at: r.get("revoked_at"),
            })
            .collect())
    }

    /// Revoke token `id` of `tenant`: from now on it authenticates nothing.
    /// An error when `tenant` has no such token; revoking twice is fine.
    pub async fn revoke_token(&self, _admin: &Admin, tenant: &str, id: &str) -> Result<TokenInfo> {
        sqlx::query(
            "UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE tenant = ? AND id = ?",
        )
        .bind(now())
        .bind(tenant)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(db(format!("revoke token {id}")))?;
        self.tokens(tenant)
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| MetaError::NoToken {
                tenant: tenant.to_owned(),
                id: id.to_owned(),
            })
    }

    /// The tenant a presented token acts as, if it is a token and is not
    /// revoked.
    pub async fn token_tenant(&self, token: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT tenant FROM tokens WHERE sha256 = ? AND revoked_at IS NULL")
            .bind(token_hash(token))
            .fetch_optional(&self.pool)
            .await
            .map_err(db("look up a token"))?;
        Ok(row.map(|r| r.get("tenant")))
    }
}
