//! Retry bookkeeping: remembers requests that failed, so that the same method and URL sent again
//! within the retry window keeps the failed request's ID, and counts attempts per ID and request.
//! Bounded in size; forgets what is older than the window.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

use crate::Millis;
use crate::bounded::{push_bounded, take_first};
use crate::id::Id;

/// How many failed requests are remembered at most.
const MAX_FAILURES: usize = 64;
/// How many (ID, request) attempt counters are kept at most.
const MAX_ATTEMPT_COUNTERS: usize = 256;

/// The retry identity of a request: its upper-cased method and its URL without the fragment.
pub fn request_key(method: &str, url: &str) -> String {
    let url = url
        .bytes()
        .position(|b| b == b'#')
        .and_then(|hash| url.get(..hash))
        .unwrap_or(url);
    let mut key = String::with_capacity(method.len() + 1 + url.len());
    key.push_str(&method.to_ascii_uppercase());
    key.push(' ');
    key.push_str(url);
    key
}

/// The method and URL a [`request_key`] was made from (the method upper-cased, the URL without
/// its fragment).
pub fn split_key(key: &str) -> (&str, &str) {
    let space = key.bytes().position(|b| b == b' ').unwrap_or(key.len());
    (
        key.get(..space).unwrap_or(key),
        key.get(space + 1..).unwrap_or(""),
    )
}

/// Whether a settled request counts as failed, and so may be retried with its ID:
/// a network error (`None`), 408, 429 or any 5xx.
pub fn is_retryable(status: Option<u16>) -> bool {
    match status {
        None => true,
        Some(s) => s == 408 || s == 429 || (500..=599).contains(&s),
    }
}

#[derive(Clone, Debug)]
struct Failure {
    key: String,
    id: Id,
    at: Millis,
}

#[derive(Clone, Debug)]
struct AttemptCounter {
    id: Id,
    key: String,
    count: u32,
}

/// Failed requests within the window, and attempt counts.
#[derive(Clone, Debug)]
pub struct RetryBook {
    window: Millis,
    failures: Vec<Failure>,
    attempts: Vec<AttemptCounter>,
}

impl RetryBook {
    /// A book that treats a repeat within `window` milliseconds of a failure as its retry.
    pub fn new(window: Millis) -> Self {
        RetryBook {
            window,
            failures: Vec::new(),
            attempts: Vec::new(),
        }
    }

    /// The ID of a request with this key that failed within the window, if any.
    pub fn recent_failure(&mut self, key: &str, now: Millis) -> Option<Id> {
        let window = self.window;
        self.failures
            .retain(|f| now.saturating_sub(f.at) < window && f.at <= now);
        self.failures
            .iter()
            .rev()
            .find(|f| f.key == key)
            .map(|f| f.id)
    }

    /// Records how a request settled: a failure is remembered for its retry, a success
    /// closes the story so the next request with that key gets a fresh ID.
    pub fn settled(&mut self, key: &str, id: Id, status: Option<u16>, now: Millis) {
        self.failures.retain(|f| f.key != key);
        if is_retryable(status) && self.window > 0 {
            push_bounded(
                &mut self.failures,
                Failure {
                    key: key.to_owned(),
                    id,
                    at: now,
                },
                MAX_FAILURES,
            );
        }
    }

    /// Counts one more attempt of request `key` under `id`; returns the attempt number (1-based).
    pub fn count_attempt(&mut self, id: Id, key: &str) -> u32 {
        // The counter moves to the end: the least recently used is forgotten first.
        let mut counter = take_first(&mut self.attempts, |a| a.id == id && a.key == key).unwrap_or(
            AttemptCounter {
                id,
                key: key.to_owned(),
                count: 0,
            },
        );
        counter.count = counter.count.saturating_add(1);
        let count = counter.count;
        push_bounded(&mut self.attempts, counter, MAX_ATTEMPT_COUNTERS);
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> Id {
        Id::from_bytes([n; 16]).unwrap()
    }

    #[test]
    fn keys_ignore_method_case_and_fragment() {
        assert_eq!(
            request_key("post", "https://a.test/x?y=1#z"),
            "POST https://a.test/x?y=1"
        );
        assert_ne!(
            request_key("GET", "https://a.test/x?y=1"),
            request_key("GET", "https://a.test/x?y=2")
        );
    }

    #[test]
    fn keys_split_back_into_method_and_url() {
        let key = request_key("post", "https://a.test/x y?z=1#f");
        assert_eq!(split_key(&key), ("POST", "https://a.test/x y?z=1"));
        assert_eq!(split_key("GET"), ("GET", ""));
    }

    #[test]
    fn which_outcomes_are_retryable() {
        for s in [
            None,
            Some(408),
            Some(429),
            Some(500),
            Some(502),
            Some(503),
            Some(504),
            Some(599),
        ] {
            assert!(is_retryable(s), "{s:?}");
        }
        for s in [
            Some(200),
            Some(204),
            Some(301),
            Some(400),
            Some(401),
            Some(404),
            Some(413),
        ] {
            assert!(!is_retryable(s), "{s:?}");
        }
    }

    #[test]
    fn a_failed_request_repeated_within_the_window_keeps_its_id() {
        let mut book = RetryBook::new(30_000);
        let key = request_key("GET", "https://api.test/orders");
        assert_eq!(book.recent_failure(&key, 0), None);
        book.settled(&key, id(1), Some(503), 1_000);
        assert_eq!(book.recent_failure(&key, 2_000), Some(id(1)));
        assert_eq!(
            book.recent_failure(&request_key("POST", "https://api.test/orders"), 2_000),
            None
        );
        // It failed again: the window restarts from the newest failure.
        book.settled(&key, id(1), None, 20_000);
        assert_eq!(book.recent_failure(&key, 49_999), Some(id(1)));
        assert_eq!(book.recent_failure(&key, 50_000), None);
    }

    #[test]
    fn success_and_client_errors_close_the_story() {
        let mut book = RetryBook::new(30_000);
        let key = request_key("GET", "https://api.test/orders");
        book.settled(&key, id(1), Some(503), 0);
        book.settled(&key, id(1), Some(200), 10);
        assert_eq!(book.recent_failure(&key, 20), None);
        book.settled(&key, id(2), Some(404), 30);
        assert_eq!(book.recent_failure(&key, 40), None);
    }

    #[test]
    fn zero_window_disables_failure_retries() {
        let mut book = RetryBook::new(0);
        let key = request_key("GET", "https://api.test/");
        book.settled(&key, id(1), Some(503), 0);
        assert_eq!(book.recent_failure(&key, 0), None);
    }

    #[test]
    fn a_clock_that_went_backwards_forgets_rather_than_matches() {
        let mut book = RetryBook::new(30_000);
        let key = request_key("GET", "https://api.test/");
        book.settled(&key, id(1), Some(503), 100_000);
        assert_eq!(book.recent_failure(&key, 50_000), None);
    }

    #[test]
    fn attempts_are_counted_per_id_and_request() {
        let mut book = RetryBook::new(30_000);
        let (a, b) = (
            request_key("GET", "https://api.test/a"),
            request_key("GET", "https://api.test/b"),
        );
        assert_eq!(book.count_attempt(id(1), &a), 1);
        assert_eq!(book.count_attempt(id(1), &a), 2);
        assert_eq!(book.count_attempt(id(1), &b), 1);
        assert_eq!(book.count_attempt(id(2), &a), 1);
        assert_eq!(book.count_attempt(id(1), &a), 3);
    }

    #[test]
    fn memory_stays_bounded() {
        let mut book = RetryBook::new(30_000);
        for n in 0..10_000u32 {
            let key = request_key("GET", &format!("https://api.test/{n}"));
            book.settled(&key, id(1), None, u64::from(n));
            book.count_attempt(id(1), &key);
        }
        assert!(book.failures.len() <= MAX_FAILURES);
        assert!(book.attempts.len() <= MAX_ATTEMPT_COUNTERS);
        assert_eq!(
            book.recent_failure(&request_key("GET", "https://api.test/9999"), 10_000),
            Some(id(1))
        );
    }
}
