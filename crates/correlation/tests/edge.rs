//! The edge policy over real HTTP: an axum app behind the layer on loopback, asked with valid,
//! missing, too short, too long and illegal IDs; the echo on success and error responses; the ID
//! in extensions, in every log line of the request, and carried to an outgoing call.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use axum::Router;
use axum::extract::Extension;
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::routing::get;
use support::{capturing_subscriber, serve};
use threadline_correlation::{CorrelationId, CorrelationLayer};

fn app() -> Router {
    Router::new()
        .route(
            "/ok",
            get(|Extension(id): Extension<CorrelationId>| async move {
                tracing::info!("handling");
                id.to_string()
            }),
        )
        .route(
            "/fail",
            get(|| async { (StatusCode::BAD_GATEWAY, "payments failed") }),
        )
        .route(
            "/forward",
            get(|Extension(id): Extension<CorrelationId>| async move {
                let mut outgoing = HeaderMap::new();
                id.apply(&mut outgoing, &HeaderName::from_static("x-correlation-id"));
                outgoing["x-correlation-id"].to_str().unwrap().to_owned()
            }),
        )
        .layer(CorrelationLayer::new())
}

async fn get_with(base: &str, path: &str, id: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("{base}{path}"));
    if let Some(id) = id {
        request = request.header("X-Correlation-ID", id);
    }
    request.send().await.unwrap()
}

const VALID: &str = "0af7651916cd43dd8448eb211c80319c";

#[tokio::test]
async fn valid_ids_are_kept_invalid_or_missing_ones_replaced() {
    let base = serve(app()).await;
    let r = get_with(&base, "/ok", Some(VALID)).await;
    assert_eq!(r.headers()["x-correlation-id"], VALID);
    assert_eq!(
        r.text().await.unwrap(),
        VALID,
        "the handler sees it in extensions"
    );

    let short_but_valid = "req-0123456789_a";
    let r = get_with(&base, "/ok", Some(short_but_valid)).await;
    assert_eq!(r.headers()["x-correlation-id"], short_but_valid);

    for bad in [
        None,
        Some("tooshort"),
        Some(&*"a".repeat(65)),
        Some("bad id with spaces!!"),
        Some("0af7651916cd43dd'; DROP--"),
    ] {
        let r = get_with(&base, "/ok", bad).await;
        let echoed = r.headers()["x-correlation-id"].to_str().unwrap().to_owned();
        assert_eq!(echoed.len(), 32, "{bad:?} replaced by a fresh ID");
        assert!(echoed.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(Some(echoed.as_str()), bad);
        assert_eq!(r.text().await.unwrap(), echoed);
    }
}

#[tokio::test]
async fn error_responses_and_unknown_routes_echo_it_too() {
    let base = serve(app()).await;
    let r = get_with(&base, "/fail", Some(VALID)).await;
    assert_eq!(r.status(), 502);
    assert_eq!(r.headers()["x-correlation-id"], VALID);
    let r = get_with(&base, "/nowhere", Some(VALID)).await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["x-correlation-id"], VALID);
}

#[tokio::test]
async fn outgoing_calls_carry_it_and_the_header_name_is_configurable() {
    let base = serve(app()).await;
    let r = get_with(&base, "/forward", Some(VALID)).await;
    assert_eq!(r.text().await.unwrap(), VALID);

    let custom =
        Router::new()
            .route("/", get(|| async { "ok" }))
            .layer(CorrelationLayer::with_header(HeaderName::from_static(
                "x-request-id",
            )));
    let base = serve(custom).await;
    let r = reqwest::Client::new()
        .get(&base)
        .header("X-Request-ID", VALID)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], VALID);
    assert!(r.headers().get("x-correlation-id").is_none());
}

#[tokio::test]
async fn every_log_line_of_the_request_carries_the_id() {
    let (captured, subscriber) = capturing_subscriber();
    let _guard = tracing::subscriber::set_default(subscriber);
    let request = axum::http::Request::get("/ok")
        .header("x-correlation-id", VALID)
        .body(axum::body::Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(app(), request).await.unwrap();
    assert_eq!(response.headers()["x-correlation-id"], VALID);
    let text = captured.text();
    let line = text
        .lines()
        .find(|l| l.contains("handling"))
        .expect("the handler's line");
    assert!(line.contains(&format!("correlation_id={VALID}")), "{line}");
}
