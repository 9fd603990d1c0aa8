//! Group commit behind a bounded queue: ingestion requests hand their decoded rows to writer
//! tasks, which take every request waiting (up to a bound on rows) into one transaction and
//! answer each once it is committed. When the queue is full the request is refused at once
//! (the handler answers 503 with `Retry-After`) and counted, instead of piling up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, Notify, mpsc, oneshot};

use crate::store::{Prepared, Store, StoreError, Written};

/// Rows one transaction takes at most (it always takes at least one request).
const GROUP_ROWS: usize = 20_000;

/// Longest a writer holds a transaction back for searches in progress.
const MOST_YIELD: Duration = Duration::from_millis(10);

/// Searches in progress, which the writers let pass: a writer about to start a transaction
/// waits (at most [`MOST_YIELD`]) while a search runs, so that on busy cores a search competes
/// only with the transactions already running.
#[derive(Default)]
struct ReadsFirst {
    running: AtomicUsize,
    done: Notify,
}

/// A search in progress, until dropped.
pub struct Reading(Arc<ReadsFirst>);

impl Reading {
    fn of(reads: &Arc<ReadsFirst>) -> Reading {
        reads.running.fetch_add(1, Ordering::AcqRel);
        Reading(reads.clone())
    }
}

impl Drop for Reading {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.done.notify_waiters();
        }
    }
}

impl ReadsFirst {
    /// Waits until no search runs, or `most` has passed.
    async fn let_pass(&self, most: Duration) {
        let deadline = tokio::time::Instant::now() + most;
        loop {
            let done = self.done.notified();
            if self.running.load(Ordering::Acquire) == 0
                || tokio::time::timeout_at(deadline, done).await.is_err()
            {
                return;
            }
        }
    }
}

/// One request waiting to be written, and where its answer goes.
struct Job {
    rows: Prepared,
    done: oneshot::Sender<Result<Written, StoreError>>,
}

/// Why a write did not happen.
#[derive(Debug, PartialEq, Eq)]
pub enum WriteError {
    /// The queue is full: try again shortly.
    Full,
    /// The store failed.
    Store(StoreError),
}

/// The queue in front of the writer tasks, shared by the handlers.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Job>,
    refused: Arc<AtomicU64>,
    counts: Arc<Counts>,
    reads: Arc<ReadsFirst>,
}

/// What the writer tasks have committed since start: how well requests are grouped.
#[derive(Default)]
struct Counts {
    commits: AtomicU64,
    requests: AtomicU64,
    records: AtomicU64,
    busy_us: AtomicU64,
}

/// The writer's counters, as `/api/stats` shows them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct WriterStats {
    /// Requests refused because the queue was full.
    pub write_queue_refused: u64,
    /// Transactions committed.
    pub commits: u64,
    /// Requests written in them.
    pub committed_requests: u64,
    /// Records and spans written in them (folded duplicates included).
    pub committed_records: u64,
    /// Milliseconds the writer tasks spent writing groups, added up over the tasks: against the
    /// wall time it says whether writing is where the time goes.
    pub write_busy_ms: u64,
}

impl Writer {
    /// Starts `tasks` writer tasks on `store` behind a queue of `capacity` requests.
    pub fn start(store: Store, capacity: usize, tasks: usize) -> Writer {
        let (queue, jobs) = mpsc::channel(capacity.max(1));
        let jobs = Arc::new(Mutex::new(jobs));
        let counts = Arc::new(Counts::default());
        let reads = Arc::new(ReadsFirst::default());
        for _ in 0..tasks.max(1) {
            tokio::spawn(write_groups(
                store.clone(),
                jobs.clone(),
                counts.clone(),
                reads.clone(),
            ));
        }
        Writer {
            queue,
            refused: Arc::new(AtomicU64::new(0)),
            counts,
            reads,
        }
    }

    /// Marks a search in progress until the answer is dropped: new transactions wait for it.
    pub fn reading(&self) -> Reading {
        Reading::of(&self.reads)
    }

    /// Writes `rows` with whatever else is waiting; returns once committed.
    pub async fn write(&self, rows: Prepared) -> Result<Written, WriteError> {
        let (done, answer) = oneshot::channel();
        if self.queue.try_send(Job { rows, done }).is_err() {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(WriteError::Full);
        }
        match answer.await {
            Ok(result) => result.map_err(WriteError::Store),
            Err(_) => Err(WriteError::Store("the writer stopped".into())),
        }
    }

    /// Requests refused because the queue was full, since start.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// The writer's counters since start.
    pub fn stats(&self) -> WriterStats {
        WriterStats {
            write_queue_refused: self.refused(),
            commits: self.counts.commits.load(Ordering::Relaxed),
            committed_requests: self.counts.requests.load(Ordering::Relaxed),
            committed_records: self.counts.records.load(Ordering::Relaxed),
            write_busy_ms: self.counts.busy_us.load(Ordering::Relaxed) / 1000,
        }
    }
}

/// One writer task: takes the next request and every one waiting behind it (up to
/// [`GROUP_ROWS`]), writes them in one transaction, answers each.
async fn write_groups(
    store: Store,
    jobs: Arc<Mutex<mpsc::Receiver<Job>>>,
    counts: Arc<Counts>,
    reads: Arc<ReadsFirst>,
) {
    loop {
        let group = {
            let mut jobs = jobs.lock().await;
            let Some(first) = jobs.recv().await else {
                return;
            };
            let mut rows = first.rows.len();
            let mut group = vec![first];
            while rows < GROUP_ROWS {
                match jobs.try_recv() {
                    Ok(job) => {
                        rows += job.rows.len();
                        group.push(job);
                    }
                    Err(_) => break,
                }
            }
            group
        };
        let (rows, answers): (Vec<Prepared>, Vec<_>) =
            group.into_iter().map(|j| (j.rows, j.done)).unzip();
        let (requests, records) = (rows.len(), rows.iter().map(Prepared::len).sum::<usize>());
        reads.let_pass(MOST_YIELD).await;
        let started = Instant::now();
        let result = store.insert_group(rows).await;
        let busy = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        counts.busy_us.fetch_add(busy, Ordering::Relaxed);
        match result {
            Ok(written) => {
                counts.commits.fetch_add(1, Ordering::Relaxed);
                counts
                    .requests
                    .fetch_add(requests as u64, Ordering::Relaxed);
                counts.records.fetch_add(records as u64, Ordering::Relaxed);
                for (done, w) in answers.into_iter().zip(written) {
                    let _ = done.send(Ok(w));
                }
            }
            Err(e) => {
                for done in answers {
                    let _ = done.send(Err(e.clone()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_transaction_waits_for_the_searches_running_and_never_longer_than_its_bound() {
        let reads = Arc::new(ReadsFirst::default());
        let started = Instant::now();
        reads.let_pass(Duration::from_secs(60)).await;
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no search: no wait"
        );

        let (first, second) = (Reading::of(&reads), Reading::of(&reads));
        let waiting = {
            let reads = reads.clone();
            tokio::spawn(async move {
                reads.let_pass(Duration::from_secs(60)).await;
                Instant::now()
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(first);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "one search still runs");
        let ended = Instant::now();
        drop(second);
        let passed = waiting.await.unwrap();
        assert!(passed >= ended, "it went once the last search ended");

        let _endless = Reading::of(&reads);
        let started = Instant::now();
        reads.let_pass(Duration::from_millis(30)).await;
        assert!(started.elapsed() >= Duration::from_millis(30));
    }
}
