//! Which action is current. An action is current from its start until it ends or another starts.
//! Automatic actions (from clicks and submits) end themselves once the requests they started have
//! settled and nothing new started for [`AUTO_ACTION_IDLE_MS`].

use alloc::string::String;
use alloc::vec::Vec;

use crate::Millis;
use crate::bounded::{push_bounded, take_first};
use crate::id::Id;

/// How an action began, which decides how it ends.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ActionKind {
    /// `startAction()`: current until `end()` or another action starts.
    Explicit,
    /// A click or submit: ends itself when its requests are done.
    Auto,
}

/// What a click must land on (a CSS selector, which the page matches along the click's composed
/// path) to start an automatic action; any form submit starts one too.
pub const ACTIONABLE: &str = "button, a, [role=button], input[type=submit]";

/// Quiet time after an automatic action's last request settles before it ends.
pub const AUTO_ACTION_IDLE_MS: Millis = 100;

/// Longest an automatic action stays current, so a request that never settles (a long poll, a
/// stream) cannot lend its ID to unrelated requests forever.
pub const AUTO_ACTION_MAX_MS: Millis = 60_000;

/// Actions alive at once, at most; the oldest is forgotten (without an `action.end`) past this.
pub const MAX_LIVE_ACTIONS: usize = 64;

/// An action that started and has not ended: the one record of it the recorder keeps.
#[derive(Clone, Debug)]
pub struct LiveAction {
    /// Its correlation ID.
    pub id: Id,
    /// How it began.
    pub kind: ActionKind,
    /// Its name, as `action.start` and `action.end` report it.
    pub name: String,
    /// When it started.
    pub started: Millis,
    /// Requests it tagged so far (`action.end`'s `requests`).
    pub requests: u32,
    /// Whether one of its requests failed: its outcome is then `error` unless given.
    pub failed: bool,
    in_flight: u32,
    last_activity: Millis,
}

/// What the shell should do about the automatic action's timer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AutoEnd {
    /// The automatic action with this ID just ended.
    Ended(Id),
    /// Ask again at this time.
    CheckAt(Millis),
    /// No automatic action is current; no timer is needed.
    Nothing,
}

/// The actions alive, which one is current, and the bookkeeping that ends automatic ones.
#[derive(Clone, Debug, Default)]
pub struct Actions {
    live: Vec<LiveAction>,
    current: Option<Id>,
}

impl Actions {
    /// Makes `id` the current action; returns the action it displaced, if any.
    pub fn start(&mut self, id: Id, kind: ActionKind, name: String, now: Millis) -> Option<Id> {
        let previous = self.current.take();
        push_bounded(
            &mut self.live,
            LiveAction {
                id,
                kind,
                name,
                started: now,
                requests: 0,
                failed: false,
                in_flight: 0,
                last_activity: now,
            },
            MAX_LIVE_ACTIONS,
        );
        self.current = Some(id);
        previous
    }

    /// The current action's ID and kind.
    pub fn current(&self) -> Option<(Id, ActionKind)> {
        self.current_action().map(|a| (a.id, a.kind))
    }

    /// The current action.
    pub fn current_action(&self) -> Option<&LiveAction> {
        let id = self.current?;
        self.live.iter().find(|a| a.id == id)
    }

    /// Ends the action `id`: it is no longer current, nor alive. Returns it if it was alive.
    pub fn end(&mut self, id: Id) -> Option<LiveAction> {
        if self.current == Some(id) {
            self.current = None;
        }
        take_first(&mut self.live, |a| a.id == id)
    }

    /// A request carrying `id` started.
    pub fn request_started(&mut self, id: Id, now: Millis) {
        if let Some(a) = self.live.iter_mut().find(|a| a.id == id) {
            a.requests = a.requests.saturating_add(1);
            a.in_flight += 1;
            a.last_activity = now;
        }
    }

    /// A request carrying `id` settled (response, network error or abort).
    pub fn request_settled(&mut self, id: Id, now: Millis) {
        if let Some(a) = self.live.iter_mut().find(|a| a.id == id) {
            a.in_flight = a.in_flight.saturating_sub(1);
            a.last_activity = now;
        }
    }

    /// A request carrying `id` failed: returns `id` if that is a live action (now `failed`).
    pub fn request_failed(&mut self, id: Id) -> Option<Id> {
        let action = self.live.iter_mut().find(|a| a.id == id)?;
        action.failed = true;
        Some(id)
    }

    /// Ends the automatic action if its time has come (it stays alive until [`Actions::end`]
    /// reports it), else says when to ask again.
    pub fn poll(&mut self, now: Millis) -> AutoEnd {
        let Some(c) = self.current_action().filter(|c| c.kind == ActionKind::Auto) else {
            return AutoEnd::Nothing;
        };
        let deadline = c.started.saturating_add(AUTO_ACTION_MAX_MS);
        let quiet_at = c.last_activity.saturating_add(AUTO_ACTION_IDLE_MS);
        if now >= deadline || (c.in_flight == 0 && now >= quiet_at) {
            let id = c.id;
            self.current = None;
            return AutoEnd::Ended(id);
        }
        AutoEnd::CheckAt(if c.in_flight == 0 {
            quiet_at.min(deadline)
        } else {
            deadline
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> impl Iterator<Item = Id> {
        (1u8..).map(|n| Id::from_bytes([n; 16]).unwrap())
    }

    #[test]
    fn an_action_is_current_until_it_ends_or_another_starts() {
        let mut ids = ids();
        let (a, b) = (ids.next().unwrap(), ids.next().unwrap());
        let mut actions = Actions::default();
        assert_eq!(actions.current(), None);
        assert_eq!(
            actions.start(a, ActionKind::Explicit, String::new(), 0),
            None
        );
        assert_eq!(actions.current(), Some((a, ActionKind::Explicit)));
        assert_eq!(
            actions.start(b, ActionKind::Explicit, String::new(), 5),
            Some(a)
        );
        assert!(
            actions.end(a).is_some(),
            "a displaced action is still alive"
        );
        assert_eq!(
            actions.current(),
            Some((b, ActionKind::Explicit)),
            "ending a displaced action leaves the current one"
        );
        assert!(actions.end(b).is_some());
        assert_eq!(actions.current(), None);
        assert!(actions.end(b).is_none(), "ending twice is harmless");
    }

    #[test]
    fn explicit_actions_never_end_by_themselves() {
        let a = ids().next().unwrap();
        let mut actions = Actions::default();
        actions.start(a, ActionKind::Explicit, String::new(), 0);
        assert_eq!(actions.poll(10_000_000), AutoEnd::Nothing);
        assert_eq!(actions.current(), Some((a, ActionKind::Explicit)));
    }

    #[test]
    fn auto_action_without_requests_ends_after_the_quiet_time() {
        let a = ids().next().unwrap();
        let mut actions = Actions::default();
        actions.start(a, ActionKind::Auto, String::new(), 1000);
        assert_eq!(actions.poll(1050), AutoEnd::CheckAt(1100));
        assert_eq!(actions.poll(1100), AutoEnd::Ended(a));
        assert_eq!(actions.current(), None);
        assert_eq!(actions.poll(1200), AutoEnd::Nothing);
    }

    #[test]
    fn auto_action_waits_for_its_requests_then_the_quiet_time() {
        let a = ids().next().unwrap();
        let mut actions = Actions::default();
        actions.start(a, ActionKind::Auto, String::new(), 0);
        actions.request_started(a, 10);
        actions.request_started(a, 20);
        assert_eq!(actions.poll(500), AutoEnd::CheckAt(AUTO_ACTION_MAX_MS));
        actions.request_settled(a, 600);
        assert_eq!(actions.poll(800), AutoEnd::CheckAt(AUTO_ACTION_MAX_MS));
        actions.request_settled(a, 900);
        assert_eq!(actions.poll(950), AutoEnd::CheckAt(1000));
        // A follow-up request inside the quiet time keeps the action going.
        actions.request_started(a, 990);
        actions.request_settled(a, 1200);
        assert_eq!(actions.poll(1250), AutoEnd::CheckAt(1300));
        assert_eq!(actions.poll(1300), AutoEnd::Ended(a));
    }

    #[test]
    fn a_request_that_never_settles_cannot_hold_an_auto_action_forever() {
        let a = ids().next().unwrap();
        let mut actions = Actions::default();
        actions.start(a, ActionKind::Auto, String::new(), 0);
        actions.request_started(a, 1);
        assert_eq!(
            actions.poll(AUTO_ACTION_MAX_MS - 1),
            AutoEnd::CheckAt(AUTO_ACTION_MAX_MS)
        );
        assert_eq!(actions.poll(AUTO_ACTION_MAX_MS), AutoEnd::Ended(a));
    }

    #[test]
    fn requests_of_other_ids_do_not_touch_the_current_action() {
        let mut ids = ids();
        let (a, other) = (ids.next().unwrap(), ids.next().unwrap());
        let mut actions = Actions::default();
        actions.start(a, ActionKind::Auto, String::new(), 0);
        actions.request_started(other, 50);
        assert_eq!(actions.poll(100), AutoEnd::Ended(a));
    }
}
