//! The one decision every fetch and XHR asks for: does this request get headers, with which ID,
//! and which headers. `js/patch.js` reads the request and applies the answer.

use alloc::string::String;

use crate::baggage::HeaderWrite;
use crate::correlator::RequestFacts;
use crate::id::Id;
use crate::propagation::AppHeaders;
use crate::web::shared::Handle;

/// The answer to a planning request, as one number, so that the requests of one action cross
/// no string: `0` leaves the request alone (not an allowed origin); `token` adds the headers
/// the last [`Decisions::take`] handed out; `-token` adds new ones, which JavaScript then
/// takes. Tokens are never 0. `request` is href, method, the app's header names (",a,b,"), the
/// ID the same object carried before, the ID to force, the app's `traceparent` and `baggage`
/// values and `x` for an XHR (whose headers can only be appended), joined by newlines; an empty
/// field means "none".
pub(crate) fn plan(handle: &Handle, request: &str) -> f64 {
    plan_token(handle, request).unwrap_or(0.0)
}

fn plan_token(handle: &Handle, request: &str) -> Option<f64> {
    let mut fields = Fields(request);
    let (href, method, app_names) = (fields.next()?, fields.next()?, fields.next()?);
    let (previous, forced) = (fields.next()?, fields.next()?);
    let (traceparent, baggage, kind) = (fields.next()?, fields.next()?, fields.next()?);
    let mut app = AppHeaders {
        same_origin: false,
        names: app_names,
        baggage: (!baggage.is_empty()).then_some(baggage),
        write: if kind == "x" {
            HeaderWrite::Append
        } else {
            HeaderWrite::Replace
        },
    };
    let mut shared = handle.try_borrow_mut().ok()?;
    app.same_origin = shared.allows(href)?;
    let facts = RequestFacts {
        method,
        url: href,
        forced: Id::parse(forced),
        same_object: Id::parse(previous),
    };
    let traceparent = (!traceparent.is_empty()).then_some(traceparent);
    let planned = shared.plan_request(&facts, &app, traceparent)?;
    let token = f64::from(planned.token);
    let shared = &mut *shared;
    let header = &shared.propagation.header;
    let next = &mut shared.decisions.next;
    next.clear();
    match planned.id {
        // Only observed: no ID, no headers, and the header name to read the echo from.
        None => {
            next.push('\n');
            next.push_str(header);
        }
        Some(id) => {
            id.push_hex(next);
            for (name, value) in &planned.headers {
                next.push('\n');
                next.push_str(name);
                next.push('\n');
                next.push_str(value);
            }
        }
    }
    let decisions = &shared.decisions;
    Some(if decisions.next == decisions.sent {
        token
    } else {
        -token
    })
}

/// The headers part of plan answers (`id\nname\nvalue…`, or `\nheader` for a request that is
/// only observed): the one JavaScript holds and the one the latest request got. The requests
/// of one action get the same, so it crosses into JavaScript only when it changes.
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
