//! The session as this tab knows it: the stored value comes in (at start and whenever another
//! tab writes it), writes go out as [`Effect::Store`]. The rules are `session`'s.

use alloc::vec::Vec;

use crate::Millis;
use crate::id::Id;
use crate::recorder::effect::{Effect, Slot};
use crate::session::{Session, SessionPolicy};

/// The storage key the session lives under.
pub const SESSION_KEY: &str = "threadline.session";

/// The session slot's last known value and this tab's copy of it.
pub(crate) struct SessionSlot {
    policy: SessionPolicy,
    stored: Option<Session>,
    cached: Option<Session>,
}

impl SessionSlot {
    /// A slot holding `stored` (the slot's text when the recorder started).
    pub fn new(policy: SessionPolicy, stored: Option<&str>) -> SessionSlot {
        SessionSlot {
            policy,
            stored: stored.and_then(Session::decode),
            cached: None,
        }
    }

    /// Another tab wrote the slot.
    pub fn changed(&mut self, value: Option<&str>) {
        self.stored = value.and_then(Session::decode);
        self.cached = None;
    }

    /// The live session's ID, starting a new one (stored) if it expired.
    pub fn id(
        &mut self,
        now: Millis,
        mint: impl FnOnce() -> Option<Id>,
        effects: &mut Vec<Effect>,
    ) -> Option<Id> {
        if let Some(s) = self.cached.filter(|s| self.policy.is_live(s, now)) {
            return Some(s.id);
        }
        self.load(now, mint, effects).map(|s| s.id)
    }

    /// Records activity: keeps the session alive (or starts a new one) and stores it.
    pub fn touch(
        &mut self,
        now: Millis,
        mint: impl FnOnce() -> Option<Id>,
        effects: &mut Vec<Effect>,
    ) {
        if let Some(mut s) = self.load(now, mint, effects) {
            if self.policy.touch(&mut s, now) {
                self.write(s, effects);
            }
        }
    }

    fn load(
        &mut self,
        now: Millis,
        mint: impl FnOnce() -> Option<Id>,
        effects: &mut Vec<Effect>,
    ) -> Option<Session> {
        let (session, write) = self.policy.resolve(self.stored, now, mint)?;
        if write {
            self.write(session, effects);
        }
        self.cached = Some(session);
        Some(session)
    }

    fn write(&mut self, session: Session, effects: &mut Vec<Effect>) {
        effects.push(Effect::Store(Slot::Session, session.encode()));
        self.stored = Some(session);
        self.cached = Some(session);
    }
}
