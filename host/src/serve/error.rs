//! What a request that fails answers: an HTTP status and a message that
//! names the request's field, column or row, in the shape of the protocol
//! the request spoke (`{"error": ...}` for the Open Inference Protocol,
//! `{"error_code": ..., "message": ...}` for MLflow's).

use crate::registry::RegistryError;
use crate::runtime::{StepFailure, StepFailureKind};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A failed request: its status and what to tell the caller.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status (4xx: the request; 5xx: the server or the model).
    pub status: StatusCode,
    /// What went wrong, for the caller.
    pub message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// 400: the request is malformed or does not fit the model.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404: no such model, version or alias (for this tenant).
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// The answer of a failed plugin call: the model refusing the input
    /// is the request's fault (400), running out of time is 504, anything
    /// else (a trap, a limit) is the model's (500).
    pub(crate) fn from_step(failure: &StepFailure) -> Self {
        let status = match &failure.kind {
            StepFailureKind::Guest { kind, .. }
                if kind == "invalid-input" || kind == "invalid-params" =>
            {
                StatusCode::BAD_REQUEST
            }
            StepFailureKind::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self::new(status, failure.to_string())
    }

    /// A registry lookup or a version's loading that failed: what does
    /// not exist is 404, anything else the server's own failure.
    pub(crate) fn from_registry(e: RegistryError) -> Self {
        match e {
            RegistryError::NoModel(_)
            | RegistryError::NoSuchName { .. }
            | RegistryError::NoVersion { .. }
            | RegistryError::NoAlias { .. }
            | RegistryError::BadSpec(_) => Self::not_found(e.to_string()),
            other => Self::new(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
        }
    }
}

/// An [`ApiError`] answered as the Open Inference Protocol says:
/// `{"error": "..."}`.
pub struct OipError(pub ApiError);

impl From<ApiError> for OipError {
    fn from(e: ApiError) -> Self {
        OipError(e)
    }
}

impl IntoResponse for OipError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.0.message });
        finish((self.0.status, Json(body)).into_response())
    }
}

/// An [`ApiError`] answered as MLflow's scoring server does:
/// `{"error_code": "BAD_REQUEST", "message": "..."}`.
pub struct MlflowError(pub ApiError);

impl From<ApiError> for MlflowError {
    fn from(e: ApiError) -> Self {
        MlflowError(e)
    }
}

impl IntoResponse for MlflowError {
    fn into_response(self) -> Response {
        let code = match self.0.status {
            StatusCode::BAD_REQUEST | StatusCode::UNSUPPORTED_MEDIA_TYPE => "BAD_REQUEST",
            StatusCode::NOT_FOUND => "RESOURCE_DOES_NOT_EXIST",
            StatusCode::UNAUTHORIZED => "UNAUTHENTICATED",
            StatusCode::PAYLOAD_TOO_LARGE => "REQUEST_LIMIT_EXCEEDED",
            StatusCode::GATEWAY_TIMEOUT => "DEADLINE_EXCEEDED",
            _ => "INTERNAL_ERROR",
        };
        let body = serde_json::json!({ "error_code": code, "message": self.0.message });
        finish((self.0.status, Json(body)).into_response())
    }
}

/// A 401 says how to authenticate. A body refused for its size was not
/// read to its end, so the
/// connection cannot carry another request: say so, or a client reusing
/// it would see its next request cut off.
fn finish(mut response: Response) -> Response {
    if response.status() == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            axum::http::header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Bearer"),
        );
    }
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    response
}
