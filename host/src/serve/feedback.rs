//! `POST /v2/models/{name}/feedback`: labels for logged requests
//! ([`super::log::labels`]), as
//! `{"labels": [{"request_id": "...", "row": 0, "label": 1}, {"key": "alice", "label": 0}]}`.
//! Each label names its request by `request_id` (the response's
//! `x-request-id`; `row` for one row of it) or by `key` (the request's
//! sticky key). The answer is `{"model": NAME, "accepted": N}`; a label
//! that names nothing or has no value refuses the whole body (400), naming
//! it.

use super::AppState;
use super::error::{ApiError, OipError};
use super::log::labels::{attach, labels_from_table};
use super::tenancy::{CallerOf, OipCaller};
use arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Feedback {
    labels: Vec<Sent>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sent {
    request_id: Option<String>,
    row: Option<i64>,
    key: Option<String>,
    label: Value,
}

/// The labels as a table (`label` numbers, booleans or text, all alike).
fn table(labels: &[Sent]) -> Result<RecordBatch, ApiError> {
    let bad = |i: usize, what: &str| ApiError::bad_request(format!("labels[{i}]: {what}"));
    for (i, l) in labels.iter().enumerate() {
        if l.request_id.is_none() && l.key.is_none() {
            return Err(bad(
                i,
                "give the request's `request_id` (its x-request-id) or its `key`",
            ));
        }
        if l.row.is_some_and(|r| r < 0) {
            return Err(bad(i, "`row` is negative"));
        }
    }
    let label: ArrayRef = if labels.iter().all(|l| l.label.is_number()) {
        Arc::new(
            labels
                .iter()
                .map(|l| l.label.as_f64())
                .collect::<Float64Array>(),
        )
    } else if labels.iter().all(|l| l.label.is_boolean()) {
        Arc::new(
            labels
                .iter()
                .map(|l| l.label.as_bool())
                .collect::<BooleanArray>(),
        )
    } else if labels.iter().all(|l| l.label.is_string()) {
        Arc::new(
            labels
                .iter()
                .map(|l| l.label.as_str())
                .collect::<StringArray>(),
        )
    } else {
        let (i, l) = labels
            .iter()
            .enumerate()
            .find(|(_, l)| !(l.label.is_number() || l.label.is_boolean() || l.label.is_string()))
            .unwrap_or((0, &labels[0]));
        return Err(bad(
            i,
            &format!(
                "label {}: labels are all numbers, all booleans or all text",
                l.label
            ),
        ));
    };
    RecordBatch::try_from_iter([
        (
            "request_id",
            Arc::new(
                labels
                    .iter()
                    .map(|l| l.request_id.as_deref())
                    .collect::<StringArray>(),
            ) as ArrayRef,
        ),
        (
            "row",
            Arc::new(labels.iter().map(|l| l.row).collect::<Int64Array>()),
        ),
        (
            "key",
            Arc::new(
                labels
                    .iter()
                    .map(|l| l.key.as_deref())
                    .collect::<StringArray>(),
            ),
        ),
        ("label", label),
    ])
    .map_err(|e| ApiError::bad_request(e.to_string()))
}

/// `POST /v2/models/{name}/feedback`
pub async fn feedback(
    State(state): State<Arc<AppState>>,
    CallerOf(caller, _): OipCaller,
    Path(name): Path<String>,
    body: axum::body::Body,
) -> Result<Json<Value>, OipError> {
    let body = state.read_body(body).await?;
    let sent: Feedback = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "the feedback is not {{\"labels\": [{{\"request_id\" or \"key\", \"row\"?, \"label\"}}]}}: {e}"
        ))
    })?;
    if sent.labels.is_empty() {
        return Err(ApiError::bad_request("the feedback has no labels").into());
    }
    crate::registry::check_model_name(&name)
        .map_err(|e| ApiError::not_found(format!("no model named `{name}`: {e}")))?;
    let versions = caller
        .registry
        .versions(&name)
        .await
        .map_err(ApiError::from_registry)?;
    if versions.is_empty() {
        return Err(ApiError::not_found(format!("no model named `{name}`")).into());
    }
    let received_ms = chrono::Utc::now().timestamp_millis();
    let labels = labels_from_table(&table(&sent.labels)?, "label", received_ms)
        .map_err(ApiError::bad_request)?;
    let file = attach(
        state.tenancy.meta(),
        &caller.log.store,
        &caller.tenant,
        &name,
        &labels,
        received_ms,
    )
    .await
    .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e))?;
    Ok(Json(json!({ "model": name, "accepted": file.rows })))
}
