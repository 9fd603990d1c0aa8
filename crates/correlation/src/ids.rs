//! Both IDs of a request together, read at the edge and carried on to downstream calls.

use http::header::{HeaderMap, HeaderName, HeaderValue};

use crate::baggage;
use crate::id::{CorrelationId, SessionId};
use crate::sqlcomment;

/// The default correlation header: `X-Correlation-ID`.
pub const DEFAULT_HEADER: &str = "x-correlation-id";

/// The plain session header, for callers that send no `baggage`: `X-Session-ID`.
pub const SESSION_HEADER: &str = "x-session-id";

/// The baggage member that carries the session: `session.id`.
pub const SESSION_MEMBER: &str = "session.id";

/// A request's correlation ID and, when the caller named a valid one, its session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestIds {
    /// The request's ID, accepted or minted at the edge.
    pub correlation_id: CorrelationId,
    /// The browser session, absent when the request named none (or an invalid one).
    pub session_id: Option<SessionId>,
}

/// The ID a request carries in header `name`, or a fresh one if it carries none that is valid.
pub fn accept_or_generate(headers: &HeaderMap, name: &HeaderName) -> CorrelationId {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| CorrelationId::parse(v.trim()).ok())
        .unwrap_or_else(CorrelationId::generate)
}

/// The session a request names: its `baggage` member `session.id`, else its `X-Session-ID`
/// header, if valid. Never minted: a request that names no valid session has none.
pub fn session_from_headers(headers: &HeaderMap) -> Option<SessionId> {
    let from_baggage = baggage::get(headers, SESSION_MEMBER);
    let from_header = || {
        headers
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_owned())
    };
    from_baggage
        .or_else(from_header)
        .and_then(|text| SessionId::parse(&text).ok())
}

impl CorrelationId {
    /// Sets the header `name` on an outgoing call's headers, replacing any value there.
    pub fn apply(&self, headers: &mut HeaderMap, name: &HeaderName) {
        if let Ok(value) = HeaderValue::from_str(self.as_str()) {
            headers.insert(name.clone(), value);
        }
    }

    /// `(X-Correlation-ID, id)` for clients that take header pairs (reqwest's `.header(k, v)`).
    pub fn header(&self) -> (&'static str, &str) {
        (DEFAULT_HEADER, self.as_str())
    }
}

impl RequestIds {
    /// Both IDs, as given.
    pub fn new(correlation_id: CorrelationId, session_id: Option<SessionId>) -> Self {
        RequestIds {
            correlation_id,
            session_id,
        }
    }

    /// The edge policy on a request's headers: the correlation ID in header `name` (or a fresh
    /// one) and the session it names (or none).
    pub fn from_headers(headers: &HeaderMap, name: &HeaderName) -> Self {
        RequestIds::new(
            accept_or_generate(headers, name),
            session_from_headers(headers),
        )
    }

    /// The session as text, for span and log fields.
    pub fn session_str(&self) -> Option<&str> {
        self.session_id.as_ref().map(SessionId::as_str)
    }

    /// Puts both IDs on an outgoing call's headers: `X-Correlation-ID` (replaced) and the
    /// session as the `baggage` member `session.id`, beside whatever other members are there.
    pub fn apply(&self, headers: &mut HeaderMap) {
        if let Ok(value) = HeaderValue::from_str(self.correlation_id.as_str()) {
            headers.insert(DEFAULT_HEADER, value);
        }
        if let Some(session) = &self.session_id {
            baggage::set(headers, SESSION_MEMBER, session.as_str());
        }
    }

    /// `sql` with both IDs appended as a sqlcommenter comment, so the database's own logs and
    /// activity views show which request and session ran it.
    pub fn sql(&self, sql: &str) -> String {
        let mut tags = vec![("correlation_id", self.correlation_id.as_str())];
        if let Some(session) = self.session_str() {
            tags.push(("session_id", session));
        }
        sqlcomment::with_comment(sql, &tags)
    }
}
