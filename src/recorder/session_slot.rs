//! The session as this tab knows it: the stored value is read when the session is first needed
//! (so that nothing before it waits for storage) and comes in again whenever another tab writes
//! it; writes go out as [`Effect::Store`]. The rules are `session`'s.

use alloc::string::String;
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
    /// The slot's value as last read or seen written; `None` until the slot is first read.
    stored: Option<Option<Session>>,
    cached: Option<Session>,
}

impl SessionSlot {
    /// A slot not read yet.
    pub fn new(policy: SessionPolicy) -> SessionSlot {
        SessionSlot {
            policy,
            stored: None,
            cached: None,
        }
    }

    /// Another tab wrote the slot.
    pub fn changed(&mut self, value: Option<&str>) {
        self.stored = Some(value.and_then(Session::decode));
        self.cached = None;
    }

    /// The live session's ID, starting a new one (stored) if it expired; `read` gives the slot's
    /// text the first time it is needed.
    pub fn id(
        &mut self,
        now: Millis,
        read: impl FnOnce() -> Option<String>,
        mint: impl FnOnce() -> Option<Id>,
        effects: &mut Vec<Effect>,
    ) -> Option<Id> {
        if let Some(s) = self.cached.filter(|s| self.policy.is_live(s, now)) {
            return Some(s.id);
        }
        self.load(now, read, mint, effects).map(|s| s.id)
    }

    /// Records activity: keeps the session alive (or starts a new one) and stores it.
    pub fn touch(
        &mut self,
        now: Millis,
        read: impl FnOnce() -> Option<String>,
        mint: impl FnOnce() -> Option<Id>,
        effects: &mut Vec<Effect>,
    ) {
        if let Some(mut s) = self.load(now, read, mint, effects) {
            if self.policy.touch(&mut s, now) {
                self.write(s, effects);
            }
        }
    }

    fn load(
        &mut self,
        now: Millis,
        read: impl FnOnce() -> Option<String>,
        mint: impl FnOnce() -> Option<Id>,
        effects: &mut Vec<Effect>,
    ) -> Option<Session> {
        let stored = *self
            .stored
            .get_or_insert_with(|| read().as_deref().and_then(Session::decode));
        let (session, write) = self.policy.resolve(stored, now, mint)?;
        if write {
            self.write(session, effects);
        }
        self.cached = Some(session);
        Some(session)
    }

    fn write(&mut self, session: Session, effects: &mut Vec<Effect>) {
        effects.push(Effect::Store(Slot::Session, session.encode()));
        self.stored = Some(Some(session));
        self.cached = Some(session);
    }
}
