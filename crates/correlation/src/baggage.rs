//! W3C `baggage` (<https://www.w3.org/TR/baggage/>): reading one member from a request and
//! setting one on an outgoing call while keeping every other member the app put there.

use http::header::{HeaderMap, HeaderValue};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// The header's name.
pub const BAGGAGE: &str = "baggage";

/// Characters a baggage value may not carry bare (all but RFC 3986's unreserved ones).
const VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The members of every `baggage` header in `headers`, in order, as raw `key=value;props` text.
fn members(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(BAGGAGE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|m| !m.is_empty())
}

fn key_of(member: &str) -> &str {
    member.split(['=', ';']).next().unwrap_or_default().trim()
}

/// The percent-decoded value of the first member named `key`, if any decodes as UTF-8.
pub fn get(headers: &HeaderMap, key: &str) -> Option<String> {
    let member = members(headers).find(|m| key_of(m) == key)?;
    let (_, rest) = member.split_once('=')?;
    let value = rest.split(';').next().unwrap_or_default().trim();
    percent_decode_str(value)
        .decode_utf8()
        .ok()
        .map(|v| v.into_owned())
}

/// Sets member `key` to `value` in `headers`' baggage: members with other keys stay, in order,
/// an old `key` member is replaced, and all end up in one `baggage` header.
pub fn set(headers: &mut HeaderMap, key: &str, value: &str) {
    let mut merged: Vec<String> = members(headers)
        .filter(|m| key_of(m) != key)
        .map(str::to_owned)
        .collect();
    merged.push(format!("{key}={}", utf8_percent_encode(value, VALUE)));
    if let Ok(value) = HeaderValue::from_str(&merged.join(",")) {
        headers.insert(BAGGAGE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(BAGGAGE, HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    #[test]
    fn a_member_is_found_among_others_with_spaces_and_properties() {
        let h = with(&["user.tier=gold, session.id = abc%2Ddef ;ttl=5", "x=1"]);
        assert_eq!(get(&h, "session.id").as_deref(), Some("abc-def"));
        assert_eq!(get(&h, "user.tier").as_deref(), Some("gold"));
        assert_eq!(get(&h, "x").as_deref(), Some("1"));
        assert_eq!(get(&h, "session"), None);
        assert_eq!(get(&with(&["session.idx=1"]), "session.id"), None);
        assert_eq!(get(&HeaderMap::new(), "session.id"), None);
    }

    #[test]
    fn setting_keeps_the_apps_members_and_replaces_only_its_own() {
        let mut h = with(&["user.tier=gold,session.id=old", "k=v;p"]);
        set(&mut h, "session.id", "new value");
        assert_eq!(h.get_all(BAGGAGE).iter().count(), 1);
        assert_eq!(h[BAGGAGE], "user.tier=gold,k=v;p,session.id=new%20value");
        let mut empty = HeaderMap::new();
        set(&mut empty, "session.id", "s");
        assert_eq!(empty[BAGGAGE], "session.id=s");
    }
}
