//! The JS↔wasm protocol, the one definition on the Rust side (`js/protocol.js` is the
//! JavaScript side): the happenings the glue reports through one entry, `hooks.on`, with typed
//! codes ([`Happening`], `SETTLED_*`, `PAGE_*`, and [`Timer`]'s codes), and how a request is
//! described for planning and how the plan comes back.
//!
//! Planning a request: JavaScript hands over one string, the fields below joined by `\n` (which
//! none of them can contain; an empty field means "none"): href, method, the header names the
//! app set (`,a,b,` in lower case), the ID the same object carried before, the ID to force, the
//! app's `traceparent` and `baggage` values, and [`KIND_XHR`] for an XHR (whose headers can only
//! be appended). The answer is one number, so the requests of one action cross no string: `0`
//! leaves the request alone; `token` adds the headers the last [`Decisions::take`] handed out;
//! `-token` adds new ones, which JavaScript then takes: `id\nname\nvalue…`, or `\nheader` for a
//! request only observed (the app set the correlation header: the name to read the echo from).
//!
//! [`Timer`]: crate::recorder::Timer

use alloc::string::String;

use crate::baggage::HeaderWrite;
use crate::id::Id;
use crate::page_events::Settled;
use js_sys::RegExp;

use crate::Millis;
use crate::recorder::{Plan, Recorder, Request};
use crate::web::glue::Page;

/// The last field of a planning request for an XHR.
pub(crate) const KIND_XHR: &str = "x";

/// What a call of `hooks.on(happening, a, b, c, s1, s2, s3)` reports; the meaning of the
/// numbers and texts for each is listed in `js/protocol.js`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Happening {
    Settled = 0,
    MayResend = 1,
    CorsRefused = 2,
    Startup = 3,
    Uploaded = 4,
    Lifecycle = 5,
    Console = 6,
    Tick = 7,
    SocketReceived = 8,
    StorageChanged = 9,
    Uncaught = 10,
}

impl Happening {
    const ALL: [Happening; 11] = [
        Happening::Settled,
        Happening::MayResend,
        Happening::CorsRefused,
        Happening::Startup,
        Happening::Uploaded,
        Happening::Lifecycle,
        Happening::Console,
        Happening::Tick,
        Happening::SocketReceived,
        Happening::StorageChanged,
        Happening::Uncaught,
    ];

    /// The happening a code names.
    pub fn from_code(code: u8) -> Option<Happening> {
        Happening::ALL.get(usize::from(code)).copied()
    }
}

/// How a request settled (`Happening::Settled`'s `c`): with a response.
pub(crate) const SETTLED_RESPONSE: u8 = 0;
/// The app aborted it (any other code: no response, the network failed or CORS refused it).
pub(crate) const SETTLED_ABORTED: u8 = 2;

/// Page lifecycle changes (`Happening::Lifecycle`'s `a`): hidden or left.
pub(crate) const PAGE_HIDDEN: u8 = 0;
/// Shown again.
pub(crate) const PAGE_VISIBLE: u8 = 1;
/// Back online.
pub(crate) const PAGE_ONLINE: u8 = 2;

/// How a request settled, from its `SETTLED_*` code and status.
pub(crate) fn settled(how: u8, status: u16) -> Settled {
    match how {
        SETTLED_RESPONSE => Settled::Status(status),
        SETTLED_ABORTED => Settled::Aborted,
        _ => Settled::NetworkError,
    }
}

/// Plans the request `request` describes at `now`; the answer as above. `regexes` are the
/// `RegExp` entries of `propagateTo`.
pub(crate) fn plan(
    now: Millis,
    core: &mut Recorder<Page>,
    regexes: &[RegExp],
    decisions: &mut Decisions,
    request: &str,
) -> f64 {
    plan_token(now, core, regexes, decisions, request).unwrap_or(0.0)
}

fn plan_token(
    now: Millis,
    core: &mut Recorder<Page>,
    regexes: &[RegExp],
    decisions: &mut Decisions,
    request: &str,
) -> Option<f64> {
    let mut fields = Fields(request);
    let (href, method, names) = (fields.next()?, fields.next()?, fields.next()?);
    let (previous, forced) = (fields.next()?, fields.next()?);
    let (traceparent, baggage, kind) = (fields.next()?, fields.next()?, fields.next()?);
    let request = Request {
        href,
        method,
        names,
        previous: Id::parse(previous),
        forced: Id::parse(forced),
        traceparent: (!traceparent.is_empty()).then_some(traceparent),
        baggage: (!baggage.is_empty()).then_some(baggage),
        write: if kind == KIND_XHR {
            HeaderWrite::Append
        } else {
            HeaderWrite::Replace
        },
    };
    let regex = |origin: &str| regexes.iter().any(|re| re.test(origin));
    let plan = core.request_starting(now, &request, regex);
    let next = &mut decisions.next;
    next.clear();
    let token = match plan {
        Plan::Untouched => return None,
        // Only observed: no ID, no headers, and the header name to read the echo from.
        Plan::Observe(token) => {
            next.push('\n');
            next.push_str(core.header());
            token
        }
        Plan::Tag { token, id, headers } => {
            id.push_hex(next);
            for (name, value) in &headers {
                next.push('\n');
                next.push_str(name);
                next.push('\n');
                next.push_str(value);
            }
            token
        }
    };
    let token = f64::from(token);
    Some(if decisions.next == decisions.sent {
        token
    } else {
        -token
    })
}

/// The headers part of plan answers: the one JavaScript holds and the one the latest request
/// got. The requests of one action get the same, so it crosses into JavaScript only when it
/// changes.
#[derive(Default)]
pub(crate) struct Decisions {
    sent: String,
    next: String,
}

impl Decisions {
    /// The latest answer's headers part, which JavaScript now holds.
    pub fn take(&mut self) -> String {
        self.sent.clone_from(&self.next);
        self.sent.clone()
    }
}

/// The newline-separated fields of a planning request.
struct Fields<'a>(&'a str);

impl<'a> Iterator for Fields<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let end = self
            .0
            .bytes()
            .position(|b| b == b'\n')
            .unwrap_or(self.0.len());
        let field = self.0.get(..end)?;
        self.0 = self.0.get(end + 1..).unwrap_or("");
        Some(field)
    }
}
