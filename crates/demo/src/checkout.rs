//! The shop's API: `POST /api/checkout` charges the card through the payments service
//! (forwarding the correlation ID and the session), then enqueues a job for the worker carrying
//! both, and records the outcome for the order-status socket.
//! Errors answer `{"error":{"code","message","correlation_id"}}`.

use std::time::Duration;

use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use threadline_correlation::{CorrelationId, JobEnvelope, RequestIds};
use tokio::sync::mpsc;

use crate::order_status::OrderStatuses;
use crate::worker::Job;

/// How long checkout waits for payments.
const PAYMENTS_TIMEOUT: Duration = Duration::from_millis(1_500);

/// What checkout needs.
#[derive(Clone)]
pub struct Checkout {
    /// The payments service's base URL.
    pub payments: String,
    /// The HTTP client for payments.
    pub client: reqwest::Client,
    /// The worker's queue.
    pub jobs: mpsc::UnboundedSender<JobEnvelope<Job>>,
    /// Each checkout's outcome, for the order-status socket.
    pub orders: OrderStatuses,
}

/// The checkout request: how payments should behave (`ok`, `502` or `timeout`), for the demo.
#[derive(Deserialize, Default)]
pub struct Order {
    #[serde(default)]
    payments: String,
    #[serde(default)]
    total: f64,
}

fn error(status: StatusCode, code: &str, message: &str, id: &CorrelationId) -> Response {
    let body =
        json!({ "error": { "code": code, "message": message, "correlation_id": id.as_str() } });
    (status, axum::Json(body)).into_response()
}

/// `POST /api/checkout`.
pub async fn checkout(
    State(app): State<Checkout>,
    Extension(ids): Extension<RequestIds>,
    body: axum::body::Bytes,
) -> Response {
    let id = &ids.correlation_id;
    let order: Order = serde_json::from_slice(&body).unwrap_or_default();
    let mode = if order.payments.is_empty() {
        "ok"
    } else {
        order.payments.as_str()
    };
    tracing::info!(
        order.total = order.total,
        payments.mode = mode,
        "checkout started"
    );
    let charge = app
        .client
        .post(format!("{}/pay", app.payments))
        .header("Content-Type", "application/json")
        .body(json!({ "mode": mode, "total": order.total }).to_string())
        .timeout(PAYMENTS_TIMEOUT);
    let (name, result) = match ids.forward(charge).send().await {
        Ok(r) if r.status().is_success() => {
            tracing::info!("payment accepted");
            ("send-receipt", Ok(()))
        }
        Ok(r) => {
            let status = r.status().as_u16();
            tracing::error!(
                payments.status = status,
                "payments failed with HTTP {status}"
            );
            (
                "record-failed-payment",
                Err(error(
                    StatusCode::BAD_GATEWAY,
                    "payments_failed",
                    "The payment service is unavailable. Your card was not charged.",
                    id,
                )),
            )
        }
        Err(e) => {
            let what = if e.is_timeout() {
                "timed out"
            } else {
                "unreachable"
            };
            tracing::error!("payments {what}");
            (
                "record-failed-payment",
                Err(error(
                    StatusCode::GATEWAY_TIMEOUT,
                    "payments_timeout",
                    "The payment service did not answer in time. Your card was not charged.",
                    id,
                )),
            )
        }
    };
    let envelope = JobEnvelope::for_request(
        &ids,
        Job {
            name: name.to_owned(),
        },
    );
    if app.jobs.send(envelope).is_ok() {
        tracing::info!(job.name = name, "job enqueued");
    }
    let status = if result.is_ok() {
        "paid"
    } else {
        "payment_failed"
    };
    app.orders.record(id, status);
    match result {
        Ok(()) => {
            axum::Json(json!({ "status": "paid", "correlation_id": id.as_str() })).into_response()
        }
        Err(response) => response,
    }
}
