//! A server that refuses Threadline's header never breaks the app: when a tagged cross-origin
//! request fails the way a refused CORS preflight fails, a `GET` or `HEAD` is sent once more as
//! the app made it, and if that answers, the origin gets no headers for the rest of the page's
//! life. Decides which requests may be resent, remembers refused origins and writes the one
//! line of advice the server's owner needs.

use alloc::vec::Vec;

use alloc::string::String;

use crate::bounded::push_bounded;
use crate::origin::Origin;
use crate::propagation::Propagation;
use crate::text::concat;

/// Origins remembered as refusing, at most; the oldest is forgotten past this.
const MAX_REFUSED: usize = 64;

/// Origins whose servers refused Threadline's headers.
#[derive(Clone, Debug, Default)]
pub struct Refusals {
    origins: Vec<Origin>,
}

impl Refusals {
    /// Remembers `origin` as refusing; whether it is new (so the app is told once).
    pub fn refuse(&mut self, origin: Origin) -> bool {
        if self.is_refused(&origin) {
            return false;
        }
        push_bounded(&mut self.origins, origin, MAX_REFUSED);
        true
    }

    /// Whether `origin` refused Threadline's headers.
    pub fn is_refused(&self, origin: &Origin) -> bool {
        self.origins.contains(origin)
    }
}

/// Whether a tagged request that failed without a response may be sent once more without
/// Threadline's headers: only a `GET` or `HEAD` (no other method is ever sent twice), and only
/// to another origin than the page's (a same-origin request needs no preflight).
pub fn may_resend(method: &str, to: &Origin, page: Option<&Origin>) -> bool {
    let safe = method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD");
    safe && page != Some(to)
}

/// The response header the server must send to preflights for the headers Threadline adds.
pub fn allow_headers_line(propagation: &Propagation) -> String {
    let extra = if propagation.traceparent {
        ", traceparent, baggage"
    } else {
        ""
    };
    concat(&["Access-Control-Allow-Headers: ", &propagation.header, extra])
}

/// The console warning for a newly refused origin.
pub fn refusal_warning(origin: &str, propagation: &Propagation) -> String {
    concat(&[
        origin,
        " refused the ",
        &propagation.header,
        " header (its CORS preflight does not allow it), so requests to it no longer carry Threadline's headers on this page. To correlate them, answer preflights with: ",
        &allow_headers_line(propagation),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(url: &str) -> Origin {
        Origin::parse_url(url).unwrap()
    }

    #[test]
    fn an_origin_is_refused_once() {
        let mut r = Refusals::default();
        assert!(!r.is_refused(&origin("https://api.test")));
        assert!(r.refuse(origin("https://api.test/a")));
        assert!(!r.refuse(origin("https://api.test:443/b")));
        assert!(r.is_refused(&origin("https://api.test/c")));
        assert!(!r.is_refused(&origin("https://api.test:8443/")));
        assert!(!r.is_refused(&origin("http://api.test/")));
    }

    #[test]
    fn the_list_is_bounded() {
        let mut r = Refusals::default();
        for i in 0..200 {
            r.refuse(origin(&format!("https://api{i}.test")));
        }
        assert!(r.is_refused(&origin("https://api199.test")));
        assert!(!r.is_refused(&origin("https://api0.test")));
    }

    #[test]
    fn only_cross_origin_gets_and_heads_are_resent() {
        let page = origin("https://shop.test/");
        let api = origin("https://api.test/");
        assert!(may_resend("GET", &api, Some(&page)));
        assert!(may_resend("head", &api, Some(&page)));
        assert!(may_resend("GET", &api, None));
        for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", ""] {
            assert!(!may_resend(method, &api, Some(&page)), "{method}");
        }
        assert!(!may_resend("GET", &page, Some(&page)));
    }

    #[test]
    fn the_advice_names_every_header_threadline_adds() {
        let mut p = Propagation::default();
        assert_eq!(
            allow_headers_line(&p),
            "Access-Control-Allow-Headers: X-Correlation-ID"
        );
        p.traceparent = true;
        p.header = "X-Request-ID".into();
        assert_eq!(
            allow_headers_line(&p),
            "Access-Control-Allow-Headers: X-Request-ID, traceparent, baggage"
        );
        let warning = refusal_warning("https://api.test", &p);
        assert!(warning.starts_with("https://api.test refused the X-Request-ID header"));
        assert!(
            warning.ends_with("Access-Control-Allow-Headers: X-Request-ID, traceparent, baggage")
        );
    }
}
