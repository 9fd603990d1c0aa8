//! Reads the origin (scheme, host, port) of a URL: the part that decides which server a request
//! reaches, and so whether it may carry the correlation header. Only `http` and `https` URLs have
//! an origin here; every other scheme (`data:`, `blob:`, `about:`, …) yields none.

use alloc::string::String;

/// The scheme of an origin that can receive headers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Scheme {
    /// `http:`, default port 80.
    Http,
    /// `https:`, default port 443.
    Https,
}

impl Scheme {
    fn parse(text: &str) -> Option<Scheme> {
        if text.eq_ignore_ascii_case("https") {
            Some(Scheme::Https)
        } else if text.eq_ignore_ascii_case("http") {
            Some(Scheme::Http)
        } else {
            None
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// A tuple origin: lowercase host, explicit port (default ports filled in).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Origin {
    /// `http` or `https`.
    pub scheme: Scheme,
    /// Lowercase host name, IPv4 address, or bracketed IPv6 address.
    pub host: String,
    /// The port, with the scheme's default filled in when the URL names none.
    pub port: u16,
}

/// The pieces of an absolute URL that [`Origin`] and origin patterns are built from.
pub(crate) struct UrlParts<'a> {
    pub scheme: Scheme,
    pub host: String,
    pub port: u16,
    /// Whether the URL had `user:pass@` before the host.
    pub has_userinfo: bool,
    /// Everything after the authority: path, query and fragment.
    pub rest: &'a str,
}

impl Origin {
    /// The origin of an absolute `http(s)` URL, or `None` for any other URL.
    ///
    /// Follows the browser's URL parser where it decides the host: leading and trailing
    /// spaces and control characters are ignored, tabs and newlines are removed, `\` ends the
    /// authority like `/`, and everything before the last `@` of the authority is user info.
    pub fn parse_url(url: &str) -> Option<Origin> {
        let cleaned: String;
        let url = if url.bytes().any(|b| matches!(b, b'\t' | b'\n' | b'\r')) {
            cleaned = url
                .chars()
                .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
                .collect();
            &cleaned
        } else {
            url
        };
        split_url(url).map(|p| Origin {
            scheme: p.scheme,
            host: p.host,
            port: p.port,
        })
    }
}

impl Origin {
    /// The serialised origin, as `URL.prototype.origin` gives it: no default port.
    pub fn serialize(&self) -> String {
        let mut out = crate::text::concat(&[self.scheme.as_str(), "://", &self.host]);
        if self.port != self.scheme.default_port() {
            out.push(':');
            crate::text::push_decimal(&mut out, self.port.into());
        }
        out
    }
}

/// Splits an absolute `http(s)` URL into scheme, host, port and the rest.
pub(crate) fn split_url(url: &str) -> Option<UrlParts<'_>> {
    // Byte searches only: every delimiter here is ASCII, and `str`'s pattern searchers would
    // bring their panic paths (and with them `core::fmt`) into the wasm file.
    let start = find_byte(url, |b| b > b' ')?;
    let end = url.bytes().rposition(|b| b > b' ')? + 1;
    let url = url.get(start..end)?;
    let colon = find_byte(url, |b| b == b':')?;
    let scheme = Scheme::parse(url.get(..colon)?)?;
    let after = url.get(colon + 1..)?;
    let after =
        after.get(find_byte(after, |b| b != b'/' && b != b'\\').unwrap_or(after.len())..)?;
    let end = find_byte(after, |b| matches!(b, b'/' | b'\\' | b'?' | b'#')).unwrap_or(after.len());
    let (authority, rest) = (after.get(..end)?, after.get(end..)?);
    let (has_userinfo, host_port) = match authority.bytes().rposition(|b| b == b'@') {
        Some(at) => (true, authority.get(at + 1..)?),
        None => (false, authority),
    };
    let (host, port) = split_host_port(host_port)?;
    if host.is_empty() {
        return None;
    }
    let port = match port {
        None | Some("") => scheme.default_port(),
        Some(digits) => parse_port(digits)?,
    };
    Some(UrlParts {
        scheme,
        host: host.to_ascii_lowercase(),
        port,
        has_userinfo,
        rest,
    })
}

fn split_host_port(text: &str) -> Option<(&str, Option<&str>)> {
    if text.starts_with('[') {
        let close = find_byte(text, |b| b == b']')?;
        let host = text.get(..=close)?;
        let after = text.get(close + 1..)?;
        return match after.strip_prefix(':') {
            Some(port) => Some((host, Some(port))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    Some(match text.bytes().rposition(|b| b == b':') {
        Some(colon) => (text.get(..colon)?, Some(text.get(colon + 1..)?)),
        None => (text, None),
    })
}

/// A decimal port, 0 to 65535; leading zeros allowed as browsers allow them.
fn parse_port(digits: &str) -> Option<u16> {
    let mut port: u32 = 0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        port = port * 10 + u32::from(b - b'0');
        if port > u32::from(u16::MAX) {
            return None;
        }
    }
    u16::try_from(port).ok()
}

/// Byte offset of the first byte matching `pred`.
fn find_byte(text: &str, pred: impl Fn(u8) -> bool) -> Option<usize> {
    text.bytes().position(pred)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(url: &str) -> Option<String> {
        Origin::parse_url(url).map(|o| o.serialize())
    }

    #[test]
    fn reads_scheme_host_and_port() {
        assert_eq!(
            origin("https://api.shop.test:8443/api/orders?x=1#y").as_deref(),
            Some("https://api.shop.test:8443")
        );
        assert_eq!(
            origin("HTTPS://API.Shop.Test/").as_deref(),
            Some("https://api.shop.test")
        );
        assert_eq!(
            origin("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            origin("http://[::1]:3000/x").as_deref(),
            Some("http://[::1]:3000")
        );
        assert_eq!(origin("http://[::1]/x").as_deref(), Some("http://[::1]"));
    }

    #[test]
    fn default_ports_are_implied() {
        assert_eq!(
            Origin::parse_url("https://a.test:443/").unwrap(),
            Origin::parse_url("https://a.test/").unwrap()
        );
        assert_eq!(
            Origin::parse_url("http://a.test:80").unwrap(),
            Origin::parse_url("http://a.test").unwrap()
        );
        assert_eq!(Origin::parse_url("https://a.test:0443").unwrap().port, 443);
        assert_ne!(
            Origin::parse_url("https://a.test:80").unwrap(),
            Origin::parse_url("https://a.test").unwrap()
        );
    }

    #[test]
    fn userinfo_is_not_the_host() {
        assert_eq!(
            origin("https://api.shop.test@evil.test/").as_deref(),
            Some("https://evil.test")
        );
        assert_eq!(
            origin("https://api.shop.test:443@evil.test/").as_deref(),
            Some("https://evil.test")
        );
        assert_eq!(
            origin("https://a@b@evil.test/").as_deref(),
            Some("https://evil.test")
        );
    }

    #[test]
    fn path_query_and_fragment_never_become_the_host() {
        assert_eq!(
            origin("https://evil.test/?https://api.shop.test").as_deref(),
            Some("https://evil.test")
        );
        assert_eq!(
            origin("https://evil.test#@api.shop.test").as_deref(),
            Some("https://evil.test")
        );
        assert_eq!(
            origin("https://evil.test\\@api.shop.test").as_deref(),
            Some("https://evil.test")
        );
        assert_eq!(
            origin("https://evil.test/@api.shop.test").as_deref(),
            Some("https://evil.test")
        );
    }

    #[test]
    fn whitespace_tricks_follow_the_browser() {
        assert_eq!(
            origin("  https://api.shop.test/ ").as_deref(),
            Some("https://api.shop.test")
        );
        assert_eq!(
            origin("ht\ttps://api.sh\nop.test/").as_deref(),
            Some("https://api.shop.test")
        );
    }

    #[test]
    fn only_http_and_https_have_origins() {
        for url in [
            "data:text/plain,https://api.shop.test",
            "blob:https://api.shop.test/2b1c",
            "about:blank",
            "javascript:fetch('https://api.shop.test')",
            "ws://api.shop.test/",
            "file:///etc/passwd",
            "/relative/path",
            "api.shop.test",
            "",
        ] {
            assert_eq!(origin(url), None, "{url:?}");
        }
    }

    #[test]
    fn malformed_authorities_have_no_origin() {
        for url in [
            "https://",
            "https://:443/",
            "https://a.test:99999/",
            "https://a.test:12a/",
            "https://[::1/",
        ] {
            assert_eq!(origin(url), None, "{url:?}");
        }
    }
}
