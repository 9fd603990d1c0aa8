//! Keeps the session in `localStorage` so the tabs of an origin share it, falling back to
//! `sessionStorage` and then memory when storage throws (private modes, sandboxed frames, quota).

use alloc::string::String;

use crate::Millis;
use crate::id::Id;
use crate::session::{Session, SessionPolicy};

/// The storage key the session lives under.
pub(crate) const SESSION_KEY: &str = "threadline.session";

/// Where the encoded session is kept.
enum Store {
    Local(web_sys::Storage),
    Tab(web_sys::Storage),
    Memory(Option<String>),
}

impl Store {
    fn open() -> Store {
        let Some(window) = web_sys::window() else {
            return Store::Memory(None);
        };
        if let Some(storage) = window.local_storage().ok().flatten().filter(usable) {
            return Store::Local(storage);
        }
        if let Some(storage) = window.session_storage().ok().flatten().filter(usable) {
            return Store::Tab(storage);
        }
        Store::Memory(None)
    }

    fn get(&self) -> Option<String> {
        match self {
            Store::Local(s) | Store::Tab(s) => s.get_item(SESSION_KEY).ok().flatten(),
            Store::Memory(value) => value.clone(),
        }
    }

    fn set(&mut self, value: String) {
        let failed = match self {
            Store::Local(s) | Store::Tab(s) => s.set_item(SESSION_KEY, &value).is_err(),
            Store::Memory(slot) => {
                *slot = Some(value.clone());
                false
            }
        };
        if failed {
            *self = Store::Memory(Some(value));
        }
    }
}

/// Whether a storage object accepts a write (some throw on every write).
fn usable(storage: &web_sys::Storage) -> bool {
    let probe = "threadline.probe";
    storage.set_item(probe, "1").is_ok() && storage.remove_item(probe).is_ok()
}

/// The session as this tab knows it, re-read from storage whenever it may have changed.
pub(crate) struct SessionKeeper {
    store: Store,
    policy: SessionPolicy,
    cached: Option<Session>,
}

impl SessionKeeper {
    /// Opens the best storage the page allows.
    pub fn open(policy: SessionPolicy) -> SessionKeeper {
        SessionKeeper {
            store: Store::open(),
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
                self.store.set(s.encode());
                self.cached = Some(s);
            }
        }
    }

    /// Forgets the cached copy, e.g. when another tab wrote storage.
    pub fn forget_cached(&mut self) {
        self.cached = None;
    }

    fn load(&mut self, now: Millis, mint: impl FnOnce() -> Option<Id>) -> Option<Session> {
        let stored = self.store.get().as_deref().and_then(Session::decode);
        let (session, write) = self.policy.resolve(stored, now, mint)?;
        if write {
            self.store.set(session.encode());
        }
        self.cached = Some(session);
        Some(session)
    }
}
