//! The revocation and introspection endpoints are rate-limited per address like
//! the token endpoint, each with its own counter (issue 9, point 8). The limit
//! keys on the TCP peer, so this also proves the serving path attaches it.

use crate::common::*;

/// Posts `form` to `path` `limit` times (none refused by the limit), then once
/// more: that one is refused with 429, `Retry-After` and an RFC 6749 body.
async fn assert_limited(s: &TestServer, path: &str, form: &[(&str, &str)], limit: usize) {
    for _ in 0..limit {
        let r = reply(http().post(s.url(path)).form(form).send().await.unwrap()).await;
        assert_eq!(r.status, 200, "{path}: {r:?}");
    }
    let r = reply(http().post(s.url(path)).form(form).send().await.unwrap()).await;
    assert_eq!(r.status, 429, "{path}: {r:?}");
    assert_eq!(r.body["error"], "too_many_requests", "{r:?}");
    assert!(r.body["error_description"].is_string(), "{r:?}");
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_and_introspection_are_rate_limited_per_address_each_apart() {
    let s = start_opts(Options {
        configure: |c| c.rate_limit_per_minute = 3,
        ..Options::default()
    })
    .await;
    let aud = s.management_audience();
    let (id, secret) = s.m2m_client(&aud, &["read:clients"]).await;
    let form = [
        ("token", "not-a-token-we-issued"),
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    assert_limited(&s, "oauth/revoke", &form, 3).await;
    // Introspection has its own counter, and so does the token endpoint.
    assert_limited(&s, "oauth/introspect", &form, 3).await;
    let r = s
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("audience", &aud),
        ])
        .await;
    assert_eq!(r.status, 200, "{r:?}");
}
