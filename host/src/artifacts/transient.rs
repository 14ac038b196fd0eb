//! The HTTP layer under an S3 store: it tells the failures that may pass
//! from the others, and times out requests that stall.
//!
//! object_store's own retries are off (sluice retries whole operations:
//! [`super::retry`]), so every request object_store makes goes through
//! [`S3Http`] once. A failure that may pass (the server could not be
//! reached, the connection broke, a 5xx, 429 or 408 answer, a request that
//! stalled) comes back as an [`HttpError`] whose source is a [`Transient`];
//! the retry loop looks for one among the causes of a store error
//! ([`find`]). Everything else (404, 403, any other answer, a body that
//! does not decode) is left as object_store reports it, and never retried.
//!
//! A stall is a request that stops moving, not one that is long:
//! - a download is timed per chunk received: no bytes for the request
//!   timeout and it has stalled, however large it is;
//! - the answer (status and headers) must come within the request timeout,
//!   plus one second per MiB the request uploads. An upload cannot be timed
//!   per chunk sent: object_store hands its body to its HTTP client whole,
//!   and nothing says how much of it went out. So an upload gets time in
//!   proportion to its size, at a floor rate of 1 MiB/s.
//!
//! object_store's own limit of 30 s for a whole request is off: it would
//! cut off a large upload or download that is still moving.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use object_store::ClientOptions;
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpResponse,
    HttpResponseBody, HttpService, ReqwestConnector,
};

use super::retry::secs;

/// The slowest an upload may go before it counts as stalled: the time its
/// answer may take grows by one second per this many bytes.
const UPLOAD_FLOOR_BYTES_PER_SEC: f64 = (1 << 20) as f64;

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
    /// No answer came in time.
    #[error(
        "no answer within {} (SLUICE_STORE_REQUEST_TIMEOUT_MS{})",
        secs(*limit),
        if *uploaded == 0 { "" } else { ", plus 1 s per MiB sent" }
    )]
    NoAnswer { limit: Duration, uploaded: usize },
    /// A download stopped: no bytes came for the request timeout.
    #[error(
        "the download stalled: no bytes for {} (SLUICE_STORE_REQUEST_TIMEOUT_MS)",
        secs(*timeout)
    )]
    Stalled { timeout: Duration },
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

/// How long the answer to a request that uploads `uploaded` bytes may
/// take.
fn answer_limit(timeout: Duration, uploaded: usize) -> Duration {
    timeout + Duration::from_secs_f64(uploaded as f64 / UPLOAD_FLOOR_BYTES_PER_SEC)
}

/// object_store's usual HTTP client, with stalls timed out after `timeout`
/// and failures that may pass marked [`Transient`].
#[derive(Debug, Clone, Copy)]
pub struct S3Http {
    pub timeout: Duration,
}

impl HttpConnector for S3Http {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let inner =
            ReqwestConnector::default().connect(&options.clone().with_timeout_disabled())?;
        Ok(HttpClient::new(Guarded {
            inner,
            timeout: self.timeout,
        }))
    }
}

#[derive(Debug)]
struct Guarded {
    inner: HttpClient,
    timeout: Duration,
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
        let uploaded = request.body().content_length();
        let limit = answer_limit(self.timeout, uploaded);
        let response = match tokio::time::timeout(limit, self.inner.execute(request)).await {
            Err(_) => {
                return Err(HttpError::new(
                    HttpErrorKind::Timeout,
                    Transient::NoAnswer { limit, uploaded },
                ));
            }
            Ok(Err(e)) => return Err(mark(e)),
            Ok(Ok(response)) => response,
        };
        let (parts, body) = response.into_parts();
        let status = parts.status;
        if status.is_server_error() || matches!(status.as_u16(), 408 | 429) {
            // Its text, for the message; it may stall too.
            let text = match tokio::time::timeout(self.timeout, body.bytes()).await {
                Ok(Ok(text)) => String::from_utf8_lossy(&text)
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .chars()
                    .take(ANSWER_TEXT_CHARS)
                    .collect(),
                _ => String::new(),
            };
            return Err(HttpError::new(
                HttpErrorKind::Request,
                Transient::Status {
                    status: status.to_string(),
                    text,
                },
            ));
        }
        let body = HttpResponseBody::new(IdleTimed::new(body, self.timeout));
        Ok(HttpResponse::from_parts(parts, body))
    }
}

/// A response body that fails as [`Transient::Stalled`] when no bytes come
/// for `timeout`.
struct IdleTimed {
    body: HttpResponseBody,
    timeout: Duration,
    idle: Pin<Box<tokio::time::Sleep>>,
}

impl IdleTimed {
    fn new(body: HttpResponseBody, timeout: Duration) -> Self {
        Self {
            body,
            timeout,
            idle: Box::pin(tokio::time::sleep(timeout)),
        }
    }
}

impl Body for IdleTimed {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let next = tokio::time::Instant::now() + this.timeout;
                this.idle.as_mut().reset(next);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(mark(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match this.idle.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(HttpError::new(
                    HttpErrorKind::Timeout,
                    Transient::Stalled {
                        timeout: this.timeout,
                    },
                )))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body whose next bytes never come.
    struct Silent;

    impl Body for Silent {
        type Data = Bytes;
        type Error = HttpError;
        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
            Poll::Pending
        }
    }

    #[tokio::test]
    async fn a_download_that_stops_fails_as_stalled() {
        let timeout = Duration::from_millis(200);
        let body = HttpResponseBody::new(IdleTimed::new(HttpResponseBody::new(Silent), timeout));
        let error = tokio::time::timeout(Duration::from_secs(10), body.bytes())
            .await
            .expect("the stall is noticed")
            .unwrap_err();
        assert_eq!(error.kind(), HttpErrorKind::Timeout);
        let error = object_store::Error::Generic {
            store: "S3",
            source: Box::new(error),
        };
        let transient = find(&error).expect("a stall is transient");
        assert_eq!(
            transient.to_string(),
            "the download stalled: no bytes for 0.2 s (SLUICE_STORE_REQUEST_TIMEOUT_MS)"
        );
    }

    #[tokio::test]
    async fn a_download_that_keeps_coming_is_not_cut_off() {
        // Chunks 30 ms apart, 300 ms in all, with a 100 ms timeout.
        let chunks = futures::stream::unfold(0, |n| async move {
            (n < 10).then_some(())?;
            tokio::time::sleep(Duration::from_millis(30)).await;
            Some((
                Ok::<_, HttpError>(Frame::data(Bytes::from_static(b"x"))),
                n + 1,
            ))
        });
        let body = HttpResponseBody::new(http_body_util::StreamBody::new(chunks));
        let body = HttpResponseBody::new(IdleTimed::new(body, Duration::from_millis(100)));
        assert_eq!(
            body.bytes().await.unwrap(),
            Bytes::from_static(b"xxxxxxxxxx")
        );
    }

    #[test]
    fn an_upload_gets_a_second_per_mib() {
        let timeout = Duration::from_secs(30);
        assert_eq!(answer_limit(timeout, 0), timeout);
        assert_eq!(
            answer_limit(timeout, 256 << 20),
            Duration::from_secs(30 + 256)
        );
    }

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
