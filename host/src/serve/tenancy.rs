//! Who is asking, and what they may see.
//!
//! With tokens (the default), every model request carries
//! `Authorization: Bearer TOKEN`; the token names a tenant (`sluice
//! tenants token create`), and the request sees that tenant's models only:
//! another tenant's model is "not found", exactly as a model that does not
//! exist. A missing, unknown or revoked token is 401. Tokens are checked
//! against the metadata store at most once a second each, so a revocation
//! takes effect within a second. Without tokens (`--no-auth`) every caller
//! acts as the one tenant the server was started as.
//!
//! Each tenant is served by a [`Caller`]: its registry, its runtime (its
//! compile caps), the limits of its plugin calls (its caps) and a
//! semaphore of its `concurrency` cap, made at its first request.

use super::error::ApiError;
use super::models::Models;
use crate::artifacts::ArtifactStore;
use crate::meta::MetaStore;
use crate::registry::Registry;
use crate::runtime::{Runtime, StepLimits};
use crate::tenants::{Tenant, tenant_store};
use crate::workspace::Workspace;
use axum::http::{HeaderMap, StatusCode, header};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OnceCell, Semaphore};

/// How callers are told apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// A bearer token per request, naming its tenant.
    Tokens,
    /// No authentication: every caller acts as this tenant.
    Open {
        /// The tenant every caller acts as.
        tenant: String,
    },
}

/// How long a checked token is believed before it is checked again.
const TOKEN_RECHECK: Duration = Duration::from_secs(1);

/// At most this many tokens are remembered between checks.
const MAX_REMEMBERED_TOKENS: usize = 4096;

/// One tenant's serving: see the module docs.
pub struct Caller {
    /// The tenant.
    pub tenant: String,
    pub(super) registry: Registry,
    pub(super) runtime: Runtime,
    /// The limits of each plugin call of a request.
    pub(super) limits: StepLimits,
    pub(super) models: Models,
    /// Requests of this tenant answering at once (its `concurrency` cap).
    pub(super) slots: Semaphore,
    /// Where its inference log goes.
    pub(super) log: Arc<super::log::LogSink>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The tenants being served and the tokens seen.
pub struct Tenancy {
    auth: Auth,
    workspace: Workspace,
    meta: MetaStore,
    root: ArtifactStore,
    callers: Mutex<HashMap<String, Arc<OnceCell<Arc<Caller>>>>>,
    /// Token hash -> (its tenant, when checked): tokens that authenticated.
    tokens: Mutex<HashMap<String, (String, Instant)>>,
}

impl Tenancy {
    /// Serving over `workspace`'s stores.
    pub async fn new(workspace: Workspace, auth: Auth) -> Result<Tenancy, ApiError> {
        let internal = |e: String| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e);
        let meta = workspace
            .meta()
            .await
            .map_err(|e| internal(e.to_string()))?;
        let root = workspace
            .store_root()
            .map_err(|e| internal(e.to_string()))?;
        Ok(Tenancy {
            auth,
            workspace,
            meta,
            root,
            callers: Mutex::default(),
            tokens: Mutex::default(),
        })
    }

    /// The metadata store of every tenant.
    pub fn meta(&self) -> &MetaStore {
        &self.meta
    }

    /// The workspace the server was opened from (closed at shutdown).
    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    /// The tenants a fresh server loads the models of.
    pub async fn tenants(&self) -> Vec<String> {
        match &self.auth {
            Auth::Open { tenant } => vec![tenant.clone()],
            Auth::Tokens => match self.meta.list_tenants().await {
                Ok(all) => all.into_iter().map(|t| t.name).collect(),
                Err(e) => {
                    tracing::warn!(error = %e, "listing tenants");
                    Vec::new()
                }
            },
        }
    }

    /// The tenants served so far.
    pub fn served(&self) -> Vec<Arc<Caller>> {
        lock(&self.callers)
            .values()
            .filter_map(|c| c.get().cloned())
            .collect()
    }

    /// The caller a request's headers name: 401 without a valid token
    /// (unless the server is open).
    pub async fn caller(&self, headers: &HeaderMap) -> Result<Arc<Caller>, ApiError> {
        let tenant = match &self.auth {
            Auth::Open { tenant } => tenant.clone(),
            Auth::Tokens => self.token_tenant(headers).await?,
        };
        self.tenant(&tenant).await
    }

    async fn token_tenant(&self, headers: &HeaderMap) -> Result<String, ApiError> {
        let unauthorized = |why: &str| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                format!(
                    "{why}: send `Authorization: Bearer TOKEN` with a token from \
                     `sluice tenants token create TENANT`"
                ),
            )
        };
        let value = headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| unauthorized("no token"))?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthorized("the Authorization header is not `Bearer TOKEN`"))?;
        let hash = crate::meta::token_hash(token);
        let known = lock(&self.tokens)
            .get(&hash)
            .filter(|(_, at)| at.elapsed() < TOKEN_RECHECK)
            .map(|(tenant, _)| tenant.clone());
        if let Some(tenant) = known {
            return Ok(tenant);
        }
        let tenant = self
            .meta
            .token_tenant(token)
            .await
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .ok_or_else(|| unauthorized("the token is unknown or revoked"))?;
        // Only tokens that authenticate are remembered, so callers sending
        // made-up tokens cannot grow the map; it holds at most the tokens
        // seen within the last recheck interval, and a few thousand at most.
        let mut tokens = lock(&self.tokens);
        if tokens.len() >= MAX_REMEMBERED_TOKENS {
            tokens.retain(|_, (_, at)| at.elapsed() < TOKEN_RECHECK);
            if tokens.len() >= MAX_REMEMBERED_TOKENS {
                tokens.clear();
            }
        }
        tokens.insert(hash, (tenant.clone(), Instant::now()));
        Ok(tenant)
    }

    /// `name`'s serving, made at its first request.
    pub async fn tenant(&self, name: &str) -> Result<Arc<Caller>, ApiError> {
        let cell = lock(&self.callers)
            .entry(name.to_owned())
            .or_default()
            .clone();
        cell.get_or_try_init(|| async {
            let internal = |e: String| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e);
            let tenant: Tenant = self
                .meta
                .tenant(name)
                .await
                .map_err(|e| internal(e.to_string()))?;
            let runtime = self
                .workspace
                .runtime_for(&tenant)
                .map_err(|e| internal(e.to_string()))?;
            let caps = &tenant.caps;
            let limits = caps.call_limits();
            let store = tenant_store(&self.root, name);
            Ok(Arc::new(Caller {
                log: Arc::new(super::log::LogSink {
                    tenant: name.to_owned(),
                    store: store.clone(),
                }),
                registry: Registry::for_tenant(self.meta.clone(), store, name),
                runtime,
                limits,
                models: Models::default(),
                slots: Semaphore::new(caps.concurrency.max(1) as usize),
                tenant: name.to_owned(),
            }))
        })
        .await
        .cloned()
    }
}

/// The caller of a request, its rejection (401) answered in the shape
/// of the protocol `E` is the error of.
pub struct CallerOf<E>(pub Arc<Caller>, pub std::marker::PhantomData<E>);

/// The caller of an Open Inference Protocol request (401 as `{"error"}`).
pub type OipCaller = CallerOf<super::error::OipError>;

/// The caller of an MLflow request (401 as MLflow's errors are).
pub type MlflowCaller = CallerOf<super::error::MlflowError>;

impl<E> axum::extract::FromRequestParts<Arc<super::AppState>> for CallerOf<E>
where
    E: From<ApiError> + axum::response::IntoResponse,
{
    type Rejection = E;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &Arc<super::AppState>,
    ) -> Result<Self, Self::Rejection> {
        let caller = state.tenancy.caller(&parts.headers).await?;
        Ok(CallerOf(caller, std::marker::PhantomData))
    }
}
