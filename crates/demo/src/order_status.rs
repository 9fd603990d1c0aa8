//! The live order-status socket, `GET /ws/orders`: one connection carries many requests, so each
//! JSON message names its own `correlation_id` and session, and is handled in their span. The
//! answer is what checkout recorded for that correlation ID:
//! `{"correlation_id":"…","status":"paid"|"payment_failed"|"unknown"}`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRef, State};
use axum::response::Response;
use serde_json::json;
use threadline_correlation::CorrelationId;
use threadline_correlation::websocket::{message_ids, message_span};

use crate::checkout::Checkout;

/// How many orders the book remembers; the oldest is forgotten first.
const REMEMBERED: usize = 1_000;

#[derive(Default)]
struct Book {
    status: HashMap<String, &'static str>,
    order: VecDeque<String>,
}

/// The outcome of recent checkouts by their correlation ID, shared by checkout (which writes)
/// and the socket (which reads).
#[derive(Clone, Default)]
pub struct OrderStatuses(Arc<Mutex<Book>>);

impl OrderStatuses {
    /// Remembers that the checkout of `id` ended with `status`.
    pub fn record(&self, id: &CorrelationId, status: &'static str) {
        let Ok(mut book) = self.0.lock() else { return };
        let key = id.as_str().to_owned();
        if book.status.insert(key.clone(), status).is_none() {
            book.order.push_back(key);
        }
        while book.order.len() > REMEMBERED {
            if let Some(old) = book.order.pop_front() {
                book.status.remove(&old);
            }
        }
    }

    fn status(&self, id: &CorrelationId) -> &'static str {
        self.0
            .lock()
            .ok()
            .and_then(|book| book.status.get(id.as_str()).copied())
            .unwrap_or("unknown")
    }
}

impl FromRef<Checkout> for OrderStatuses {
    fn from_ref(app: &Checkout) -> Self {
        app.orders.clone()
    }
}

/// `GET /ws/orders`: upgrades to a WebSocket that answers order-status requests.
pub async fn connect(State(orders): State<OrderStatuses>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |socket| serve(socket, orders))
}

async fn serve(mut socket: WebSocket, orders: OrderStatuses) {
    while let Some(Ok(message)) = socket.recv().await {
        let Message::Text(text) = message else {
            continue;
        };
        let reply = answer(&orders, text.as_str());
        if socket.send(Message::Text(reply.into())).await.is_err() {
            break;
        }
    }
}

fn answer(orders: &OrderStatuses, text: &str) -> String {
    let ids = message_ids(text);
    let _span = message_span(&ids).entered();
    let status = orders.status(&ids.correlation_id);
    tracing::info!(order.status = status, "order status requested");
    json!({ "correlation_id": ids.correlation_id.as_str(), "status": status }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_answered_with_what_checkout_recorded_for_its_id() {
        let orders = OrderStatuses::default();
        let paid = CorrelationId::generate();
        orders.record(&paid, "paid");
        let reply: serde_json::Value = serde_json::from_str(&answer(
            &orders,
            &format!(r#"{{"correlation_id":"{paid}","type":"order_status"}}"#),
        ))
        .unwrap();
        assert_eq!(
            reply,
            json!({ "correlation_id": paid.as_str(), "status": "paid" })
        );
        let unseen: serde_json::Value =
            serde_json::from_str(&answer(&orders, r#"{"type":"order_status"}"#)).unwrap();
        assert_eq!(unseen["status"], "unknown");
        assert_eq!(unseen["correlation_id"].as_str().unwrap().len(), 32);
    }

    #[test]
    fn the_book_forgets_the_oldest_past_its_size() {
        let orders = OrderStatuses::default();
        let first = CorrelationId::generate();
        orders.record(&first, "paid");
        for _ in 0..REMEMBERED {
            orders.record(&CorrelationId::generate(), "payment_failed");
        }
        assert_eq!(orders.status(&first), "unknown");
        assert_eq!(orders.0.lock().unwrap().status.len(), REMEMBERED);
    }
}
