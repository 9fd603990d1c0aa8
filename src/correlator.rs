//! Decides which ID each request carries, in this order: the ID the caller forced
//! (`action.fetch`), the current action's, the ID the same `Request`/XHR object carried before
//! (it is being sent again), the ID of the same method and URL that failed within the retry
//! window, else a fresh ID of its own. Never the session ID, never a stale action's ID.

use alloc::string::String;

use crate::Millis;
use crate::actions::{ActionKind, Actions, AutoEnd, LiveAction};
use crate::id::{Id, IdPool, SpanId};
use crate::retry::{RetryBook, request_key};

/// What the shell knows about a request about to be sent.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestFacts<'a> {
    /// HTTP method as the app gave it.
    pub method: &'a str,
    /// Absolute URL, as the browser resolved it.
    pub url: &'a str,
    /// An ID the caller insists on (`action.fetch`).
    pub forced: Option<Id>,
    /// The ID this same `Request` or XHR object carried when it was sent before.
    pub same_object: Option<Id>,
}

/// Why a request got its ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `action.fetch` of a specific action.
    Forced,
    /// The action current when the request started.
    Action,
    /// The same `Request` or XHR object sent again.
    SameObject,
    /// A repeat of a request that failed within the retry window.
    RecentFailure,
    /// None of the above: a new ID of its own.
    Fresh,
}

/// The ID a request carries and its attempt number under that ID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag {
    /// The correlation ID to send.
    pub id: Id,
    /// 1 for the first send of this request under this ID, 2 for the first retry, …
    pub attempt: u32,
    /// Why this ID was chosen.
    pub source: Source,
    /// The request's retry identity, handed back to [`Correlator::settled`].
    pub key: String,
}

/// The recorder's decisions about IDs, actions and retries, fed with a clock.
pub struct Correlator {
    ids: IdPool,
    actions: Actions,
    retries: RetryBook,
}

impl Correlator {
    /// A correlator that treats repeats within `retry_window` ms of a failure as retries.
    pub fn new(retry_window: Millis) -> Self {
        Correlator::with_ids(retry_window, IdPool::default())
    }

    /// [`Correlator::new`] minting from `ids` (a seeded pool in simulations).
    pub fn with_ids(retry_window: Millis, ids: IdPool) -> Self {
        Correlator {
            ids,
            actions: Actions::default(),
            retries: RetryBook::new(retry_window),
        }
    }

    /// A fresh ID, for a session or anything else that needs one.
    pub fn mint(&mut self) -> Result<Id, getrandom::Error> {
        self.ids.next_id()
    }

    /// A fresh span ID for `traceparent`.
    pub fn span(&mut self) -> Result<SpanId, getrandom::Error> {
        self.ids.next_span()
    }

    /// Starts a new action, which becomes current; returns its ID.
    pub fn start_action(
        &mut self,
        kind: ActionKind,
        name: String,
        now: Millis,
    ) -> Result<Id, getrandom::Error> {
        let id = self.ids.next_id()?;
        self.actions.start(id, kind, name, now);
        Ok(id)
    }

    /// Ends action `id`; returns it if it was alive.
    pub fn end_action(&mut self, id: Id) -> Option<LiveAction> {
        self.actions.end(id)
    }

    /// The current action.
    pub fn current_live_action(&self) -> Option<&LiveAction> {
        self.actions.current_action()
    }

    /// A request carrying `id` failed: returns `id` if that is a live action.
    pub fn request_failed(&mut self, id: Id) -> Option<Id> {
        self.actions.request_failed(id)
    }

    /// The current action's ID and kind.
    pub fn current_action(&self) -> Option<(Id, ActionKind)> {
        self.actions.current()
    }

    /// Chooses the ID for a request that is starting now, and counts the attempt.
    pub fn tag(
        &mut self,
        request: &RequestFacts<'_>,
        now: Millis,
    ) -> Result<Tag, getrandom::Error> {
        let key = request_key(request.method, request.url);
        let (id, source) = if let Some(id) = request.forced {
            (id, Source::Forced)
        } else if let Some((id, _)) = self.actions.current() {
            (id, Source::Action)
        } else if let Some(id) = request.same_object {
            (id, Source::SameObject)
        } else if let Some(id) = self.retries.recent_failure(&key, now) {
            (id, Source::RecentFailure)
        } else {
            (self.ids.next_id()?, Source::Fresh)
        };
        self.actions.request_started(id, now);
        let attempt = self.retries.count_attempt(id, &key);
        Ok(Tag {
            id,
            attempt,
            source,
            key,
        })
    }

    /// A tagged request settled with an HTTP status, or `None` for a network error or abort.
    pub fn settled(&mut self, tag_id: Id, key: &str, status: Option<u16>, now: Millis) {
        self.actions.request_settled(tag_id, now);
        self.retries.settled(key, tag_id, status, now);
    }

    /// Ends the automatic action if its time has come, else says when to ask again.
    pub fn poll_auto_action(&mut self, now: Millis) -> AutoEnd {
        self.actions.poll(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(url: &'a str) -> RequestFacts<'a> {
        RequestFacts {
            method: "GET",
            url,
            ..RequestFacts::default()
        }
    }

    #[test]
    fn requests_in_an_action_carry_its_id_and_the_next_action_gets_a_new_one() {
        let mut c = Correlator::new(30_000);
        let pay = c
            .start_action(ActionKind::Explicit, String::new(), 0)
            .unwrap();
        let t1 = c.tag(&get("https://api.test/orders"), 1).unwrap();
        let t2 = c.tag(&get("https://api.test/cart"), 2).unwrap();
        assert_eq!((t1.id, t1.source, t2.id), (pay, Source::Action, pay));
        c.end_action(pay);
        let again = c
            .start_action(ActionKind::Explicit, String::new(), 3)
            .unwrap();
        assert_ne!(again, pay);
        assert_eq!(c.tag(&get("https://api.test/orders"), 4).unwrap().id, again);
    }

    #[test]
    fn requests_outside_actions_get_fresh_ids_never_a_stale_one() {
        let mut c = Correlator::new(30_000);
        let pay = c
            .start_action(ActionKind::Explicit, String::new(), 0)
            .unwrap();
        c.end_action(pay);
        let a = c.tag(&get("https://api.test/poll"), 1).unwrap();
        let b = c.tag(&get("https://api.test/poll"), 2).unwrap();
        assert_eq!(a.source, Source::Fresh);
        assert_ne!(a.id, pay);
        assert_ne!(a.id, b.id);
    }

    #[test]
    fn forced_id_wins_even_after_another_action_started() {
        let mut c = Correlator::new(30_000);
        let first = c
            .start_action(ActionKind::Explicit, String::new(), 0)
            .unwrap();
        let _second = c
            .start_action(ActionKind::Explicit, String::new(), 1)
            .unwrap();
        let t = c
            .tag(
                &RequestFacts {
                    forced: Some(first),
                    ..get("https://api.test/")
                },
                2,
            )
            .unwrap();
        assert_eq!((t.id, t.source), (first, Source::Forced));
    }

    #[test]
    fn the_same_object_sent_again_outside_an_action_keeps_its_id() {
        let mut c = Correlator::new(30_000);
        let first = c.tag(&get("https://api.test/orders"), 0).unwrap();
        c.settled(first.id, &first.key, Some(200), 5);
        let again = c
            .tag(
                &RequestFacts {
                    same_object: Some(first.id),
                    ..get("https://api.test/orders")
                },
                10,
            )
            .unwrap();
        assert_eq!(
            (again.id, again.source, again.attempt),
            (first.id, Source::SameObject, 2)
        );
    }

    #[test]
    fn a_failed_request_repeated_keeps_its_id_and_counts_attempts() {
        let mut c = Correlator::new(30_000);
        let mut tag = c
            .tag(
                &RequestFacts {
                    method: "POST",
                    url: "https://api.test/pay",
                    ..Default::default()
                },
                0,
            )
            .unwrap();
        let id = tag.id;
        for attempt in 2..=4 {
            c.settled(tag.id, &tag.key, Some(503), 100 * u64::from(attempt));
            tag = c
                .tag(
                    &RequestFacts {
                        method: "post",
                        url: "https://api.test/pay#retry",
                        ..Default::default()
                    },
                    100 * u64::from(attempt) + 50,
                )
                .unwrap();
            assert_eq!(
                (tag.id, tag.source, tag.attempt),
                (id, Source::RecentFailure, attempt)
            );
        }
        c.settled(tag.id, &tag.key, Some(201), 1_000);
        let next = c
            .tag(
                &RequestFacts {
                    method: "POST",
                    url: "https://api.test/pay",
                    ..Default::default()
                },
                1_100,
            )
            .unwrap();
        assert_eq!(next.source, Source::Fresh);
        assert_ne!(next.id, id);
    }

    #[test]
    fn a_failure_inside_an_action_is_retried_with_the_action_id_after_it_ended() {
        let mut c = Correlator::new(30_000);
        let pay = c
            .start_action(ActionKind::Explicit, String::new(), 0)
            .unwrap();
        let t = c.tag(&get("https://api.test/orders"), 1).unwrap();
        c.settled(t.id, &t.key, None, 2);
        c.end_action(pay);
        assert_eq!(c.tag(&get("https://api.test/orders"), 3).unwrap().id, pay);
    }

    #[test]
    fn failures_past_the_window_get_a_fresh_id() {
        let mut c = Correlator::new(30_000);
        let t = c.tag(&get("https://api.test/orders"), 0).unwrap();
        c.settled(t.id, &t.key, Some(500), 10);
        assert_ne!(
            c.tag(&get("https://api.test/orders"), 30_010).unwrap().id,
            t.id
        );
    }

    #[test]
    fn an_auto_action_ends_after_its_requests_settle() {
        let mut c = Correlator::new(30_000);
        let click = c.start_action(ActionKind::Auto, String::new(), 0).unwrap();
        let t = c.tag(&get("https://api.test/orders"), 5).unwrap();
        assert_eq!(
            c.poll_auto_action(500),
            AutoEnd::CheckAt(crate::actions::AUTO_ACTION_MAX_MS)
        );
        c.settled(t.id, &t.key, Some(200), 600);
        assert_eq!(c.poll_auto_action(700), AutoEnd::Ended(click));
        assert_eq!(c.current_action(), None);
        assert_eq!(
            c.tag(&get("https://api.test/orders"), 800).unwrap().source,
            Source::Fresh
        );
    }
}
