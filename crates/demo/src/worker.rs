//! The background worker: runs queued jobs, each inside the span of the correlation ID the
//! enqueuing request carried, so its lines join the same story.

use std::time::Duration;

use threadline_correlation::JobEnvelope;
use tokio::sync::mpsc;
use tracing::Instrument;

/// A queued job.
#[derive(Clone, Debug)]
pub struct Job {
    /// What to do (`send-receipt`, `record-failed-payment`).
    pub name: String,
}

/// Processes jobs until the queue closes.
pub async fn run(mut jobs: mpsc::UnboundedReceiver<JobEnvelope<Job>>) {
    while let Some(envelope) = jobs.recv().await {
        let span = envelope.span(&envelope.job.name);
        async {
            tracing::info!("processing job {}", envelope.job.name);
            tokio::time::sleep(Duration::from_millis(50)).await;
            tracing::info!("job {} done", envelope.job.name);
        }
        .instrument(span)
        .await;
    }
}
