//! The recorder as one state machine, in the style of quinn-proto's `Connection`: one value holds
//! every piece of the recorder's state, each happening in the page comes in as a method call with
//! the time, and what to do about it comes out as [`Effect`]s (and, where the page waits for it,
//! a direct answer such as a request's [`Plan`]). It never touches the browser: the web shell
//! carries the effects out, and native tests drive whole page lives through it in milliseconds.

#[cfg(feature = "events")]
mod delivery;
#[cfg(not(feature = "events"))]
#[path = "no_delivery.rs"]
mod delivery;
pub mod effect;
pub mod limits;
mod requests;
mod session_slot;

use alloc::string::String;
use alloc::vec::Vec;

use crate::Millis;
use crate::action_names::auto_action_name;
use crate::actions::{ActionKind, AutoEnd};
use crate::allowlist::Allowlist;
use crate::baggage::{HeaderWrite, is_user_id};
use crate::correlator::{Correlator, RequestFacts};
use crate::cors::{self, Refusals};
use crate::debug_id::DebugIds;
use crate::event::Severity;
use crate::id::{Id, IdPool};
use crate::options::Config;
use crate::origin::Origin;
use crate::page_events::{self, ActionOutcome, RequestDone, Settled, Uncaught};
use crate::propagation::{AppHeaders, Propagation};
use crate::retry::split_key;
use crate::traceparent;

pub use delivery::Delivery;
pub use effect::{Effect, PromiseId, Slot, Timer};
pub use requests::Token;
pub use session_slot::SESSION_KEY;

use requests::{InFlight, Requests};
use session_slot::SessionSlot;

/// A request about to start, as the shell read it from the app's arguments.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The absolute URL.
    pub href: &'a str,
    /// The HTTP method as the app gave it.
    pub method: &'a str,
    /// The header names the app set, `,a,b,` in lower case.
    pub names: &'a str,
    /// The ID this same `Request` or XHR object carried before.
    pub previous: Option<Id>,
    /// The ID `action.fetch` insists on.
    pub forced: Option<Id>,
    /// The app's `traceparent` value, if any.
    pub traceparent: Option<&'a str>,
    /// The app's `baggage` value, if any.
    pub baggage: Option<&'a str>,
    /// Whether headers are replaced (fetch) or appended (XHR).
    pub write: HeaderWrite,
    /// Whether a tracer on the page appends its own trace headers (see [`AppHeaders::tracer`]).
    pub tracer: bool,
    /// The ID the request's correlation header holds, if it holds one.
    pub carried: Option<Id>,
}

/// What to do with a request about to start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Send it as it is, and report nothing.
    Untouched,
    /// The app set the correlation header itself: send it as it is, report how it settles.
    Observe(Token),
    /// Add `headers` (the correlation `id` first among them), report how it settles.
    Tag {
        /// Names it in the settlement.
        token: Token,
        /// Its correlation ID.
        id: Id,
        /// The headers to set, in order.
        headers: Vec<(String, String)>,
    },
}

/// A `log` call, or an event of Threadline's own UI, as the shell hands it over.
#[derive(Clone, Copy, Debug)]
pub struct LogCall<'a> {
    /// `log`, or `ui.…` for Threadline's own UI.
    pub name: &'a str,
    /// The level it was logged at.
    pub severity: Severity,
    /// The message.
    pub message: &'a str,
    /// The attributes as the shell flattened them (see `attributes`).
    pub attributes: &'a str,
    /// The page's path when the shell read it with the call; else it is read when stamped.
    pub path: Option<&'a str>,
    /// The ID the event belongs to; else the current action's, else the session's.
    pub correlation: Option<Id>,
}

/// An automatic action's trigger: a click on an actionable element, or a form submit.
#[derive(Clone, Copy, Debug)]
pub struct Trigger<'a> {
    /// What the page read from the element (and a submit's submitter) to name the action:
    /// the fields of [`crate::action_names::NAME_ATTRIBUTES`].
    pub fields: &'a str,
    /// A form submit rather than a click.
    pub is_submit: bool,
    /// The submit comes from the element whose click started the current automatic action.
    pub same_element: bool,
}

/// What the core reads from the page when it needs it: the path, on every event (the shell's
/// reads `location.pathname`), and the session slot's stored text, once, when the session is
/// first needed (so that requests that do not carry the session never wait for storage). A type
/// parameter, not a trait object: an indirect call would keep every function reachable through
/// the wasm table in the download.
pub trait PagePath {
    /// The page's path now.
    fn path(&mut self) -> String;
    /// The text stored under [`SESSION_KEY`], if any.
    fn stored_session(&mut self) -> Option<String>;
}

/// What the page passed to `setUser(id)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserGiven<'a> {
    /// `null` or `undefined`: no user.
    Clear,
    /// A string.
    Text(&'a str),
    /// Anything else.
    Other,
}

/// Said when `setUser` is given something that is not an opaque user ID.
pub const USER_WARNING: &str = "setUser(id): expected an opaque user ID (1 to 128 printable ASCII characters without spaces, quotes, commas, semicolons, backslashes or @: hash personal data first); the user ID is unchanged.";

/// Said when `log` is given a level that is not one of the four.
pub const LEVEL_WARNING: &str =
    "log(level): expected \"debug\", \"info\", \"warn\" or \"error\"; recorded as \"info\".";

/// All of the recorder's state.
pub struct Recorder<P: PagePath> {
    correlator: Correlator,
    propagation: Propagation,
    allow: Allowlist,
    /// Whether `propagateTo` has `RegExp` entries (the shell tests them).
    regexes: bool,
    /// Origins whose CORS preflight refused Threadline's headers: they get none any more.
    refusals: Refusals,
    page: Option<Origin>,
    user: Option<String>,
    session: SessionSlot,
    requests: Requests,
    debug_ids: DebugIds,
    /// When the automatic-action timer is set for.
    auto_timer: Option<Millis>,
    path: P,
    effects: Vec<Effect>,
    delivery: Option<Delivery>,
}

impl<P: PagePath> Recorder<P> {
    /// The recorder for `config` on a page at `page`; `regexes` says whether `propagateTo` has
    /// `RegExp` entries. `None` when no random ID can be drawn.
    pub fn new(
        config: Config,
        page: Option<Origin>,
        regexes: bool,
        ids: IdPool,
        path: P,
    ) -> Option<Recorder<P>> {
        let mut correlator = Correlator::with_ids(config.retry_window, ids);
        let tab = correlator.mint().ok()?;
        let delivery = Delivery::new(&config, tab);
        let allow = Allowlist {
            page: config.same_origin.then(|| page.clone()).flatten(),
            patterns: config.propagate_to,
        };
        Some(Recorder {
            correlator,
            propagation: config.propagation,
            allow,
            regexes,
            refusals: Refusals::default(),
            page,
            user: None,
            session: SessionSlot::new(config.session),
            requests: Requests::default(),
            debug_ids: DebugIds::default(),
            auto_timer: None,
            path,
            effects: Vec::new(),
            delivery,
        })
    }

    /// The effects decided since the last call, in the order to carry them out.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        core::mem::take(&mut self.effects)
    }

    /// Whether there are effects to carry out.
    pub fn has_effects(&self) -> bool {
        !self.effects.is_empty()
    }

    /// The correlation header's name.
    pub fn header(&self) -> &str {
        &self.propagation.header
    }

    /// Whether events are recorded and sent (an `endpoint` was given).
    pub fn sends_events(&self) -> bool {
        self.delivery.is_some()
    }

    /// The session ID, rotating it if it expired; reading it never extends it.
    pub fn session_id(&mut self, now: Millis) -> Option<Id> {
        let Self {
            session,
            correlator,
            effects,
            path,
            ..
        } = self;
        session.id(
            now,
            || path.stored_session(),
            || correlator.mint().ok(),
            effects,
        )
    }

    /// `setUser(id)` as the page called it: the app's opaque or hashed user ID, on every event
    /// and, with `userInBaggage`, in `baggage`; [`UserGiven::Clear`] clears it. Anything that is
    /// not an opaque ID ([`is_user_id`]: no e-mail address, spaces, quotes, commas, nothing over
    /// 128 characters) is refused with a warning, and the user ID stays as it was.
    pub fn set_user(&mut self, given: UserGiven<'_>) {
        match given {
            UserGiven::Clear => self.user = None,
            UserGiven::Text(user) if is_user_id(user) => self.user = Some(String::from(user)),
            _ => self.warn(USER_WARNING),
        }
    }

    /// Another tab wrote storage key `key` (`None`: removed, or all of storage cleared).
    pub fn storage_changed(&mut self, key: Option<&str>, value: Option<&str>) {
        if key.is_none_or(|k| k == SESSION_KEY) {
            self.session
                .changed(if key.is_some() { value } else { None });
        }
        if let Some(delivery) = self.delivery.as_mut() {
            delivery.storage_changed(key, value);
        }
    }

    /// Whether a request to the absolute URL `href` may carry the correlation header: if so,
    /// whether it goes to the page's own origin. `regex` tests an origin against the `RegExp`
    /// entries of `propagateTo`.
    fn allows(&self, href: &str, regex: impl Fn(&str) -> bool) -> Option<bool> {
        let origin = Origin::parse_url(href)?;
        if self.refusals.is_refused(&origin) {
            return None;
        }
        let same_origin = self.page.as_ref() == Some(&origin);
        if self.allow.allows(&origin) || (self.regexes && regex(&origin.serialize())) {
            return Some(same_origin);
        }
        None
    }

    /// A request is about to start: which headers it gets. If the app set the correlation
    /// header itself, nothing is added and, when events are recorded, the request is only
    /// followed for its `http.request` event.
    pub fn request_starting(
        &mut self,
        now: Millis,
        request: &Request<'_>,
        regex: impl Fn(&str) -> bool,
    ) -> Plan {
        self.plan(now, request, regex).unwrap_or(Plan::Untouched)
    }

    fn plan(
        &mut self,
        now: Millis,
        request: &Request<'_>,
        regex: impl Fn(&str) -> bool,
    ) -> Option<Plan> {
        if let Some(outer) = request.carried.and_then(|id| self.requests.latest_with(id)) {
            // One of Threadline's own requests on its way down the chain (`action.fetch` through
            // other wrappers, a fetch polyfill's XHR): the wrapper that tagged it follows it.
            // A `traceparent` it carries here that is not Threadline's was put on by a tracer
            // in between, and is the one sent.
            let trace = request.traceparent.and_then(traceparent::trace_id);
            if let Some(trace) = trace.filter(|t| Some(*t) != outer.id) {
                outer.trace = Some(trace);
            }
            return None;
        }
        let app = AppHeaders {
            same_origin: self.allows(request.href, regex)?,
            names: request.names,
            baggage: request.baggage,
            write: request.write,
            tracer: request.tracer,
        };
        let trace = request.traceparent.and_then(traceparent::trace_id);
        if app.has(&self.propagation.header) {
            self.delivery.as_ref()?;
            let token = self.requests.next_token();
            let key = crate::retry::request_key(request.method, request.href);
            self.follow(InFlight {
                token,
                id: None,
                key,
                started: now,
                attempt: 0,
                trace,
            });
            return Some(Plan::Observe(token));
        }
        let facts = RequestFacts {
            method: request.method,
            url: request.href,
            forced: request.forced,
            same_object: request.previous,
        };
        let tag = self.correlator.tag(&facts, now).ok()?;
        let span = if self.propagation.traceparent {
            self.correlator.span().ok()
        } else {
            None
        };
        let session = if self.propagation.sends_session(app.same_origin) {
            self.session_id(now)
        } else {
            None
        };
        let headers = self
            .propagation
            .headers(tag.id, span, session, self.user.as_deref(), &app);
        let token = self.requests.next_token();
        self.follow(InFlight {
            token,
            id: Some(tag.id),
            key: tag.key,
            started: now,
            attempt: tag.attempt,
            trace: trace.filter(|t| *t != tag.id),
        });
        Some(Plan::Tag {
            token,
            id: tag.id,
            headers,
        })
    }

    /// Follows a request; those forgotten to make room lose their `http.request` event, which
    /// is counted as dropped.
    fn follow(&mut self, request: InFlight) {
        let forgotten = self.requests.push(request);
        if forgotten > 0 {
            if let Some(delivery) = self.delivery.as_mut() {
                delivery.count_forgotten(forgotten);
            }
        }
    }

    /// How many requests are followed until they settle.
    pub fn requests_in_flight(&self) -> usize {
        self.requests.len()
    }

    /// A planned request settled; `echoed` is the correlation header of its response,
    /// `sent_traceparent` the `traceparent` it went out with, when code below Threadline
    /// replaced Threadline's.
    pub fn request_settled(
        &mut self,
        now: Millis,
        token: Token,
        settled: Settled,
        echoed: Option<&str>,
        sent_traceparent: Option<&str>,
    ) {
        let Some(mut request) = self.requests.take(token) else {
            return;
        };
        if let Some(trace) = sent_traceparent.and_then(traceparent::trace_id) {
            if Some(trace) != request.id {
                request.trace = Some(trace);
            }
        }
        if let Some(id) = request.id {
            self.correlator
                .settled(id, &request.key, settled.status(), now);
        }
        if settled.failed() {
            let action = request.id.and_then(|id| self.correlator.request_failed(id));
            self.debug_ids.request_failed(echoed, action);
        }
        if self.is_recorded(settled.severity()) {
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
            // A request the app tagged itself belongs to the ID its server echoed, if that is
            // one of ours; else to the current action or the session.
            let correlation = request.id.or_else(|| echoed.and_then(Id::parse));
            // Stamped when the request started, so it sorts before what the servers logged.
            self.emit_at(now, correlation, Some(request.started), None, |stamp, _| {
                page_events::http_request(stamp, &done, keep_query)
            });
        }
        self.schedule_auto_end(now);
    }

    /// Whether tagged request `token`, which failed without a response, may be sent once more
    /// without Threadline's headers, as a refused CORS preflight would need (see `cors`).
    pub fn may_resend(&self, token: Token) -> bool {
        let Some(request) = self.requests.get(token) else {
            return false;
        };
        let (method, url) = split_key(&request.key);
        request.id.is_some()
            && Origin::parse_url(url)
                .is_some_and(|to| cors::may_resend(method, &to, self.page.as_ref()))
    }

    /// The server at `href`'s origin refused Threadline's headers (the request answered once
    /// sent without them): its origin gets no headers from now on; the first time, a warning
    /// says which line the server needs and a `threadline.cors_refused` event is recorded.
    pub fn cors_refused(&mut self, now: Millis, href: &str) {
        let Some(origin) = Origin::parse_url(href) else {
            return;
        };
        let name = origin.serialize();
        if !self.refusals.refuse(origin) {
            return;
        }
        let warning = cors::refusal_warning(&name, &self.propagation);
        self.emit(now, None, Severity::Warn, |stamp, _| {
            page_events::cors_refused(stamp, &name, &warning)
        });
        self.effects.push(Effect::Warn(warning));
    }

    /// The level a `log` call is recorded at: the one it named, else `info`, after a warning.
    pub fn log_level(&mut self, named: Option<Severity>) -> Severity {
        named.unwrap_or_else(|| {
            self.warn(LEVEL_WARNING);
            Severity::Info
        })
    }

    /// A console warning for the shell to write (already worded).
    pub fn warn(&mut self, text: &str) {
        self.effects.push(Effect::Warn(String::from(text)));
    }

    /// `startAction(name, attributes)`: a new action, current until it ends or another starts;
    /// `attributes` as the walker flattened them. `None` when no random ID can be drawn.
    pub fn start_action(&mut self, now: Millis, name: &str, attributes: &str) -> Option<Id> {
        let id = self.begin_action(now, ActionKind::Explicit, name, attributes);
        self.schedule_auto_end(now);
        id
    }

    /// A click or submit: starts an automatic action unless an explicit one is current, or the
    /// submit comes from the button whose click started the current automatic action.
    pub fn trigger(&mut self, now: Millis, trigger: &Trigger<'_>) -> Option<Id> {
        if let Some((_, kind)) = self.correlator.current_action() {
            if kind == ActionKind::Explicit || (trigger.is_submit && trigger.same_element) {
                return None;
            }
        }
        let name = auto_action_name(trigger.fields, trigger.is_submit);
        let id = self.begin_action(now, ActionKind::Auto, name, "");
        self.schedule_auto_end(now);
        id
    }

    fn begin_action(
        &mut self,
        now: Millis,
        kind: ActionKind,
        name: &str,
        attributes: &str,
    ) -> Option<Id> {
        if let Some((previous, ActionKind::Auto)) = self.correlator.current_action() {
            self.finish_action(now, previous, None);
        }
        let name = action_name(name);
        let label = self.is_recorded(Severity::Info).then(|| name.clone());
        let id = self.correlator.start_action(kind, name, now).ok()?;
        let auto = kind == ActionKind::Auto;
        if let Some(name) = label {
            self.emit(now, Some(id), Severity::Info, |stamp, redactor| {
                page_events::action_start(stamp, &name, auto, attributes, redactor)
            });
        }
        let Self {
            session,
            correlator,
            effects,
            path,
            ..
        } = self;
        session.touch(
            now,
            || path.stored_session(),
            || correlator.mint().ok(),
            effects,
        );
        Some(id)
    }

    /// `action.end(outcome)`: ends action `id` if it is still alive (ending twice is harmless).
    pub fn end_action(&mut self, now: Millis, id: Id, outcome: ActionOutcome) {
        self.finish_action(now, id, Some(outcome));
        self.schedule_auto_end(now);
    }

    /// Ends action `id`; without an `outcome`, it is `error` if one of its requests failed.
    fn finish_action(&mut self, now: Millis, id: Id, outcome: Option<ActionOutcome>) {
        let Some(action) = self.correlator.end_action(id) else {
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
        let duration = now.saturating_sub(action.started);
        self.emit(now, Some(id), outcome.severity(), |stamp, _| {
            page_events::action_end(stamp, &action.name, outcome, duration, action.requests)
        });
    }

    /// The current action: its ID, name and whether it started by itself.
    pub fn current_action(&self) -> Option<(Id, &str, bool)> {
        self.correlator
            .current_live_action()
            .map(|a| (a.id, a.name.as_str(), a.kind == ActionKind::Auto))
    }

    /// The ID a user should report now (see `debug_id`).
    pub fn debug_id(&self) -> Option<String> {
        let current = self.correlator.current_action().map(|(id, _)| id);
        self.debug_ids.answer(current)
    }

    /// Ends the automatic action when its requests are done, else sets its timer.
    fn schedule_auto_end(&mut self, now: Millis) {
        match self.correlator.poll_auto_action(now) {
            AutoEnd::Ended(id) => {
                self.finish_action(now, id, None);
                self.set_auto_timer(None);
            }
            AutoEnd::CheckAt(at) => self.set_auto_timer(Some(at)),
            AutoEnd::Nothing => self.set_auto_timer(None),
        }
    }

    fn set_auto_timer(&mut self, at: Option<Millis>) {
        if self.auto_timer == at {
            return;
        }
        self.auto_timer = at;
        self.effects.push(match at {
            Some(at) => Effect::SetTimer(Timer::AutoAction, at),
            None => Effect::CancelTimer(Timer::AutoAction),
        });
    }

    /// A timer the recorder set fired.
    pub fn timer_fired(&mut self, now: Millis, timer: Timer) {
        match timer {
            Timer::AutoAction => {
                self.auto_timer = None;
                self.schedule_auto_end(now);
            }
            Timer::Batch => self.batch_timer_fired(now),
            Timer::FlushDeadline => self.flush_deadline(now),
        }
    }

    /// `log(level, message, attributes)`, or an event of Threadline's own UI.
    pub fn log(&mut self, now: Millis, call: &LogCall<'_>) {
        if self.is_recorded(call.severity) {
            self.emit_at(now, call.correlation, None, call.path, |stamp, redactor| {
                page_events::log(
                    stamp,
                    call.name,
                    call.severity,
                    call.message,
                    call.attributes,
                    redactor,
                )
            });
        }
    }

    /// An uncaught error or unhandled rejection.
    pub fn uncaught(&mut self, now: Millis, uncaught: &Uncaught<'_>) {
        self.emit(now, None, Severity::Error, |stamp, _| {
            page_events::error(stamp, uncaught)
        });
    }

    /// A `console.error` (`is_error`) or `console.warn` line.
    pub fn console(&mut self, now: Millis, is_error: bool, message: &str) {
        let severity = if is_error {
            Severity::Error
        } else {
            Severity::Warn
        };
        self.emit(now, None, severity, |stamp, _| {
            page_events::console(stamp, severity, message)
        });
    }

    /// Requests started between `init` and the recorder being ready: `held` waited and were
    /// planned, `untagged` went out untouched; the longest wait, in ms.
    pub fn startup(&mut self, now: Millis, held: u32, untagged: u32, waited_ms: u32) {
        self.emit(now, None, Severity::Info, |stamp, _| {
            page_events::startup(stamp, held, untagged, waited_ms)
        });
    }

    /// A message of `bytes` is about to be sent on the socket at `url`: records `ws.send` and
    /// answers the IDs a JSON object message carries (the action's, outside one none; the
    /// session's), or `None` when there is nothing to add.
    pub fn socket_sent(&mut self, now: Millis, url: &str, bytes: u64) -> Option<(Option<Id>, Id)> {
        let action = self.correlator.current_action().map(|(id, _)| id);
        let session = self.session_id(now);
        let keep_query = self.keeps_query();
        self.emit(now, action, Severity::Info, |stamp, _| {
            page_events::ws_message(stamp, true, url, bytes, None, keep_query)
        });
        session.map(|s| (action, s))
    }

    /// A message of `bytes` arrived on the socket at `url` carrying `correlation`: recorded as
    /// `ws.message` under it when it is a Threadline ID, else beside it.
    pub fn socket_received(&mut self, now: Millis, url: &str, correlation: &str, bytes: u64) {
        let ours = Id::parse(correlation);
        let foreign = ours.is_none().then_some(correlation);
        let keep_query = self.keeps_query();
        self.emit(now, ours, Severity::Info, |stamp, _| {
            page_events::ws_message(stamp, false, url, bytes, foreign, keep_query)
        });
    }

    /// `shutdown()`: flushes (settling `promise`), then stops: no more timers or uploads once
    /// that flush settled, and the automatic action's timer is cleared now.
    pub fn shutdown(&mut self, now: Millis, promise: PromiseId) {
        self.flush(now, promise, true);
        self.set_auto_timer(None);
    }
}

/// An action's name: cut to the one cap and trimmed (so a cut never ends in a space), `action`
/// when nothing is left.
fn action_name(name: &str) -> String {
    let name = name.trim_ascii_start();
    let cut = match name.char_indices().nth(limits::MAX_ACTION_NAME_CHARS) {
        Some((at, _)) => name.get(..at).unwrap_or(name),
        None => name,
    };
    let cut = cut.trim_ascii_end();
    String::from(if cut.is_empty() { "action" } else { cut })
}
