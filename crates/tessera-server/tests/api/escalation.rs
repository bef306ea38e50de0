//! Who must NOT get in (issue 9): a user's login never yields a Management API
//! token; the Management API accepts only client-credentials tokens of machine
//! clients holding a grant; a replayed code revokes its refresh-token family
//! (also when the replay races the first redemption); repeated JSON parameters
//! are refused; a client registered for Basic cannot send its secret in the body.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::Clock;
use tessera_core::clock::SystemClock;
use tessera_core::flow::{AuthCode, RefreshFamily};
use tessera_core::jwt;
use tessera_core::store::{FlowStore, RefreshStore, UserStore};

use crate::common::*;
use crate::flows::authorize;
use crate::refresh::{
    API, App, CALLBACK, app, assert_invalid_grant, browser, claims, credentials, enc, field,
    introspect, location, on_postgres, pkce, query_of, refresh, user,
};
use crate::token::assert_oauth_error;

async fn exchange(s: &TestServer, app: &App, code: &str, verifier: &str) -> Reply {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CALLBACK),
        ("code_verifier", verifier),
    ];
    form.extend(credentials(app));
    s.token_request(&form).await
}

/// An API that allows offline access, and a confidential web app and a SPA
/// that may refresh.
async fn setup(s: &TestServer) -> (App, App) {
    crate::refresh::apis(s).await;
    user(s).await;
    let web = app(
        s,
        json!({"app_type": "regular_web", "grant_types": ["authorization_code", "refresh_token"]}),
    )
    .await;
    let spa = app(
        s,
        json!({"app_type": "spa", "grant_types": ["authorization_code", "refresh_token"]}),
    )
    .await;
    (web, spa)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_login_cannot_ask_for_the_management_api() {
    let s = start().await;
    let (web, spa) = setup(&s).await;
    let mgmt = s.management_audience();
    for app in [&spa, &web] {
        for param in ["audience", "resource"] {
            let b = browser();
            let query: Vec<String> = [
                ("response_type", "code"),
                ("client_id", app.id.as_str()),
                ("redirect_uri", CALLBACK),
                (
                    "scope",
                    "openid read:client_keys read:clients create:clients",
                ),
                ("state", "st"),
                ("code_challenge", &pkce().1),
                ("code_challenge_method", "S256"),
                (param, &mgmt),
            ]
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect();
            let res = b
                .get(format!("{}?{}", s.url("authorize"), query.join("&")))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 302);
            assert_eq!(reason_of(res.headers()), Some(Reason::ManagementApiForUser));
            let to = location(&res);
            assert!(to.starts_with(CALLBACK), "{to}");
            let q = query_of(&to);
            assert_eq!(q["error"], "access_denied", "{q:?}");
            assert_eq!(q["state"], "st");
            assert_eq!(q["iss"], s.base);
            assert!(!q.contains_key("code"));
        }
    }
}

/// A code or a refresh family for the Management API can only predate the rule;
/// neither yields a token now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_code_and_refresh_grants_never_mint_a_user_token_for_the_management_api() {
    let s = start().await;
    let (web, _) = setup(&s).await;
    let user_id = s
        .store
        .users_by_email(crate::refresh::EMAIL)
        .await
        .unwrap()
        .remove(0)
        .user_id;
    let now = SystemClock.now();
    let scope: Vec<String> = ["openid", "offline_access", "read:clients"]
        .map(String::from)
        .to_vec();
    let code = "seeded-code-for-the-management-api";
    s.store
        .put_code(
            &tessera_core::ids::sha256(code.as_bytes()),
            &AuthCode {
                client_id: web.id.clone(),
                redirect_uri: CALLBACK.into(),
                user_id: user_id.clone(),
                sid: "sid-1".into(),
                scope: scope.clone(),
                audience: Some(s.management_audience()),
                nonce: None,
                code_challenge: None,
                auth_time: now,
                expires_at: now + 60,
                custom: Default::default(),
            },
        )
        .await
        .unwrap();
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CALLBACK),
    ];
    form.extend(credentials(&web));
    let r = s.token_request(&form).await;
    assert_oauth_error(&r, 403, "access_denied", Reason::ManagementApiForUser);

    let rt = "seeded-refresh-token-for-the-management-api";
    s.store
        .create_refresh_family(
            &RefreshFamily {
                id: "rtf_seeded".into(),
                client_id: web.id.clone(),
                user_id,
                scope,
                audience: Some(s.management_audience()),
                sid: "sid-1".into(),
                auth_time: now,
                created_at: now,
                expires_at: Some(now + 3600),
                last_used_at: now,
                revoked_at: None,
            },
            &tessera_core::ids::sha256(rt.as_bytes()),
            now + 3600,
        )
        .await
        .unwrap();
    let r = refresh(&s, &web, rt, None).await;
    assert_oauth_error(&r, 403, "access_denied", Reason::ManagementApiForUser);
    // The family is dead, not merely refused.
    let family = s.store.get_refresh_family("rtf_seeded").await.unwrap();
    assert!(family.unwrap().revoked_at.is_some());
}

fn sign(s: &TestServer, typ: &str, claims: &Value) -> String {
    jwt::sign(s.state.keys.current().signer(), typ, claims).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_api_accepts_only_client_credentials_tokens_of_granted_machine_clients() {
    let s = start().await;
    let (web, _) = setup(&s).await;
    let mgmt = s.management_audience();
    let path = "api/v2/clients";
    let now = SystemClock.now();
    let token = |sub: &str, client_id: &str, gty: Option<&str>, scope: &str| {
        let mut c = json!({
            "iss": s.base, "sub": sub, "aud": mgmt, "iat": now, "exp": now + 60,
            "jti": format!("j-{sub}-{client_id}"), "client_id": client_id, "azp": client_id,
            "scope": scope,
        });
        if let Some(gty) = gty {
            c["gty"] = json!(gty);
        }
        sign(&s, jwt::TYP_AT_JWT, &c)
    };
    let all = "read:clients read:client_keys";
    // Control: the admin client's own shape passes.
    let ok = token(
        &format!("{ADMIN_ID}@clients"),
        ADMIN_ID,
        Some("client-credentials"),
        all,
    );
    assert_eq!(s.api(Method::GET, path, &ok, None).await.status, 200);
    // A user's token for the Management API, with every scope it needs.
    let r = s
        .api(
            Method::GET,
            path,
            &token("auth0|someone", ADMIN_ID, None, all),
            None,
        )
        .await;
    assert_mgmt_error(&r, 401, "invalid_token");
    // gty claimed, but the subject is a user.
    let r = s
        .api(
            Method::GET,
            path,
            &token("auth0|someone", ADMIN_ID, Some("client-credentials"), all),
            None,
        )
        .await;
    assert_mgmt_error(&r, 401, "invalid_token");
    // A client that does not exist; a client without a Management API grant.
    let r = s
        .api(
            Method::GET,
            path,
            &token("ghost@clients", "ghost", Some("client-credentials"), all),
            None,
        )
        .await;
    assert_mgmt_error(&r, 401, "invalid_token");
    let (orders_client, _) = s.m2m_client(API, &["read:orders"]).await;
    let r = s
        .api(
            Method::GET,
            path,
            &token(
                &format!("{orders_client}@clients"),
                &orders_client,
                Some("client-credentials"),
                all,
            ),
            None,
        )
        .await;
    assert_mgmt_error(&r, 401, "invalid_token");
    // A granted client's token claiming more than its grant: only the grant counts.
    let (reader, _) = s.m2m_client(&mgmt, &["read:users"]).await;
    let r = s
        .api(
            Method::GET,
            path,
            &token(
                &format!("{reader}@clients"),
                &reader,
                Some("client-credentials"),
                all,
            ),
            None,
        )
        .await;
    assert_mgmt_error(&r, 403, "insufficient_scope");

    // Real tokens of a user's login: the API access token, the ID token, and an
    // opaque token.
    let b = browser();
    let (cb, verifier) = authorize(&s, &b, &web, "openid read:orders", &[("audience", API)]).await;
    let r = exchange(&s, &web, &cb["code"], &verifier).await;
    assert_eq!(r.status, 200, "{r:?}");
    for t in [field(&r, "access_token"), field(&r, "id_token")] {
        assert_mgmt_error(
            &s.api(Method::GET, path, &t, None).await,
            401,
            "invalid_token",
        );
    }
    let (cb, verifier) = authorize(&s, &b, &web, "openid", &[]).await;
    let r = exchange(&s, &web, &cb["code"], &verifier).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_mgmt_error(
        &s.api(Method::GET, path, &field(&r, "access_token"), None)
            .await,
        401,
        "invalid_token",
    );
}

/// RFC 6749 §4.1.2, RFC 9700 §4.5: the refresh token of the first redemption
/// dies with the replay, and so does its access token.
async fn a_replay_revokes_the_family(s: TestServer) {
    let (web, _) = setup(&s).await;
    let b = browser();
    let (cb, verifier) = authorize(
        &s,
        &b,
        &web,
        "openid offline_access read:orders",
        &[("audience", API)],
    )
    .await;
    let first = exchange(&s, &web, &cb["code"], &verifier).await;
    assert_eq!(first.status, 200, "{first:?}");
    let rt = field(&first, "refresh_token");
    let at = field(&first, "access_token");
    assert_eq!(introspect(&s, &web, &at).await.body["active"], true);
    assert_invalid_grant(
        &exchange(&s, &web, &cb["code"], &verifier).await,
        Reason::CodeReplayed,
    );
    assert_invalid_grant(
        &refresh(&s, &web, &rt, None).await,
        Reason::RefreshTokenInvalid,
    );
    assert_eq!(introspect(&s, &web, &at).await.body["active"], false);
    assert_eq!(introspect(&s, &web, &rt).await.body["active"], false);
}

/// However redemptions of one code interleave, nothing they issued survives
/// the replays: the losers revoke what the winner recorded, or the winner sees
/// their mark and revokes it itself.
async fn racing_redemptions_leave_nothing_alive(s: TestServer) {
    let (web, _) = setup(&s).await;
    let s = Arc::new(s);
    let web = Arc::new(web);
    for _ in 0..3 {
        let b = browser();
        let (cb, verifier) = authorize(
            &s,
            &b,
            &web,
            "openid offline_access read:orders",
            &[("audience", API)],
        )
        .await;
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (s, web, code, verifier) =
                (s.clone(), web.clone(), cb["code"].clone(), verifier.clone());
            tasks.push(tokio::spawn(async move {
                exchange(&s, &web, &code, &verifier).await
            }));
        }
        let mut winners = Vec::new();
        for t in tasks {
            let r = t.await.unwrap();
            match r.status {
                200 => winners.push(r),
                _ => assert_invalid_grant(&r, Reason::CodeReplayed),
            }
        }
        assert!(winners.len() <= 1, "{winners:?}");
        for w in winners {
            assert_invalid_grant(
                &refresh(&s, &web, &field(&w, "refresh_token"), None).await,
                Reason::RefreshTokenInvalid,
            );
            let at = field(&w, "access_token");
            assert_eq!(introspect(&s, &web, &at).await.body["active"], false);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_code_revokes_its_refresh_family_on_sqlite() {
    a_replay_revokes_the_family(start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_code_revokes_its_refresh_family_on_postgres() {
    if let Some(s) = on_postgres().await {
        a_replay_revokes_the_family(s).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_redemptions_of_a_code_leave_nothing_alive_on_sqlite() {
    racing_redemptions_leave_nothing_alive(start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_redemptions_of_a_code_leave_nothing_alive_on_postgres() {
    if let Some(s) = on_postgres().await {
        racing_redemptions_leave_nothing_alive(s).await;
    }
}

async fn raw_json(s: &TestServer, path: &str, body: &str) -> Reply {
    reply(
        http()
            .post(s.url(path))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_json_parameters_are_refused() {
    let s = start().await;
    let aud = s.management_audience();
    let good = format!(
        r#"{{"grant_type":"client_credentials","client_id":"{ADMIN_ID}","client_secret":"{ADMIN_SECRET}","audience":"{aud}"}}"#
    );
    // Control: the same body without a repeat is served.
    assert_eq!(raw_json(&s, "oauth/token", &good).await.status, 200);
    for repeat in [
        r#","audience":"https://orders.example/""#.to_owned(),
        r#","grant_type":"client_credentials""#.to_owned(),
        format!(r#","client_id":"{ADMIN_ID}""#),
        r#","scope":null,"scope":"read:users""#.to_owned(),
    ] {
        let body = format!("{}{repeat}}}", good.trim_end_matches('}'));
        for path in ["oauth/token", "oauth/revoke", "oauth/introspect"] {
            let r = raw_json(&s, path, &body).await;
            assert_oauth_error(&r, 400, "invalid_request", Reason::ParameterRepeated);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_registered_for_basic_cannot_send_its_secret_in_the_body() {
    let s = start().await;
    crate::refresh::apis(&s).await;
    let admin = s.admin_token().await;
    let mut ids = Vec::new();
    for method in ["client_secret_basic", "client_secret_post"] {
        let r = s
            .api(
                Method::POST,
                "api/v2/clients",
                &admin,
                Some(json!({
                    "name": method, "app_type": "non_interactive",
                    "token_endpoint_auth_method": method,
                    "grant_types": ["client_credentials"],
                })),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        let id = field(&r, "client_id");
        let secret = field(&r, "client_secret");
        let r = s
            .api(
                Method::POST,
                "api/v2/client-grants",
                &admin,
                Some(json!({"client_id": id, "audience": API, "scope": ["read:orders"]})),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        ids.push((id, secret));
    }
    let basic =
        |id: &str, secret: &str| format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
    let by_basic = |id: String, secret: String| {
        let s = &s;
        async move {
            reply(
                http()
                    .post(s.url("oauth/token"))
                    .header("authorization", basic(&id, &secret))
                    .form(&[("grant_type", "client_credentials"), ("audience", API)])
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let by_post = |id: String, secret: String| {
        let s = &s;
        async move {
            s.token_request(&[
                ("grant_type", "client_credentials"),
                ("audience", API),
                ("client_id", &id),
                ("client_secret", &secret),
            ])
            .await
        }
    };
    let (basic_id, basic_secret) = ids[0].clone();
    let (post_id, post_secret) = ids[1].clone();
    // The registered method works; the body is refused for a Basic client.
    assert_eq!(
        by_basic(basic_id.clone(), basic_secret.clone())
            .await
            .status,
        200
    );
    let r = by_post(basic_id.clone(), basic_secret.clone()).await;
    assert_oauth_error(&r, 401, "invalid_client", Reason::SecretMustUseBasic);
    // The same at the revocation and introspection endpoints.
    let token = field(
        &by_basic(basic_id.clone(), basic_secret.clone()).await,
        "access_token",
    );
    for path in ["oauth/revoke", "oauth/introspect"] {
        let r = reply(
            http()
                .post(s.url(path))
                .form(&[
                    ("token", token.as_str()),
                    ("client_id", &basic_id),
                    ("client_secret", &basic_secret),
                ])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_oauth_error(&r, 401, "invalid_client", Reason::SecretMustUseBasic);
    }
    // RFC 6749 §2.3.1: Basic is always supported for a client with a secret, so
    // a client_secret_post client (Auth0's default) may use it, as Auth0's
    // server SDKs do by default; its own method works too.
    assert_eq!(
        by_post(post_id.clone(), post_secret.clone()).await.status,
        200
    );
    assert_eq!(by_basic(post_id, post_secret).await.status, 200);
    // A wrong secret says nothing about the method.
    let r = by_post(basic_id, "wrong".into()).await;
    assert_oauth_error(&r, 401, "invalid_client", Reason::ClientCredentialsInvalid);
    assert_eq!(
        claims(&token)["client_id"],
        json!(ids[0].0),
        "the Basic client's token"
    );
}

/// UserInfo answers only for a user's access token carrying `openid`: never for
/// a machine's token (an API's or the Management API's), nor a refresh token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn userinfo_refuses_machine_tokens_and_refresh_tokens() {
    let s = start().await;
    let (web, _) = setup(&s).await;
    let (id, secret) = s.m2m_client(API, &["read:orders"]).await;
    let r = s
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("audience", API),
        ])
        .await;
    let machine = field(&r, "access_token");
    let b = browser();
    let (cb, verifier) = authorize(&s, &b, &web, "openid offline_access", &[]).await;
    let r = exchange(&s, &web, &cb["code"], &verifier).await;
    assert_eq!(r.status, 200, "{r:?}");
    // Control: the user's own token is served.
    assert_eq!(
        crate::refresh::userinfo(&s, &field(&r, "access_token"))
            .await
            .status,
        200
    );
    for token in [
        machine,
        s.admin_token().await,
        field(&r, "refresh_token"),
        field(&r, "id_token"),
    ] {
        let r = crate::refresh::userinfo(&s, &token).await;
        assert_eq!(r.status, 401, "{r:?}");
        assert!(
            r.headers["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("error=\"invalid_token\""),
            "{r:?}"
        );
    }
}

/// A user-bound token carries only scopes its API still defines: a scope
/// removed from the API leaves the tokens of later refreshes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_drops_scopes_the_api_no_longer_defines() {
    let s = start().await;
    let (web, _) = setup(&s).await;
    let b = browser();
    let (cb, verifier) = authorize(
        &s,
        &b,
        &web,
        "openid offline_access read:orders",
        &[("audience", API)],
    )
    .await;
    let r = exchange(&s, &web, &cb["code"], &verifier).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        claims(&field(&r, "access_token"))["scope"]
            .as_str()
            .unwrap()
            .contains("read:orders")
    );
    let admin = s.admin_token().await;
    let r2 = s
        .api(
            Method::PATCH,
            &format!("api/v2/resource-servers/{}", enc(API)),
            &admin,
            Some(json!({"scopes": [{"value": "write:orders"}]})),
        )
        .await;
    assert_eq!(r2.status, 200, "{r2:?}");
    let r = refresh(&s, &web, &field(&r, "refresh_token"), None).await;
    assert_eq!(r.status, 200, "{r:?}");
    let scope = claims(&field(&r, "access_token"))["scope"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!scope.contains("read:orders"), "{scope}");
    assert!(scope.contains("openid"), "{scope}");
    assert_eq!(r.body["scope"], json!(scope));
}
