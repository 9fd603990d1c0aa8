//! Ingestion's CPU work (decoding batches, writing groups to SQLite) runs on threads of its own
//! at a lower CPU priority than the rest of the collector: while ingestion keeps every core
//! busy, a search still gets a core the moment it needs one, and ingestion loses only the little
//! time searches take. Ingestion is bounded before it gets here (one decode per core, the
//! writer tasks), so the pool needs only a few threads.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

/// How much lower ingestion's threads run than the process: 10 steps of niceness leave them
/// about a tenth of a core that a search wants.
const NICENESS: i32 = 10;

/// The lowest priority there is (the highest niceness).
const LOWEST: i32 = 19;

type Job = Box<dyn FnOnce() + Send>;

/// Why background work gave no answer.
#[derive(Debug)]
pub struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the background work stopped without an answer")
    }
}

/// Runs `work` on one of the lower-priority threads; its result once done.
pub async fn run<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Stopped> {
    let (done, answer) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = done.send(work());
    });
    pool().send(job).map_err(|_| Stopped)?;
    answer.await.map_err(|_| Stopped)
}

/// The pool's queue, its threads started on first use: one per core and two more, so that the
/// writer never waits behind the decoders.
fn pool() -> &'static mpsc::Sender<Job> {
    static POOL: OnceLock<mpsc::Sender<Job>> = OnceLock::new();
    POOL.get_or_init(|| {
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        let threads = std::thread::available_parallelism().map_or(2, usize::from) + 2;
        for n in 0..threads {
            let jobs = jobs.clone();
            let _ = std::thread::Builder::new()
                .name(format!("ingest-{n}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = match jobs.lock() {
                            Ok(jobs) => jobs.recv(),
                            Err(_) => return,
                        };
                        match job {
                            // A job that panics drops its answer (the caller gets `Stopped`),
                            // not the thread.
                            Ok(job) => {
                                let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                            }
                            Err(_) => return,
                        }
                    }
                });
        }
        queue
    })
}

/// Lowers the calling thread's CPU priority by [`NICENESS`] from what it inherited (on Linux
/// niceness is per thread), so that a collector started with `nice` keeps its ingestion below
/// its searches too; elsewhere the thread keeps the process's.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{getpriority_process, setpriority_process};
        let me = Some(rustix::thread::gettid());
        if let Ok(inherited) = getpriority_process(me) {
            let _ = setpriority_process(me, (inherited + NICENESS).min(LOWEST));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[tokio::test]
    async fn work_runs_at_the_lower_priority_and_a_panic_loses_only_its_answer() {
        assert_eq!(run(|| 6 * 7).await.unwrap(), 42);
        assert!(run(|| panic!("a bad job")).await.is_err());
        let answers = futures_util::future::join_all((0..20).map(|n| run(move || n * 2))).await;
        let answers: Vec<i32> = answers.into_iter().map(Result::unwrap).collect();
        assert_eq!(answers, (0..20).map(|n| n * 2).collect::<Vec<_>>());
        #[cfg(target_os = "linux")]
        {
            let niceness = run(|| {
                rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap()
            });
            let outside =
                rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap();
            // Also when the tests themselves run under `nice`.
            assert_eq!(niceness.await.unwrap(), (outside + NICENESS).min(LOWEST));
        }
    }
}
