//! The session: one ID shared by the tabs of an origin, rotated after a stretch of inactivity or
//! a maximum age. Reading the session (to put it on a header) never extends it; only activity
//! (an action starting) does. This module decides; the web shell stores the encoded form.

use alloc::string::String;

use crate::Millis;
use crate::id::{ID_HEX_LEN, Id};
use crate::text::parse_decimal;

/// When a session must be replaced by a new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Rotate after this long without activity (default 30 minutes).
    pub idle: Millis,
    /// Rotate after this long in total, active or not (default 24 hours).
    pub max_age: Millis,
}

/// Minutes of inactivity after which a session rotates, by default.
pub const DEFAULT_IDLE_MINUTES: f64 = 30.0;
/// Hours after which a session rotates however active it is, by default.
pub const DEFAULT_MAX_HOURS: f64 = 24.0;

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            idle: 30 * 60_000,
            max_age: 24 * 3_600_000,
        }
    }
}

/// One session as stored: its ID, when it began and when it last saw activity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session {
    /// The session ID, sent as `baggage: session.id=…` and on every event.
    pub id: Id,
    /// When the session began (ms since the epoch).
    pub started: Millis,
    /// When the session last saw activity (ms since the epoch).
    pub last_active: Millis,
}

/// Activity closer together than this (or a tenth of the idle limit, if less) is not written
/// again, to spare storage.
const TOUCH_GRANULARITY: Millis = 1_000;

impl Session {
    /// Reads the stored form `v1.<id>.<started>.<last_active>`; `None` if it is anything else.
    pub fn decode(text: &str) -> Option<Session> {
        let rest = text.strip_prefix("v1.")?;
        let id = Id::parse(rest.get(..ID_HEX_LEN)?)?;
        let rest = rest.get(ID_HEX_LEN..)?.strip_prefix('.')?;
        let dot = rest.bytes().position(|b| b == b'.')?;
        let started = parse_decimal(rest.get(..dot)?)?;
        let last_active = parse_decimal(rest.get(dot + 1..)?)?;
        (last_active >= started).then_some(Session {
            id,
            started,
            last_active,
        })
    }

    /// The stored form, read back by [`Session::decode`] in this tab and in others.
    pub fn encode(&self) -> String {
        let mut out = crate::text::concat(&["v1.", &self.id.to_hex(), "."]);
        crate::text::push_decimal(&mut out, self.started);
        out.push('.');
        crate::text::push_decimal(&mut out, self.last_active);
        out
    }
}

impl SessionPolicy {
    /// Whether `session` may still be used at `now`.
    pub fn is_live(&self, session: &Session, now: Millis) -> bool {
        now.saturating_sub(session.last_active) < self.idle
            && now.saturating_sub(session.started) < self.max_age
    }

    /// When `session` stops being live unless there is activity first.
    pub fn expires_at(&self, session: &Session) -> Millis {
        session
            .last_active
            .saturating_add(self.idle)
            .min(session.started.saturating_add(self.max_age))
    }

    /// The session to use at `now` given what storage holds: the stored one while it is live,
    /// else a new one with the ID `mint` gives. The flag says whether storage must be written.
    /// `None` only when `mint` cannot make an ID.
    pub fn resolve(
        &self,
        stored: Option<Session>,
        now: Millis,
        mint: impl FnOnce() -> Option<Id>,
    ) -> Option<(Session, bool)> {
        match stored {
            Some(s) if self.is_live(&s, now) => Some((s, false)),
            _ => Some((
                Session {
                    id: mint()?,
                    started: now,
                    last_active: now,
                },
                true,
            )),
        }
    }

    /// Records activity at `now`; returns whether storage must be written.
    pub fn touch(&self, session: &mut Session, now: Millis) -> bool {
        // Short idle limits need finer activity: a tenth of the limit at most.
        let granularity = TOUCH_GRANULARITY.min(self.idle / 10);
        if now >= session.last_active.saturating_add(granularity) {
            session.last_active = now;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Millis = 60_000;
    const HOUR: Millis = 60 * MIN;

    fn id(n: u8) -> Id {
        Id::from_bytes([n; 16]).unwrap()
    }

    #[test]
    fn stored_form_round_trips_and_rejects_garbage() {
        let s = Session {
            id: id(7),
            started: 1_700_000_000_000,
            last_active: 1_700_000_100_000,
        };
        assert_eq!(Session::decode(&s.encode()), Some(s));
        for bad in [
            "",
            "v1",
            "v2.07070707070707070707070707070707.1.2",
            "v1.xyz.1.2",
            "v1.07070707070707070707070707070707.2.1",
            "v1.07070707070707070707070707070707.1.2.3",
            "v1.07070707070707070707070707070707.-1.2",
            "{\"id\":1}",
        ] {
            assert_eq!(Session::decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_new_session_starts_when_nothing_is_stored() {
        let policy = SessionPolicy::default();
        let (s, write) = policy.resolve(None, 5_000, || Some(id(1))).unwrap();
        assert_eq!(
            s,
            Session {
                id: id(1),
                started: 5_000,
                last_active: 5_000
            }
        );
        assert!(write);
    }

    #[test]
    fn reading_never_extends_the_session() {
        let policy = SessionPolicy::default();
        let (s, _) = policy.resolve(None, 0, || Some(id(1))).unwrap();
        let mut now = 0;
        // Read every minute for 29 minutes: same session, nothing to write.
        while now < 29 * MIN {
            now += MIN;
            assert_eq!(
                policy.resolve(Some(s), now, || Some(id(2))).unwrap(),
                (s, false)
            );
        }
        // Reading is not activity, so it expires 30 minutes after it began.
        assert_eq!(
            policy
                .resolve(Some(s), 30 * MIN, || Some(id(2)))
                .unwrap()
                .0
                .id,
            id(2)
        );
    }

    #[test]
    fn activity_keeps_the_session_until_the_idle_time_passes() {
        let policy = SessionPolicy::default();
        let (mut s, _) = policy.resolve(None, 0, || Some(id(1))).unwrap();
        assert!(policy.touch(&mut s, 20 * MIN));
        assert_eq!(
            policy
                .resolve(Some(s), 49 * MIN, || Some(id(2)))
                .unwrap()
                .0
                .id,
            id(1)
        );
        assert_eq!(policy.expires_at(&s), 50 * MIN);
        let (rotated, write) = policy.resolve(Some(s), 50 * MIN, || Some(id(2))).unwrap();
        assert_eq!(
            (rotated.id, rotated.started, write),
            (id(2), 50 * MIN, true)
        );
    }

    #[test]
    fn sessions_rotate_at_the_maximum_age_however_active() {
        let policy = SessionPolicy::default();
        let (mut s, _) = policy.resolve(None, 0, || Some(id(1))).unwrap();
        let mut now = 0;
        while now < 24 * HOUR - 10 * MIN {
            now += 10 * MIN;
            assert_eq!(
                policy.resolve(Some(s), now, || Some(id(2))).unwrap().0.id,
                id(1),
                "at {now}"
            );
            policy.touch(&mut s, now);
        }
        assert_eq!(
            policy
                .resolve(Some(s), 24 * HOUR, || Some(id(2)))
                .unwrap()
                .0
                .id,
            id(2)
        );
    }

    #[test]
    fn custom_limits_apply() {
        let policy = SessionPolicy {
            idle: 5 * MIN,
            max_age: HOUR,
        };
        let (mut s, _) = policy.resolve(None, 0, || Some(id(1))).unwrap();
        assert_eq!(
            policy
                .resolve(Some(s), 5 * MIN, || Some(id(2)))
                .unwrap()
                .0
                .id,
            id(2)
        );
        policy.touch(&mut s, 4 * MIN);
        assert_eq!(
            policy
                .resolve(Some(s), 8 * MIN, || Some(id(2)))
                .unwrap()
                .0
                .id,
            id(1)
        );
    }

    #[test]
    fn short_idle_limits_are_kept_alive_by_frequent_activity() {
        let policy = SessionPolicy {
            idle: 600,
            max_age: HOUR,
        };
        let (mut s, _) = policy.resolve(None, 0, || Some(id(1))).unwrap();
        let mut now = 0;
        while now < 3_000 {
            now += 200;
            policy.touch(&mut s, now);
            assert_eq!(
                policy
                    .resolve(Some(s), now + 199, || Some(id(2)))
                    .unwrap()
                    .0
                    .id,
                id(1),
                "at {now}"
            );
        }
    }

    #[test]
    fn touches_closer_than_a_second_are_not_written() {
        let policy = SessionPolicy::default();
        let (mut s, _) = policy.resolve(None, 0, || Some(id(1))).unwrap();
        assert!(!policy.touch(&mut s, 500));
        assert!(policy.touch(&mut s, 1_000));
        assert_eq!(s.last_active, 1_000);
    }
}
