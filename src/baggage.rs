//! W3C `baggage` beside other code: the header is a list, so Threadline adds its one member
//! (`session.id`) to whatever the app or another tracer put there, replaces only that member,
//! and adds nothing when the result would break the spec's limits.

use alloc::string::String;

use crate::id::Id;
use crate::text::{concat, split_byte};

/// The key of Threadline's own member.
pub const SESSION_KEY: &str = "session.id";
/// The key of the app's user ID (`setUser`), when it travels in baggage.
pub const USER_KEY: &str = "user.id";
/// Longest user ID `setUser` takes.
pub const MAX_USER_ID: usize = 128;

/// Whether `id` may be an app's user ID: 1 to 128 printable ASCII characters a baggage value may
/// hold as they are (no space, `"`, `,`, `;` or `\`), and no `@`: an e-mail address is personal
/// data, never an opaque ID.
pub fn is_user_id(id: &str) -> bool {
    (1..=MAX_USER_ID).contains(&id.len())
        && id
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && !b"\",;\\@".contains(&b))
}

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
///
/// `user`, the app's opaque user ID (see [`is_user_id`]), adds a `user.id` member beside it.
pub fn with_session(
    app: Option<&str>,
    session: Id,
    user: Option<&str>,
    write: HeaderWrite,
) -> Option<String> {
    let mut ours = concat(&[SESSION_KEY, "=", &session.to_hex()]);
    if let Some(user) = user.filter(|u| is_user_id(u)) {
        ours.push(',');
        ours.push_str(USER_KEY);
        ours.push('=');
        ours.push_str(user);
    }
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
            let replaced =
                |m: &&str| key(m) == SESSION_KEY || (user.is_some() && key(m) == USER_KEY);
            for member in members(app).filter(|m| !replaced(m)) {
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
            assert_eq!(
                with_session(None, session(), None, write).as_deref(),
                Some(OURS)
            );
            assert_eq!(
                with_session(Some(" , "), session(), None, write).as_deref(),
                Some(OURS)
            );
        }
    }

    #[test]
    fn the_apps_members_are_kept_and_ours_added() {
        let out = with_session(
            Some("user.tier=gold, sentry-trace_id=abc;p=1"),
            session(),
            None,
            HeaderWrite::Replace,
        );
        assert_eq!(
            out.as_deref(),
            Some(
                "user.tier=gold,sentry-trace_id=abc;p=1,session.id=0af7651916cd43dd8448eb211c80319c"
            )
        );
        let appended = with_session(Some("user.tier=gold"), session(), None, HeaderWrite::Append);
        assert_eq!(appended.as_deref(), Some(OURS));
    }

    #[test]
    fn only_our_own_member_is_replaced() {
        let out = with_session(
            Some("session.id=ffffffffffffffffffffffffffffffff;p=1,session.idx=1"),
            session(),
            None,
            HeaderWrite::Replace,
        );
        assert_eq!(
            out.as_deref(),
            Some("session.idx=1,session.id=0af7651916cd43dd8448eb211c80319c")
        );
        assert_eq!(
            with_session(
                Some("a=1,session.id=x"),
                session(),
                None,
                HeaderWrite::Append
            ),
            None
        );
    }

    #[test]
    fn another_sdks_session_member_is_kept_and_ours_not_added() {
        let datadog = "session.id=84bf394e-5ea1-49ca-9698-4361e89a1970";
        assert_eq!(
            with_session(Some(datadog), session(), None, HeaderWrite::Replace),
            None
        );
        assert_eq!(
            with_session(Some(datadog), session(), None, HeaderWrite::Append),
            None
        );
        let both = "session.id=ffffffffffffffffffffffffffffffff, session.id = old";
        assert_eq!(
            with_session(Some(both), session(), None, HeaderWrite::Replace),
            None
        );
    }

    #[test]
    fn an_opaque_user_id_travels_beside_the_session() {
        let out = with_session(
            Some("a=1,user.id=old"),
            session(),
            Some("u_8f3a"),
            HeaderWrite::Replace,
        );
        assert_eq!(
            out.as_deref(),
            Some("a=1,session.id=0af7651916cd43dd8448eb211c80319c,user.id=u_8f3a")
        );
        let refused = with_session(
            None,
            session(),
            Some("ann@example.com"),
            HeaderWrite::Replace,
        );
        assert_eq!(
            refused.as_deref(),
            Some(OURS),
            "an e-mail address is never sent"
        );
    }

    #[test]
    fn user_ids_are_opaque_tokens() {
        for good in ["u1", "8f3a9c", "a-b_c.d:e/f+g=", &"x".repeat(128)] {
            assert!(is_user_id(good), "{good}");
        }
        for bad in [
            "",
            "a b",
            "a,b",
            "a;b",
            "a\\b",
            "\"q\"",
            "ann@example.com",
            "é",
            &"x".repeat(129),
        ] {
            assert!(!is_user_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn nothing_is_added_past_the_limits() {
        let many: Vec<String> = (0..64).map(|i| format!("k{i}=v")).collect();
        assert_eq!(
            with_session(Some(&many.join(",")), session(), None, HeaderWrite::Replace),
            None
        );
        assert_eq!(
            with_session(Some(&many.join(",")), session(), None, HeaderWrite::Append),
            None
        );
        let fits: Vec<String> = (0..63).map(|i| format!("k{i}=v")).collect();
        assert!(
            with_session(Some(&fits.join(",")), session(), None, HeaderWrite::Replace).is_some()
        );
        let long = format!("big={}", "x".repeat(MAX_BYTES - 40));
        assert_eq!(
            with_session(Some(&long), session(), None, HeaderWrite::Replace),
            None
        );
        assert_eq!(
            with_session(Some(&long), session(), None, HeaderWrite::Append),
            None
        );
        let near = format!("big={}", "x".repeat(MAX_BYTES - 4 - 1 - OURS.len()));
        assert_eq!(
            with_session(Some(&near), session(), None, HeaderWrite::Replace).map(|v| v.len()),
            Some(MAX_BYTES)
        );
    }
}
