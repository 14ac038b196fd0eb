//! `GET /metrics`: what the server measures of itself, in the Prometheus /
//! OpenMetrics text format, under the names dashboards already use:
//!
//! - `request_predict_seconds` (KServe's ModelServer): the time of the
//!   sandboxed calls of one request, by `model_name`, `model_version` and
//!   `variant` (the alias or traffic arm that chose the version);
//! - `http_server_request_duration_seconds` (OpenTelemetry's HTTP server
//!   semantic conventions): whole requests, by `http_request_method`,
//!   `http_route` and `http_response_status_code`;
//! - `sluice_inference_requests_total`: inference requests by model,
//!   version, variant and `outcome` (`ok`, `client_error`, `server_error`), so that
//!   an error rate can be split by version;
//! - `sluice_request_rows`: rows per inference request (the batch sizes);
//! - `sluice_sandbox_instantiations_total`: sandboxes started for requests
//!   (one per fitted transform and one for the trainer, per call);
//! - `sluice_batch_rows`, `sluice_batch_requests`: rows and requests per
//!   sandboxed call, by model and version (micro-batching), and
//!   `sluice_batch_splits_total`: batches whose call failed, their
//!   requests then answered one by one;
//! - `sluice_shadow_requests_dropped_total`: mirrored requests not
//!   answered because the tenant had no free concurrency slot;
//! - `http_server_active_requests`: requests being answered;
//! - the inference log's: `sluice_log_rows_total` and
//!   `sluice_log_files_total` written, `sluice_log_flush_failures_total`,
//!   `sluice_log_backlog_rows` and `sluice_log_backlog_bytes` waiting in
//!   the buffer, and `sluice_log_refused_requests_total` (answered 503
//!   because the buffer stayed full);
//! - the monitors' (see [`crate::monitor`]): `sluice_monitor_check_status`
//!   (the latest window's result of each check of each version: 0 pass,
//!   1 fail, 2 inconclusive, 3 error), `sluice_monitor_check_value` (its
//!   numbers, by `metric`) and `sluice_monitor_alerts_total`.
//!
//! Buckets start at 50 µs: a small model answers well under a millisecond,
//! where the usual buckets (from 5 ms) would say nothing.

use super::error::ApiError;
use crate::registry::ModelVersion;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    model_name: String,
    model_version: String,
    variant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    model_name: String,
    model_version: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    model_name: String,
    model_version: String,
    variant: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckLabels {
    model_name: String,
    model_version: String,
    check: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckMetricLabels {
    model_name: String,
    model_version: String,
    check: String,
    metric: String,
}

type FloatGauge = Gauge<f64, std::sync::atomic::AtomicU64>;

/// The latest monitor results, as gauges.
#[derive(Clone, Default)]
pub struct MonitorMetrics {
    status: Family<CheckLabels, Gauge>,
    values: Family<CheckMetricLabels, FloatGauge>,
    alerts: Family<CheckLabels, Counter>,
}

impl MonitorMetrics {
    /// Show `evaluation`'s results (each version's latest) and count its
    /// alerts.
    pub fn observe(&self, evaluation: &crate::monitor::Evaluation) {
        for v in &evaluation.versions {
            for r in &v.results {
                let labels = CheckLabels {
                    model_name: evaluation.model.clone(),
                    model_version: v.version.to_string(),
                    check: r.check.clone(),
                };
                self.status.get_or_create(&labels).set(match r.status {
                    crate::monitor::Status::Pass => 0,
                    crate::monitor::Status::Fail => 1,
                    crate::monitor::Status::Inconclusive => 2,
                    crate::monitor::Status::Error => 3,
                });
                for (metric, value) in &r.metrics {
                    if value.is_finite() {
                        self.values
                            .get_or_create(&CheckMetricLabels {
                                model_name: evaluation.model.clone(),
                                model_version: v.version.to_string(),
                                check: r.check.clone(),
                                metric: metric.clone(),
                            })
                            .set(*value);
                    }
                }
            }
            for a in &v.alerts {
                self.alerts
                    .get_or_create(&CheckLabels {
                        model_name: evaluation.model.clone(),
                        model_version: v.version.to_string(),
                        check: a.check.clone(),
                    })
                    .inc();
            }
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    http_request_method: String,
    http_route: String,
    http_response_status_code: u16,
}

fn seconds() -> Histogram {
    // 50 µs to about 13 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 19))
}

fn row_counts() -> Histogram {
    // 1 row to 65,536.
    Histogram::new(exponential_buckets(1.0, 2.0, 17))
}

type ByModel = Family<ModelLabels, Histogram, fn() -> Histogram>;

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    predict: ByModel,
    http: Family<HttpLabels, Histogram, fn() -> Histogram>,
    requests: Family<OutcomeLabels, Counter>,
    rows: ByModel,
    instantiations: Counter,
    shadows_dropped: Family<ModelLabels, Counter>,
    batch_rows: Family<VersionLabels, Histogram, fn() -> Histogram>,
    batch_requests: Family<VersionLabels, Histogram, fn() -> Histogram>,
    batch_splits: Family<VersionLabels, Counter>,
    active: Gauge,
    log: super::log::LogMetrics,
    monitor: MonitorMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let predict = ByModel::new_with_constructor(seconds);
        registry.register_with_unit(
            "request_predict",
            "Time of the sandboxed calls of one inference request",
            Unit::Seconds,
            predict.clone(),
        );
        let http =
            Family::<HttpLabels, Histogram, fn() -> Histogram>::new_with_constructor(seconds);
        registry.register_with_unit(
            "http_server_request_duration",
            "Duration of HTTP server requests",
            Unit::Seconds,
            http.clone(),
        );
        let requests = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "sluice_inference_requests",
            "Inference requests by model, version and outcome",
            requests.clone(),
        );
        let rows = ByModel::new_with_constructor(row_counts);
        registry.register(
            "sluice_request_rows",
            "Rows per inference request",
            rows.clone(),
        );
        let instantiations = Counter::default();
        registry.register(
            "sluice_sandbox_instantiations",
            "Sandboxes started to answer requests",
            instantiations.clone(),
        );
        let batch_rows =
            Family::<VersionLabels, Histogram, fn() -> Histogram>::new_with_constructor(row_counts);
        registry.register(
            "sluice_batch_rows",
            "Rows per sandboxed call (requests batched together)",
            batch_rows.clone(),
        );
        let batch_requests =
            Family::<VersionLabels, Histogram, fn() -> Histogram>::new_with_constructor(row_counts);
        registry.register(
            "sluice_batch_requests",
            "Requests answered per sandboxed call",
            batch_requests.clone(),
        );
        let batch_splits = Family::<VersionLabels, Counter>::default();
        registry.register(
            "sluice_batch_splits",
            "Batches whose call failed, their requests then answered one by one",
            batch_splits.clone(),
        );
        let shadows_dropped = Family::<ModelLabels, Counter>::default();
        registry.register(
            "sluice_shadow_requests_dropped",
            "Mirrored requests not answered because the tenant had no free slot",
            shadows_dropped.clone(),
        );
        let active = Gauge::default();
        registry.register(
            "http_server_active_requests",
            "HTTP requests being answered",
            active.clone(),
        );
        let log = super::log::LogMetrics::default();
        for (name, help, counter) in [
            (
                "sluice_log_rows",
                "Rows written to the inference log's files",
                &log.rows,
            ),
            (
                "sluice_log_files",
                "Files of the inference log written",
                &log.files,
            ),
            (
                "sluice_log_flush_failures",
                "Inference log files that could not be written (their rows kept for the next flush)",
                &log.failures,
            ),
            (
                "sluice_log_refused_requests",
                "Requests answered 503 because the inference log's buffer stayed full",
                &log.refused,
            ),
        ] {
            registry.register(name, help, counter.clone());
        }
        for (name, help, gauge) in [
            (
                "sluice_log_backlog_rows",
                "Rows of the inference log waiting in the buffer",
                &log.backlog_rows,
            ),
            (
                "sluice_log_backlog_bytes",
                "Bytes (about) of the inference log waiting in the buffer",
                &log.backlog_bytes,
            ),
        ] {
            registry.register(name, help, gauge.clone());
        }
        let monitor = MonitorMetrics::default();
        registry.register(
            "sluice_monitor_check_status",
            "The latest window's result of a monitor check: 0 pass, 1 fail, 2 inconclusive, 3 error",
            monitor.status.clone(),
        );
        registry.register(
            "sluice_monitor_check_value",
            "A number of the latest window's result of a monitor check",
            monitor.values.clone(),
        );
        registry.register(
            "sluice_monitor_alerts",
            "Alerts raised by failing monitor checks",
            monitor.alerts.clone(),
        );
        Metrics {
            log,
            monitor,
            registry,
            predict,
            http,
            requests,
            rows,
            instantiations,
            shadows_dropped,
            batch_rows,
            batch_requests,
            batch_splits,
            active,
        }
    }
}

fn labels(version: &ModelVersion, variant: &str) -> ModelLabels {
    ModelLabels {
        model_name: version.name.clone(),
        model_version: version.version.to_string(),
        variant: variant.to_owned(),
    }
}

impl Metrics {
    /// The monitors' gauges.
    pub fn monitor(&self) -> &MonitorMetrics {
        &self.monitor
    }

    /// One inference request of `version`, resolved: its outcome, and for
    /// one answered, its rows, the calls' time and the sandboxes started.
    pub fn inference(
        &self,
        version: &ModelVersion,
        variant: &str,
        outcome: Result<&super::Answer, &ApiError>,
    ) {
        let outcome_label = match outcome {
            Ok(_) => "ok",
            Err(e) if e.status.is_client_error() => "client_error",
            Err(_) => "server_error",
        };
        self.requests
            .get_or_create(&OutcomeLabels {
                model_name: version.name.clone(),
                model_version: version.version.to_string(),
                variant: variant.to_owned(),
                outcome: outcome_label,
            })
            .inc();
        if let Ok(answer) = outcome {
            let labels = labels(version, variant);
            self.predict
                .get_or_create(&labels)
                .observe(answer.predict_seconds);
            self.rows
                .get_or_create(&labels)
                .observe(super::tensors::rows(&answer.predictions) as f64);
            self.instantiations.inc_by(answer.sandboxes);
            if let Some((rows, requests)) = answer.batch {
                let labels = VersionLabels {
                    model_name: version.name.clone(),
                    model_version: version.version.to_string(),
                };
                self.batch_rows.get_or_create(&labels).observe(rows as f64);
                self.batch_requests
                    .get_or_create(&labels)
                    .observe(requests as f64);
            }
        }
    }

    /// The counter of `version`'s batches answered one by one.
    pub fn batch_splits(&self, version: &ModelVersion) -> Counter {
        self.batch_splits
            .get_or_create(&VersionLabels {
                model_name: version.name.clone(),
                model_version: version.version.to_string(),
            })
            .clone()
    }

    /// A mirrored request of `version` dropped for want of a free slot.
    pub fn shadow_dropped(&self, version: &ModelVersion) {
        self.shadows_dropped
            .get_or_create(&labels(version, super::infer::SHADOW))
            .inc();
    }

    /// The inference log's counters, shared with its writer.
    pub fn log(&self) -> super::log::LogMetrics {
        self.log.clone()
    }

    /// The exposition text.
    fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String does not fail");
        text
    }
}

/// `GET /metrics`
pub async fn metrics(State(state): State<Arc<super::AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}

/// Times every request by its route and status.
pub async fn track(
    State(state): State<Arc<super::AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    state.metrics.active.inc();
    let response = next.run(request).await;
    state.metrics.active.dec();
    state
        .metrics
        .http
        .get_or_create(&HttpLabels {
            http_request_method: method,
            http_route: route,
            http_response_status_code: response.status().as_u16(),
        })
        .observe(started.elapsed().as_secs_f64());
    response
}
