//! CORS: the token, revocation and userinfo endpoints are open to the origins
//! (`web_origins`, `allowed_origins`) of the client a request is for, preflights
//! to the origins of any client; the JWKS and discovery to every origin; the
//! Management API and every other route to none.

use std::time::Duration;

use reqwest::header::{HeaderMap, ORIGIN};
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

use crate::common::*;
use crate::flows::*;

/// Client A's web origin, its allowed origin (CORS), and client B's web origin.
const WEB: &str = "https://app.example";
const WIDGETS: &str = "https://widgets.example";
const OTHER: &str = "http://localhost:4000";
/// An origin no client lists.
const EVIL: &str = "https://evil.example";
/// What auth0-spa-js sends in `Auth0-Client` (base64 JSON telemetry).
const AUTH0_CLIENT: &str = "eyJuYW1lIjoiYXV0aDAtc3BhLWpzIiwidmVyc2lvbiI6IjIuMC4wIn0=";
/// Near misses of `WEB`: none may match.
const NEAR_MISSES: &[&str] = &[
    "https://app.example/",
    "https://app.example:8443",
    "http://app.example",
    "https://app.example.evil.test",
    "https://evil-app.example",
    "https://sub.app.example",
    "https://APP.example",
    "https://app.exampl",
    "null",
    "",
];

/// Client A (a SPA with `WEB` and `WIDGETS`) and client B (a SPA with `OTHER`).
async fn setup(s: &TestServer) -> (App, App) {
    let a = app(
        s,
        json!({"app_type": "spa", "web_origins": [WEB], "allowed_origins": [WIDGETS]}),
    )
    .await;
    let b = app(s, json!({"app_type": "spa", "web_origins": [OTHER]})).await;
    user(s).await;
    (a, b)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

fn acao(r: &Reply) -> Option<&str> {
    header(&r.headers, "access-control-allow-origin")
}

/// No `Access-Control-*` header at all.
#[track_caller]
fn assert_no_cors(headers: &HeaderMap, what: &str) {
    let cors: Vec<_> = headers
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .collect();
    assert!(cors.is_empty(), "{what}: {cors:?}");
}

fn varies_on_origin(r: &Reply) -> bool {
    r.headers
        .get_all("vary")
        .iter()
        .any(|v| v.to_str().unwrap().eq_ignore_ascii_case("origin"))
}

/// A browser's cross-origin call: `Origin` (unless `None`) and `Auth0-Client`.
fn from(req: RequestBuilder, origin: Option<&str>) -> RequestBuilder {
    let req = req.header("auth0-client", AUTH0_CLIENT);
    match origin {
        Some(o) => req.header(ORIGIN, o),
        None => req,
    }
}

async fn post_form(
    s: &TestServer,
    path: &str,
    origin: Option<&str>,
    form: &[(&str, &str)],
) -> Reply {
    reply(
        from(http().post(s.url(path)), origin)
            .form(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn post_json(s: &TestServer, path: &str, origin: Option<&str>, body: Value) -> Reply {
    reply(
        from(http().post(s.url(path)), origin)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn preflight(s: &TestServer, path: &str, origin: &str, method: &str) -> Reply {
    reply(
        http()
            .request(Method::OPTIONS, s.url(path))
            .header(ORIGIN, origin)
            .header("access-control-request-method", method)
            .header(
                "access-control-request-headers",
                "auth0-client,content-type",
            )
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// A refused preflight: 204 without a CORS header.
#[track_caller]
fn assert_refused_preflight(r: &Reply, what: &str) {
    assert_eq!(r.status, 204, "{what}: {r:?}");
    assert_no_cors(&r.headers, what);
}

/// A token request of `client` that is judged `invalid_grant`, from `origin`.
async fn bad_refresh_from(s: &TestServer, client: &str, origin: &str) -> Reply {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", "not-a-refresh-token"),
        ("client_id", client),
    ];
    post_form(s, "oauth/token", Some(origin), &form).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflights_from_any_clients_origin_list_methods_and_headers() {
    let s = start().await;
    setup(&s).await;
    for origin in [WEB, WIDGETS, OTHER] {
        for (path, methods, headers) in [
            ("oauth/token", "POST", "content-type, auth0-client, dpop"),
            ("oauth/revoke", "POST", "content-type, auth0-client, dpop"),
            (
                "userinfo",
                "GET, POST",
                "authorization, content-type, auth0-client, dpop",
            ),
        ] {
            let r = preflight(&s, path, origin, "POST").await;
            let what = format!("{origin} {path}");
            assert_eq!(r.status, 204, "{what}: {r:?}");
            assert_eq!(acao(&r), Some(origin), "{what}");
            assert!(varies_on_origin(&r), "{what}");
            let h = |n: &str| header(&r.headers, n);
            assert_eq!(h("access-control-allow-methods"), Some(methods), "{what}");
            assert_eq!(h("access-control-allow-headers"), Some(headers), "{what}");
            assert_eq!(h("access-control-max-age"), Some("600"), "{what}");
            assert_eq!(h("access-control-allow-credentials"), None, "{what}");
            assert_eq!(h("access-control-expose-headers"), None, "{what}");
        }
    }
    let r = preflight(&s, "userinfo", WEB, "GET").await;
    assert_eq!(acao(&r), Some(WEB), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflights_from_other_origins_or_for_other_methods_are_refused() {
    let s = start().await;
    setup(&s).await;
    for path in ["oauth/token", "oauth/revoke", "userinfo"] {
        for origin in NEAR_MISSES.iter().chain(&[EVIL]) {
            let r = preflight(&s, path, origin, "POST").await;
            assert_refused_preflight(&r, &format!("{origin:?} {path}"));
            assert!(varies_on_origin(&r), "{path}");
        }
        for method in ["PUT", "DELETE", "PATCH", "post"] {
            let r = preflight(&s, path, WEB, method).await;
            assert_refused_preflight(&r, &format!("{method} {path}"));
        }
        // No Origin: not a CORS request.
        let r = reply(
            http()
                .request(Method::OPTIONS, s.url(path))
                .header("access-control-request-method", "POST")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_refused_preflight(&r, path);
    }
    for path in ["oauth/token", "oauth/revoke"] {
        let r = preflight(&s, path, WEB, "GET").await;
        assert_refused_preflight(&r, &format!("GET {path}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_origin_code_redemption_and_refresh_are_readable_by_the_clients_origins() {
    let s = start().await;
    let (a, _) = setup(&s).await;
    let b = browser();
    let (callback, verifier) = authorize(&s, &b, &a, "openid profile offline_access", &[]).await;
    let r = post_form(
        &s,
        "oauth/token",
        Some(WEB),
        &[
            ("grant_type", "authorization_code"),
            ("code", &callback["code"]),
            ("redirect_uri", CALLBACK),
            ("code_verifier", &verifier),
            ("client_id", &a.id),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(acao(&r), Some(WEB));
    assert!(varies_on_origin(&r));
    assert_eq!(header(&r.headers, "access-control-allow-credentials"), None);
    let first = field(&r, "refresh_token");

    // auth0-spa-js refreshes with a JSON body, here from the allowed origin.
    let body = |rt: &str| {
        json!({"grant_type": "refresh_token", "refresh_token": rt, "client_id": a.id,
               "redirect_uri": null, "scope": null})
    };
    let r = post_json(&s, "oauth/token", Some(WIDGETS), body(&first)).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(acao(&r), Some(WIDGETS));
    let second = field(&r, "refresh_token");
    assert_ne!(first, second, "rotated");

    // A refused grant of a known client: still readable, so the SDK can match
    // on its description.
    let r = post_json(&s, "oauth/token", Some(WEB), body("not-a-refresh-token")).await;
    assert_invalid_grant(&r, Reason::RefreshTokenInvalid);
    assert_eq!(acao(&r), Some(WEB));
    assert!(varies_on_origin(&r));

    // The same requests from elsewhere are judged as before, unreadable.
    let r = post_json(&s, "oauth/token", Some(EVIL), body(&second)).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(acao(&r), None);
    assert!(varies_on_origin(&r));
    let r = post_json(&s, "oauth/token", Some(OTHER), body("not-a-refresh-token")).await;
    assert_invalid_grant(&r, Reason::RefreshTokenInvalid);
    assert_no_cors(&r.headers, "client B's origin on client A's request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_answers_echo_only_the_exact_origin_of_the_named_client() {
    let s = start().await;
    let (a, b) = setup(&s).await;
    let r = bad_refresh_from(&s, &a.id, WEB).await;
    assert_invalid_grant(&r, Reason::RefreshTokenInvalid);
    assert_eq!(acao(&r), Some(WEB), "the control: {r:?}");
    for origin in NEAR_MISSES.iter().chain(&[EVIL]) {
        let r = bad_refresh_from(&s, &a.id, origin).await;
        assert_invalid_grant(&r, Reason::RefreshTokenInvalid);
        assert_no_cors(&r.headers, origin);
    }
    // Client A's origins on client B's request, and the other way round.
    for (client, origin) in [(&b.id, WEB), (&b.id, WIDGETS), (&a.id, OTHER)] {
        let r = bad_refresh_from(&s, client, origin).await;
        assert_invalid_grant(&r, Reason::RefreshTokenInvalid);
        assert_no_cors(&r.headers, origin);
    }
    // An unknown client.
    let r = bad_refresh_from(&s, "no-such-client", WEB).await;
    assert_eq!(r.status, 401, "{r:?}");
    assert_no_cors(&r.headers, "unknown client");
    // A request that names no client.
    let r = post_form(
        &s,
        "oauth/token",
        Some(WEB),
        &[("grant_type", "refresh_token")],
    )
    .await;
    assert_eq!(r.status / 100, 4, "{r:?}");
    assert_no_cors(&r.headers, "no client");
    // Basic authentication names the client too.
    let web = app(
        &s,
        json!({"web_origins": [WEB], "token_endpoint_auth_method": "client_secret_basic"}),
    )
    .await;
    let r = reply(
        from(http().post(s.url("oauth/token")), Some(WEB))
            .basic_auth(&web.id, web.secret.as_deref())
            .form(&[("grant_type", "refresh_token"), ("refresh_token", "nope")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_invalid_grant(&r, Reason::RefreshTokenInvalid);
    assert_eq!(acao(&r), Some(WEB));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_is_readable_by_the_named_clients_origins_only() {
    let s = start().await;
    let (a, b) = setup(&s).await;
    let rt = field(
        &login(&s, &a, "openid offline_access", &[]).await,
        "refresh_token",
    );
    let revoke = |client: &str, origin: &str| {
        let client = client.to_owned();
        let origin = origin.to_owned();
        let s = &s;
        async move {
            post_json(
                s,
                "oauth/revoke",
                Some(&origin),
                json!({"client_id": client, "token": "unknown", "token_type_hint": "refresh_token"}),
            )
            .await
        }
    };
    for origin in [WEB, WIDGETS] {
        let r = revoke(&a.id, origin).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(acao(&r), Some(origin));
        assert!(varies_on_origin(&r));
    }
    for (client, origin) in [
        (a.id.as_str(), OTHER),
        (a.id.as_str(), EVIL),
        (a.id.as_str(), "null"),
        (a.id.as_str(), "https://app.example.evil.test"),
        (b.id.as_str(), WEB),
    ] {
        let r = revoke(client, origin).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_no_cors(&r.headers, origin);
    }
    let r = revoke("no-such-client", WEB).await;
    assert_eq!(r.status, 401, "{r:?}");
    assert_no_cors(&r.headers, "unknown client");
    // A refused request of a known client stays readable (no token given).
    let r = post_json(&s, "oauth/revoke", Some(WEB), json!({"client_id": a.id})).await;
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(acao(&r), Some(WEB));
    // The revocation itself is judged as before: from a foreign origin it
    // still revokes.
    let r = post_json(
        &s,
        "oauth/revoke",
        Some(EVIL),
        json!({"client_id": a.id, "token": rt}),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_no_cors(&r.headers, EVIL);
    assert_invalid_grant(
        &refresh(&s, &a, &rt, None).await,
        Reason::RefreshTokenInvalid,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn userinfo_is_readable_by_the_origins_of_the_tokens_client() {
    let s = start().await;
    let (a, b) = setup(&s).await;
    let token_a = field(&login(&s, &a, "openid profile", &[]).await, "access_token");
    let token_b = field(&login(&s, &b, "openid profile", &[]).await, "access_token");
    let get = |token: &str, origin: &str| {
        let req = http().get(s.url("userinfo")).bearer_auth(token);
        let req = from(req, Some(origin));
        async move { reply(req.send().await.unwrap()).await }
    };
    for (token, origin) in [(&token_a, WEB), (&token_a, WIDGETS), (&token_b, OTHER)] {
        let r = get(token, origin).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(acao(&r), Some(origin));
        assert!(varies_on_origin(&r));
    }
    let r = reply(
        from(http().post(s.url("userinfo")), Some(WEB))
            .form(&[("access_token", token_a.as_str())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(acao(&r), Some(WEB));
    // Client B's token from client A's origins, and the near misses.
    for (token, origin) in [(&token_b, WEB), (&token_b, WIDGETS), (&token_a, OTHER)] {
        let r = get(token, origin).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_no_cors(&r.headers, origin);
    }
    for origin in NEAR_MISSES.iter().chain(&[EVIL]) {
        let r = get(&token_a, origin).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_no_cors(&r.headers, origin);
    }
    // A token that names no client.
    let r = get("not-a-token", WEB).await;
    assert_eq!(r.status, 401, "{r:?}");
    assert_no_cors(&r.headers, "invalid token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jwks_and_discovery_are_open_to_every_origin() {
    let s = start().await;
    for path in [
        ".well-known/jwks.json",
        ".well-known/openid-configuration",
        ".well-known/oauth-authorization-server",
    ] {
        for origin in [Some(EVIL), Some("null"), None] {
            let mut req = http().get(s.url(path));
            if let Some(origin) = origin {
                req = req.header(ORIGIN, origin);
            }
            let r = reply(req.send().await.unwrap()).await;
            assert_eq!(r.status, 200, "{path}: {r:?}");
            assert_eq!(acao(&r), Some("*"), "{path}");
            assert_eq!(header(&r.headers, "access-control-allow-credentials"), None);
        }
        let r = preflight(&s, path, EVIL, "GET").await;
        assert_eq!(r.status, 204, "{path}: {r:?}");
        assert_eq!(acao(&r), Some("*"), "{path}");
        assert_eq!(
            header(&r.headers, "access-control-allow-methods"),
            Some("GET")
        );
        assert_eq!(header(&r.headers, "access-control-allow-credentials"), None);
        let r = preflight(&s, path, EVIL, "POST").await;
        assert_refused_preflight(&r, path);
        // Only GET is served, CORS or not.
        let r = reply(
            http()
                .post(s.url(path))
                .header(ORIGIN, EVIL)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 405, "{path}: {r:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_api_and_other_routes_never_answer_cors() {
    let s = start().await;
    setup(&s).await;
    let admin = s.admin_token().await;
    for origin in [WEB, WIDGETS, EVIL, "null"] {
        let r = reply(
            http()
                .get(s.url("api/v2/clients"))
                .bearer_auth(&admin)
                .header(ORIGIN, origin)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_no_cors(&r.headers, origin);
        for path in [
            "api/v2/clients",
            "api/v2/users",
            "authorize",
            "u/login",
            "oauth/introspect",
            "oidc/logout",
            "v2/logout",
            "healthz",
        ] {
            for method in ["GET", "POST", "PATCH"] {
                let r = preflight(&s, path, origin, method).await;
                assert_ne!(r.status, 204, "{path}: {r:?}");
                assert_no_cors(&r.headers, &format!("{method} {path} from {origin}"));
            }
        }
        let r = reply(
            http()
                .post(s.url("oauth/introspect"))
                .header(ORIGIN, origin)
                .form(&[
                    ("token", "x"),
                    ("client_id", ADMIN_ID),
                    ("client_secret", ADMIN_SECRET),
                ])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_no_cors(&r.headers, "introspection");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflights_are_not_rate_limited() {
    const LIMIT: u32 = 30;
    let s = start_opts(Options {
        configure: |c| c.rate_limit_per_minute = LIMIT,
        ..Options::default()
    })
    .await;
    // The setup's few token requests (admin tokens) count; preflights do not.
    let (a, _) = setup(&s).await;
    for _ in 0..2 * LIMIT {
        let r = preflight(&s, "oauth/token", WEB, "POST").await;
        assert_eq!(acao(&r), Some(WEB), "{r:?}");
    }
    let r = bad_refresh_from(&s, &a.id, WEB).await;
    assert_invalid_grant(&r, Reason::RefreshTokenInvalid);
    // The limit still holds for token requests; its refusal names no client.
    let mut refused = None;
    for _ in 0..LIMIT {
        let r = bad_refresh_from(&s, &a.id, WEB).await;
        if r.status == 429 {
            refused = Some(r);
            break;
        }
    }
    let r = refused.expect("the token endpoint's limit");
    assert_no_cors(&r.headers, "429");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_origins_apply_at_once_to_requests_and_within_the_refresh_interval_to_preflights() {
    let s = start_opts(Options {
        configure: |c| c.cors_origins_refresh = Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    let (a, _) = setup(&s).await;
    const NEW: &str = "https://new.example";
    assert_refused_preflight(&preflight(&s, "oauth/token", NEW, "POST").await, NEW);
    let admin = s.admin_token().await;
    let patch = |origins: Value| {
        let path = format!("api/v2/clients/{}", a.id);
        let admin = admin.clone();
        let s = &s;
        async move {
            let r = s
                .api(
                    Method::PATCH,
                    &path,
                    &admin,
                    Some(json!({"allowed_origins": origins})),
                )
                .await;
            assert_eq!(r.status, 200, "{r:?}");
            assert_eq!(r.body["allowed_origins"], origins);
        }
    };
    patch(json!([NEW])).await;
    assert_eq!(acao(&bad_refresh_from(&s, &a.id, NEW).await), Some(NEW));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        acao(&preflight(&s, "oauth/token", NEW, "POST").await),
        Some(NEW)
    );
    // Removed: requests at once, preflights after the interval.
    patch(json!([])).await;
    assert_no_cors(&bad_refresh_from(&s, &a.id, NEW).await.headers, NEW);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_refused_preflight(&preflight(&s, "oauth/token", NEW, "POST").await, NEW);
    // The web origin is untouched.
    assert_eq!(
        acao(&preflight(&s, "oauth/token", WEB, "POST").await),
        Some(WEB)
    );
}
