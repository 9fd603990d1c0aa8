//! The two doors over real HTTP: reading needs the read token and never grants CORS; only the
//! write token makes a record backend; a record can never hide another; what comes without a
//! credential is rate limited; every answer carries the security headers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn the_reading_door_refuses_without_the_read_token_and_never_grants_cors() {
    let c = collector().await;
    c.post_backend(&body(
        "checkout",
        "checkout",
        &[(
            Some("e1"),
            1,
            "reset link https://shop.test/reset?t=secret",
            TRACE,
        )],
    ))
    .await;
    let url = format!("{}/api/search?id={TRACE}", c.base);
    for (label, request) in [
        ("no credential", c.client.get(&url)),
        ("wrong bearer", c.client.get(&url).bearer_auth("nope")),
        ("the write token", c.client.get(&url).bearer_auth(WRITE)),
        (
            "wrong cookie",
            c.client.get(&url).header("Cookie", "threadline_read=nope"),
        ),
        (
            "from the shop's origin",
            c.client.get(&url).header("Origin", SHOP),
        ),
    ] {
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), 401, "{label}");
        assert!(
            r.headers().get("access-control-allow-origin").is_none(),
            "{label}"
        );
        assert!(!r.text().await.unwrap().contains("secret"), "{label}");
    }
    // Even with the credential, a page origin gets no CORS grant: its scripts cannot read.
    let r = c
        .client
        .get(&url)
        .bearer_auth(READ)
        .header("Origin", SHOP)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("access-control-allow-origin").is_none());
    assert_eq!(r.headers()["cache-control"], "no-store");
    let preflight = c
        .client
        .request(reqwest::Method::OPTIONS, &url)
        .header("Origin", SHOP)
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .unwrap();
    assert!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    assert!(!preflight.status().is_success());

    // The login form: the right token sets an HttpOnly, SameSite=Strict cookie that reads.
    let login = |token: &str, site: Option<&str>| {
        let mut r = c
            .client
            .post(format!("{}/api/login", c.base))
            .form(&[("token", token)]);
        if let Some(site) = site {
            r = r.header("Sec-Fetch-Site", site);
        }
        r.send()
    };
    assert_eq!(login("nope", None).await.unwrap().status(), 401);
    assert_eq!(login(READ, Some("cross-site")).await.unwrap().status(), 403);
    let ok = login(READ, Some("same-origin")).await.unwrap();
    assert_eq!(ok.status(), 204);
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_owned();
    for part in ["threadline_read=", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    let pair = cookie.split(';').next().unwrap();
    let r = c
        .client
        .get(&url)
        .header("Cookie", pair)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("secret"));
    let out = c
        .client
        .post(format!("{}/api/logout", c.base))
        .send()
        .await
        .unwrap();
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
}

#[tokio::test]
async fn ingestion_grants_cors_to_configured_origins_only() {
    let c = collector().await;
    let preflight = |origin: &'static str| {
        c.client
            .request(reqwest::Method::OPTIONS, format!("{}/v1/logs", c.base))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type")
            .send()
    };
    let ok = preflight(SHOP).await.unwrap();
    assert_eq!(ok.status(), 204);
    assert_eq!(ok.headers()["access-control-allow-origin"], SHOP);
    let allowed = ok.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap();
    assert!(allowed.contains("Content-Type"));
    assert!(
        !allowed.to_ascii_lowercase().contains("authorization"),
        "browsers never send the write token"
    );
    let denied = preflight("http://evil.test").await.unwrap();
    assert_eq!(denied.status(), 403);
    assert!(
        denied
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let posted = c
        .client
        .post(format!("{}/v1/logs", c.base))
        .header("Origin", SHOP)
        .header("Content-Type", "application/json")
        .body(body("web", "threadline", &[(Some("x"), 1, "m", TRACE)]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    assert_eq!(posted.headers()["access-control-allow-origin"], SHOP);
    assert_eq!(
        posted.headers()["access-control-expose-headers"],
        "Retry-After"
    );
}

#[tokio::test]
async fn only_the_write_token_makes_a_backend_line_and_a_forged_one_shows_as_browser() {
    let c = collector().await;
    c.post_backend(&body(
        "payments",
        "payments",
        &[(Some("g1"), 1, "card processor unavailable", TRACE)],
    ))
    .await;
    // An attacker claims the payments service and a support-looking line, without a token.
    let forged = body(
        "payments",
        "payments",
        &[(Some("f1"), 2, "ERROR refund approved by support", TRACE)],
    );
    assert_eq!(c.post_browser(&forged).await.status(), 200);
    // With a wrong token: refused, nothing stored.
    let r = c
        .send(
            "/v1/logs",
            "application/json",
            None,
            Some("guess"),
            forged.to_string().into_bytes(),
        )
        .await;
    assert_eq!(r.status(), 401);
    let found = c.search(TRACE).await;
    assert_eq!(
        messages(&found),
        [
            "card processor unavailable",
            "ERROR refund approved by support"
        ]
    );
    assert_eq!(found[0]["provenance"], "backend");
    assert_eq!(
        found[1]["provenance"], "browser",
        "the forged line is shown as from a browser"
    );
    assert_eq!(found[1]["service"], "payments");
}

#[tokio::test]
async fn a_pre_claimed_event_id_hides_nothing_and_only_true_duplicates_fold() {
    let c = collector().await;
    // The attacker posts first, with the victim's event.id.
    let claim = body(
        "web",
        "threadline",
        &[(Some("victim-event"), 5, "forged first", TRACE)],
    );
    assert_eq!(c.post_browser(&claim).await.status(), 200);
    // The genuine record arrives, twice (a beacon and its resend), and once from a backend.
    let genuine = body(
        "web",
        "threadline",
        &[(Some("victim-event"), 5, "genuine", TRACE)],
    );
    for _ in 0..2 {
        assert_eq!(c.post_browser(&genuine).await.status(), 200);
    }
    assert_eq!(c.post_backend(&genuine).await.status(), 200);
    let answer = c.answer(TRACE, None).await;
    let records = answer["records"].as_array().unwrap();
    let mut seen: Vec<(String, String, i64)> = records
        .iter()
        .map(|r| {
            (
                r["message"].as_str().unwrap().into(),
                r["provenance"].as_str().unwrap().into(),
                r["folded"].as_i64().unwrap(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("forged first".into(), "browser".into(), 0),
            ("genuine".into(), "backend".into(), 0),
            ("genuine".into(), "browser".into(), 1),
        ]
    );
    assert_eq!(answer["folded"], 1, "the answer says how many it folded");
    assert!(records.iter().all(|r| r["event_id"] == "victim-event"));
}

#[tokio::test]
async fn ingestion_without_a_credential_is_rate_limited_per_client_and_per_origin() {
    let c = collector_with(|s| {
        s.client_rate = threadline_collector::limits::Rate {
            per_second: 1,
            burst: 3,
        };
    })
    .await;
    let b = body("web", "threadline", &[(None, 1, "m", TRACE)]);
    for _ in 0..3 {
        assert_eq!(c.post_browser(&b).await.status(), 200);
    }
    let limited = c.post_browser(&b).await;
    assert_eq!(limited.status(), 429);
    let wait: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    assert_eq!(
        c.post_backend(&b).await.status(),
        200,
        "a backend with the token is not limited"
    );

    let c = collector_with(|s| {
        s.origin_rate = threadline_collector::limits::Rate {
            per_second: 1,
            burst: 2,
        };
    })
    .await;
    let from = |origin: &'static str| {
        c.client
            .post(format!("{}/v1/logs", c.base))
            .header("Origin", origin)
            .header("Content-Type", "application/json")
            .body(b.to_string())
            .send()
    };
    assert_eq!(from(SHOP).await.unwrap().status(), 200);
    assert_eq!(from(SHOP).await.unwrap().status(), 200);
    let limited = from(SHOP).await.unwrap();
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(
        limited.headers()["access-control-allow-origin"],
        SHOP,
        "the page can read the 429"
    );
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let c = collector().await;
    for (path, authed) in [
        ("/", false),
        ("/page.js", false),
        ("/page.css", false),
        ("/api/search?id=x", true),
        ("/api/search?id=x", false),
    ] {
        let mut request = c.client.get(format!("{}{path}", c.base));
        if authed {
            request = request.bearer_auth(READ);
        }
        let r = request.send().await.unwrap();
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
    }
    let r = c.post_browser(&json!({})).await;
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let page = c
        .client
        .get(format!("{}/", c.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !page.contains("<script>") && page.contains("<script src=\"/page.js\""),
        "no inline script"
    );
}

#[tokio::test]
async fn logins_are_rate_limited_and_a_trusted_proxy_names_the_client_and_the_scheme() {
    let one_a_second = threadline_collector::limits::Rate {
        per_second: 1,
        burst: 2,
    };
    let c = collector_with(|s| s.client_rate = one_a_second).await;
    let login = |token: &'static str, forwarded: Option<(&'static str, &'static str)>| {
        let mut r = c
            .client
            .post(format!("{}/api/login", c.base))
            .form(&[("token", token)]);
        if let Some((ip, proto)) = forwarded {
            r = r
                .header("X-Forwarded-For", format!("203.0.113.9, {ip}"))
                .header("X-Forwarded-Proto", proto);
        }
        r.send()
    };
    assert_eq!(login("guess-1", None).await.unwrap().status(), 401);
    assert_eq!(login("guess-2", None).await.unwrap().status(), 401);
    let limited = login(READ, None).await.unwrap();
    assert_eq!(limited.status(), 429, "guessing is slowed down");
    assert!(limited.headers().contains_key("retry-after"));
    // Untrusted, the forwarded address is ignored: still the same (limited) client.
    let ignored = login(READ, Some(("198.51.100.1", "https"))).await.unwrap();
    assert_eq!(ignored.status(), 429);

    let c = collector_with(|s| {
        s.client_rate = one_a_second;
        s.trust_proxy = true;
    })
    .await;
    let mut statuses = Vec::new();
    for ip in [
        "198.51.100.1",
        "198.51.100.1",
        "198.51.100.1",
        "198.51.100.2",
    ] {
        let r = c
            .client
            .post(format!("{}/v1/logs", c.base))
            .header("X-Forwarded-For", format!("203.0.113.9, {ip}"))
            .header("Content-Type", "application/json")
            .body(body("web", "threadline", &[(None, 1, "m", TRACE)]).to_string())
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429, 200], "the last hop is the client");
    let secure = c
        .client
        .post(format!("{}/api/login", c.base))
        .header("X-Forwarded-For", "198.51.100.3")
        .header("X-Forwarded-Proto", "https")
        .form(&[("token", READ)])
        .send()
        .await
        .unwrap();
    assert_eq!(secure.status(), 204);
    assert!(
        secure.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .ends_with("; Secure")
    );
}
