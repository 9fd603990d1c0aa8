//! The JS↔wasm protocol, the one definition on the Rust side (`js/protocol.js` is the
//! JavaScript side), in the native core so that native tests read and answer it as the web shell
//! does (the shell, `src/web/`, only moves its numbers and strings across): the happenings the
//! glue reports through one entry, `hooks.on`, with typed codes ([`Happening`], `SETTLED_*`,
//! `PAGE_*`, and [`Timer`]'s codes) and which core call each is ([`on`]), and how a request is
//! described for planning and how the plan comes back ([`plan`]).
//!
//! Planning a request: JavaScript hands over one string, the fields below joined by `\n` (which
//! none of them can contain; an empty field means "none"): href, method, the header names the
//! app set (`,a,b,` in lower case), the ID the same object carried before, the ID to force, the
//! `traceparent` and `baggage` values it carries, and its correlation header's value (so that a
//! request Threadline tagged, met again further down the chain, is left alone); and, as a number,
//! the request's kind
//! ([`KIND_XHR`] for an XHR, whose headers can only be appended; 0 for a fetch; plus
//! [`KIND_TRACER`] when a tracer on the page adds its own trace headers). The answer is one
//! number, `token * PLAN_CODES + code`, so the requests of one action cross no string: the code
//! ([`PLAN_UNTOUCHED`], [`PLAN_SAME_HEADERS`], [`PLAN_NEW_HEADERS`], [`PLAN_OBSERVE`]) says
//! whether to leave the request alone, add the headers the last [`Decisions::take`] handed out,
//! add new ones (which JavaScript then takes, `id\nname\nvalue…`), or only report how it ends
//! (the app set the correlation header itself).
//!
//! The public `Recorder` (`js/index.d.ts`) crosses as one exported method, `_call(method, a, b,
//! c)`, with a [`RecorderMethod`] code: `js/protocol.js` defines the named methods on top, so
//! that each costs no export and no shim. An `Action` is a plain object of the glue
//! (`js/action.js`) that reports through the hooks (`Happening::ActionEnd`).
//!
//! `log` calls cross together, as one string of entries ([`LogEntry`]), each level as a code
//! ([`LEVELS`]).
//!
//! [`Timer`]: crate::recorder::Timer

use alloc::string::String;

use crate::Millis;
use crate::baggage::HeaderWrite;
use crate::event::Severity;
use crate::id::Id;
use crate::page_events::{ActionOutcome, Settled, Uncaught};
use crate::recorder::{PagePath, Plan, Recorder, Request, Timer};
use crate::text::{parse_decimal, split_byte};

/// A request's kind, the second argument of `hooks.plan`, for an XHR (0 is a fetch).
pub const KIND_XHR: u8 = 1;
/// Added to the kind when a tracer on the page appends its own `traceparent` and `baggage`
/// whatever a request carries (Datadog RUM): the recorder then adds neither, as if the app had
/// set them, so a request never carries two.
pub const KIND_TRACER: u8 = 2;

/// A plan answer's code: leave the request alone.
pub const PLAN_UNTOUCHED: u8 = 0;
/// Add the headers JavaScript took last.
pub const PLAN_SAME_HEADERS: u8 = 1;
/// Add new headers, which JavaScript takes with `hooks.ask` ([`Question::Decision`]).
pub const PLAN_NEW_HEADERS: u8 = 2;
/// Add nothing (the app set the correlation header): only report how the request ends.
pub const PLAN_OBSERVE: u8 = 3;
/// How many plan codes there are: an answer is `token * PLAN_CODES + code`.
pub const PLAN_CODES: u8 = 4;

coded! {
    /// What a call of `hooks.on(happening, a, b, c, s1, s2, s3)` reports; the meaning of the
    /// numbers and texts for each is listed in `js/protocol.js`.
    pub enum Happening {
        /// A planned request ended.
        Settled,
        /// Whether a failed request may go once more without headers.
        MayResend,
        /// A request answered once sent without headers.
        CorsRefused,
        /// What happened to requests before the recorder was ready.
        Startup,
        /// An upload ended.
        Uploaded,
        /// The page was hidden, shown again or came back online.
        Lifecycle,
        /// A `console.warn` or `console.error` line.
        Console,
        /// A timer fired.
        Tick,
        /// A socket message arrived carrying a correlation ID.
        SocketReceived,
        /// Another tab wrote storage.
        StorageChanged,
        /// An uncaught error or unhandled rejection.
        Uncaught,
        /// A click on an actionable element or a form submit.
        Action,
        /// `action.end(outcome)`.
        ActionEnd,
    }
}

coded! {
    /// What a call of `hooks.ask(question, text, n)` asks, to be answered with text (`QUESTION` in
    /// `js/protocol.js`).
    pub enum Question {
        /// The headers part of the latest plan answer ([`Decisions::take`]).
        Decision,
        /// The IDs a socket message about to be sent carries: `text` is the socket's URL, `n` the
        /// message's size.
        SocketSent,
    }
}

coded! {
    /// A method of the public `Recorder`, the first argument of its `_call` (`RECORDER_METHODS` in
    /// `js/protocol.js`, in this order); the others are the method's arguments (for `log` and
    /// `recordUi`, as the entries `logEntry` writes).
    pub enum RecorderMethod {
        /// `sessionId()`.
        SessionId,
        /// `startAction(name)`.
        StartAction,
        /// `debugId()`.
        DebugId,
        /// `currentAction()`.
        CurrentAction,
        /// `log(level, message, attributes)`: the calls of a task together ([`LogEntry`]).
        Log,
        /// `setUser(id)`.
        SetUser,
        /// `socket(ws)`.
        Socket,
        /// The error dialog's events (`recordUi(name, entry, debugId)`, used by
        /// `showErrorDialog`).
        RecordUi,
        /// `flush()`.
        Flush,
        /// `shutdown()`.
        Shutdown,
    }
}

/// How a request settled (`Happening::Settled`'s `c`): with a response.
pub const SETTLED_RESPONSE: u8 = 0;
/// The app aborted it (any other code: no response, the network failed or CORS refused it).
pub const SETTLED_ABORTED: u8 = 2;

/// Page lifecycle changes (`Happening::Lifecycle`'s `a`): hidden or left.
pub const PAGE_HIDDEN: u8 = 0;
/// Shown again.
pub const PAGE_VISIBLE: u8 = 1;
/// Back online.
pub const PAGE_ONLINE: u8 = 2;

/// The `log` levels by code (`LEVEL` in `js/protocol.js`), from 1; 0 is not a level.
pub const LEVELS: [Severity; 4] = [
    Severity::Debug,
    Severity::Info,
    Severity::Warn,
    Severity::Error,
];

/// The code of the lowest level `core` records; past the last when it records none.
pub fn lowest_recorded<P: PagePath>(core: &Recorder<P>) -> u32 {
    let index = LEVELS
        .iter()
        .position(|s| core.is_recorded(*s))
        .unwrap_or(LEVELS.len());
    u32::try_from(index).map_or(u32::MAX, |i| i + 1)
}

/// A count from JavaScript as an integer (negative or NaN counts as 0).
pub fn whole(n: f64) -> u64 {
    // Counts, lengths and statuses, far below 2^53.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let n = n.max(0.0) as u64;
    n
}

/// A token, batch ID or count from JavaScript.
pub fn token(n: f64) -> u32 {
    u32::try_from(whole(n)).unwrap_or(u32::MAX)
}

/// A code from JavaScript.
pub fn small(n: f64) -> u8 {
    u8::try_from(whole(n)).unwrap_or(u8::MAX)
}

/// A `log` call as `logEntry` in `js/log-entry.js` writes it; the calls of one task cross together,
/// their entries one after the other ([`LogEntry::read`] takes the first). An entry is the
/// level's code as a digit, then either `.` (the level is below the lowest recorded: only the
/// code crosses, for the warning about a value that is not a level) or the time in ms, `\0`,
/// the page's path, `\0`, the flattened attributes (entries of `<kind><key>\0<value>\0`, see
/// `attributes`), `\u{1}`, the message's length in UTF-16 units, `\0` and the message. An
/// attribute entry starts with its kind letter, so the first field that starts with `\u{1}` is
/// where the attributes end; the message's length says where the entry ends, whatever the
/// message holds.
#[derive(Debug, PartialEq, Eq)]
pub struct LogEntry<'a> {
    /// `None` for a value that is not one of the levels.
    pub level: Option<Severity>,
    /// The time, the path, the attributes and the message; `None` when the level is not
    /// recorded.
    pub event: Option<(Millis, &'a str, &'a str, &'a str)>,
}

impl<'a> LogEntry<'a> {
    /// Reads the first entry of `text`, and what follows it; `None` if it is not in that form
    /// (and then nothing after it is read either: where the next entry starts is not known).
    pub fn read(text: &'a str) -> Option<(LogEntry<'a>, &'a str)> {
        let level = level_of(*text.as_bytes().first()?)?;
        let rest = text.get(1..)?;
        if let Some(rest) = rest.strip_prefix('.') {
            return Some((LogEntry { level, event: None }, rest));
        }
        let (at, rest) = field(rest)?;
        let at = parse_decimal(at)?;
        let (path, tail) = field(rest)?;
        let mut end = 0;
        while tail.as_bytes().get(end) != Some(&1) {
            for _ in 0..2 {
                end += tail.get(end..)?.bytes().position(|b| b == 0)? + 1;
            }
        }
        let attributes = tail.get(..end)?;
        let (units, rest) = field(tail.get(end + 1..)?)?;
        let units = usize::try_from(parse_decimal(units)?).ok()?;
        let length = utf16_prefix(rest, units)?;
        let entry = LogEntry {
            level,
            event: Some((at, path, attributes, rest.get(..length)?)),
        };
        Some((entry, rest.get(length..)?))
    }
}

/// Records the `log` calls of `text` ([`LogEntry`], one after the other) as events `name`
/// (`log`, or `ui.…` for Threadline's own UI, which belong to `correlation`), each at the time
/// it was logged; answers the lowest recorded level's code, which the page skips below.
#[cfg(feature = "events")]
pub fn log<P: PagePath>(
    core: &mut Recorder<P>,
    name: &str,
    text: &str,
    correlation: Option<Id>,
) -> u32 {
    let mut rest = text;
    while let Some((entry, next)) = LogEntry::read(rest) {
        rest = next;
        let severity = core.log_level(entry.level);
        if let Some((at, path, attributes, message)) = entry.event {
            let call = crate::recorder::LogCall {
                name,
                severity,
                message,
                attributes,
                path: Some(path),
                correlation,
            };
            core.log(at, &call);
        }
    }
    lowest_recorded(core)
}

/// Without events nothing is recorded, so only levels cross (`<code>.` each, from
/// `js/log-level.js`), for the warning about a value that is not one.
#[cfg(not(feature = "events"))]
pub fn log<P: PagePath>(
    core: &mut Recorder<P>,
    _name: &str,
    text: &str,
    _correlation: Option<Id>,
) -> u32 {
    for digit in split_byte(text, b'.').filter_map(|code| code.bytes().next()) {
        core.log_level(level_of(digit).flatten());
    }
    lowest_recorded(core)
}

/// The level a `LEVEL` code digit names: `None` for 0 (not a level), and nothing for a byte
/// that is not a digit.
pub fn level_of(digit: u8) -> Option<Option<Severity>> {
    let code = digit.is_ascii_digit().then(|| digit - b'0')?;
    Some(
        code.checked_sub(1)
            .and_then(|i| LEVELS.get(usize::from(i)))
            .copied(),
    )
}

/// The text before the first `\0`, and what follows it.
fn field(text: &str) -> Option<(&str, &str)> {
    let at = text.bytes().position(|b| b == 0)?;
    Some((text.get(..at)?, text.get(at + 1..)?))
}

/// How many bytes of `text` its first `units` UTF-16 units are (JavaScript counts a string's
/// length in them; a lone surrogate arrives as U+FFFD, one unit as well); `None` if `text` is
/// shorter or the count ends inside a character.
fn utf16_prefix(text: &str, units: usize) -> Option<usize> {
    if text.as_bytes().get(..units).is_some_and(<[u8]>::is_ascii) {
        return Some(units);
    }
    let mut seen = 0;
    for (at, c) in text.char_indices() {
        if seen >= units {
            return (seen == units).then_some(at);
        }
        seen += c.len_utf16();
    }
    (seen == units).then_some(text.len())
}

/// What a call of `hooks.on` carries besides its [`Happening`]: the numbers `a`, `b`, `c` and the
/// texts `s1`, `s2`, `s3` (`s3` as text when it is one; `s3_given` whether it was passed at
/// all), as `js/protocol.js` lists them for each happening.
#[derive(Clone, Copy, Debug, Default)]
pub struct Report<'a> {
    /// The first number.
    pub a: f64,
    /// The second number.
    pub b: f64,
    /// The third number.
    pub c: f64,
    /// The first text.
    pub s1: Option<&'a str>,
    /// The second text.
    pub s2: Option<&'a str>,
    /// The third text, if it is one.
    pub s3: Option<&'a str>,
    /// Whether a third argument was passed.
    pub s3_given: bool,
}

/// Said when `action.end` is given something that is not an outcome.
pub const OUTCOME_WARNING: &str =
    "action.end(outcome): expected \"ok\", \"error\" or \"cancelled\"; recorded as \"ok\".";

/// Hands a reported happening to `core` at `now`; the answer `hooks.on` returns (0 unless the
/// happening asks a question). [`Happening::Action`] is the shell's to hand over: it names the
/// element the click or submit came from, which only the page can compare.
pub fn on<'a, P: PagePath>(
    core: &mut Recorder<P>,
    now: Millis,
    happening: Happening,
    r: &Report<'a>,
) -> f64 {
    let text = |s: Option<&'a str>| -> &'a str { s.unwrap_or_default() };
    match happening {
        Happening::Settled => {
            let how = settled(small(r.c), u16::try_from(whole(r.b)).unwrap_or(0));
            core.request_settled(now, token(r.a), how, r.s1, r.s2);
        }
        Happening::MayResend => return f64::from(u8::from(core.may_resend(token(r.a)))),
        Happening::CorsRefused => core.cors_refused(now, text(r.s1)),
        Happening::Startup => core.startup(now, token(r.a), token(r.b), token(r.c)),
        Happening::Uploaded => {
            let status = u16::try_from(whole(r.b)).unwrap_or(0);
            core.upload_answered(now, token(r.a), status, r.s1);
        }
        Happening::Lifecycle => match small(r.a) {
            PAGE_HIDDEN => core.page_hidden(now),
            PAGE_VISIBLE => core.page_shown(),
            PAGE_ONLINE => core.online(now),
            _ => {}
        },
        Happening::Console => core.console(now, small(r.a) == 1, text(r.s1)),
        Happening::Tick => {
            if let Some(timer) = Timer::from_code(small(r.a)) {
                core.timer_fired(now, timer);
            }
        }
        Happening::SocketReceived => {
            core.socket_received(now, text(r.s1), text(r.s2), whole(r.a));
        }
        Happening::StorageChanged => core.storage_changed(r.s1, r.s2),
        Happening::Uncaught => {
            let uncaught = Uncaught {
                source: if small(r.a) == 1 {
                    "unhandledrejection"
                } else {
                    "error"
                },
                kind: text(r.s1),
                message: text(r.s2),
                stack: text(r.s3),
            };
            core.uncaught(now, &uncaught);
        }
        Happening::ActionEnd => {
            // Absent means "ok"; anything but an outcome is "ok" too, after a warning.
            let outcome = r.s3.and_then(ActionOutcome::parse);
            if r.s3_given && outcome.is_none() {
                core.warn(OUTCOME_WARNING);
            }
            if let Some(id) = r.s1.and_then(Id::parse) {
                core.end_action(now, id, outcome.unwrap_or(ActionOutcome::Ok));
            }
        }
        Happening::Action => {}
    }
    0.0
}

/// How a request settled, from its `SETTLED_*` code and status.
pub fn settled(how: u8, status: u16) -> Settled {
    match how {
        SETTLED_RESPONSE => Settled::Status(status),
        SETTLED_ABORTED => Settled::Aborted,
        _ => Settled::NetworkError,
    }
}

/// Plans the request of kind `kind` that `request` describes at `now`; the answer as above.
/// `regex` tests an origin against the `RegExp` entries of `propagateTo` (which only the page can
/// run).
pub fn plan<P: PagePath>(
    now: Millis,
    core: &mut Recorder<P>,
    regex: impl Fn(&str) -> bool,
    decisions: &mut Decisions,
    request: &str,
    kind: u8,
) -> f64 {
    let plan = read_request(request, kind).map_or(Plan::Untouched, |request| {
        core.request_starting(now, &request, regex)
    });
    let (token, code) = match plan {
        Plan::Untouched => (0, PLAN_UNTOUCHED),
        Plan::Observe(token) => (token, PLAN_OBSERVE),
        Plan::Tag { token, id, headers } => (token, decisions.hand_out(id, &headers)),
    };
    f64::from(token) * f64::from(PLAN_CODES) + f64::from(code)
}

/// The request a planning string describes (see above); `None` when it has fewer fields than
/// the protocol's.
fn read_request(request: &str, kind: u8) -> Option<Request<'_>> {
    let mut fields = split_byte(request, b'\n');
    let (href, method, names) = (fields.next()?, fields.next()?, fields.next()?);
    let (previous, forced) = (fields.next()?, fields.next()?);
    let (traceparent, baggage, carried) = (fields.next()?, fields.next()?, fields.next()?);
    Some(Request {
        href,
        method,
        names,
        previous: Id::parse(previous),
        forced: Id::parse(forced),
        traceparent: (!traceparent.is_empty()).then_some(traceparent),
        baggage: (!baggage.is_empty()).then_some(baggage),
        write: if kind & KIND_XHR != 0 {
            HeaderWrite::Append
        } else {
            HeaderWrite::Replace
        },
        tracer: kind & KIND_TRACER != 0,
        carried: Id::parse(carried),
    })
}

/// The headers part of plan answers: the one JavaScript holds and the one the latest request
/// got. The requests of one action get the same, so it crosses into JavaScript only when it
/// changes.
#[derive(Default)]
pub struct Decisions {
    sent: String,
    next: String,
}

impl Decisions {
    /// Writes a tagged request's headers as JavaScript takes them (`id\nname\nvalue…`); the
    /// plan code that says whether they are the ones it already holds.
    fn hand_out(&mut self, id: Id, headers: &[(String, String)]) -> u8 {
        let next = &mut self.next;
        next.clear();
        id.push_hex(next);
        for (name, value) in headers {
            next.push('\n');
            next.push_str(name);
            next.push('\n');
            next.push_str(value);
        }
        if self.next == self.sent {
            PLAN_SAME_HEADERS
        } else {
            PLAN_NEW_HEADERS
        }
    }

    /// The latest answer's headers part, which JavaScript now holds.
    pub fn take(&mut self) -> String {
        self.sent.clone_from(&self.next);
        self.sent.clone()
    }
}
