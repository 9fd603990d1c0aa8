//! The correlation-ID edge policy as a `tower` layer, usable with axum, hyper or any tower
//! stack:
//!
//! - read `X-Correlation-ID` (the name is configurable) and accept it when it is 16 to 64
//!   letters, digits, `-` or `_`; otherwise (missing, too short, too long, odd characters) mint a
//!   fresh one (32 lowercase hex from the OS's CSPRNG);
//! - put it in the request's extensions ([`CorrelationId`]) and run the request inside a
//!   `tracing` span with a `correlation_id` field, so every log line of the request carries it;
//! - echo it in the response header on every response, errors included;
//! - carry it on: [`CorrelationId::apply`] for outgoing HTTP calls, [`JobEnvelope`] for queued
//!   jobs.
//!
//! ```
//! use axum::{Extension, Router, routing::get};
//! use threadline_correlation::{CorrelationId, CorrelationLayer};
//!
//! let app: Router = Router::new()
//!     .route("/api/checkout", get(|Extension(id): Extension<CorrelationId>| async move {
//!         tracing::info!("checkout started"); // carries correlation_id
//!         id.to_string()
//!     }))
//!     .layer(CorrelationLayer::new());
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response};
use pin_project_lite::pin_project;
use serde::{Deserialize, Serialize};
use tower_layer::Layer;
use tower_service::Service;
use tracing::Instrument;
use tracing::instrument::Instrumented;

/// The default header: `X-Correlation-ID`.
pub const DEFAULT_HEADER: &str = "x-correlation-id";

/// A request's correlation ID: valid by construction (16 to 64 of `A-Z a-z 0-9 - _`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CorrelationId(String);

/// Why a text is not a correlation ID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidId;

impl fmt::Display for InvalidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a correlation ID is 16 to 64 letters, digits, '-' or '_'")
    }
}

impl std::error::Error for InvalidId {}

impl CorrelationId {
    /// Accepts `text` if it is 16 to 64 letters, digits, `-` or `_`.
    pub fn parse(text: &str) -> Result<CorrelationId, InvalidId> {
        let valid = (16..=64).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if valid {
            Ok(CorrelationId(text.to_owned()))
        } else {
            Err(InvalidId)
        }
    }

    /// A fresh ID: 128 bits from the OS's CSPRNG as 32 lowercase hex (a W3C trace-id). Falls
    /// back to time and a counter only if the OS has no randomness to give.
    pub fn generate() -> CorrelationId {
        let mut bytes = [0u8; 16];
        if getrandom::fill(&mut bytes).is_err() {
            bytes = fallback_bytes();
        }
        CorrelationId(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// The ID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Sets the header `name` on an outgoing call's headers, replacing any value there.
    pub fn apply(&self, headers: &mut HeaderMap, name: &HeaderName) {
        if let Ok(value) = HeaderValue::from_str(&self.0) {
            headers.insert(name.clone(), value);
        }
    }

    /// `(X-Correlation-ID, id)` for clients that take header pairs (reqwest's `.header(k, v)`).
    pub fn header(&self) -> (&'static str, &str) {
        (DEFAULT_HEADER, &self.0)
    }
}

fn fallback_bytes() -> [u8; 16] {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let n = u128::from(COUNTER.fetch_add(1, Ordering::Relaxed));
    (nanos ^ (n << 64) | 1).to_be_bytes()
}

impl fmt::Display for CorrelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CorrelationId {
    type Error = InvalidId;
    fn try_from(text: String) -> Result<Self, InvalidId> {
        CorrelationId::parse(&text)
    }
}

impl From<CorrelationId> for String {
    fn from(id: CorrelationId) -> String {
        id.0
    }
}

/// A queued job with the correlation ID of the request that enqueued it, so the worker's log
/// lines join the same story.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobEnvelope<T> {
    /// The enqueuing request's ID.
    pub correlation_id: CorrelationId,
    /// The job itself.
    pub job: T,
}

impl<T> JobEnvelope<T> {
    /// Wraps `job` with `correlation_id`.
    pub fn new(correlation_id: CorrelationId, job: T) -> Self {
        JobEnvelope {
            correlation_id,
            job,
        }
    }

    /// The span a worker runs the job in: every log line inside carries `correlation_id`.
    pub fn span(&self, job_name: &str) -> tracing::Span {
        tracing::info_span!("job", correlation_id = %self.correlation_id, job.name = job_name)
    }
}

/// The layer: see the crate documentation.
#[derive(Clone, Debug)]
pub struct CorrelationLayer {
    header: HeaderName,
}

impl Default for CorrelationLayer {
    fn default() -> Self {
        CorrelationLayer {
            header: HeaderName::from_static(DEFAULT_HEADER),
        }
    }
}

impl CorrelationLayer {
    /// The layer with the `X-Correlation-ID` header.
    pub fn new() -> Self {
        Self::default()
    }

    /// The layer with another header name.
    pub fn with_header(header: HeaderName) -> Self {
        CorrelationLayer { header }
    }
}

impl<S> Layer<S> for CorrelationLayer {
    type Service = Correlation<S>;

    fn layer(&self, inner: S) -> Correlation<S> {
        Correlation {
            inner,
            header: self.header.clone(),
        }
    }
}

/// The service [`CorrelationLayer`] wraps around another.
#[derive(Clone, Debug)]
pub struct Correlation<S> {
    inner: S,
    header: HeaderName,
}

/// The ID a request carries, or a fresh one if it carries none that is valid.
pub fn accept_or_generate(headers: &HeaderMap, name: &HeaderName) -> CorrelationId {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| CorrelationId::parse(v.trim()).ok())
        .unwrap_or_else(CorrelationId::generate)
}

impl<S, B, R> Service<Request<B>> for Correlation<S>
where
    S: Service<Request<B>, Response = Response<R>>,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = EchoFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let id = accept_or_generate(request.headers(), &self.header);
        let span = tracing::info_span!(
            "request",
            correlation_id = %id,
            http.request.method = %request.method(),
            url.path = %request.uri().path(),
        );
        request.extensions_mut().insert(id.clone());
        let future = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        EchoFuture {
            inner: future.instrument(span),
            header: self.header.clone(),
            value: HeaderValue::from_str(id.as_str()).ok(),
        }
    }
}

pin_project! {
    /// Runs the request in its span and echoes the ID on the response.
    pub struct EchoFuture<F> {
        #[pin]
        inner: Instrumented<F>,
        header: HeaderName,
        value: Option<HeaderValue>,
    }
}

impl<F, R, E> Future for EchoFuture<F>
where
    F: Future<Output = Result<Response<R>, E>>,
{
    type Output = Result<Response<R>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = match this.inner.poll(cx) {
            Poll::Ready(Ok(response)) => response,
            other => return other,
        };
        if let Some(value) = this.value.take() {
            response.headers_mut().insert(this.header.clone(), value);
        }
        Poll::Ready(Ok(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_accepted_by_length_and_alphabet() {
        for good in [
            "0af7651916cd43dd8448eb211c80319c",
            "req_0123456789ab",
            &"a-".repeat(32),
        ] {
            assert!(CorrelationId::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "short",
            "0123456789abcde",
            &"a".repeat(65),
            "0af7651916cd43dd 8448eb211c80319c",
            "0af7651916cd43dd8448eb211c80319c\n",
            "<script>alert(1)</script>",
            "ünïcödé0123456789",
        ] {
            assert_eq!(CorrelationId::parse(bad), Err(InvalidId), "{bad:?}");
        }
    }

    #[test]
    fn generated_ids_are_fresh_w3c_trace_ids() {
        let a = CorrelationId::generate();
        let b = CorrelationId::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert!(
            a.as_str()
                .bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert!(CorrelationId::parse(a.as_str()).is_ok());
    }

    #[test]
    fn envelopes_round_trip_and_refuse_bad_ids() {
        let id = CorrelationId::parse("0af7651916cd43dd8448eb211c80319c").unwrap();
        let envelope = JobEnvelope::new(id.clone(), "send-receipt".to_owned());
        let json = serde_json::to_string(&envelope).unwrap();
        assert_eq!(
            json,
            r#"{"correlation_id":"0af7651916cd43dd8448eb211c80319c","job":"send-receipt"}"#
        );
        let back: JobEnvelope<String> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, envelope);
        let forged = r#"{"correlation_id":"x\ny","job":"j"}"#;
        assert!(serde_json::from_str::<JobEnvelope<String>>(forged).is_err());
    }
}
