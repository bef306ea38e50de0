//! Revocation (RFC 7009), introspection (RFC 7662), the Management API's
//! device credentials and `DELETE /api/v2/users/{id}/sessions`, over HTTP.

use std::sync::Arc;

use reqwest::Method;
use reqwest::header::CACHE_CONTROL;
use serde_json::{Value, json};
use tessera_core::clock::{FixedClock, SystemClock};
use tessera_core::{Clock, keys::SigningAlg};

use crate::common::*;
use crate::refresh::{
    API, App, CALLBACK, apis, app, assert_invalid_grant, browse_to_callback, browser, claims,
    credentials, field, login, login_in, refresh, user, userinfo,
};

/// POST to `path` with `form` plus the client's credentials.
async fn post(s: &TestServer, path: &str, app: &App, form: &[(&str, &str)]) -> Reply {
    let mut form = form.to_vec();
    form.extend(credentials(app));
    reply(http().post(s.url(path)).form(&form).send().await.unwrap()).await
}

async fn revoke(s: &TestServer, app: &App, token: &str, hint: Option<&str>) -> Reply {
    let mut form = vec![("token", token)];
    if let Some(h) = hint {
        form.push(("token_type_hint", h));
    }
    let r = post(s, "oauth/revoke", app, &form).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, Value::Null, "an empty body");
    assert_eq!(r.headers[CACHE_CONTROL], "no-store");
    r
}

async fn introspect(s: &TestServer, app: &App, token: &str) -> Value {
    let r = post(s, "oauth/introspect", app, &[("token", token)]).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.headers[CACHE_CONTROL], "no-store");
    r.body
}

fn inactive() -> Value {
    json!({"active": false})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_refresh_token_ends_its_family_and_its_access_tokens() {
    let s = start().await;
    let web = app(&s, json!({})).await;
    user(&s).await;
    let first = login(&s, &web, "openid offline_access", &[]).await;
    let rt0 = field(&first, "refresh_token");
    let r = refresh(&s, &web, &rt0, None).await;
    let rt1 = field(&r, "refresh_token");
    let at1 = field(&r, "access_token");
    assert_eq!(userinfo(&s, &at1).await.status, 200);
    revoke(&s, &web, &rt1, Some("refresh_token")).await;
    assert_invalid_grant(
        &refresh(&s, &web, &rt1, None).await,
        Reason::RefreshTokenInvalid,
    );
    assert_eq!(userinfo(&s, &at1).await.status, 401);
    assert_eq!(
        userinfo(&s, &field(&first, "access_token")).await.status,
        401
    );
    // Revoking again, or a token already dead: 200 all the same.
    revoke(&s, &web, &rt1, None).await;
    revoke(&s, &web, &rt0, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_client_revokes_its_tokens_even_a_retired_one() {
    let s = start().await;
    let spa = app(&s, json!({"app_type": "spa"})).await;
    user(&s).await;
    // A live refresh token, by client_id alone.
    let rt = field(
        &login(&s, &spa, "openid offline_access", &[]).await,
        "refresh_token",
    );
    revoke(&s, &spa, &rt, None).await;
    assert_invalid_grant(
        &refresh(&s, &spa, &rt, None).await,
        Reason::RefreshTokenInvalid,
    );
    // A retired one (replayable inside the leeway) ends the family too.
    let rt0 = field(
        &login(&s, &spa, "openid offline_access", &[]).await,
        "refresh_token",
    );
    let r = refresh(&s, &spa, &rt0, None).await;
    let rt1 = field(&r, "refresh_token");
    revoke(&s, &spa, &rt0, Some("refresh_token")).await;
    assert_invalid_grant(
        &refresh(&s, &spa, &rt1, None).await,
        Reason::RefreshTokenInvalid,
    );
    assert_invalid_grant(
        &refresh(&s, &spa, &rt0, None).await,
        Reason::RefreshTokenInvalid,
    );
    // An opaque access token, with an unknown hint (ignored, RFC 7009 §2.2.1).
    let r = login(&s, &spa, "openid", &[]).await;
    let at = field(&r, "access_token");
    assert_eq!(userinfo(&s, &at).await.status, 200);
    revoke(&s, &spa, &at, Some("id_token")).await;
    assert_eq!(userinfo(&s, &at).await.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_access_tokens_leaves_the_refresh_token() {
    let s = start().await;
    let web = app(&s, json!({})).await;
    user(&s).await;
    apis(&s).await;
    // A JWT (API audience, userinfo included with openid).
    let r = login(
        &s,
        &web,
        "openid offline_access read:orders",
        &[("audience", API)],
    )
    .await;
    let jwt = field(&r, "access_token");
    let rt = field(&r, "refresh_token");
    assert_eq!(userinfo(&s, &jwt).await.status, 200);
    assert_eq!(introspect(&s, &web, &jwt).await["active"], true);
    revoke(&s, &web, &jwt, Some("access_token")).await;
    assert_eq!(userinfo(&s, &jwt).await.status, 401);
    assert_eq!(introspect(&s, &web, &jwt).await, inactive());
    // It is listed with the other revoked tokens.
    let admin = s.admin_token().await;
    let listed = s
        .api(Method::GET, "api/v2/blacklists/tokens", &admin, None)
        .await;
    let jti = claims(&jwt)["jti"].clone();
    assert!(
        listed
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["jti"] == jti),
        "{listed:?}"
    );
    // The refresh token lives on.
    assert_eq!(refresh(&s, &web, &rt, None).await.status, 200);

    // An opaque access token, no hint.
    let r = login(&s, &web, "openid offline_access", &[]).await;
    let opaque = field(&r, "access_token");
    revoke(&s, &web, &opaque, None).await;
    assert_eq!(userinfo(&s, &opaque).await.status, 401);
    assert_eq!(introspect(&s, &web, &opaque).await, inactive());
    assert_eq!(
        refresh(&s, &web, &field(&r, "refresh_token"), None)
            .await
            .status,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_foreign_tokens_answer_200_and_change_nothing() {
    let s = start().await;
    let web = app(&s, json!({})).await;
    let other = app(&s, json!({})).await;
    let spa = app(&s, json!({"app_type": "spa"})).await;
    user(&s).await;
    apis(&s).await;
    let r = login(
        &s,
        &web,
        "openid offline_access read:orders",
        &[("audience", API)],
    )
    .await;
    let (jwt, rt) = (field(&r, "access_token"), field(&r, "refresh_token"));
    let r = login(&s, &web, "openid", &[]).await;
    let opaque = field(&r, "access_token");
    for token in [jwt.as_str(), &rt, &opaque] {
        revoke(&s, &other, token, None).await;
        revoke(&s, &spa, token, Some("refresh_token")).await;
        revoke(&s, &spa, token, Some("access_token")).await;
    }
    for garbage in ["nope", "a.b.c", &"x".repeat(20_000), "\u{1F600}"] {
        revoke(&s, &web, garbage, None).await;
    }
    assert_eq!(userinfo(&s, &jwt).await.status, 200);
    assert_eq!(userinfo(&s, &opaque).await.status, 200);
    assert_eq!(refresh(&s, &web, &rt, None).await.status, 200);

    // Client authentication and the token parameter are required.
    let wrong = App {
        id: web.id.clone(),
        secret: Some("wrong".into()),
    };
    for path in ["oauth/revoke", "oauth/introspect"] {
        let r = post(&s, path, &wrong, &[("token", &rt)]).await;
        assert_eq!(
            (r.status, &r.body["error"]),
            (401, &json!("invalid_client"))
        );
        let r = post(&s, path, &web, &[]).await;
        assert_eq!(
            (r.status, &r.body["error"]),
            (400, &json!("invalid_request"))
        );
        let r = reply(
            http()
                .post(s.url(path))
                .form(&[("token", "x")])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 401, "{r:?}");
        for (content_type, body) in [
            ("text/plain", "token=x"),
            ("application/json", "[1]"),
            ("application/x-www-form-urlencoded", "token=a&token=b"),
        ] {
            let r = reply(
                http()
                    .post(s.url(path))
                    .header("content-type", content_type)
                    .body(body)
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(r.status, 400, "{path} {content_type} {body}: {r:?}");
        }
    }
    // Basic authentication works too, and JSON bodies.
    let r = reply(
        http()
            .post(s.url("oauth/introspect"))
            .basic_auth(&web.id, web.secret.as_deref())
            .json(&json!({"token": rt, "token_type_hint": null}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.body["active"], false, "rt was rotated above: {r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_describes_each_kind_of_token() {
    let s = start().await;
    let web = app(&s, json!({})).await;
    let other = app(&s, json!({})).await;
    let spa = app(&s, json!({"app_type": "spa"})).await;
    let user_id = user(&s).await;
    apis(&s).await;
    let r = login(
        &s,
        &web,
        "openid offline_access read:orders",
        &[("audience", API)],
    )
    .await;
    let (jwt, rt) = (field(&r, "access_token"), field(&r, "refresh_token"));
    let c = claims(&jwt);
    assert_eq!(
        introspect(&s, &web, &jwt).await,
        json!({
            "active": true,
            "scope": "openid offline_access read:orders",
            "client_id": web.id,
            "sub": user_id,
            "aud": [API, s.url("userinfo")],
            "iss": s.base,
            "exp": c["exp"],
            "iat": c["iat"],
            "token_type": "access_token",
            "jti": c["jti"],
        })
    );
    let seen = introspect(&s, &web, &rt).await;
    assert_eq!(seen["active"], true, "{seen}");
    assert_eq!(seen["token_type"], "refresh_token");
    assert_eq!(seen["scope"], "openid offline_access read:orders");
    assert_eq!(seen["client_id"], web.id.as_str());
    assert_eq!(seen["sub"], user_id.as_str());
    assert_eq!(seen["aud"], API);
    assert_eq!(seen["iss"], s.base.as_str());
    let exp = seen["exp"].as_i64().unwrap();
    let iat = seen["iat"].as_i64().unwrap();
    assert_eq!(exp - iat, 30 * 86400, "the default absolute lifetime");

    let r = login(&s, &web, "openid email", &[]).await;
    let opaque = field(&r, "access_token");
    let seen = introspect(&s, &web, &opaque).await;
    assert_eq!(seen["active"], true, "{seen}");
    assert_eq!(seen["token_type"], "access_token");
    assert_eq!(seen["scope"], "openid email");
    assert_eq!(seen["sub"], user_id.as_str());
    assert_eq!(seen["aud"], s.url("userinfo"));
    assert!(seen["jti"].is_string());
    assert_eq!(
        seen["exp"].as_i64().unwrap() - seen["iat"].as_i64().unwrap(),
        86400
    );

    // Another client's tokens: inactive, unless the caller speaks for the
    // token's API (a client grant for it).
    for token in [jwt.as_str(), &rt, &opaque] {
        assert_eq!(introspect(&s, &other, token).await, inactive());
    }
    let (api_id, api_secret) = s.m2m_client(API, &["read:orders"]).await;
    let api_backend = App {
        id: api_id,
        secret: Some(api_secret),
    };
    assert_eq!(introspect(&s, &api_backend, &jwt).await["active"], true);
    assert_eq!(introspect(&s, &api_backend, &rt).await, inactive());
    // Public clients may not introspect.
    let r = post(&s, "oauth/introspect", &spa, &[("token", &jwt)]).await;
    assert_eq!(
        (r.status, &r.body["error"]),
        (401, &json!("invalid_client"))
    );

    // Unknown and malformed: exactly {"active": false}.
    let mut forged = jwt.clone();
    forged.pop();
    for token in ["nope", "a.b.c", "", &forged, &"y".repeat(20_000)] {
        let r = post(&s, "oauth/introspect", &web, &[("token", token)]).await;
        if token.is_empty() {
            assert_eq!(r.status, 400, "{r:?}");
        } else {
            assert_eq!(r.body, inactive(), "{token:.40}");
        }
    }
    // A rotated refresh token is no longer active; its successor is.
    let next = field(&refresh(&s, &web, &rt, None).await, "refresh_token");
    assert_eq!(introspect(&s, &web, &rt).await, inactive());
    assert_eq!(introspect(&s, &web, &next).await["active"], true);

    // A blocked user's tokens are inactive.
    let admin = s.admin_token().await;
    s.api(
        Method::PATCH,
        &format!("api/v2/users/{user_id}"),
        &admin,
        Some(json!({"blocked": true})),
    )
    .await;
    for token in [jwt.as_str(), &next, &opaque] {
        assert_eq!(introspect(&s, &web, token).await, inactive());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_a_revoked_family_introspect_as_inactive() {
    let s = start().await;
    let web = app(&s, json!({})).await;
    user(&s).await;
    apis(&s).await;
    let r = login(
        &s,
        &web,
        "openid offline_access read:orders",
        &[("audience", API)],
    )
    .await;
    let (jwt0, rt0) = (field(&r, "access_token"), field(&r, "refresh_token"));
    let r = refresh(&s, &web, &rt0, None).await;
    let (jwt1, rt1) = (field(&r, "access_token"), field(&r, "refresh_token"));
    for token in [&jwt0, &jwt1, &rt1] {
        assert_eq!(introspect(&s, &web, token).await["active"], true);
    }
    // Reuse of the retired token revokes the family.
    assert_invalid_grant(
        &refresh(&s, &web, &rt0, None).await,
        Reason::RefreshTokenReused,
    );
    for token in [&jwt0, &jwt1, &rt1, &rt0] {
        assert_eq!(introspect(&s, &web, token).await, inactive());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_introspect_as_inactive() {
    let clock = Arc::new(FixedClock::new(SystemClock.now()));
    let s = start_opts(Options {
        alg: SigningAlg::ES256,
        clock: clock.clone(),
        ..Options::default()
    })
    .await;
    let web = app(&s, json!({"refresh_token": {"token_lifetime": 100000}})).await;
    user(&s).await;
    apis(&s).await;
    let r = login(
        &s,
        &web,
        "openid offline_access read:orders",
        &[("audience", API)],
    )
    .await;
    let (jwt, rt) = (field(&r, "access_token"), field(&r, "refresh_token"));
    let opaque = field(&login(&s, &web, "openid", &[]).await, "access_token");
    clock.advance(86400);
    assert_eq!(introspect(&s, &web, &jwt).await, inactive());
    assert_eq!(introspect(&s, &web, &opaque).await, inactive());
    assert_eq!(introspect(&s, &web, &rt).await["active"], true);
    clock.advance(100000 - 86400);
    assert_eq!(introspect(&s, &web, &rt).await, inactive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_credentials_list_and_revoke_refresh_token_families() {
    let s = start().await;
    let web = app(&s, json!({"name": "Web shop"})).await;
    let spa = app(&s, json!({"name": "Dashboard", "app_type": "spa"})).await;
    let user_id = user(&s).await;
    apis(&s).await;
    let r = login(
        &s,
        &web,
        "openid offline_access read:orders",
        &[("audience", API)],
    )
    .await;
    let (web_jwt, web_rt) = (field(&r, "access_token"), field(&r, "refresh_token"));
    let spa_rt = field(
        &login(&s, &spa, "openid offline_access", &[]).await,
        "refresh_token",
    );
    let reader = s.token_with_scopes(&["read:device_credentials"]).await;
    let deleter = s.token_with_scopes(&["delete:device_credentials"]).await;
    let list = |query: String| list_credentials(&s, &reader, query);

    let r = list(format!("user_id={}&type=refresh_token", enc(&user_id))).await;
    assert_eq!(r.status, 200, "{r:?}");
    let items = r.body.as_array().unwrap().clone();
    assert_eq!(items.len(), 2, "{r:?}");
    let web_cred = items
        .iter()
        .find(|c| c["client_id"] == web.id.as_str())
        .unwrap();
    assert_eq!(web_cred["device_name"], "Web shop");
    assert_eq!(web_cred["type"], "refresh_token");
    assert_eq!(web_cred["user_id"], user_id.as_str());
    assert!(
        web_cred["id"].as_str().unwrap().starts_with("rtf_"),
        "{web_cred}"
    );
    assert!(web_cred["created_at"].is_string());
    let web_cred_id = web_cred["id"].as_str().unwrap().to_owned();

    // Filters, totals, fields.
    let r = list(format!("user_id={}&client_id={}", enc(&user_id), spa.id)).await;
    assert_eq!(r.body.as_array().unwrap().len(), 1, "{r:?}");
    assert_eq!(r.body[0]["device_name"], "Dashboard");
    let r = list(format!(
        "user_id={}&include_totals=true&per_page=1&fields=id,type",
        enc(&user_id)
    ))
    .await;
    assert_eq!(r.body["total"], 2, "{r:?}");
    assert_eq!(r.body["device_credentials"].as_array().unwrap().len(), 1);
    assert_eq!(
        r.body["device_credentials"][0]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["id", "type"]
    );
    let r = list("user_id=auth0%7Cnobody".into()).await;
    assert_eq!(r.body, json!([]));
    // Errors: no user, other types, bad paging.
    assert_mgmt_error(
        &list("type=refresh_token".into()).await,
        400,
        "invalid_query_string",
    );
    for kind in ["public_key", "rotating_refresh_token"] {
        let r = list(format!("user_id={}&type={kind}", enc(&user_id))).await;
        assert_mgmt_error(&r, 400, "invalid_query_string");
        assert!(
            r.body["message"]
                .as_str()
                .unwrap()
                .contains("not supported"),
            "{r:?}"
        );
    }
    assert_mgmt_error(
        &list(format!("user_id={}&type=password", enc(&user_id))).await,
        400,
        "invalid_query_string",
    );
    assert_mgmt_error(
        &list(format!("user_id={}&per_page=0", enc(&user_id))).await,
        400,
        "invalid_query_string",
    );

    // Scopes.
    let r = s
        .api(
            Method::GET,
            &format!("api/v2/device-credentials?user_id={}", enc(&user_id)),
            &deleter,
            None,
        )
        .await;
    assert_mgmt_error(&r, 403, "insufficient_scope");
    let path = format!("api/v2/device-credentials/{web_cred_id}");
    assert_mgmt_error(
        &s.api(Method::DELETE, &path, &reader, None).await,
        403,
        "insufficient_scope",
    );
    assert_eq!(refresh(&s, &web, &web_rt, None).await.status, 200);

    // Delete: the family and its access tokens end.
    let r = s.api(Method::DELETE, &path, &deleter, None).await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(introspect(&s, &web, &web_jwt).await, inactive());
    let r = list(format!("user_id={}", enc(&user_id))).await;
    assert_eq!(r.body.as_array().unwrap().len(), 1, "{r:?}");
    assert_eq!(r.body[0]["client_id"], spa.id.as_str());
    assert_mgmt_error(
        &s.api(Method::DELETE, &path, &deleter, None).await,
        404,
        "inexistent_device_credential",
    );
    assert_mgmt_error(
        &s.api(
            Method::DELETE,
            "api/v2/device-credentials/rtf_nope",
            &deleter,
            None,
        )
        .await,
        404,
        "inexistent_device_credential",
    );
    // The other family is untouched.
    assert_eq!(refresh(&s, &spa, &spa_rt, None).await.status, 200);
}

async fn list_credentials(s: &TestServer, token: &str, query: String) -> Reply {
    s.api(
        Method::GET,
        &format!("api/v2/device-credentials?{query}"),
        token,
        None,
    )
    .await
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_users_sessions_ends_sso_and_every_family() {
    let s = start().await;
    let web = app(&s, json!({})).await;
    let spa = app(&s, json!({"app_type": "spa"})).await;
    let user_id = user(&s).await;
    let b = browser();
    let r = login_in(&s, &b, &web, "openid offline_access", &[]).await;
    let (web_rt, web_at) = (field(&r, "refresh_token"), field(&r, "access_token"));
    // SSO: the second app logs in without the login page.
    let sso = format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=x",
        s.url("authorize"),
        web.id,
        enc(CALLBACK)
    );
    let res = b.get(&sso).send().await.unwrap();
    assert!(
        res.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with(CALLBACK),
        "SSO expected"
    );
    let spa_rt = field(
        &login_in(&s, &b, &spa, "openid offline_access", &[]).await,
        "refresh_token",
    );

    let path = format!("api/v2/users/{}/sessions", enc(&user_id));
    let weak = s.token_with_scopes(&["delete:users"]).await;
    assert_mgmt_error(
        &s.api(Method::DELETE, &path, &weak, None).await,
        403,
        "insufficient_scope",
    );
    let ender = s.token_with_scopes(&["delete:sessions"]).await;
    assert_mgmt_error(
        &s.api(
            Method::DELETE,
            "api/v2/users/auth0%7Cnobody/sessions",
            &ender,
            None,
        )
        .await,
        404,
        "inexistent_user",
    );
    let r = s.api(Method::DELETE, &path, &ender, None).await;
    assert_eq!(r.status, 204, "{r:?}");

    // The next /authorize shows the login page.
    let res = b.get(&sso).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let to = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with(&s.url("u/login")), "login expected: {to}");
    // Every family and its access tokens end.
    assert_invalid_grant(
        &refresh(&s, &web, &web_rt, None).await,
        Reason::RefreshTokenInvalid,
    );
    assert_invalid_grant(
        &refresh(&s, &spa, &spa_rt, None).await,
        Reason::RefreshTokenInvalid,
    );
    assert_eq!(userinfo(&s, &web_at).await.status, 401);
    // Logging in again works.
    let code = browse_to_callback(&s, &b, &sso).await;
    assert!(code.contains_key("code"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_lists_revocation_and_introspection() {
    let s = start().await;
    let d = reply(
        http()
            .get(s.url(".well-known/openid-configuration"))
            .send()
            .await
            .unwrap(),
    )
    .await
    .body;
    assert_eq!(d["revocation_endpoint"], s.url("oauth/revoke"));
    assert_eq!(d["introspection_endpoint"], s.url("oauth/introspect"));
    assert_eq!(
        d["revocation_endpoint_auth_methods_supported"],
        json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none"
        ])
    );
    assert_eq!(
        d["introspection_endpoint_auth_methods_supported"],
        json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt"
        ])
    );
    for (field, value) in [
        ("grant_types_supported", "refresh_token"),
        ("scopes_supported", "offline_access"),
    ] {
        assert!(
            d[field].as_array().unwrap().contains(&json!(value)),
            "{field}: {d}"
        );
    }
    let d = reply(
        http()
            .get(s.url(".well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap(),
    )
    .await
    .body;
    assert_eq!(d["introspection_endpoint"], s.url("oauth/introspect"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_the_new_management_endpoints() {
    let s = start().await;
    let doc = reply(
        http()
            .get(s.url("api/v2/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await
    .body;
    let paths = &doc["paths"];
    assert_eq!(
        paths["/api/v2/device-credentials"]["get"]["security"][0]["bearer"][0],
        "read:device_credentials"
    );
    assert_eq!(
        paths["/api/v2/device-credentials/{id}"]["delete"]["security"][0]["bearer"][0],
        "delete:device_credentials"
    );
    assert_eq!(
        paths["/api/v2/users/{id}/sessions"]["delete"]["security"][0]["bearer"][0],
        "delete:sessions"
    );
}
