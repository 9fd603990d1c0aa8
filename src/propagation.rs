//! Decides which headers a request to an allowed origin gets: `X-Correlation-ID` (or the
//! configured name), and with `traceparent: true` also W3C `traceparent` and `baggage`.
//! A header the app set itself is never overwritten or duplicated.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

use crate::baggage::{self, HeaderWrite};
use crate::id::{Id, SpanId};
use crate::text::concat;

/// The header names and switches that shape what a request carries.
#[derive(Clone, Debug)]
pub struct Propagation {
    /// The correlation header's name, as the app configured it.
    pub header: String,
    /// Whether to add `traceparent` as well.
    pub traceparent: bool,
    /// Which tagged requests also tell the backend the session.
    pub session_to: SessionTo,
    /// A plain header that carries the session instead of `baggage` (for backends without a
    /// baggage parser), such as `X-Session-ID`.
    pub session_header: Option<String>,
    /// Whether the app's user ID (`setUser`) travels in `baggage` beside the session.
    pub user_in_baggage: bool,
}

/// Which tagged requests carry the session (`sendSession`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionTo {
    /// Requests to the page's own origin: `baggage` there needs no CORS change.
    SameOrigin,
    /// Every tagged request (cross-origin servers must allow the header in CORS).
    All,
    /// None.
    Nowhere,
}

impl SessionTo {
    /// The `sendSession` option's value: `"same-origin"`, `"all"` or `false`.
    pub fn name(self) -> &'static str {
        match self {
            SessionTo::SameOrigin => "same-origin",
            SessionTo::All => "all",
            SessionTo::Nowhere => "false",
        }
    }
}

/// Default name of the correlation header (`js/protocol.js` holds it too, for the startup gate;
/// `tests/protocol.rs` holds the two together).
pub const DEFAULT_HEADER: &str = "X-Correlation-ID";

impl Default for Propagation {
    fn default() -> Self {
        Propagation {
            header: DEFAULT_HEADER.to_owned(),
            traceparent: false,
            session_to: SessionTo::SameOrigin,
            session_header: None,
            user_in_baggage: false,
        }
    }
}

/// What the app (or code wrapping fetch above Threadline) already put on a request.
#[derive(Clone, Copy, Debug)]
pub struct AppHeaders<'a> {
    /// The header names it set, written `,a,b,` in lower case (see [`names_include`]).
    pub names: &'a str,
    /// Its `baggage` value, if any.
    pub baggage: Option<&'a str>,
    /// Whether Threadline's values replace or are appended (fetch or XHR).
    pub write: HeaderWrite,
    /// Whether the request goes to the page's own origin.
    pub same_origin: bool,
    /// Whether a tracer on the page appends its own `traceparent` and `baggage` whatever a
    /// request carries (Datadog RUM): they count as set, so a request never carries two.
    pub tracer: bool,
}

impl AppHeaders<'_> {
    /// Whether the app (or the tracer) set header `name` (any letter case).
    pub fn has(&self, name: &str) -> bool {
        names_include(self.names, name)
            || (self.tracer && names_include(",traceparent,baggage,", name))
    }
}

impl Propagation {
    /// The `(name, value)` pairs to write; `span` is needed only with `traceparent`, `session`
    /// (and the app's `user` ID) where [`Propagation::session_to`] sends it. A header the app
    /// set is left alone, but for `baggage`, a list Threadline adds its members to (see
    /// [`baggage::with_session`]): its pair then holds the whole new value
    /// ([`HeaderWrite::Replace`]) or the members to append. If the app set the correlation
    /// header itself it is managing correlation, so nothing is added at all.
    pub fn headers(
        &self,
        id: Id,
        span: Option<SpanId>,
        session: Option<Id>,
        user: Option<&str>,
        app: &AppHeaders<'_>,
    ) -> Vec<(String, String)> {
        if app.has(&self.header) {
            return Vec::new();
        }
        let hex = id.to_hex();
        let mut out = Vec::with_capacity(3);
        let trace = self.traceparent && !app.has("traceparent");
        let traceparent = span
            .filter(|_| trace)
            .map(|span| concat(&["00-", &hex, "-", &span.to_hex(), "-01"]));
        out.push((self.header.clone(), hex));
        if let Some(value) = traceparent {
            out.push(("traceparent".to_owned(), value));
        }
        let session = session.filter(|_| self.sends_session(app.same_origin));
        match (&self.session_header, session) {
            (Some(name), Some(session)) if !app.has(name) => {
                out.push((name.clone(), session.to_hex()));
            }
            (None, Some(session)) => {
                // Named but without a value: a tracer that appends its own whatever a request
                // carries takes it (see `js/patch.js`), and two would conflict.
                let taken = app.baggage.is_none() && app.has("baggage");
                let user = user.filter(|_| self.user_in_baggage);
                let value = baggage::with_session(app.baggage, session, user, app.write);
                if let Some(value) = value.filter(|_| !taken) {
                    out.push(("baggage".to_owned(), value));
                }
            }
            _ => {}
        }
        out
    }

    /// Whether a request (to the page's own origin or not) carries the session.
    pub fn sends_session(&self, same_origin: bool) -> bool {
        match self.session_to {
            SessionTo::All => true,
            SessionTo::SameOrigin => same_origin,
            SessionTo::Nowhere => false,
        }
    }
}

/// Whether `name` is a valid HTTP header name (an RFC 9110 token) that a browser lets a page set.
pub fn is_settable_header_name(name: &str) -> bool {
    const FORBIDDEN: &[&str] = &[
        "accept-charset",
        "accept-encoding",
        "access-control-request-headers",
        "access-control-request-method",
        "connection",
        "content-length",
        "cookie",
        "cookie2",
        "date",
        "dnt",
        "expect",
        "host",
        "keep-alive",
        "origin",
        "referer",
        "set-cookie",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "via",
    ];
    let is_token = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    let lower = name.to_ascii_lowercase();
    is_token
        && !FORBIDDEN.contains(&lower.as_str())
        && !lower.starts_with("proxy-")
        && !lower.starts_with("sec-")
}

/// Whether a list of header names written `,a,b,` (how the JS glue reports the headers an app
/// set) includes `name`, in any letter case.
pub fn names_include(list: &str, name: &str) -> bool {
    let (list, name) = (list.as_bytes(), name.as_bytes());
    list.windows(name.len() + 2).any(|w| {
        w.first() == Some(&b',')
            && w.last() == Some(&b',')
            && w.get(1..=name.len())
                .is_some_and(|middle| middle.eq_ignore_ascii_case(name))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> Id {
        Id::parse("4bf92f3577b34da6a3ce929d0e0e4736").unwrap()
    }
    fn span() -> Option<SpanId> {
        SpanId::from_bytes([0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7])
    }
    fn session() -> Option<Id> {
        Id::parse("0af7651916cd43dd8448eb211c80319c")
    }
    fn names(pairs: &[(String, String)]) -> Vec<&str> {
        pairs.iter().map(|(n, _)| n.as_str()).collect()
    }
    fn app(names: &str) -> AppHeaders<'_> {
        AppHeaders {
            names,
            baggage: None,
            write: HeaderWrite::Replace,
            tracer: false,
            same_origin: false,
        }
    }
    fn same_origin(names: &str) -> AppHeaders<'_> {
        AppHeaders {
            same_origin: true,
            ..app(names)
        }
    }
    fn traced() -> Propagation {
        Propagation {
            traceparent: true,
            session_to: SessionTo::All,
            ..Propagation::default()
        }
    }
    const SESSION: &str = "session.id=0af7651916cd43dd8448eb211c80319c";

    #[test]
    fn cross_origin_gets_the_correlation_header_only_by_default() {
        let out = Propagation::default().headers(id(), span(), session(), None, &app(","));
        assert_eq!(
            out,
            vec![(
                "X-Correlation-ID".into(),
                "4bf92f3577b34da6a3ce929d0e0e4736".into()
            )]
        );
    }

    #[test]
    fn the_pages_own_origin_learns_the_session_in_baggage_by_default() {
        let out = Propagation::default().headers(id(), span(), session(), None, &same_origin(","));
        assert_eq!(names(&out), ["X-Correlation-ID", "baggage"]);
        assert_eq!(out[1].1, SESSION);
        let nowhere = Propagation {
            session_to: SessionTo::Nowhere,
            ..Propagation::default()
        };
        let out = nowhere.headers(id(), span(), session(), None, &same_origin(","));
        assert_eq!(names(&out), ["X-Correlation-ID"]);
    }

    #[test]
    fn a_plain_session_header_replaces_baggage_when_asked() {
        let p = Propagation {
            session_header: Some("X-Session-ID".into()),
            session_to: SessionTo::All,
            ..Propagation::default()
        };
        let out = p.headers(id(), span(), session(), Some("u1"), &app(","));
        assert_eq!(names(&out), ["X-Correlation-ID", "X-Session-ID"]);
        assert_eq!(out[1].1, "0af7651916cd43dd8448eb211c80319c");
        let out = p.headers(id(), span(), session(), None, &app(",x-session-id,"));
        assert_eq!(
            names(&out),
            ["X-Correlation-ID"],
            "the app's own value stays"
        );
    }

    #[test]
    fn traceparent_carries_the_same_id_and_baggage_the_session() {
        let p = Propagation {
            header: "X-Request-ID".into(),
            ..traced()
        };
        let out = p.headers(id(), span(), session(), None, &app(","));
        assert_eq!(
            out,
            vec![
                (
                    "X-Request-ID".into(),
                    "4bf92f3577b34da6a3ce929d0e0e4736".into()
                ),
                (
                    "traceparent".into(),
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()
                ),
                ("baggage".into(), SESSION.into()),
            ]
        );
    }

    #[test]
    fn the_user_id_goes_in_baggage_only_when_enabled() {
        let mut p = traced();
        let out = p.headers(id(), span(), session(), Some("u_8f3a"), &app(","));
        assert_eq!(out[2].1, SESSION, "off by default");
        p.user_in_baggage = true;
        let out = p.headers(id(), span(), session(), Some("u_8f3a"), &app(","));
        assert_eq!(out[2].1, [SESSION, ",user.id=u_8f3a"].concat());
    }

    #[test]
    fn app_set_headers_are_left_alone() {
        let p = traced();
        assert!(
            p.headers(
                id(),
                span(),
                session(),
                None,
                &app(",accept,x-correlation-id,")
            )
            .is_empty()
        );
        let out = p.headers(id(), span(), session(), None, &app(",traceparent,"));
        assert_eq!(names(&out), ["X-Correlation-ID", "baggage"]);
        let taken = p.headers(id(), span(), session(), None, &app(",traceparent,baggage,"));
        assert_eq!(
            names(&taken),
            ["X-Correlation-ID"],
            "a tracer that appends its own takes both"
        );
    }

    #[test]
    fn the_apps_baggage_is_merged_never_dropped() {
        let p = traced();
        let fetch = AppHeaders {
            baggage: Some("user.tier=gold"),
            ..app(",baggage,")
        };
        let out = p.headers(id(), span(), session(), None, &fetch);
        assert_eq!(names(&out), ["X-Correlation-ID", "traceparent", "baggage"]);
        assert_eq!(out[2].1, ["user.tier=gold,", SESSION].concat());
        let xhr = AppHeaders {
            write: HeaderWrite::Append,
            ..fetch
        };
        let out = p.headers(id(), span(), session(), None, &xhr);
        assert_eq!(out[2].1, SESSION);
        let cross = Propagation::default().headers(id(), span(), session(), None, &fetch);
        assert_eq!(names(&cross), ["X-Correlation-ID"]);
    }

    #[test]
    fn name_lists_match_whole_names_in_any_case() {
        let list = ",content-type,x-correlation-id,";
        assert!(names_include(list, "X-Correlation-ID"));
        assert!(names_include(list, "content-type"));
        assert!(!names_include(list, "x-correlation"));
        assert!(!names_include(list, "correlation-id"));
        assert!(!names_include(",", "a"));
        assert!(!names_include("", "a"));
        assert!(!names_include(",traceparent-x,", "traceparent"));
    }

    #[test]
    fn header_names_must_be_tokens_a_page_may_set() {
        for good in ["X-Correlation-ID", "x-request-id", "Correlation_Id", "a"] {
            assert!(is_settable_header_name(good), "{good}");
        }
        for bad in [
            "",
            "X Correlation",
            "X-Correlation-ID:",
            "é",
            "Cookie",
            "HOST",
            "Sec-Fetch-Site",
            "Proxy-Foo",
            "x\n",
        ] {
            assert!(!is_settable_header_name(bad), "{bad:?}");
        }
    }
}
