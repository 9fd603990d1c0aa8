//! The tower layer: the edge policy around every request of a service.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::header::{HeaderName, HeaderValue};
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;
use tracing::Instrument;
use tracing::instrument::Instrumented;

use crate::ids::{DEFAULT_HEADER, RequestIds};

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
        let ids = RequestIds::from_headers(request.headers(), &self.header);
        let span = tracing::info_span!(
            "request",
            correlation_id = %ids.correlation_id,
            session.id = ids.session_str(),
            http.request.method = %request.method(),
            url.path = %request.uri().path(),
        );
        let value = HeaderValue::from_str(ids.correlation_id.as_str()).ok();
        let extensions = request.extensions_mut();
        extensions.insert(ids.correlation_id.clone());
        if let Some(session) = &ids.session_id {
            extensions.insert(session.clone());
        }
        extensions.insert(ids);
        let future = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        EchoFuture {
            inner: future.instrument(span),
            header: self.header.clone(),
            value,
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
