//! The HTTP side, two doors. Ingestion (`/v1/logs`, `/v1/traces`, `/v1/metrics`) is open to
//! browsers with CORS for the configured page origins, rate limited when it comes without the
//! write token, and marks what comes with it as backend. Reading (`/api/search`, the page's
//! data) needs the read token and never grants CORS. Every answer carries the security headers.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Form, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt as _;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use serde::Deserialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::auth::{self, COOKIE, Token};
use crate::cors::cors;
use crate::ingest::{self, Clock, Encoding, Format, Limits, Refusal};
use crate::limits::{BodyShare, BodyShares, Limiter, retry_after_seconds};
use crate::rows::Provenance;
use crate::search::{self, PageLimits};
use crate::store::{Prepared, Rows, Store, Written};
use crate::writer::{WriteError, Writer};

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// Where records are read from.
    pub store: Store,
    /// Where records go: the group-commit queue in front of the store.
    pub writer: Writer,
    /// Page origins allowed by CORS on the ingestion door (`*`: any).
    pub cors_origins: Arc<Vec<String>>,
    /// Opens the reading door.
    pub read_token: Token,
    /// Marks a sender as a backend.
    pub write_token: Token,
    /// Buckets for what comes without a credential.
    pub limiter: Arc<Limiter>,
    /// Bounds on one request.
    pub limits: Limits,
    /// Bodies decoded at once: one per core, so that decoding never starves the writer of
    /// CPU (past it, a request waits for its turn without holding a thread).
    pub decoding: Arc<Semaphore>,
    /// Body bytes all requests may hold at once.
    pub buffered: Arc<Semaphore>,
    /// Body bytes one client without a credential may hold at once.
    pub client_shares: Arc<BodyShares>,
    /// Time to send a body.
    pub body_timeout: Duration,
    /// Bounds on one search page.
    pub page: PageLimits,
    /// Days records are kept (the oldest time accepted as sent).
    pub retention_days: u32,
    /// Trust `X-Forwarded-For` and `X-Forwarded-Proto`.
    pub trust_proxy: bool,
}

/// The collector's routes.
pub fn router(state: AppState) -> Router {
    let ingestion = Router::new()
        .route("/v1/logs", post(ingest_logs))
        .route("/v1/traces", post(ingest_traces))
        .route("/v1/metrics", post(ingest_metrics))
        .layer(middleware::from_fn_with_state(state.clone(), cors));
    let reading = Router::new()
        .route("/api/search", get(search))
        .route("/api/stats", get(stats))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_read));
    let open_pages = Router::new()
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/", get(page))
        .route("/page.js", get(page_js))
        .route("/page.css", get(page_css));
    ingestion
        .merge(
            reading
                .merge(open_pages)
                .layer(middleware::map_response(reading_door_headers)),
        )
        .layer(middleware::map_response(security_headers))
        .with_state(state)
}

/// The page's policy: its own script and style only, no framing, no referrer.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// The reading door's answers are never cached and never read by another origin.
async fn reading_door_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    response
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

async fn require_read(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if auth::may_read(request.headers(), &state.read_token) {
        return next.run(request).await;
    }
    let mut response = json_error(
        StatusCode::UNAUTHORIZED,
        "the reading door needs the read token: log in on the page, or send Authorization: Bearer <read token>",
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"threadline\""),
    );
    response
}

/// The client's address: the peer, or behind a trusted proxy the last `X-Forwarded-For` hop.
fn client_ip(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    let forwarded = state
        .trust_proxy
        .then(|| headers.get("x-forwarded-for")?.to_str().ok())
        .flatten()
        .and_then(|v| v.rsplit(',').next())
        .and_then(|ip| ip.trim().parse().ok());
    forwarded.unwrap_or(peer.ip())
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

/// A request another site made the browser send.
fn cross_site(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| site != "same-origin" && site != "none")
}

fn cookie_header(state: &AppState, headers: &HeaderMap, value: &str, max_age: u32) -> String {
    let https = state.trust_proxy
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let secure = if https { "; Secure" } else { "" };
    format!("{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}")
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if cross_site(&headers) {
        return json_error(
            StatusCode::FORBIDDEN,
            "log in from the collector's own page",
        );
    }
    if let Err(wait) = state.limiter.check(client_ip(&state, peer, &headers), None) {
        return too_many(wait);
    }
    let token = form.token.trim();
    if !state.read_token.matches(token) {
        return json_error(StatusCode::UNAUTHORIZED, "that is not the read token");
    }
    let cookie = cookie_header(&state, &headers, token, 30 * 86_400);
    (StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response()
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let cookie = cookie_header(&state, &headers, "", 0);
    (StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response()
}

fn too_many(wait: Duration) -> Response {
    let mut response = json_error(
        StatusCode::TOO_MANY_REQUESTS,
        "too many requests without a credential; wait and retry",
    );
    if let Ok(value) = HeaderValue::from_str(&retry_after_seconds(wait).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// A `google.rpc.Status`, the body of OTLP error answers.
#[derive(Clone, PartialEq, prost::Message)]
struct Status {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// `google.rpc.Code.INVALID_ARGUMENT`.
const INVALID_ARGUMENT: i32 = 3;

/// An OTLP error answer in the request's encoding.
fn refuse(status: StatusCode, format: Format, message: String) -> Response {
    let (content_type, body) = match format {
        Format::Protobuf => (
            "application/x-protobuf",
            prost::Message::encode_to_vec(&Status {
                code: INVALID_ARGUMENT,
                message,
            }),
        ),
        Format::Json => (
            "application/json",
            serde_json::json!({ "code": INVALID_ARGUMENT, "message": message })
                .to_string()
                .into_bytes(),
        ),
    };
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn refusal(refusal: Refusal, format: Format) -> Response {
    match refusal {
        Refusal::Bad(m) => refuse(StatusCode::BAD_REQUEST, format, m),
        Refusal::TooLarge(m) => refuse(StatusCode::PAYLOAD_TOO_LARGE, format, m),
    }
}

/// Which OTLP signal a request carries.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Signal {
    Logs,
    Traces,
    Metrics,
}

/// A body read whole, holding its share of the buffered-bytes budget until dropped.
struct ReadBody {
    bytes: Vec<u8>,
    _budget: Vec<OwnedSemaphorePermit>,
    _share: Option<BodyShare>,
}

/// Reads a body within the size limit, the body timeout, the shared budget and, for a client
/// without a credential (`share`), its own part of that budget.
async fn read_body(
    state: &AppState,
    body: Body,
    format: Format,
    mut share: Option<BodyShare>,
) -> Result<ReadBody, Response> {
    let limit = state.limits.max_body_bytes;
    let too_large = || {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format,
            format!("body larger than {limit} bytes"),
        )
    };
    let mut body = body;
    let mut chunks = Vec::new();
    let mut length = 0;
    let mut budget = Vec::new();
    let reading = async {
        while let Some(frame) = body.frame().await {
            let frame = frame
                .map_err(|_| refuse(StatusCode::BAD_REQUEST, format, "body broken off".into()))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            length += data.len();
            if length > limit {
                return Err(too_large());
            }
            if share.as_mut().is_some_and(|s| !s.take(data.len())) {
                return Err(busy());
            }
            let size = u32::try_from(data.len()).unwrap_or(u32::MAX);
            let permit = state
                .buffered
                .clone()
                .try_acquire_many_owned(size)
                .map_err(|_| busy())?;
            budget.push(permit);
            chunks.push(data);
        }
        Ok(())
    };
    match tokio::time::timeout(state.body_timeout, reading).await {
        Ok(Ok(())) => {
            // Joined once, at its length: no growing buffer holds twice the bytes.
            let mut bytes = Vec::with_capacity(length);
            for chunk in chunks {
                bytes.extend_from_slice(&chunk);
            }
            Ok(ReadBody {
                bytes,
                _budget: budget,
                _share: share,
            })
        }
        Ok(Err(response)) => Err(response),
        Err(_) => Err(refuse(
            StatusCode::REQUEST_TIMEOUT,
            format,
            "body not sent within the body timeout".into(),
        )),
    }
}

fn busy() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "1")],
        "busy: too many bodies in flight",
    )
        .into_response()
}

/// Nanoseconds since the epoch, now.
pub fn now_ns() -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    i64::try_from(now).unwrap_or(i64::MAX)
}

/// Nanoseconds since the epoch, `days` ago.
pub fn cutoff_ns(days: u32) -> i64 {
    now_ns().saturating_sub(i64::from(days) * 86_400 * 1_000_000_000)
}

/// The success answer: empty, or an OTLP partial success naming what was refused.
fn accepted(signal: Signal, format: Format, rejected: usize) -> Response {
    let rejected_count = i64::try_from(rejected).unwrap_or(i64::MAX);
    let message = if rejected == 0 {
        String::new()
    } else {
        format!("{rejected} empty or ID-less records refused")
    };
    let (json, proto) = match signal {
        Signal::Logs => (
            serde_json::json!({ "partialSuccess": { "rejectedLogRecords": rejected_count.to_string(), "errorMessage": message } }),
            prost::Message::encode_to_vec(&ExportLogsServiceResponse {
                partial_success: (rejected > 0).then_some(ExportLogsPartialSuccess {
                    rejected_log_records: rejected_count,
                    error_message: message.clone(),
                }),
            }),
        ),
        Signal::Traces => (
            serde_json::json!({ "partialSuccess": { "rejectedSpans": rejected_count.to_string(), "errorMessage": message } }),
            prost::Message::encode_to_vec(&ExportTraceServiceResponse {
                partial_success: (rejected > 0).then_some(ExportTracePartialSuccess {
                    rejected_spans: rejected_count,
                    error_message: message.clone(),
                }),
            }),
        ),
        Signal::Metrics => (serde_json::json!({ "partialSuccess": {} }), Vec::new()),
    };
    match format {
        Format::Protobuf => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            proto,
        )
            .into_response(),
        Format::Json if rejected == 0 => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            if signal == Signal::Metrics {
                json.to_string()
            } else {
                "{}".to_owned()
            },
        )
            .into_response(),
        Format::Json => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            json.to_string(),
        )
            .into_response(),
    }
}

async fn ingest_logs(
    state: State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    ingest(state, peer, request, Signal::Logs).await
}

async fn ingest_traces(
    state: State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    ingest(state, peer, request, Signal::Traces).await
}

async fn ingest_metrics(
    state: State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    ingest(state, peer, request, Signal::Metrics).await
}

/// Who sent a request: the write token makes it a backend, none a browser; `None` for a wrong
/// token (refused, 401).
fn provenance(state: &AppState, headers: &HeaderMap) -> Option<Provenance> {
    match auth::bearer(headers) {
        None => Some(Provenance::Browser),
        Some(given) if state.write_token.matches(given) => Some(Provenance::Backend),
        Some(_) => None,
    }
}

async fn ingest(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    signal: Signal,
) -> Response {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(format) = Format::from_content_type(content_type) else {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Format::Json,
            format!(
                "unsupported Content-Type {content_type:?}: send application/json, application/x-protobuf or text/plain"
            ),
        );
    };
    let encoding_header = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok());
    let Some(encoding) = Encoding::from_header(encoding_header) else {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format,
            format!("unsupported Content-Encoding {encoding_header:?}: send gzip, deflate or none"),
        );
    };
    let Some(provenance) = provenance(&state, headers) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            format,
            "wrong write token; send none to be stored as a browser".into(),
        );
    };
    let mut share = None;
    if provenance == Provenance::Browser {
        let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        let client = client_ip(&state, peer, headers);
        if let Err(wait) = state.limiter.check(client, origin) {
            return too_many(wait);
        }
        share = Some(BodyShares::open(&state.client_shares, client));
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > state.limits.max_body_bytes) {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format,
            format!("body larger than {} bytes", state.limits.max_body_bytes),
        );
    }
    let body = match read_body(&state, body, format, share).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let limits = state.limits;
    let clock = Clock {
        now_ns: now_ns(),
        oldest_ns: cutoff_ns(state.retention_days),
    };
    let decode = move || -> Result<Decoded, Refusal> {
        let plain = ingest::decompress(&body.bytes, encoding, limits.max_body_bytes)?;
        match signal {
            Signal::Logs => ingest::decode_logs(&plain, format)
                .and_then(|r| ingest::log_rows(r, provenance, &limits, &clock))
                .map(|d| (Prepared::of(&Rows::Logs(d.rows)), d.rejected)),
            Signal::Traces => ingest::decode_traces(&plain, format)
                .and_then(|r| ingest::span_rows(r, provenance, &limits, &clock))
                .map(|d| (Prepared::of(&Rows::Spans(d.rows)), d.rejected)),
            Signal::Metrics => Ok((Prepared::of(&Rows::Logs(Vec::new())), 0)),
        }
    };
    let decoded = match state.decoding.acquire().await {
        Ok(_turn) => crate::background::run(decode).await,
        Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
    };
    let (rows, rejected) = match decoded {
        Ok(Ok(decoded)) => decoded,
        Ok(Err(r)) => return refusal(r, format),
        Err(e) => {
            eprintln!("threadline-collector: {e}");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let written = if rows.is_empty() {
        Ok(Written::default())
    } else {
        state.writer.write(rows).await
    };
    match written {
        Ok(_) => accepted(signal, format, rejected),
        Err(WriteError::Full) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            "busy: the write queue is full",
        )
            .into_response(),
        Err(WriteError::Store(e)) => {
            eprintln!("threadline-collector: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "5")],
                "storage unavailable",
            )
                .into_response()
        }
    }
}

/// What a body decodes to: its rows, encoded for the store, and how many records were refused
/// one by one.
type Decoded = (Prepared, usize);

#[derive(Deserialize)]
struct SearchQuery {
    id: Option<String>,
    cursor: Option<String>,
}

async fn search(State(state): State<AppState>, Query(query): Query<SearchQuery>) -> Response {
    let id = query.id.unwrap_or_default().trim().to_owned();
    if id.is_empty() || id.len() > 128 {
        return json_error(
            StatusCode::BAD_REQUEST,
            "give ?id= a correlation, trace or session ID (at most 128 characters)",
        );
    }
    let _reading = state.writer.reading();
    match search::page(&state.store, &id, query.cursor.as_deref(), state.page).await {
        Ok(Ok(answer)) => axum::Json(answer).into_response(),
        Ok(Err(message)) => json_error(StatusCode::BAD_REQUEST, &message),
        Err(e) => {
            eprintln!("threadline-collector: {e}");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// The writer's counters since start: requests refused because the write queue was full, and
/// commits with the requests and records they held.
async fn stats(State(state): State<AppState>) -> Response {
    axum::Json(state.writer.stats()).into_response()
}

fn asset(content_type: &'static str, text: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], text).into_response()
}

async fn page() -> Response {
    asset("text/html; charset=utf-8", include_str!("page.html"))
}

async fn page_js() -> Response {
    asset("text/javascript; charset=utf-8", include_str!("page.js"))
}

async fn page_css() -> Response {
    asset("text/css; charset=utf-8", include_str!("page.css"))
}
