//! The HTTP layer under an S3 store: it tells the failures that may pass
//! from the others.
//!
//! object_store's own retries are off (sluice retries whole operations:
//! [`super::retry`]), so every request object_store makes goes through
//! [`S3Http`] once. A failure that may pass (the server could not be
//! reached, the connection broke or timed out, a 5xx, 429 or 408 answer)
//! comes back as an [`HttpError`] whose source is a [`Transient`]; the
//! retry loop looks for one among the causes of a store error ([`find`]).
//! Everything else (404, 403, any other answer, a body that does not
//! decode) is left as object_store reports it, and never retried.

use std::future::Future;
use std::pin::Pin;

use object_store::ClientOptions;
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpResponse, HttpService,
    ReqwestConnector,
};

/// At most this much of an error answer's text goes into a message.
const ANSWER_TEXT_CHARS: usize = 200;

/// A failure of one request that may pass if the request is made again.
#[derive(Debug, thiserror::Error)]
pub enum Transient {
    /// The request could not be sent, or its connection broke.
    #[error("{}: {}", failed(*kind), innermost(source))]
    Failed {
        kind: HttpErrorKind,
        #[source]
        source: HttpError,
    },
    /// The server answered that it cannot serve the request now.
    #[error("the server answered {status}{}", if text.is_empty() { String::new() } else { format!(": {text}") })]
    Status { status: String, text: String },
}

fn failed(kind: HttpErrorKind) -> &'static str {
    match kind {
        HttpErrorKind::Connect => "cannot connect",
        HttpErrorKind::Timeout => "timed out",
        HttpErrorKind::Interrupted => "the connection broke",
        _ => "the request failed",
    }
}

/// The innermost cause of `error`, which says what happened (`Connection
/// refused (os error 111)`) where the outer ones say where.
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = error;
    while let Some(next) = inner.source() {
        inner = next;
    }
    inner.to_string()
}

/// The transient failure among the causes of `error`, if there is one.
pub fn find(error: &object_store::Error) -> Option<&Transient> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if let Some(transient) = e.downcast_ref::<Transient>() {
            return Some(transient);
        }
        cause = e.source();
    }
    None
}

/// Marks an error of the HTTP client as transient when it may pass.
fn mark(error: HttpError) -> HttpError {
    match error.kind() {
        kind @ (HttpErrorKind::Connect
        | HttpErrorKind::Request
        | HttpErrorKind::Timeout
        | HttpErrorKind::Interrupted) => HttpError::new(
            kind,
            Transient::Failed {
                kind,
                source: error,
            },
        ),
        _ => error,
    }
}

/// object_store's usual HTTP client, with failures that may pass marked
/// [`Transient`].
#[derive(Debug, Clone, Copy)]
pub struct S3Http;

impl HttpConnector for S3Http {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let inner = ReqwestConnector::default().connect(options)?;
        Ok(HttpClient::new(Guarded { inner }))
    }
}

#[derive(Debug)]
struct Guarded {
    inner: HttpClient,
}

impl HttpService for Guarded {
    fn call<'a, 'b>(
        &'a self,
        request: HttpRequest,
    ) -> Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'b>>
    where
        'a: 'b,
        Self: 'b,
    {
        Box::pin(self.guarded(request))
    }
}

impl Guarded {
    async fn guarded(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let response = self.inner.execute(request).await.map_err(mark)?;
        let status = response.status();
        if status.is_server_error() || matches!(status.as_u16(), 408 | 429) {
            // Its text, for the message.
            let text = match response.into_body().bytes().await {
                Ok(text) => String::from_utf8_lossy(&text)
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .chars()
                    .take(ANSWER_TEXT_CHARS)
                    .collect(),
                Err(_) => String::new(),
            };
            return Err(HttpError::new(
                HttpErrorKind::Request,
                Transient::Status {
                    status: status.to_string(),
                    text,
                },
            ));
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_that_may_pass_are_transient() {
        let io = |kind| std::io::Error::new(kind, "boom");
        let refused = HttpError::new(
            HttpErrorKind::Connect,
            io(std::io::ErrorKind::ConnectionRefused),
        );
        let marked = object_store::Error::Generic {
            store: "S3",
            source: Box::new(mark(refused)),
        };
        assert_eq!(
            find(&marked).map(ToString::to_string).as_deref(),
            Some("cannot connect: boom")
        );
        let decode = HttpError::new(HttpErrorKind::Decode, io(std::io::ErrorKind::InvalidData));
        let unmarked = object_store::Error::Generic {
            store: "S3",
            source: Box::new(mark(decode)),
        };
        assert!(find(&unmarked).is_none());
        let missing = object_store::Error::NotFound {
            path: "x".into(),
            source: Box::new(io(std::io::ErrorKind::NotFound)),
        };
        assert!(find(&missing).is_none());
    }
}
