//! The correlation-ID edge policy as a `tower` layer, usable with axum, hyper or any tower
//! stack:
//!
//! - read `X-Correlation-ID` (the name is configurable) and accept it when it is 16 to 64
//!   letters, digits, `-` or `_`; otherwise (missing, too short, too long, odd characters) mint a
//!   fresh one (32 lowercase hex from the OS's CSPRNG);
//! - read the browser session from the W3C `baggage` member `session.id`, else from
//!   `X-Session-ID`, by the same rule; an invalid or missing one means no session (never minted);
//! - put both in the request's extensions ([`RequestIds`], and [`CorrelationId`] and
//!   [`SessionId`] alone) and run the request inside a `tracing` span with `correlation_id` and
//!   `session.id` fields, so every log line of the request carries them;
//! - echo the correlation ID in the response header on every response, errors included;
//! - carry both on: [`RequestIds::apply`] (or, with feature `reqwest`, `RequestIds::forward`)
//!   for outgoing HTTP calls, [`JobEnvelope`] for queued jobs, [`RequestIds::sql`] for SQL
//!   (sqlcommenter), [`websocket`] for the messages of a WebSocket.
//!
//! ```
//! use axum::{Extension, Router, routing::get};
//! use threadline_correlation::{CorrelationLayer, RequestIds};
//!
//! let app: Router = Router::new()
//!     .route("/api/checkout", get(|Extension(ids): Extension<RequestIds>| async move {
//!         tracing::info!("checkout started"); // carries correlation_id and session.id
//!         ids.correlation_id.to_string()
//!     }))
//!     .layer(CorrelationLayer::new());
//! ```

mod baggage;
#[cfg(feature = "reqwest")]
mod forward;
mod id;
mod ids;
mod job;
mod layer;
pub mod sqlcomment;
pub mod websocket;

pub use id::{CorrelationId, InvalidId, SessionId, is_valid_id};
pub use ids::{
    DEFAULT_HEADER, RequestIds, SESSION_HEADER, SESSION_MEMBER, accept_or_generate,
    session_from_headers,
};
pub use job::JobEnvelope;
pub use layer::{Correlation, CorrelationLayer, EchoFuture};
