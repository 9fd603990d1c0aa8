//! The one decision every fetch and XHR asks for: does this request get headers, with which ID,
//! and which headers. `js/patch.js` reads the request and applies the answer.

use alloc::string::String;

use crate::correlator::RequestFacts;
use crate::id::Id;
use crate::propagation::names_include;
use crate::text::{decimal_len, push_decimal};
use crate::web::shared::Handle;

/// `token\nid\nname\nvalue…` for a request (one string: one copy into JavaScript), or `None`
/// to leave it alone (not an allowed origin). A request whose correlation header the app set
/// itself is only observed: `token\n\nheader-name`. Header names and values never hold line
/// breaks. `request` is href, method, the app's
/// header names (",a,b,"), the ID the same object carried before and the ID to force, joined by
/// newlines.
pub(crate) fn plan(handle: &Handle, request: &str) -> Option<String> {
    let mut fields = Fields(request);
    let (href, method, app_names) = (fields.next()?, fields.next()?, fields.next()?);
    let (previous, forced) = (fields.next()?, fields.next()?);
    let mut shared = handle.try_borrow_mut().ok()?;
    if !shared.allows(href) {
        return None;
    }
    let facts = RequestFacts {
        method,
        url: href,
        forced: Id::parse(forced),
        same_object: Id::parse(previous),
    };
    let planned = shared.plan_request(&facts, |name| names_include(app_names, name))?;
    // Exact, so that handing the string to JavaScript does not shrink (copy) it.
    let headers_len: usize = planned
        .headers
        .iter()
        .map(|(n, v)| n.len() + v.len() + 2)
        .sum();
    let mut out = String::with_capacity(
        decimal_len(planned.token.into())
            + 1
            + planned
                .id
                .map_or(1 + shared.propagation.header.len(), |_| 32)
            + headers_len,
    );
    push_decimal(&mut out, planned.token.into());
    out.push('\n');
    let Some(id) = planned.id else {
        // Only observed: no ID, no headers, and the header name to read the echo from.
        out.push('\n');
        out.push_str(&shared.propagation.header);
        return Some(out);
    };
    id.push_hex(&mut out);
    for (name, value) in &planned.headers {
        out.push('\n');
        out.push_str(name);
        out.push('\n');
        out.push_str(value);
    }
    Some(out)
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
