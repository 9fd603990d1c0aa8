//! The recorder's state in the page, shared by the patches, listeners and API objects, and the
//! operations they have in common: starting a request, settling it, starting an action.

use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use js_sys::RegExp;
use wasm_bindgen::JsValue;

use crate::actions::{ActionKind, AutoEnd};
use crate::allowlist::Allowlist;
use crate::bounded::{push_bounded, take_first};
use crate::correlator::{Correlator, RequestFacts};
use crate::id::Id;
use crate::options::Config;
use crate::origin::Origin;
use crate::propagation::Propagation;
use crate::web::glue::{self, now};
use crate::web::session_store::SessionKeeper;

/// Requests whose settlement is awaited, at most; the oldest is forgotten past this.
const MAX_IN_FLIGHT: usize = 512;

/// A tagged request that has not settled yet.
struct InFlight {
    token: u32,
    id: Id,
    key: String,
}

/// What the shell remembers about the current action beyond the core's ID and kind.
pub(crate) struct CurrentAction {
    pub id: Id,
    pub name: String,
    /// The element whose click started an automatic action.
    pub source: Option<JsValue>,
    /// The JavaScript `Action` object handed out for it, so `currentAction()` returns the same one.
    pub object: Option<JsValue>,
}

/// All recorder state; lives in an `Rc<RefCell<_>>` ([`Handle`]).
pub(crate) struct Shared {
    /// Which headers requests get.
    pub propagation: Propagation,
    pub allow: Allowlist,
    pub regexes: Vec<RegExp>,
    pub correlator: Correlator,
    pub session: SessionKeeper,
    pub current: Option<CurrentAction>,
    /// The `Hooks` object the JS glue calls back into.
    pub hooks: JsValue,
    /// The pending timer that may end the automatic action.
    auto_timer: Option<JsValue>,
    in_flight: Vec<InFlight>,
    next_token: u32,
}

/// Shared ownership of the recorder state.
pub(crate) type Handle = Rc<RefCell<Shared>>;

/// A request the shell has decided to tag: its token, ID and the headers to add.
pub(crate) struct Planned {
    pub token: u32,
    pub id: Id,
    pub headers: Vec<(String, String)>,
}

impl Shared {
    pub fn new(config: Config, regexes: Vec<RegExp>, page: Option<Origin>) -> Shared {
        let allow = Allowlist {
            page: if config.same_origin { page } else { None },
            patterns: config.propagate_to,
        };
        Shared {
            correlator: Correlator::new(config.retry_window),
            session: SessionKeeper::open(config.session),
            allow,
            regexes,
            propagation: config.propagation,
            current: None,
            hooks: JsValue::UNDEFINED,
            auto_timer: None,
            in_flight: Vec::new(),
            next_token: 0,
        }
    }

    /// Whether a request to the absolute URL `href` may carry the correlation header.
    pub fn allows(&self, href: &str) -> bool {
        let Some(origin) = Origin::parse_url(href) else {
            return false;
        };
        if self.allow.allows(&origin) {
            return true;
        }
        if self.regexes.is_empty() {
            return false;
        }
        let text = origin.serialize();
        self.regexes.iter().any(|re| re.test(&text))
    }

    /// The session ID, rotating it if it expired; reading it never extends it.
    pub fn session_id(&mut self) -> Option<Id> {
        let Shared {
            session,
            correlator,
            ..
        } = self;
        session.id(now(), || correlator.mint().ok())
    }

    /// Tags a request that is about to start, unless the app set the correlation header itself.
    /// `app_has` answers whether the app set a header (any letter case).
    pub fn plan_request(
        &mut self,
        facts: &RequestFacts<'_>,
        app_has: impl Fn(&str) -> bool,
    ) -> Option<Planned> {
        if app_has(&self.propagation.header) {
            return None;
        }
        let now = now();
        let tag = self.correlator.tag(facts, now).ok()?;
        let (span, session) = if self.propagation.traceparent {
            (self.correlator.span().ok(), self.session_id())
        } else {
            (None, None)
        };
        let headers = self.propagation.headers(tag.id, span, session, app_has);
        self.next_token = self.next_token.wrapping_add(1).max(1);
        let request = InFlight {
            token: self.next_token,
            id: tag.id,
            key: tag.key,
        };
        push_bounded(&mut self.in_flight, request, MAX_IN_FLIGHT);
        Some(Planned {
            token: self.next_token,
            id: tag.id,
            headers,
        })
    }

    /// A planned request settled: `status` is its HTTP status, or `None` for a network error
    /// or abort.
    pub fn settle_request(&mut self, token: u32, status: Option<u16>) {
        if let Some(request) = take_first(&mut self.in_flight, |r| r.token == token) {
            self.correlator
                .settled(request.id, &request.key, status, now());
        }
    }

    /// Starts an action, which becomes current; counts as session activity.
    pub fn start_action(
        &mut self,
        kind: ActionKind,
        name: String,
        source: Option<JsValue>,
    ) -> Option<Id> {
        let now = now();
        let id = self.correlator.start_action(kind, now).ok()?;
        let Shared {
            session,
            correlator,
            ..
        } = self;
        session.touch(now, || correlator.mint().ok());
        self.current = Some(CurrentAction {
            id,
            name,
            source,
            object: None,
        });
        Some(id)
    }

    /// Ends action `id` if it is still alive.
    pub fn end_action(&mut self, id: Id) {
        self.correlator.end_action(id);
        if self.current.as_ref().is_some_and(|c| c.id == id) {
            self.current = None;
        }
    }

    /// The current action's ID, kind and shell-side details.
    pub fn current_action(&mut self) -> Option<(ActionKind, &mut CurrentAction)> {
        let (id, kind) = self.correlator.current_action()?;
        self.current
            .as_mut()
            .filter(|c| c.id == id)
            .map(|c| (kind, c))
    }

    /// Clears the pending automatic-action timer, if any.
    pub fn cancel_auto_timer(&mut self) {
        if let Some(timer) = self.auto_timer.take() {
            glue::cancel_tick(&timer);
        }
    }

    /// The automatic-action timer fired, so it is no longer pending.
    pub fn timer_fired(&mut self) {
        self.auto_timer = None;
    }
}

/// Ends the automatic action when its requests are done, else sets a timer to check again.
pub(crate) fn schedule_auto_end(handle: &Handle) {
    let Ok(mut shared) = handle.try_borrow_mut() else {
        return;
    };
    let now = now();
    shared.cancel_auto_timer();
    match shared.correlator.poll_auto_action(now) {
        AutoEnd::Ended(id) => shared.end_action(id),
        AutoEnd::CheckAt(at) => {
            let delay = i32::try_from(at.saturating_sub(now)).unwrap_or(i32::MAX);
            shared.auto_timer = Some(glue::tick_after(&shared.hooks, delay));
        }
        AutoEnd::Nothing => {}
    }
}
