//! `sluice serve`: the registry's models answering HTTP requests, over
//! the Open Inference Protocol v2 ([`oip`]: KServe, Triton, MLServer) and
//! MLflow's scoring protocol ([`mlflow`]).
//!
//! A request names a model by alias or version ([`models`]); its values
//! become the version's feature table ([`tensors`]); the version's fitted
//! transform chain and trainer then run in the sandbox exactly as
//! `sluice predict` runs them ([`PreparedModel`]), on the same async
//! runtime and wasmtime engine as runs. A request that fails answers
//! with a status and a message ([`error`]) and takes nothing else down:
//! each plugin call has its own sandbox, and a request's time is bounded.
//!
//! This module is the server's library half; the `sluice serve` command
//! opens a [`Workspace`](crate::Workspace), binds the address and waits
//! for SIGINT or SIGTERM.

pub mod batch;
pub mod error;
pub mod feedback;
pub mod infer;
pub mod log;
pub mod metrics;
pub mod mlflow;
pub mod models;
pub mod monitoring;
pub mod oip;
pub mod tenancy;
pub mod tensors;

use crate::registry::PreparedModel;
use crate::wit;
use crate::workspace::WorkspaceSettings;
use axum::Router;
use axum::routing::{get, post};
use error::{ApiError, OipError};
use models::Target;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tenancy::{Auth, Caller, Tenancy};
use tensors::RawColumn;

/// The response header naming the version that answered.
pub const VERSION_HEADER: &str = "x-sluice-model-version";

/// The response header naming the variant (alias or route arm) that chose
/// the version.
pub const VARIANT_HEADER: &str = "x-sluice-variant";

/// The request header whose value names a request in the inference log
/// (one is made when it is missing); every response carries it.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// A request as it arrived: its id and when.
#[derive(Debug, Clone)]
pub struct Received {
    /// Its id: its `x-request-id` (up to 128 visible ASCII characters), or
    /// one made for it.
    pub id: String,
    /// Whether the id came with the request.
    pub given: bool,
    /// When it arrived.
    pub at: Instant,
    /// When it arrived, in Unix milliseconds.
    pub time_ms: i64,
}

impl Received {
    /// The request's id and time; an OIP body's `id` names it when no
    /// header did.
    fn with_body_id(&self, id: Option<&str>) -> Received {
        match id {
            Some(id) if !self.given && valid_request_id(id) => Received {
                id: id.to_owned(),
                given: true,
                ..self.clone()
            },
            _ => self.clone(),
        }
    }
}

fn valid_request_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

/// Give every request its [`Received`], and every response its
/// `x-request-id` (unless the handler set it).
async fn receive(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let given = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| valid_request_id(id))
        .map(str::to_owned);
    let received = Received {
        given: given.is_some(),
        id: given.unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()),
        at: Instant::now(),
        time_ms: chrono::Utc::now().timestamp_millis(),
    };
    let id = received.id.clone();
    request.extensions_mut().insert(received);
    let mut response = next.run(request).await;
    if !response.headers().contains_key(REQUEST_ID_HEADER)
        && let Ok(v) = axum::http::HeaderValue::from_str(&id)
    {
        response.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    response
}

/// Name the request a response answers, by the id it was logged under.
fn stamp_id(response: &mut axum::response::Response, id: &str) {
    if let Ok(v) = axum::http::HeaderValue::from_str(id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
}

/// Say which version answered, and which variant chose it.
fn stamp(response: &mut axum::response::Response, version: i64, variant: &str) {
    let headers = response.headers_mut();
    headers.insert(VERSION_HEADER, axum::http::HeaderValue::from(version));
    if let Ok(v) = axum::http::HeaderValue::from_str(variant) {
        headers.insert(VARIANT_HEADER, v);
    }
}

/// How a server serves.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The model `POST /invocations` answers with (MLflow's protocol has
    /// no model in its path): `NAME`, `NAME@ALIAS` or `NAME:VERSION`.
    pub default_model: Option<String>,
    /// The largest request body, in bytes; a larger one is refused (413).
    pub max_body_bytes: usize,
    /// How long a request may take, loading its model included; past it
    /// the request is answered 504 and its plugin calls are stopped.
    pub request_timeout: Duration,
    /// How often the aliases of the served models are read again.
    pub refresh: Duration,
    /// How callers are told apart: bearer tokens, or one tenant for all.
    pub auth: Auth,
    /// How concurrent requests for one version are batched.
    pub batch: batch::BatchOptions,
    /// How the inference log is written.
    pub log: log::LogOptions,
    /// Fire the triggers pipeline files armed ([`crate::triggers`]), each
    /// tenant's where no other process does.
    pub triggers: bool,
    /// Where the runs triggers start find plugins named without a path.
    pub plugin_dirs: Vec<std::path::PathBuf>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            default_model: None,
            max_body_bytes: 16 << 20,
            request_timeout: Duration::from_secs(30),
            refresh: Duration::from_millis(250),
            auth: Auth::Tokens,
            batch: batch::BatchOptions::default(),
            log: log::LogOptions::default(),
            triggers: true,
            plugin_dirs: Vec::new(),
        }
    }
}

/// What every handler shares.
pub struct AppState {
    tenancy: Tenancy,
    options: ServeOptions,
    ready: AtomicBool,
    metrics: metrics::Metrics,
    log: log::InferenceLog,
}

/// A request's predictions and who made them.
pub struct Answer {
    /// The model's name.
    pub model: String,
    /// The version that answered.
    pub version: i64,
    /// Which arm of the model's traffic chose the version: the alias or
    /// route arm asked for, or `vN` for a version asked by number.
    pub variant: String,
    /// The trainer's output columns.
    pub predictions: wit::Table,
    /// Request columns to echo beside the predictions.
    pub extra: Vec<RawColumn>,
    /// The time of the sandboxed calls, in seconds.
    pub predict_seconds: f64,
    /// How many sandboxes the calls started (0 when another request of
    /// the same batch counts them).
    pub sandboxes: u64,
    /// For the first request of a call: the call's rows and requests.
    pub batch: Option<(usize, usize)>,
}

impl AppState {
    /// Whether the models the server started with are loaded.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// The version `target` of `caller`'s models means now, loaded.
    async fn model(
        &self,
        caller: &Caller,
        target: &Target,
    ) -> Result<Arc<PreparedModel>, ApiError> {
        let load = caller.models.get(&caller.registry, &caller.runtime, target);
        tokio::time::timeout(self.options.request_timeout, load)
            .await
            .map_err(|_| self.timed_out())?
    }

    /// Load what `target` may be answered by: for a bare name, every
    /// version its route may pick.
    async fn warm(&self, caller: &Caller, target: &Target) -> Result<(), ApiError> {
        self.model(caller, target).await?;
        if let Target::Model { name } = target {
            let routing = caller.models.routing(&caller.registry, name).await?;
            for version in routing.targets() {
                self.model(
                    caller,
                    &Target::Version {
                        name: name.clone(),
                        version,
                    },
                )
                .await?;
            }
        }
        Ok(())
    }

    fn timed_out(&self) -> ApiError {
        ApiError::new(
            axum::http::StatusCode::GATEWAY_TIMEOUT,
            format!(
                "the request took longer than the server's limit of {} ms",
                self.options.request_timeout.as_millis()
            ),
        )
    }

    /// The body, refused with 413 when it is over the size limit.
    async fn read_body(&self, body: axum::body::Body) -> Result<axum::body::Bytes, ApiError> {
        axum::body::to_bytes(body, self.options.max_body_bytes)
            .await
            .map_err(|e| {
                let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
                let mut too_large = false;
                while let Some(c) = cause {
                    too_large |= c.is::<http_body_util::LengthLimitError>();
                    cause = c.source();
                }
                if too_large {
                    ApiError::new(
                        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                        format!(
                            "the request body is over the server's limit of {} bytes",
                            self.options.max_body_bytes
                        ),
                    )
                } else {
                    ApiError::bad_request(format!("reading the request body: {e}"))
                }
            })
    }

    /// `model`'s predictions for `features`, within the request's time and
    /// `caller`'s concurrency cap, alone or in a batch with other requests
    /// for the same version ([`batch`]).
    async fn answer(
        &self,
        caller: &Arc<Caller>,
        model: &Arc<PreparedModel>,
        variant: &str,
        features: wit::Table,
        extra: Vec<RawColumn>,
    ) -> Result<Answer, ApiError> {
        let deadline = Instant::now() + self.options.request_timeout;
        let batcher = caller.models.batcher(model, self.options.batch, || {
            self.metrics.batch_splits(&model.version)
        });
        let predicted = batcher
            .predict(caller, features, deadline, || self.timed_out())
            .await?;
        Ok(Answer {
            model: model.version.name.clone(),
            version: model.version.version,
            variant: variant.to_owned(),
            predictions: predicted.table,
            extra,
            predict_seconds: predicted.seconds,
            sandboxes: predicted.sandboxes,
            batch: (predicted.sandboxes > 0)
                .then_some((predicted.batch_rows, predicted.batch_requests)),
        })
    }

    /// The outcome of an inference request whose model was found, counted
    /// in the metrics, then passed on.
    fn observed(
        &self,
        model: &PreparedModel,
        variant: &str,
        outcome: Result<Answer, ApiError>,
    ) -> Result<Answer, ApiError> {
        self.metrics
            .inference(&model.version, variant, outcome.as_ref());
        outcome
    }

    /// The output columns (name, type) of `model`, from the predictions
    /// its run made for the holdout (read once per version); just
    /// `prediction` when there are none.
    async fn output_schema(
        &self,
        caller: &Caller,
        model: &PreparedModel,
    ) -> Arc<Vec<(String, String)>> {
        let v = &model.version;
        if let Some(known) = caller.models.outputs(&v.name, v.version) {
            return known;
        }
        let fallback = || vec![("prediction".to_string(), "f64".to_string())];
        let schema = match &v.holdout_predictions {
            None => fallback(),
            Some(digest) => match caller.registry.artifacts.get(digest).await {
                Ok(bytes) => match crate::data::read_parquet(&bytes) {
                    Ok(batch) => crate::data::schema_summary(&batch),
                    Err(_) => fallback(),
                },
                // Not remembered: the store may answer next time.
                Err(_) => return Arc::new(fallback()),
            },
        };
        caller.models.remember_outputs(&v.name, v.version, schema)
    }
}

/// A server over a tenant's registry: build it, then [`serve`](Self::serve)
/// (and [`preload`](Self::preload) beside it, through a clone).
#[derive(Clone)]
pub struct Server {
    state: Arc<AppState>,
}

impl Server {
    /// A server over the stores of the workspace `settings` open (the
    /// server opens its own, closed when it stops). Nothing is loaded
    /// until [`preload`](Self::preload) or a request.
    pub async fn open(
        settings: WorkspaceSettings,
        options: ServeOptions,
    ) -> Result<Self, ApiError> {
        let workspace = settings.open().map_err(|e| {
            ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
        })?;
        let tenancy = Tenancy::new(workspace, options.auth.clone()).await?;
        let metrics = metrics::Metrics::default();
        let log = log::InferenceLog::start(tenancy.meta().clone(), options.log, metrics.log());
        Ok(Server {
            state: Arc::new(AppState {
                tenancy,
                options,
                ready: AtomicBool::new(false),
                metrics,
                log,
            }),
        })
    }

    /// The routes, for an embedder that runs its own HTTP server.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v2", get(oip::server_metadata))
            .route("/v2/health/live", get(oip::live))
            .route("/v2/health/ready", get(oip::ready))
            .route("/v2/models/{name}", get(oip::model_metadata))
            .route("/v2/models/{name}/ready", get(oip::model_ready))
            .route("/v2/models/{name}/infer", post(oip::infer))
            .route("/v2/models/{name}/feedback", post(feedback::feedback))
            .route(
                "/v2/models/{name}/versions/{version}",
                get(oip::model_metadata),
            )
            .route(
                "/v2/models/{name}/versions/{version}/ready",
                get(oip::model_ready),
            )
            .route(
                "/v2/models/{name}/versions/{version}/infer",
                post(oip::infer),
            )
            .route("/invocations", post(mlflow::invocations))
            .route(
                "/models/{name}/invocations",
                post(mlflow::model_invocations),
            )
            .route("/ping", get(mlflow::ping))
            .route("/health", get(mlflow::ping))
            .route("/version", get(mlflow::version))
            .route("/metrics", get(metrics::metrics))
            .fallback(|uri: axum::http::Uri| async move {
                OipError(ApiError::not_found(format!("no route {}", uri.path())))
            })
            .layer(axum::middleware::from_fn_with_state(
                self.state.clone(),
                metrics::track,
            ))
            .layer(axum::middleware::from_fn(receive))
            .with_state(self.state.clone())
    }

    /// Load the `production` version of every model of every tenant
    /// served (one without tokens) and the default model, then mark the
    /// server ready (also when some failed to load: their requests answer
    /// with why). Returns how many loaded, and the failures by
    /// `TENANT/MODEL`.
    pub async fn preload(&self) -> (usize, Vec<(String, ApiError)>) {
        let state = &self.state;
        let (mut loaded, mut failed) = (0, Vec::new());
        for tenant in state.tenancy.tenants().await {
            let caller = match state.tenancy.tenant(&tenant).await {
                Ok(caller) => caller,
                Err(e) => {
                    failed.push((tenant, e));
                    continue;
                }
            };
            let mut targets = Vec::new();
            match caller.registry.list().await {
                Ok(models) => targets.extend(
                    models
                        .into_iter()
                        .filter(|m| m.aliases.contains_key(models::DEFAULT_ALIAS))
                        .map(|m| m.name),
                ),
                Err(e) => tracing::warn!(%tenant, error = %e, "listing the registry's models"),
            }
            if let Some(default) = &state.options.default_model
                && !targets.contains(default)
            {
                targets.push(default.clone());
            }
            for model in targets {
                let result = match Target::parse(&model, None) {
                    Ok(target) => state.warm(&caller, &target).await,
                    Err(e) => Err(e),
                };
                match result {
                    Ok(()) => loaded += 1,
                    Err(e) => failed.push((format!("{tenant}/{model}"), e)),
                }
            }
        }
        state.ready.store(true, Ordering::Release);
        (loaded, failed)
    }

    /// Answer requests on `listener` until `shutdown` completes; then stop
    /// accepting, and return once the requests in flight are answered and
    /// the inference log is written.
    /// Aliases are read again in the background meanwhile.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let state = self.state.clone();
        let refresher = tokio::spawn(async move {
            let mut tick = tokio::time::interval(state.options.refresh);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                for caller in state.tenancy.served() {
                    caller
                        .models
                        .refresh(&caller.registry, &caller.runtime)
                        .await;
                }
            }
        });
        let monitors = tokio::spawn(monitoring::run(self.state.clone()));
        let triggers = tokio::spawn(triggers(self.state.clone()));
        let result = axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await;
        refresher.abort();
        monitors.abort();
        triggers.abort();
        // Every request is answered: what they logged goes to the store
        // before the stores close.
        self.state.log.close().await;
        self.state.tenancy.workspace().close().await;
        result
    }
}

/// Completes on SIGINT or SIGTERM: what `sluice serve` stops on.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
}

/// Run the trigger engine of every tenant with armed triggers whose
/// engine no other process runs, looking for new ones every few seconds;
/// until aborted (the engines with it).
async fn triggers(state: Arc<AppState>) {
    struct Abort(Vec<tokio::task::JoinHandle<()>>);
    impl Drop for Abort {
        fn drop(&mut self) {
            for t in &self.0 {
                t.abort();
            }
        }
    }
    if !state.options.triggers {
        return;
    }
    let ws = state.tenancy.workspace();
    let mut engines = std::collections::BTreeMap::new();
    let mut tasks = Abort(Vec::new());
    let meta = match ws.meta().await {
        Ok(meta) => meta,
        Err(e) => {
            tracing::warn!(error = %e, "triggers: opening the metadata store");
            return;
        }
    };
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tick.tick().await;
        let Ok(armed) = meta.armed_triggers(None).await else {
            continue;
        };
        let tenants: std::collections::BTreeSet<String> =
            armed.into_iter().map(|t| t.tenant).collect();
        for name in tenants {
            if engines.contains_key(&name) {
                continue;
            }
            let started = async {
                let tenant = meta.tenant(&name).await.map_err(|e| e.to_string())?;
                let runtime = ws.runtime_for(&tenant).map_err(|e| e.to_string())?;
                let store = ws.store_root().map_err(|e| e.to_string())?;
                crate::triggers::Engine::new(
                    meta.clone(),
                    store,
                    runtime,
                    tenant,
                    state.options.plugin_dirs.clone(),
                )
            }
            .await;
            match started {
                Ok(Some((engine, lock))) => {
                    tracing::info!(tenant = %name, "firing the tenant's triggers");
                    tasks.0.push(tokio::spawn(engine.run()));
                    engines.insert(name, Some(lock));
                }
                // Another process runs them: look again later.
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(tenant = %name, error = %e, "triggers: starting the engine");
                    engines.insert(name, None);
                }
            }
        }
    }
}
