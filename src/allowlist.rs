//! Decides whether a request's origin may receive the correlation header: the page's own origin
//! (unless turned off) and the `propagateTo` entries. Matching compares parsed origins, never the
//! text of a URL, so a look-alike such as `https://api.shop.test.evil.test` never matches.

use alloc::string::String;
use alloc::vec::Vec;

use crate::origin::{Origin, Scheme, split_url};

/// One textual `propagateTo` entry (a `RegExp` entry is tested by the web shell).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum OriginPattern {
    /// `https://api.shop.test:8443`: that scheme, host and port only.
    Exact(Origin),
    /// `https://*.shop.test`: any host one or more labels below `shop.test`, same scheme and port.
    Subdomains {
        /// Scheme every match must have.
        scheme: Scheme,
        /// The parent domain with a leading dot, e.g. `.shop.test`.
        suffix: String,
        /// Port every match must have (the scheme's default when the pattern names none).
        port: u16,
    },
}

/// What a `propagateTo` string must look like; used in the error a developer sees.
pub const ORIGIN_EXPECTED: &str =
    "an origin such as \"https://api.example.com\" or \"https://*.example.com\"";

impl OriginPattern {
    /// Parses a `propagateTo` string; the error says what was expected.
    pub fn parse(text: &str) -> Result<OriginPattern, &'static str> {
        let bytes = text.as_bytes();
        let padded = bytes.first().is_some_and(u8::is_ascii_whitespace)
            || bytes.last().is_some_and(u8::is_ascii_whitespace);
        if padded || !bytes.windows(3).any(|w| w == b"://") {
            return Err(ORIGIN_EXPECTED);
        }
        let parts = split_url(text).ok_or(ORIGIN_EXPECTED)?;
        if parts.has_userinfo || !(parts.rest.is_empty() || parts.rest == "/") {
            return Err(
                "an origin only (scheme, host and optional port), without user, path, query or fragment",
            );
        }
        let host = parts.host;
        if let Some(parent) = host.strip_prefix("*.") {
            if !is_host_name(parent)
                || (!parent.bytes().any(|b| b == b'.') && parent != "localhost")
            {
                return Err(
                    "a wildcard only as the first label of a domain, such as \"https://*.example.com\"",
                );
            }
            return Ok(OriginPattern::Subdomains {
                scheme: parts.scheme,
                suffix: crate::text::concat(&[".", parent]),
                port: parts.port,
            });
        }
        if host.starts_with('[') || is_host_name(&host) {
            Ok(OriginPattern::Exact(Origin {
                scheme: parts.scheme,
                host,
                port: parts.port,
            }))
        } else {
            Err(ORIGIN_EXPECTED)
        }
    }

    /// The pattern written as an origin (`https://*.shop.test`), default port left out.
    pub fn text(&self) -> String {
        match self {
            OriginPattern::Exact(origin) => origin.serialize(),
            OriginPattern::Subdomains {
                scheme,
                suffix,
                port,
            } => Origin {
                scheme: *scheme,
                host: crate::text::concat(&["*", suffix]),
                port: *port,
            }
            .serialize(),
        }
    }

    /// Whether a request to `origin` matches this pattern.
    pub fn matches(&self, origin: &Origin) -> bool {
        match self {
            OriginPattern::Exact(allowed) => allowed == origin,
            OriginPattern::Subdomains {
                scheme,
                suffix,
                port,
            } => {
                origin.scheme == *scheme
                    && origin.port == *port
                    && origin.host.len() > suffix.len()
                    && origin.host.ends_with(suffix.as_str())
            }
        }
    }
}

fn is_host_name(host: &str) -> bool {
    // Labels of letters, digits and '-', separated by single dots.
    let bytes = host.as_bytes();
    !bytes.is_empty()
        && bytes.first() != Some(&b'.')
        && bytes.last() != Some(&b'.')
        && !bytes.windows(2).any(|w| w == b"..")
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'.')
}

/// The set of origins that get headers.
#[derive(Clone, Debug, Default)]
pub struct Allowlist {
    /// The page's own origin, when same-origin propagation is on and the page has one.
    pub page: Option<Origin>,
    /// The textual `propagateTo` entries.
    pub patterns: Vec<OriginPattern>,
}

impl Allowlist {
    /// Whether a request to `origin` may carry the correlation header.
    pub fn allows(&self, origin: &Origin) -> bool {
        self.page.as_ref() == Some(origin) || self.patterns.iter().any(|p| p.matches(origin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(page: Option<&str>, patterns: &[&str]) -> Allowlist {
        Allowlist {
            page: page.and_then(Origin::parse_url),
            patterns: patterns
                .iter()
                .map(|p| OriginPattern::parse(p).unwrap())
                .collect(),
        }
    }

    fn allowed(list: &Allowlist, url: &str) -> bool {
        Origin::parse_url(url).is_some_and(|o| list.allows(&o))
    }

    #[test]
    fn exact_origins_match_scheme_host_and_port() {
        let l = list(None, &["https://api.shop.test:8443"]);
        assert!(allowed(&l, "https://api.shop.test:8443/api/orders"));
        assert!(allowed(&l, "HTTPS://API.SHOP.TEST:8443"));
        assert!(!allowed(&l, "https://api.shop.test/api/orders"));
        assert!(!allowed(&l, "http://api.shop.test:8443/api/orders"));
        assert!(!allowed(&l, "https://api.shop.test:8444/"));
    }

    #[test]
    fn default_ports_are_implied_both_ways() {
        let l = list(None, &["https://api.shop.test"]);
        assert!(allowed(&l, "https://api.shop.test:443/x"));
        assert!(allowed(&l, "https://api.shop.test/x"));
        assert!(!allowed(&l, "https://api.shop.test:8443/x"));
        let l = list(None, &["https://api.shop.test:443/"]);
        assert!(allowed(&l, "https://api.shop.test/x"));
    }

    #[test]
    fn hostile_look_alikes_never_match() {
        let l = list(None, &["https://api.shop.test", "https://*.shop.test"]);
        for url in [
            "https://api.shop.test.evil.test/",
            "https://api.shop.test@evil.test/",
            "https://evil.test/?https://api.shop.test",
            "https://evil.test/https://api.shop.test",
            "https://evil.test#https://api.shop.test",
            "https://evil.test\\@api.shop.test",
            "https://apishop.test/",
            "https://evilshop.test/",
            "https://shop.test.evil.test/",
            "http://api.shop.test/",
            "https://api.shop.test:8443/",
            "wss://api.shop.test/",
            "data:text/html,https://api.shop.test",
            "blob:https://api.shop.test/1234",
            "about:blank#https://api.shop.test",
        ] {
            assert!(!allowed(&l, url), "{url} must not match");
        }
    }

    #[test]
    fn wildcards_match_one_or_more_levels_below() {
        let l = list(None, &["https://*.shop.test"]);
        assert!(allowed(&l, "https://api.shop.test/"));
        assert!(allowed(&l, "https://eu.api.shop.test/"));
        assert!(!allowed(&l, "https://shop.test/"));
        assert!(!allowed(&l, "https://api.shop.test:8443/"));
        let l = list(None, &["https://*.shop.test:8443"]);
        assert!(allowed(&l, "https://api.shop.test:8443/"));
        assert!(!allowed(&l, "https://api.shop.test/"));
    }

    #[test]
    fn same_origin_is_the_page_origin_only() {
        let l = list(Some("http://app.shop.test:8080/checkout?step=2"), &[]);
        assert!(allowed(&l, "http://app.shop.test:8080/api"));
        assert!(!allowed(&l, "http://app.shop.test:8081/api"));
        assert!(!allowed(&l, "https://app.shop.test:8080/api"));
        assert!(!allowed(&l, "http://api.shop.test:8080/api"));
        assert!(!allowed(&list(None, &[]), "http://app.shop.test:8080/api"));
    }

    #[test]
    fn bad_patterns_say_what_was_expected() {
        for bad in [
            "api.shop.test",
            "//api.shop.test",
            "https://api.shop.test/api",
            "https://api.shop.test?x",
            "https://user@api.shop.test",
            "ftp://api.shop.test",
            "https://*",
            "https://*.",
            "https://a.*.shop.test",
            "https://api shop.test",
            " https://api.shop.test",
            "",
            "https://",
            "https://*.com",
        ] {
            assert!(
                OriginPattern::parse(bad).is_err(),
                "{bad:?} must be refused"
            );
        }
        assert_eq!(OriginPattern::parse("api.shop.test"), Err(ORIGIN_EXPECTED));
    }
}
