//! Queued jobs that carry the IDs of the request that enqueued them.

use serde::{Deserialize, Serialize};

use crate::id::{CorrelationId, SessionId};
use crate::ids::RequestIds;

/// A queued job with the correlation ID and session of the request that enqueued it, so the
/// worker's log lines join the same story.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobEnvelope<T> {
    /// The enqueuing request's ID.
    pub correlation_id: CorrelationId,
    /// The enqueuing request's session, if it named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<SessionId>,
    /// The job itself.
    pub job: T,
}

impl<T> JobEnvelope<T> {
    /// Wraps `job` with `correlation_id` and no session.
    pub fn new(correlation_id: CorrelationId, job: T) -> Self {
        JobEnvelope {
            correlation_id,
            session_id: None,
            job,
        }
    }

    /// Wraps `job` with both IDs of the request enqueuing it.
    pub fn for_request(ids: &RequestIds, job: T) -> Self {
        JobEnvelope {
            correlation_id: ids.correlation_id.clone(),
            session_id: ids.session_id.clone(),
            job,
        }
    }

    /// Both IDs, to forward from the job or to tag its SQL.
    pub fn ids(&self) -> RequestIds {
        RequestIds::new(self.correlation_id.clone(), self.session_id.clone())
    }

    /// The span a worker runs the job in: every log line inside carries `correlation_id` and
    /// `session.id`.
    pub fn span(&self, job_name: &str) -> tracing::Span {
        tracing::info_span!(
            "job",
            correlation_id = %self.correlation_id,
            session.id = self.session_id.as_ref().map(SessionId::as_str),
            job.name = job_name,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip_and_refuse_bad_ids() {
        let id = CorrelationId::parse("0af7651916cd43dd8448eb211c80319c").unwrap();
        let envelope = JobEnvelope::new(id.clone(), "send-receipt".to_owned());
        let json = serde_json::to_string(&envelope).unwrap();
        assert_eq!(
            json,
            r#"{"correlation_id":"0af7651916cd43dd8448eb211c80319c","job":"send-receipt"}"#
        );
        let back: JobEnvelope<String> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, envelope);
        let forged = r#"{"correlation_id":"x\ny","job":"j"}"#;
        assert!(serde_json::from_str::<JobEnvelope<String>>(forged).is_err());
    }

    #[test]
    fn envelopes_carry_the_session_and_refuse_a_bad_one() {
        let ids = RequestIds::new(
            CorrelationId::parse("0af7651916cd43dd8448eb211c80319c").unwrap(),
            Some(SessionId::parse("5e55101d5e55101d5e55101d5e55101d").unwrap()),
        );
        let envelope = JobEnvelope::for_request(&ids, 7);
        let json = serde_json::to_string(&envelope).unwrap();
        assert_eq!(
            json,
            r#"{"correlation_id":"0af7651916cd43dd8448eb211c80319c","session_id":"5e55101d5e55101d5e55101d5e55101d","job":7}"#
        );
        let back: JobEnvelope<i32> = serde_json::from_str(&json).unwrap();
        assert_eq!(back.ids(), ids);
        let forged =
            r#"{"correlation_id":"0af7651916cd43dd8448eb211c80319c","session_id":"a b","job":7}"#;
        assert!(serde_json::from_str::<JobEnvelope<i32>>(forged).is_err());
    }
}
