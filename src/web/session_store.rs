//! Keeps the session where the tabs of an origin share it (`js/page.js` picks localStorage,
//! else sessionStorage, else memory) and decides, through the core, when it is re-read.

use wasm_bindgen::JsValue;

use crate::Millis;
use crate::id::Id;
use crate::session::{Session, SessionPolicy};
use crate::web::glue;

/// The storage key the session lives under.
pub(crate) const SESSION_KEY: &str = "threadline.session";

/// The session as this tab knows it, re-read from storage whenever it may have changed.
pub(crate) struct SessionKeeper {
    slot: JsValue,
    policy: SessionPolicy,
    cached: Option<Session>,
}

impl SessionKeeper {
    /// Opens the best storage the page allows.
    pub fn open(policy: SessionPolicy) -> SessionKeeper {
        SessionKeeper {
            slot: glue::open_slot(SESSION_KEY),
            policy,
            cached: None,
        }
    }

    /// The live session's ID. Served from memory while the cached copy is live: another tab can
    /// only replace a session that has expired, and then this copy has expired too.
    pub fn id(&mut self, now: Millis, mint: impl FnOnce() -> Option<Id>) -> Option<Id> {
        if let Some(s) = self.cached.filter(|s| self.policy.is_live(s, now)) {
            return Some(s.id);
        }
        self.load(now, mint).map(|s| s.id)
    }

    /// Records activity: keeps the session alive (or starts a new one) and stores it.
    pub fn touch(&mut self, now: Millis, mint: impl FnOnce() -> Option<Id>) {
        if let Some(mut s) = self.load(now, mint) {
            if self.policy.touch(&mut s, now) {
                glue::slot_set(&self.slot, &s.encode());
                self.cached = Some(s);
            }
        }
    }

    /// Forgets the cached copy, e.g. when another tab wrote storage.
    pub fn forget_cached(&mut self) {
        self.cached = None;
    }

    fn load(&mut self, now: Millis, mint: impl FnOnce() -> Option<Id>) -> Option<Session> {
        let stored = glue::slot_get(&self.slot)
            .as_deref()
            .and_then(Session::decode);
        let (session, write) = self.policy.resolve(stored, now, mint)?;
        if write {
            glue::slot_set(&self.slot, &session.encode());
        }
        self.cached = Some(session);
        Some(session)
    }
}
