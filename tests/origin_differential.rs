//! The origin parser against the WHATWG URL parser (the `url` crate): for every URL as a
//! browser serialises it (what the web shell hands the core: `new URL(input, base).href`), the
//! origin Threadline matches on is the origin the browser would enforce. Generated look-alikes
//! and real-world URLs.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use proptest::prelude::*;
use threadline::allowlist::{Allowlist, OriginPattern};
use threadline::origin::Origin;

/// The WHATWG tuple origin of an http(s) URL: scheme, host, port (default filled in).
fn whatwg(url: &url::Url) -> Option<(String, String, u16)> {
    match url.origin() {
        url::Origin::Tuple(scheme, host, port) if scheme == "http" || scheme == "https" => {
            Some((scheme, host.to_string(), port))
        }
        _ => None,
    }
}

fn ours(href: &str) -> Option<(String, String, u16)> {
    let origin = Origin::parse_url(href)?;
    let serialized = origin.serialize();
    let scheme = serialized.split("://").next()?.to_owned();
    Some((scheme, origin.host, origin.port))
}

/// Checks one input: parsed by the WHATWG parser and serialised, it has the same origin here.
fn agree(input: &str) -> Result<(), TestCaseError> {
    let Ok(parsed) = url::Url::parse(input) else {
        return Ok(());
    };
    let href = parsed.as_str();
    prop_assert_eq!(
        ours(href),
        whatwg(&parsed),
        "input {:?}, href {:?}",
        input,
        href
    );
    Ok(())
}

fn label() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9]{1,8}",
        "[a-z0-9]{1,4}-[a-z0-9]{1,4}",
        Just("api".to_owned()),
        Just("shop".to_owned()),
        Just("com".to_owned()),
        Just("evil".to_owned()),
        Just("xn--bcher-kva".to_owned()),
    ]
}

fn url_like() -> impl Strategy<Value = String> {
    let scheme = prop_oneof![
        Just("http"),
        Just("https"),
        Just("HTTPS"),
        Just("HtTp"),
        Just("ftp"),
        Just("ws"),
        Just("data"),
        Just("blob"),
    ];
    let slashes = prop_oneof![Just("//"), Just("/"), Just("///"), Just("\\\\"), Just("")];
    let userinfo = prop_oneof![
        Just(String::new()),
        "[a-z]{1,5}@",
        "[a-z]{1,5}:[a-z0-9]{0,5}@",
        Just("api.shop.com@".to_owned()),
        Just("a@b@".to_owned()),
    ];
    let host = prop_oneof![
        prop::collection::vec(label(), 1..5).prop_map(|l| l.join(".")),
        Just("127.0.0.1".to_owned()),
        Just("[::1]".to_owned()),
        Just("[2001:DB8::1]".to_owned()),
        Just("localhost".to_owned()),
        Just("API.Shop.COM".to_owned()),
        Just("api.shop.com.".to_owned()),
    ];
    let port = prop_oneof![
        Just(String::new()),
        Just(":".to_owned()),
        Just(":80".to_owned()),
        Just(":443".to_owned()),
        Just(":8443".to_owned()),
        Just(":0".to_owned()),
        Just(":00443".to_owned()),
        Just(":65535".to_owned()),
        Just(":65536".to_owned()),
        Just(":12a".to_owned()),
    ];
    let rest = prop_oneof![
        Just(String::new()),
        Just("/".to_owned()),
        "/[a-z/]{0,10}",
        Just("/?https://api.shop.com".to_owned()),
        Just("#@evil.test".to_owned()),
        Just("\\path\\to".to_owned()),
        Just("?a=1&b=@c".to_owned()),
        Just("/x@y:z".to_owned()),
    ];
    let space = prop_oneof![Just(""), Just(" "), Just("\t"), Just("\n")];
    (
        space.clone(),
        scheme,
        slashes,
        userinfo,
        host,
        port,
        rest,
        space,
    )
        .prop_map(
            |(lead, scheme, slashes, userinfo, host, port, rest, trail)| {
                format!("{lead}{scheme}:{slashes}{userinfo}{host}{port}{rest}{trail}")
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    #[test]
    fn the_origin_of_a_serialised_url_is_the_browsers(input in url_like()) {
        agree(&input)?;
    }

    #[test]
    fn an_exact_origin_pattern_allows_exactly_its_own_origin(input in url_like()) {
        let Ok(parsed) = url::Url::parse(&input) else { return Ok(()); };
        let Some((scheme, host, port)) = whatwg(&parsed) else { return Ok(()); };
        let allow = Allowlist {
            page: None,
            patterns: vec![OriginPattern::parse("https://api.shop.com").unwrap()],
        };
        let allowed = Origin::parse_url(parsed.as_str()).is_some_and(|o| allow.allows(&o));
        prop_assert_eq!(allowed, scheme == "https" && host == "api.shop.com" && port == 443, "{}", parsed);
    }
}

#[test]
fn real_world_urls_agree() {
    for input in [
        "https://www.google.com/search?q=threadline",
        "https://api.github.com/repos/rust-lang/rust/pulls?state=open",
        "http://localhost:3000/api/orders",
        "http://127.0.0.1:8080/",
        "https://[2001:db8::1]:8443/x",
        "https://EXAMPLE.com:443/Path",
        "https://api.shop.com.evil.net/",
        "https://api.shop.com@evil.net/",
        "https://evil.net/?https://api.shop.com",
        "https://user:pass@api.shop.com:8443/a#frag",
        "http://a.b.c.d.e.f.example.org:80/",
        "https://xn--bcher-kva.example/",
        "https://shop.test\\api\\orders",
        "  https://api.shop.com/trimmed  ",
        "https://api.shop.com./trailing-dot",
        "https://s3.amazonaws.com/bucket/key?X-Amz-Signature=abc",
        "https://sub.domain.co.uk:8080/path;params?query#fragment",
    ] {
        agree(input).unwrap();
    }
}
