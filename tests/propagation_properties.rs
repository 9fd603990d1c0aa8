//! Properties of the headers a request gets, over random app headers and baggage: the app's
//! headers are never overwritten (baggage is merged: every member of the app's kept, in order),
//! a request never carries two `traceparent` or two `session.id`, and the W3C limits hold.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use proptest::prelude::*;
use threadline::baggage::{HeaderWrite, MAX_BYTES, MAX_MEMBERS, with_session};
use threadline::id::{Id, SpanId};
use threadline::propagation::{AppHeaders, Propagation, SessionTo};

fn id() -> Id {
    Id::parse("4bf92f3577b34da6a3ce929d0e0e4736").unwrap()
}
fn session() -> Id {
    Id::parse("0af7651916cd43dd8448eb211c80319c").unwrap()
}

fn member() -> impl Strategy<Value = String> {
    prop_oneof![
        ("[a-z]{1,6}(\\.[a-z]{1,4})?", "[A-Za-z0-9%]{0,12}").prop_map(|(k, v)| format!("{k}={v}")),
        "[a-z]{1,6}=[a-z0-9]{1,6};p=[a-z]{1,3}",
        Just("session.id=ffffffffffffffffffffffffffffffff".to_owned()),
        Just("session.id=84bf394e-5ea1-49ca-9698-4361e89a1970".to_owned()),
        Just("sentry-trace_id=abc".to_owned()),
    ]
}

fn key(m: &str) -> &str {
    m.split('=').next().unwrap().trim()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn merged_baggage_keeps_every_app_member_and_one_session(
        members in prop::collection::vec(member(), 0..80),
        spaces in prop::bool::ANY,
    ) {
        let app = members.join(if spaces { " , " } else { "," });
        let foreign = members.iter().any(|m| key(m) == "session.id" && Id::parse(&m[11..]).is_none());
        match with_session(Some(&app), session(), None, HeaderWrite::Replace) {
            Some(out) => {
                prop_assert!(!foreign, "another SDK's session.id is never replaced: {}", out);
                let got: Vec<&str> = out.split(',').collect();
                let kept: Vec<&str> = members.iter().map(String::as_str).filter(|m| key(m) != "session.id").collect();
                prop_assert_eq!(&got[..got.len() - 1], &kept[..]);
                prop_assert_eq!(got.last().copied(), Some("session.id=0af7651916cd43dd8448eb211c80319c"));
                prop_assert!(got.len() <= MAX_MEMBERS && out.len() <= MAX_BYTES);
            }
            None => {
                let kept = members.iter().filter(|m| key(m) != "session.id").count();
                prop_assert!(foreign || kept + 1 > MAX_MEMBERS || app.len() + 45 > MAX_BYTES, "refused without cause: {}", app);
            }
        }
    }

    #[test]
    fn the_apps_headers_are_never_overwritten_and_traceparent_is_never_doubled(
        names in prop::collection::vec(prop_oneof![
            Just("traceparent"), Just("baggage"), Just("x-correlation-id"), Just("x-session-id"),
            Just("content-type"), Just("authorization"),
        ], 0..5),
        traceparent in prop::bool::ANY,
        all in prop::bool::ANY,
        plain in prop::bool::ANY,
        same_origin in prop::bool::ANY,
        xhr in prop::bool::ANY,
    ) {
        let list = format!(",{},", names.join(","));
        let p = Propagation {
            traceparent,
            session_to: if all { SessionTo::All } else { SessionTo::SameOrigin },
            session_header: plain.then(|| "X-Session-ID".to_owned()),
            ..Propagation::default()
        };
        let app = AppHeaders {
            names: &list,
            baggage: names.contains(&"baggage").then_some("a=1"),
            write: if xhr { HeaderWrite::Append } else { HeaderWrite::Replace },
            same_origin,
            tracer: false,
        };
        let span = SpanId::from_bytes([1, 2, 3, 4, 5, 6, 7, 8]);
        let out = p.headers(id(), span, Some(session()), None, &app);
        if names.contains(&"x-correlation-id") {
            prop_assert!(out.is_empty(), "the app manages correlation itself");
            return Ok(());
        }
        prop_assert_eq!(out[0].0.as_str(), "X-Correlation-ID");
        let count = |name: &str| out.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).count();
        prop_assert!(count("traceparent") <= 1);
        prop_assert!(count("baggage") <= 1);
        for (name, value) in &out {
            let lower = name.to_ascii_lowercase();
            if lower == "baggage" {
                if !xhr && names.contains(&"baggage") {
                    prop_assert!(value.starts_with("a=1,"), "merged, the app's member first: {}", value);
                }
                continue;
            }
            prop_assert!(!names.contains(&lower.as_str()), "{} was the app's", name);
        }
        let carries_session = out.iter().any(|(n, v)| n == "X-Session-ID" || v.contains("session.id="));
        prop_assert!(!carries_session || all || same_origin, "the session goes cross-origin only when asked");
    }
}
