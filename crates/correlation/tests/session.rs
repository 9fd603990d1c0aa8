//! Both IDs over real HTTP: axum apps behind the layer on loopback, a downstream service, a
//! job queue and a WebSocket, all logging into one captured subscriber. Every assertion is on
//! what a server received or on the captured log lines.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::OnceLock;
use std::time::Duration;

mod support;

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Extension, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use support::{Captured, capturing_subscriber, serve};
use threadline_correlation::{CorrelationLayer, JobEnvelope, RequestIds, SessionId, websocket};
use tokio::sync::mpsc;
use tracing::Instrument;

fn captured() -> &'static Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        let (captured, subscriber) = capturing_subscriber();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        captured
    })
}

/// The captured lines that mention `needle`.
fn lines_with(needle: &str) -> Vec<String> {
    let text = captured().text();
    text.lines()
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect()
}

/// A fresh valid ID that names the test it belongs to, so its lines can be picked out.
fn id(tag: &str) -> String {
    format!(
        "{tag:_<16}{}",
        &threadline_correlation::CorrelationId::generate().as_str()[..16]
    )
}

/// Whether a captured line carries `session.id` = `sid` (the formatter quotes text fields).
fn has_session(line: &str, sid: &str) -> bool {
    line.contains(&format!("session.id=\"{sid}\""))
}

fn describe(ids: &RequestIds) -> String {
    format!(
        "{} {}",
        ids.correlation_id,
        ids.session_str().unwrap_or("-")
    )
}

fn echo_app() -> Router {
    Router::new()
        .route(
            "/ids",
            get(|Extension(ids): Extension<RequestIds>| async move {
                tracing::info!("first line");
                tracing::warn!(step = 2, "second line");
                describe(&ids)
            }),
        )
        .layer(CorrelationLayer::new())
}

async fn get_with(base: &str, headers: &[(&str, &str)]) -> (String, String) {
    let mut request = reqwest::Client::new().get(format!("{base}/ids"));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.unwrap();
    let echoed = response.headers()["x-correlation-id"]
        .to_str()
        .unwrap()
        .to_owned();
    (echoed, response.text().await.unwrap())
}

#[tokio::test]
async fn the_session_is_read_from_baggage_among_the_apps_members() {
    captured();
    let base = serve(echo_app()).await;
    let (cid, sid) = (id("baggage"), id("baggage-session"));
    let (echoed, seen) = get_with(
        &base,
        &[
            ("X-Correlation-ID", &cid),
            (
                "baggage",
                &format!("user.tier=gold, session.id={sid};ttl=1"),
            ),
        ],
    )
    .await;
    assert_eq!(echoed, cid);
    assert_eq!(seen, format!("{cid} {sid}"), "the handler sees both");
    let lines = lines_with(&cid);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    for line in &lines {
        assert!(line.contains(&format!("correlation_id={cid} ")), "{line}");
        assert!(has_session(line, &sid), "{line}");
    }
}

#[tokio::test]
async fn the_plain_header_serves_when_there_is_no_baggage_and_baggage_wins_over_it() {
    captured();
    let base = serve(echo_app()).await;
    let (cid, sid) = (id("plain"), id("plain-session"));
    let (_, seen) = get_with(&base, &[("X-Correlation-ID", &cid), ("X-Session-ID", &sid)]).await;
    assert_eq!(seen, format!("{cid} {sid}"));
    let lines = lines_with(&cid);
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| has_session(l, &sid)), "{lines:#?}");

    let (cid, from_baggage) = (id("both"), id("both-session"));
    let (_, seen) = get_with(
        &base,
        &[
            ("X-Correlation-ID", &cid),
            ("X-Session-ID", &id("ignored")),
            ("baggage", &format!("session.id={from_baggage}")),
        ],
    )
    .await;
    assert_eq!(seen, format!("{cid} {from_baggage}"));
}

#[tokio::test]
async fn an_invalid_or_missing_session_is_absent_and_never_minted() {
    captured();
    let base = serve(echo_app()).await;
    for session in [
        vec![],
        vec![("baggage", "session.id=short")],
        vec![("baggage", "session.id=has%20a%20space%20in%20it")],
        vec![("X-Session-ID", "<script>alert(1)</script>")],
        vec![("baggage", "other=0af7651916cd43dd8448eb211c80319c")],
    ] {
        let cid = id("nosession");
        let mut headers = vec![("X-Correlation-ID", cid.as_str())];
        headers.extend(session.iter().copied());
        let (echoed, seen) = get_with(&base, &headers).await;
        assert_eq!(echoed, cid);
        assert_eq!(seen, format!("{cid} -"), "{session:?}");
        let lines = lines_with(&cid);
        assert_eq!(lines.len(), 2);
        assert!(
            lines.iter().all(|l| !l.contains("session.id")),
            "{lines:#?}"
        );
    }
}

#[derive(Clone)]
struct Shop {
    downstream: String,
    jobs: mpsc::UnboundedSender<JobEnvelope<&'static str>>,
}

fn downstream_app() -> Router {
    Router::new()
        .route(
            "/charge",
            get(|headers: HeaderMap| async move {
                tracing::info!("downstream charging");
                let text = |k: &str| {
                    headers
                        .get(k)
                        .map_or("", |v| v.to_str().unwrap())
                        .to_owned()
                };
                format!("{}|{}", text("x-correlation-id"), text("baggage"))
            }),
        )
        .layer(CorrelationLayer::new())
}

async fn run_jobs(mut queue: mpsc::UnboundedReceiver<JobEnvelope<&'static str>>) {
    while let Some(envelope) = queue.recv().await {
        let span = envelope.span(envelope.job);
        async { tracing::info!("worker ran {}", envelope.job) }
            .instrument(span)
            .await;
    }
}

#[tokio::test]
async fn both_ids_reach_a_downstream_call_and_a_job() {
    captured();
    let (jobs, queue) = mpsc::unbounded_channel();
    tokio::spawn(run_jobs(queue));
    let shop = Shop {
        downstream: serve(downstream_app()).await,
        jobs,
    };
    let app = Router::new()
        .route(
            "/ids",
            get(
                |State(shop): State<Shop>, Extension(ids): Extension<RequestIds>| async move {
                    let call = reqwest::Client::new()
                        .get(format!("{}/charge", shop.downstream))
                        .header("baggage", "user.tier=gold");
                    let answer = ids
                        .forward(call)
                        .send()
                        .await
                        .unwrap()
                        .text()
                        .await
                        .unwrap();
                    shop.jobs
                        .send(JobEnvelope::for_request(&ids, "send-receipt"))
                        .unwrap();
                    answer
                },
            ),
        )
        .with_state(shop)
        .layer(CorrelationLayer::new());
    let base = serve(app).await;
    let (cid, sid) = (id("forward"), id("forward-session"));
    let (_, downstream_saw) = get_with(
        &base,
        &[
            ("X-Correlation-ID", &cid),
            ("baggage", &format!("session.id={sid}")),
        ],
    )
    .await;
    assert_eq!(
        downstream_saw,
        format!("{cid}|user.tier=gold,session.id={sid}")
    );

    let worker_line = async {
        loop {
            if let Some(line) = lines_with(&cid)
                .into_iter()
                .find(|l| l.contains("worker ran"))
            {
                return line;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let worker_line = tokio::time::timeout(Duration::from_secs(5), worker_line)
        .await
        .expect("the worker's line");
    assert!(has_session(&worker_line, &sid), "{worker_line}");
    assert!(
        worker_line.contains("job.name=\"send-receipt\""),
        "{worker_line}"
    );
    let downstream_line = lines_with("downstream charging")
        .into_iter()
        .find(|l| l.contains(&cid))
        .expect("the downstream service's line carries the forwarded ID");
    assert!(has_session(&downstream_line, &sid), "{downstream_line}");
}

async fn socket(mut ws: WebSocket) {
    while let Some(Ok(Message::Text(text))) = ws.recv().await {
        let ids = websocket::message_ids(&text);
        let reply = async {
            tracing::info!("order status asked");
            describe(&ids)
        }
        .instrument(websocket::message_span(&ids))
        .await;
        if ws.send(Message::Text(reply.into())).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn each_websocket_message_is_handled_under_its_own_ids() {
    captured();
    let app = Router::new().route(
        "/ws",
        get(|upgrade: WebSocketUpgrade| async move { Response::from(upgrade.on_upgrade(socket)) }),
    );
    let base = serve(app).await;
    let url = base.replace("http://", "ws://") + "/ws";
    let (mut client, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let session = SessionId::parse(&id("ws-session")).unwrap();
    for action in [id("ws-first"), id("ws-second")] {
        let message = format!(
            r#"{{"type":"status","order":7,"correlation_id":"{action}","session_id":"{session}"}}"#
        );
        client
            .send(tokio_tungstenite::tungstenite::Message::text(message))
            .await
            .unwrap();
        let reply = client.next().await.unwrap().unwrap().into_text().unwrap();
        assert_eq!(reply.as_str(), format!("{action} {session}"));
        let lines = lines_with(&action);
        assert_eq!(lines.len(), 1, "{lines:#?}");
        assert!(lines[0].contains("order status asked"), "{lines:#?}");
        assert!(has_session(&lines[0], session.as_str()), "{lines:#?}");
    }
    client
        .send(tokio_tungstenite::tungstenite::Message::text(
            r#"{"type":"status"}"#,
        ))
        .await
        .unwrap();
    let reply = client.next().await.unwrap().unwrap().into_text().unwrap();
    let (fresh, none) = reply.split_once(' ').unwrap();
    assert_eq!(
        (fresh.len(), none),
        (32, "-"),
        "an untagged message gets a fresh ID and no session"
    );
}
