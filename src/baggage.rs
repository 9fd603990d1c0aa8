//! W3C `baggage` beside other code: the header is a list, so Threadline adds its one member
//! (`session.id`) to whatever the app or another tracer put there, replaces only that member,
//! and adds nothing when the result would break the spec's limits.

use alloc::string::String;

use crate::id::Id;
use crate::text::{concat, split_byte};

/// The key of Threadline's own member.
pub const SESSION_KEY: &str = "session.id";
/// Most list-members a baggage header may carry (W3C Baggage, "Limits").
pub const MAX_MEMBERS: usize = 64;
/// Most bytes a baggage header may carry.
pub const MAX_BYTES: usize = 8192;

/// How the request's headers can be changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderWrite {
    /// The value can be replaced (fetch: Threadline hands on its own copy of the headers).
    Replace,
    /// Values can only be appended (XHR: `setRequestHeader` joins them with `, `).
    Append,
}

/// The list-members of a baggage value, trimmed; empty members are skipped.
fn members(value: &str) -> impl Iterator<Item = &str> {
    split_byte(value, b',')
        .map(str::trim_ascii)
        .filter(|m| !m.is_empty())
}

/// A member's key and value: the text before `=` and after it up to any `;` properties, trimmed.
fn key_value(member: &str) -> (&str, &str) {
    let mut parts = split_byte(member, b'=');
    let key = parts.next().unwrap_or("").trim_ascii();
    let value = parts.next().unwrap_or("");
    let value = split_byte(value, b';').next().unwrap_or("").trim_ascii();
    (key, value)
}

/// A member's key.
fn key(member: &str) -> &str {
    key_value(member).0
}

/// What to write to `baggage` so that it carries `session`: with [`HeaderWrite::Replace`], the
/// whole new value (the app's members kept in order, an earlier Threadline `session.id`
/// replaced); with [`HeaderWrite::Append`], the member to append. `None` when the app's value
/// already has a `session.id` that cannot be replaced: with `Append` any, and with `Replace` one
/// whose value is not a Threadline ID (another SDK's, such as Datadog RUM's: it is kept, and a
/// request never carries two). `None` too when the result would pass the limits.
pub fn with_session(app: Option<&str>, session: Id, write: HeaderWrite) -> Option<String> {
    let ours = concat(&[SESSION_KEY, "=", &session.to_hex()]);
    let Some(app) = app.filter(|a| members(a).next().is_some()) else {
        return Some(ours);
    };
    let sessions = || {
        members(app)
            .map(key_value)
            .filter(|(k, _)| *k == SESSION_KEY)
    };
    let has_ours = sessions().next().is_some();
    if sessions().any(|(_, value)| Id::parse(value).is_none()) {
        return None;
    }
    let (mut out, kept) = match write {
        HeaderWrite::Append if has_ours => return None,
        HeaderWrite::Append => (String::new(), members(app).count()),
        HeaderWrite::Replace => {
            let mut out = String::with_capacity(app.len() + ours.len() + 1);
            let mut kept = 0;
            for member in members(app).filter(|m| key(m) != SESSION_KEY) {
                out.push_str(member);
                out.push(',');
                kept += 1;
            }
            (out, kept)
        }
    };
    out.push_str(&ours);
    let total = match write {
        HeaderWrite::Append => app.len() + 2 + out.len(),
        HeaderWrite::Replace => out.len(),
    };
    (kept < MAX_MEMBERS && total <= MAX_BYTES).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Id {
        Id::parse("0af7651916cd43dd8448eb211c80319c").unwrap()
    }
    const OURS: &str = "session.id=0af7651916cd43dd8448eb211c80319c";

    #[test]
    fn without_app_baggage_it_is_our_member_alone() {
        for write in [HeaderWrite::Replace, HeaderWrite::Append] {
            assert_eq!(with_session(None, session(), write).as_deref(), Some(OURS));
            assert_eq!(
                with_session(Some(" , "), session(), write).as_deref(),
                Some(OURS)
            );
        }
    }

    #[test]
    fn the_apps_members_are_kept_and_ours_added() {
        let out = with_session(
            Some("user.tier=gold, sentry-trace_id=abc;p=1"),
            session(),
            HeaderWrite::Replace,
        );
        assert_eq!(
            out.as_deref(),
            Some(
                "user.tier=gold,sentry-trace_id=abc;p=1,session.id=0af7651916cd43dd8448eb211c80319c"
            )
        );
        let appended = with_session(Some("user.tier=gold"), session(), HeaderWrite::Append);
        assert_eq!(appended.as_deref(), Some(OURS));
    }

    #[test]
    fn only_our_own_member_is_replaced() {
        let out = with_session(
            Some("session.id=ffffffffffffffffffffffffffffffff;p=1,session.idx=1"),
            session(),
            HeaderWrite::Replace,
        );
        assert_eq!(
            out.as_deref(),
            Some("session.idx=1,session.id=0af7651916cd43dd8448eb211c80319c")
        );
        assert_eq!(
            with_session(Some("a=1,session.id=x"), session(), HeaderWrite::Append),
            None
        );
    }

    #[test]
    fn another_sdks_session_member_is_kept_and_ours_not_added() {
        let datadog = "session.id=84bf394e-5ea1-49ca-9698-4361e89a1970";
        assert_eq!(
            with_session(Some(datadog), session(), HeaderWrite::Replace),
            None
        );
        assert_eq!(
            with_session(Some(datadog), session(), HeaderWrite::Append),
            None
        );
        let both = "session.id=ffffffffffffffffffffffffffffffff, session.id = old";
        assert_eq!(
            with_session(Some(both), session(), HeaderWrite::Replace),
            None
        );
    }

    #[test]
    fn nothing_is_added_past_the_limits() {
        let many: Vec<String> = (0..64).map(|i| format!("k{i}=v")).collect();
        assert_eq!(
            with_session(Some(&many.join(",")), session(), HeaderWrite::Replace),
            None
        );
        assert_eq!(
            with_session(Some(&many.join(",")), session(), HeaderWrite::Append),
            None
        );
        let fits: Vec<String> = (0..63).map(|i| format!("k{i}=v")).collect();
        assert!(with_session(Some(&fits.join(",")), session(), HeaderWrite::Replace).is_some());
        let long = format!("big={}", "x".repeat(MAX_BYTES - 40));
        assert_eq!(
            with_session(Some(&long), session(), HeaderWrite::Replace),
            None
        );
        assert_eq!(
            with_session(Some(&long), session(), HeaderWrite::Append),
            None
        );
        let near = format!("big={}", "x".repeat(MAX_BYTES - 4 - 1 - OURS.len()));
        assert_eq!(
            with_session(Some(&near), session(), HeaderWrite::Replace).map(|v| v.len()),
            Some(MAX_BYTES)
        );
    }
}
