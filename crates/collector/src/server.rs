//! The HTTP side: OTLP/HTTP logs ingestion with the answers the OTLP spec asks for, search, the
//! search page, and CORS for the page origins allowed on the command line.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::ingest::{self, Format, MAX_BODY_BYTES, Refusal};
use crate::store::Store;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// Where records go.
    pub store: Store,
    /// Page origins allowed by CORS (`*`: any).
    pub cors_origins: Arc<Vec<String>>,
}

/// The collector's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/logs", post(ingest_logs))
        .route("/api/search", get(search))
        .route("/", get(page))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), cors))
        .with_state(state)
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

/// An answer in the request's encoding: JSON, or protobuf for protobuf requests.
fn answer(status: StatusCode, format: Format, message: Option<String>) -> Response {
    let (content_type, body) = match (format, message) {
        (Format::Protobuf, None) => ("application/x-protobuf", Vec::new()),
        (Format::Protobuf, Some(message)) => (
            "application/x-protobuf",
            prost::Message::encode_to_vec(&Status {
                code: INVALID_ARGUMENT,
                message,
            }),
        ),
        (Format::Json, None) => ("application/json", b"{}".to_vec()),
        (Format::Json, Some(message)) => (
            "application/json",
            serde_json::json!({ "code": INVALID_ARGUMENT, "message": message })
                .to_string()
                .into_bytes(),
        ),
    };
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn ingest_logs(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(format) = Format::from_content_type(content_type) else {
        return answer(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Format::Json,
            Some(format!(
                "unsupported Content-Type {content_type:?}: send application/json, application/x-protobuf or text/plain"
            )),
        );
    };
    let gzipped = match headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
    {
        None | Some("" | "identity") => false,
        Some(e) if e.eq_ignore_ascii_case("gzip") => true,
        Some(other) => {
            return answer(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format,
                Some(format!(
                    "unsupported Content-Encoding {other:?}: send gzip or none"
                )),
            );
        }
    };
    let rows = match ingest::decode(&body, gzipped, format) {
        Ok(rows) => rows,
        Err(Refusal::Bad(message)) => {
            return answer(StatusCode::BAD_REQUEST, format, Some(message));
        }
        Err(Refusal::TooLarge) => {
            return answer(
                StatusCode::PAYLOAD_TOO_LARGE,
                format,
                Some(format!(
                    "body larger than {MAX_BODY_BYTES} bytes once decompressed"
                )),
            );
        }
    };
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || store.insert(&rows)).await {
        Ok(Ok(_)) => answer(StatusCode::OK, format, None),
        Ok(Err(e)) => {
            eprintln!("threadline-collector: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "5")],
                "storage unavailable",
            )
                .into_response()
        }
        Err(e) => {
            eprintln!("threadline-collector: {e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[derive(Deserialize)]
struct SearchQuery {
    id: Option<String>,
}

async fn search(State(state): State<AppState>, Query(query): Query<SearchQuery>) -> Response {
    let id = query.id.unwrap_or_default().trim().to_owned();
    if id.is_empty() || id.len() > 128 {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({ "error": "give ?id= a correlation, trace or session ID (at most 128 characters)" })),
        )
            .into_response();
    }
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || store.search(&id)).await {
        Ok(Ok(records)) => axum::Json(records).into_response(),
        Ok(Err(e)) => {
            eprintln!("threadline-collector: {e}");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn page() -> Html<&'static str> {
    Html(include_str!("page.html"))
}

/// Grants CORS to the configured origins and answers their preflights.
async fn cors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let allowed = origin.as_ref().and_then(|origin| {
        let origins = &state.cors_origins;
        if origins.iter().any(|o| o == origin) {
            Some(origin.clone())
        } else if origins.iter().any(|o| o == "*") {
            Some("*".to_owned())
        } else {
            None
        }
    });
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        let status = if allowed.is_some() {
            StatusCode::NO_CONTENT
        } else {
            StatusCode::FORBIDDEN
        };
        Response::builder()
            .status(status)
            .body(Body::empty())
            .unwrap_or_default()
    } else {
        next.run(request).await
    };
    if let Some(allowed) = allowed.and_then(|a| HeaderValue::from_str(&a).ok()) {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("Retry-After"),
        );
        if preflight {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("POST, GET, OPTIONS"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("Content-Type, Content-Encoding"),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
    }
    response
}
