//! WebSocket messages: one connection carries many actions, so each JSON message names its own
//! `correlation_id` and `session_id`; this reads them into the span the message is handled in.

use serde::Deserialize;

use crate::id::{CorrelationId, SessionId};
use crate::ids::RequestIds;

#[derive(Deserialize, Default)]
struct Tags {
    #[serde(default)]
    correlation_id: Option<serde_json::Value>,
    #[serde(default)]
    session_id: Option<serde_json::Value>,
}

fn text(value: Option<&serde_json::Value>) -> Option<&str> {
    value.and_then(serde_json::Value::as_str)
}

/// The IDs an incoming JSON message names, by the edge policy: a valid `correlation_id` is
/// kept, a missing or invalid one replaced by a fresh ID; a valid `session_id` is kept, an
/// invalid one dropped. A message that is not a JSON object gets a fresh ID and no session.
pub fn message_ids(message: &str) -> RequestIds {
    let tags: Tags = serde_json::from_str(message).unwrap_or_default();
    RequestIds::new(
        text(tags.correlation_id.as_ref())
            .and_then(|t| CorrelationId::parse(t).ok())
            .unwrap_or_else(CorrelationId::generate),
        text(tags.session_id.as_ref()).and_then(|t| SessionId::parse(t).ok()),
    )
}

/// The span to handle one message in: every line inside carries the message's
/// `correlation_id` and `session.id`.
pub fn message_span(ids: &RequestIds) -> tracing::Span {
    tracing::info_span!(
        "ws.message",
        correlation_id = %ids.correlation_id,
        session.id = ids.session_str(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_names_its_ids_and_bad_ones_are_not_taken() {
        let ids = message_ids(
            r#"{"type":"status","correlation_id":"0af7651916cd43dd8448eb211c80319c","session_id":"5e55101d5e55101d5e55101d5e55101d"}"#,
        );
        assert_eq!(
            ids.correlation_id.as_str(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        assert_eq!(ids.session_str(), Some("5e55101d5e55101d5e55101d5e55101d"));
        for odd in [
            r#"{"correlation_id":"short","session_id":"no spaces allowed here"}"#,
            r#"{"correlation_id":42,"session_id":["x"]}"#,
            "not json",
            "[1,2]",
        ] {
            let ids = message_ids(odd);
            assert_eq!(ids.correlation_id.as_str().len(), 32, "{odd}");
            assert_eq!(ids.session_id, None, "{odd}");
        }
    }
}
