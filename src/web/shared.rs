//! The recorder's state in the page, shared by the patches, listeners and API objects, and the
//! operations they have in common: starting a request, settling it, starting an action.

use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use js_sys::RegExp;
use wasm_bindgen::JsValue;

use crate::Millis;
use crate::actions::{ActionKind, AutoEnd};
use crate::allowlist::Allowlist;
use crate::bounded::{push_bounded, take_first, take_unordered};
use crate::correlator::{Correlator, RequestFacts};
use crate::cors::{self, Refusals};
use crate::debug_id::DebugIds;
use crate::event::Severity;
use crate::id::Id;
use crate::options::Config;
use crate::origin::Origin;
use crate::page_events::{self, ActionOutcome, RequestDone, Settled};
use crate::propagation::{AppHeaders, Propagation};
use crate::retry::{request_key, split_key};
use crate::traceparent;
use crate::web::glue::{self, now};
use crate::web::pipeline::{Pipeline, TIMER_AUTO_ACTION};
use crate::web::plan::Decisions;
use crate::web::session_store::SessionKeeper;

/// Requests whose settlement is awaited, at most (about 150 bytes each); past this, half are
/// forgotten, and their `http.request` events with them. Every fetch and XHR settles in the
/// end, so only a page with this many requests pending at once reaches it.
const MAX_IN_FLIGHT: usize = 4096;
/// Actions not yet ended, at most; the oldest is forgotten (without an `action.end`) past this.
const MAX_LIVE_ACTIONS: usize = 64;

/// A tagged request that has not settled yet.
struct InFlight {
    token: u32,
    /// The ID Threadline gave it; `None` when the app set the correlation header itself.
    id: Option<Id>,
    /// `METHOD url` (see `retry::request_key`): also what the `http.request` event reports.
    key: String,
    started: Millis,
    attempt: u32,
    /// The trace ID of a `traceparent` another tracer put on the request, if it won over ours.
    trace: Option<Id>,
}

/// An action that has started and not ended, for its `action.end` event.
struct LiveAction {
    id: Id,
    name: String,
    started: Millis,
    requests: u32,
    failed: bool,
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
    /// Origins whose CORS preflight refused Threadline's headers: they get none any more.
    pub refusals: Refusals,
    /// The page's own origin (requests to it need no CORS preflight).
    pub page: Option<Origin>,
    /// The app's opaque user ID (`setUser`), on every event as `user.id`.
    pub user: Option<String>,
    pub correlator: Correlator,
    pub session: SessionKeeper,
    pub current: Option<CurrentAction>,
    /// The `Hooks` object the JS glue calls back into.
    pub hooks: JsValue,
    /// The pending timer that may end the automatic action.
    auto_timer: Option<JsValue>,
    in_flight: Vec<InFlight>,
    next_token: u32,
    live_actions: Vec<LiveAction>,
    /// What `debugId()` answers from.
    pub debug_ids: DebugIds,
    /// Where events go; `None` without an `endpoint`.
    pub pipeline: Option<Pipeline>,
    /// The headers part of plan answers, crossing into JavaScript only when it changes.
    pub decisions: Decisions,
}

/// Shared ownership of the recorder state.
pub(crate) type Handle = Rc<RefCell<Shared>>;

/// A request the shell follows: its token, and the ID and headers it adds (none when the app
/// set the correlation header itself: the request is only observed).
pub(crate) struct Planned {
    pub token: u32,
    pub id: Option<Id>,
    pub headers: Vec<(String, String)>,
}

impl Shared {
    /// The state for `config`; `upload_fetch` is the page's `fetch` before Threadline patched it.
    /// `None` when no random ID can be drawn.
    pub fn new(
        config: Config,
        regexes: Vec<RegExp>,
        page: Option<Origin>,
        upload_fetch: JsValue,
    ) -> Option<Shared> {
        let mut correlator = Correlator::new(config.retry_window);
        let tab = correlator.mint().ok()?;
        let pipeline = Pipeline::new(&config, upload_fetch, tab);
        let allow = Allowlist {
            page: if config.same_origin {
                page.clone()
            } else {
                None
            },
            patterns: config.propagate_to,
        };
        Some(Shared {
            correlator,
            session: SessionKeeper::open(config.session),
            allow,
            regexes,
            refusals: Refusals::default(),
            page,
            user: None,
            propagation: config.propagation,
            current: None,
            hooks: JsValue::UNDEFINED,
            auto_timer: None,
            in_flight: Vec::new(),
            next_token: 0,
            live_actions: Vec::new(),
            debug_ids: DebugIds::default(),
            pipeline,
            decisions: Decisions::default(),
        })
    }

    /// Whether a request to the absolute URL `href` may carry the correlation header: if so,
    /// whether it goes to the page's own origin.
    pub fn allows(&self, href: &str) -> Option<bool> {
        let origin = Origin::parse_url(href)?;
        if self.refusals.is_refused(&origin) {
            return None;
        }
        let same_origin = self.page.as_ref() == Some(&origin);
        if self.allow.allows(&origin) {
            return Some(same_origin);
        }
        if self.regexes.is_empty() {
            return None;
        }
        let text = origin.serialize();
        self.regexes
            .iter()
            .any(|re| re.test(&text))
            .then_some(same_origin)
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

    /// Whether event URLs keep their query string (`keepQueryString`).
    pub fn keeps_query(&self) -> bool {
        self.pipeline.as_ref().is_some_and(Pipeline::keeps_query)
    }

    /// Tags a request that is about to start. If the app set the correlation header itself
    /// (`app_has` answers for a header name, any letter case), nothing is added and, when events
    /// are recorded, the request is only followed for its `http.request` event.
    /// `app_traceparent` is the `traceparent` the app (or another tracer) set, if any.
    pub fn plan_request(
        &mut self,
        facts: &RequestFacts<'_>,
        app: &AppHeaders<'_>,
        app_traceparent: Option<&str>,
    ) -> Option<Planned> {
        let now = now();
        let trace = app_traceparent.and_then(traceparent::trace_id);
        if app.has(&self.propagation.header) {
            self.pipeline.as_ref()?;
            let token = self.next_token();
            let request = InFlight {
                token,
                id: None,
                key: request_key(facts.method, facts.url),
                started: now,
                attempt: 0,
                trace,
            };
            push_bounded(&mut self.in_flight, request, MAX_IN_FLIGHT);
            return Some(Planned {
                token,
                id: None,
                headers: Vec::new(),
            });
        }
        let tag = self.correlator.tag(facts, now).ok()?;
        let span = if self.propagation.traceparent {
            self.correlator.span().ok()
        } else {
            None
        };
        let session = if self.propagation.sends_session(app.same_origin) {
            self.session_id()
        } else {
            None
        };
        let user = self.user.as_deref();
        let headers = self.propagation.headers(tag.id, span, session, user, app);
        let token = self.next_token();
        if let Some(action) = self.live_actions.iter_mut().find(|a| a.id == tag.id) {
            action.requests = action.requests.saturating_add(1);
        }
        let request = InFlight {
            token,
            id: Some(tag.id),
            key: tag.key,
            started: now,
            attempt: tag.attempt,
            trace: trace.filter(|t| *t != tag.id),
        };
        push_bounded(&mut self.in_flight, request, MAX_IN_FLIGHT);
        Some(Planned {
            token,
            id: Some(tag.id),
            headers,
        })
    }

    /// A fresh request token (never 0).
    fn next_token(&mut self) -> u32 {
        self.next_token = self.next_token.wrapping_add(1).max(1);
        self.next_token
    }

    /// A planned request settled; `echoed` is the correlation header of its response,
    /// `sent_traceparent` the `traceparent` it went out with, when code below Threadline
    /// replaced Threadline's.
    pub fn settle_request(
        &mut self,
        token: u32,
        settled: Settled,
        echoed: Option<&str>,
        sent_traceparent: Option<&str>,
    ) {
        let Some(mut request) = take_unordered(&mut self.in_flight, |r| r.token == token) else {
            return;
        };
        if let Some(trace) = sent_traceparent.and_then(traceparent::trace_id) {
            if Some(trace) != request.id {
                request.trace = Some(trace);
            }
        }
        let now = now();
        if let Some(id) = request.id {
            self.correlator
                .settled(id, &request.key, settled.status(), now);
        }
        if settled.failed() {
            let action = self
                .live_actions
                .iter_mut()
                .find(|a| Some(a.id) == request.id);
            let action_id = action.map(|a| {
                a.failed = true;
                a.id
            });
            self.debug_ids.request_failed(echoed, action_id);
        }
        let keep_query = self.keeps_query();
        let (method, url) = split_key(&request.key);
        let done = RequestDone {
            method,
            url,
            settled,
            duration: now.saturating_sub(request.started),
            attempt: request.attempt,
            echoed,
            trace: request.trace,
        };
        // A request the app tagged itself belongs to the ID its server echoed, if that is one of
        // ours; else to the current action or the session.
        let correlation = request.id.or_else(|| echoed.and_then(Id::parse));
        // Stamped when the request started, so it sorts before what the servers logged for it.
        self.emit_at(
            correlation,
            Some(request.started),
            settled.severity(),
            |stamp, _| page_events::http_request(stamp, &done, keep_query),
        );
    }

    /// Whether tagged request `token`, which failed without a response, may be sent once more
    /// without Threadline's headers, as a refused CORS preflight would need (see `cors`).
    pub fn may_resend(&self, token: u32) -> bool {
        let Some(request) = self.in_flight.iter().find(|r| r.token == token) else {
            return false;
        };
        let (method, url) = split_key(&request.key);
        let page = self.page.as_ref();
        request.id.is_some()
            && Origin::parse_url(url).is_some_and(|to| cors::may_resend(method, &to, page))
    }

    /// The server at `href`'s origin refused Threadline's headers (the request answered once
    /// sent without them): its origin gets no headers from now on; the first time, a console
    /// warning says which line the server needs and a `threadline.cors_refused` event is recorded.
    pub fn cors_refused(&mut self, href: &str) {
        let Some(origin) = Origin::parse_url(href) else {
            return;
        };
        let name = origin.serialize();
        if !self.refusals.refuse(origin) {
            return;
        }
        let warning = cors::refusal_warning(&name, &self.propagation);
        glue::warn(&warning);
        self.emit(None, Severity::Warn, |stamp, _| {
            page_events::cors_refused(stamp, &name, &warning)
        });
    }

    /// Starts an action, which becomes current; counts as session activity. An automatic
    /// action it displaces ends here.
    pub fn start_action(
        &mut self,
        kind: ActionKind,
        name: String,
        source: Option<JsValue>,
        attributes: &str,
    ) -> Option<Id> {
        if let Some((previous, ActionKind::Auto)) = self.correlator.current_action() {
            self.end_action(previous, None);
        }
        let now = now();
        let id = self.correlator.start_action(kind, now).ok()?;
        push_bounded(
            &mut self.live_actions,
            LiveAction {
                id,
                name: name.clone(),
                started: now,
                requests: 0,
                failed: false,
            },
            MAX_LIVE_ACTIONS,
        );
        self.emit(Some(id), Severity::Info, |stamp, redactor| {
            page_events::action_start(stamp, &name, kind == ActionKind::Auto, attributes, redactor)
        });
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

    /// Ends action `id` if it is still alive; without an `outcome`, it is `error` if one of its
    /// requests failed, else `ok`.
    pub fn end_action(&mut self, id: Id, outcome: Option<ActionOutcome>) {
        self.correlator.end_action(id);
        if self.current.as_ref().is_some_and(|c| c.id == id) {
            self.current = None;
        }
        let Some(action) = take_first(&mut self.live_actions, |a| a.id == id) else {
            return;
        };
        let outcome = outcome.unwrap_or(if action.failed {
            ActionOutcome::Error
        } else {
            ActionOutcome::Ok
        });
        if outcome == ActionOutcome::Error {
            self.debug_ids.action_failed(id);
        }
        let duration = now().saturating_sub(action.started);
        self.emit(Some(id), outcome.severity(), |stamp, _| {
            page_events::action_end(stamp, &action.name, outcome, duration, action.requests)
        });
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
        AutoEnd::Ended(id) => shared.end_action(id, None),
        AutoEnd::CheckAt(at) => {
            let delay = i32::try_from(at.saturating_sub(now)).unwrap_or(i32::MAX);
            shared.auto_timer = Some(glue::tick_after(&shared.hooks, delay, TIMER_AUTO_ACTION));
        }
        AutoEnd::Nothing => {}
    }
}
