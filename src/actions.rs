//! Which action is current. An action is current from its start until it ends or another starts.
//! Automatic actions (from clicks and submits) end themselves once the requests they started have
//! settled and nothing new started for [`AUTO_ACTION_IDLE_MS`].

use crate::Millis;
use crate::id::Id;

/// How an action began, which decides how it ends.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ActionKind {
    /// `startAction()`: current until `end()` or another action starts.
    Explicit,
    /// A click or submit: ends itself when its requests are done.
    Auto,
}

/// Quiet time after an automatic action's last request settles before it ends.
pub const AUTO_ACTION_IDLE_MS: Millis = 100;

/// Longest an automatic action stays current, so a request that never settles (a long poll, a
/// stream) cannot lend its ID to unrelated requests forever.
pub const AUTO_ACTION_MAX_MS: Millis = 60_000;

#[derive(Clone, Debug)]
struct Current {
    id: Id,
    kind: ActionKind,
    started: Millis,
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

/// The current action and the bookkeeping that ends automatic ones.
#[derive(Clone, Debug, Default)]
pub struct Actions {
    current: Option<Current>,
}

impl Actions {
    /// Makes `id` the current action; returns the action it displaced, if any.
    pub fn start(&mut self, id: Id, kind: ActionKind, now: Millis) -> Option<Id> {
        let previous = self.current.take().map(|c| c.id);
        self.current = Some(Current {
            id,
            kind,
            started: now,
            in_flight: 0,
            last_activity: now,
        });
        previous
    }

    /// The current action's ID and kind.
    pub fn current(&self) -> Option<(Id, ActionKind)> {
        self.current.as_ref().map(|c| (c.id, c.kind))
    }

    /// Ends the action `id`; returns whether it was the current one.
    pub fn end(&mut self, id: Id) -> bool {
        let was_current = self.current.as_ref().is_some_and(|c| c.id == id);
        if was_current {
            self.current = None;
        }
        was_current
    }

    /// A request carrying `id` started.
    pub fn request_started(&mut self, id: Id, now: Millis) {
        if let Some(c) = self.current.as_mut().filter(|c| c.id == id) {
            c.in_flight += 1;
            c.last_activity = now;
        }
    }

    /// A request carrying `id` settled (response, network error or abort).
    pub fn request_settled(&mut self, id: Id, now: Millis) {
        if let Some(c) = self.current.as_mut().filter(|c| c.id == id) {
            c.in_flight = c.in_flight.saturating_sub(1);
            c.last_activity = now;
        }
    }

    /// Ends the automatic action if its time has come, else says when to ask again.
    pub fn poll(&mut self, now: Millis) -> AutoEnd {
        let Some(c) = self.current.as_ref().filter(|c| c.kind == ActionKind::Auto) else {
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
        assert_eq!(actions.start(a, ActionKind::Explicit, 0), None);
        assert_eq!(actions.current(), Some((a, ActionKind::Explicit)));
        assert_eq!(actions.start(b, ActionKind::Explicit, 5), Some(a));
        assert!(
            !actions.end(a),
            "ending a displaced action leaves the current one"
        );
        assert_eq!(actions.current(), Some((b, ActionKind::Explicit)));
        assert!(actions.end(b));
        assert_eq!(actions.current(), None);
        assert!(!actions.end(b), "ending twice is harmless");
    }

    #[test]
    fn explicit_actions_never_end_by_themselves() {
        let a = ids().next().unwrap();
        let mut actions = Actions::default();
        actions.start(a, ActionKind::Explicit, 0);
        assert_eq!(actions.poll(10_000_000), AutoEnd::Nothing);
        assert_eq!(actions.current(), Some((a, ActionKind::Explicit)));
    }

    #[test]
    fn auto_action_without_requests_ends_after_the_quiet_time() {
        let a = ids().next().unwrap();
        let mut actions = Actions::default();
        actions.start(a, ActionKind::Auto, 1000);
        assert_eq!(actions.poll(1050), AutoEnd::CheckAt(1100));
        assert_eq!(actions.poll(1100), AutoEnd::Ended(a));
        assert_eq!(actions.current(), None);
        assert_eq!(actions.poll(1200), AutoEnd::Nothing);
    }

    #[test]
    fn auto_action_waits_for_its_requests_then_the_quiet_time() {
        let a = ids().next().unwrap();
        let mut actions = Actions::default();
        actions.start(a, ActionKind::Auto, 0);
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
        actions.start(a, ActionKind::Auto, 0);
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
        actions.start(a, ActionKind::Auto, 0);
        actions.request_started(other, 50);
        assert_eq!(actions.poll(100), AutoEnd::Ended(a));
    }
}
