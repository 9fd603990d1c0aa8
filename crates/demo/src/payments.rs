//! The payments service, a separate HTTP service behind the same correlation layer. It can be
//! told to fail (`502`) or hang (`timeout`), for the demo.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

/// What checkout sends.
#[derive(Deserialize, Default)]
pub struct Charge {
    #[serde(default)]
    mode: String,
}

/// `POST /pay`.
pub async fn pay(body: axum::body::Bytes) -> Response {
    let charge: Charge = serde_json::from_slice(&body).unwrap_or_default();
    tracing::info!(payments.mode = %charge.mode, "charging card");
    match charge.mode.as_str() {
        "502" => {
            tracing::error!("card processor unavailable: answering 502");
            (
                StatusCode::BAD_GATEWAY,
                axum::Json(json!({ "error": "card processor unavailable" })),
            )
                .into_response()
        }
        "timeout" => {
            tracing::warn!("card processor slow: answering in 3 s");
            tokio::time::sleep(Duration::from_secs(3)).await;
            axum::Json(json!({ "status": "charged late" })).into_response()
        }
        _ => {
            tracing::info!("card charged");
            axum::Json(json!({ "status": "charged" })).into_response()
        }
    }
}
