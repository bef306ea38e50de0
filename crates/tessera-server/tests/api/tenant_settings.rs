//! Issue 13: `GET/PATCH /api/v2/tenants/settings` — Auth0's shape, who may
//! read and change them, what is refused, and the settings Tessera acts on
//! (hosted pages' name, session lifetime, default directory and audience)
//! taking effect without a restart, on this node at once and on another
//! within its refresh.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;
use crate::flows::{
    API, App, EMAIL, PASSWORD, apis, app, browser, claims, credentials, fill_in_login, location,
    user,
};

const PATH: &str = "api/v2/tenants/settings";

async fn patch(s: &TestServer, token: &str, body: Value) -> Reply {
    s.api(Method::PATCH, PATH, token, Some(body)).await
}

fn assert_bad_body(r: &Reply) {
    assert_mgmt_error(r, 400, "invalid_body");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_read_and_merge_in_auth0s_shape() {
    let s = start().await;
    let admin = s.admin_token().await;
    let r = s.api(Method::GET, PATH, &admin, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    // The server's own settings are the initial values.
    assert_eq!(r.body["friendly_name"], "Tessera");
    assert_eq!(r.body["session_lifetime"], json!(168.0));
    assert_eq!(
        r.body["default_directory"],
        "Username-Password-Authentication"
    );
    assert_eq!(r.body["flags"]["enable_client_connections"], true);

    let r = patch(
        &s,
        &admin,
        json!({"friendly_name": "Acme", "support_email": "help@acme.example",
            "support_url": "https://acme.example/help", "allowed_logout_urls": ["https://acme.example/bye"],
            "flags": {"enable_sso": true}, "error_page": {"url": "https://acme.example/error", "show_log_link": false},
            "session_cookie": {"mode": "persistent"}, "enabled_locales": ["en", "pt-BR"],
            "device_flow": {"charset": "base20", "mask": "****-****"}, "sandbox_version": "22"}),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["friendly_name"], "Acme");
    // Objects merge: a flag set leaves the others as they were.
    assert_eq!(r.body["flags"]["enable_sso"], true);
    assert_eq!(r.body["flags"]["enable_client_connections"], true);
    let r = patch(&s, &admin, json!({"flags": {"enable_sso": false}})).await;
    assert_eq!(r.body["flags"]["enable_sso"], false);
    assert_eq!(r.body["error_page"]["url"], "https://acme.example/error");
    let got = s.api(Method::GET, PATH, &admin, None).await;
    assert_eq!(got.body, r.body);
    // `fields` picks properties, as elsewhere.
    let some = s
        .api(
            Method::GET,
            &format!("{PATH}?fields=friendly_name,flags"),
            &admin,
            None,
        )
        .await;
    assert_eq!(
        some.body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["flags", "friendly_name"]
    );
    // null goes back to the initial value.
    let r = patch(&s, &admin, json!({"friendly_name": null})).await;
    assert_eq!(r.body["friendly_name"], "Tessera");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_not_read_or_change_the_settings_and_what_is_refused() {
    let s = start().await;
    let admin = s.admin_token().await;
    // No token; a token without the scope; a read-only token changing.
    let r = reply(http().get(s.url(PATH)).send().await.unwrap()).await;
    assert_mgmt_error(&r, 401, "missing_token");
    let other_scope = s.token_with_scopes(&["read:clients"]).await;
    assert_mgmt_error(
        &s.api(Method::GET, PATH, &other_scope, None).await,
        403,
        "insufficient_scope",
    );
    let read_only = s.token_with_scopes(&["read:tenant_settings"]).await;
    assert_eq!(s.api(Method::GET, PATH, &read_only, None).await.status, 200);
    let r = patch(&s, &read_only, json!({"friendly_name": "Evil"})).await;
    assert_mgmt_error(&r, 403, "insufficient_scope");
    // A token for another API, even from the token endpoint.
    s.api(
        Method::POST,
        "api/v2/resource-servers",
        &admin,
        Some(json!({"identifier": "https://orders.example/", "scopes": [{"value": "update:tenant_settings"}]})),
    )
    .await;
    let (id, secret) = s
        .m2m_client("https://orders.example/", &["update:tenant_settings"])
        .await;
    let r = s
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("audience", "https://orders.example/"),
        ])
        .await;
    let orders = r.body["access_token"].as_str().unwrap().to_owned();
    let r = patch(&s, &orders, json!({"friendly_name": "Evil"})).await;
    assert_mgmt_error(&r, 401, "invalid_token");
    // A user's ID token.
    let web = app(
        &s,
        json!({"app_type": "regular_web", "grant_types": ["password"]}),
    )
    .await;
    user(&s).await;
    let mut form = vec![
        ("grant_type", "password"),
        ("username", EMAIL),
        ("password", PASSWORD),
        ("scope", "openid"),
    ];
    form.extend(credentials(&web));
    let login = s.token_request(&form).await;
    let id_token = login.body["id_token"].as_str().unwrap().to_owned();
    let r = patch(&s, &id_token, json!({"friendly_name": "Evil"})).await;
    assert_mgmt_error(&r, 401, "invalid_token");

    // Bad types and values, unknown properties; nothing changes.
    for body in [
        json!({"friendly_name": 7}),
        json!({"session_lifetime": 0}),
        json!({"session_lifetime": 100000}),
        json!({"idle_session_lifetime_in_minutes": -1}),
        json!({"picture_url": "javascript:alert(1)"}),
        json!({"picture_url": "http://acme.example/logo.png"}),
        json!({"support_email": "not an address"}),
        json!({"allowed_logout_urls": "https://a.example"}),
        json!({"flags": {"enable_sso": "yes"}}),
        json!({"flags": {"no_such_flag": true}}),
        json!({"session_cookie": {"mode": "forever"}}),
        json!({"device_flow": {"charset": "emoji"}}),
        json!({"enabled_locales": ["<script>"]}),
        json!({"no_such_setting": 1}),
        json!(["friendly_name"]),
    ] {
        let r = patch(&s, &admin, body.clone()).await;
        assert_bad_body(&r);
    }
    let r = patch(&s, &admin, json!({"session_lifetime": 0})).await;
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("session_lifetime"),
        "names the property: {r:?}"
    );
    let got = s.api(Method::GET, PATH, &admin, None).await;
    assert_eq!(got.body["friendly_name"], "Tessera");
    assert_eq!(got.body["flags"].get("no_such_flag"), None);
}

/// The title of the hosted login page of a fresh `/authorize` for `app`.
async fn login_page(s: &TestServer, app: &App) -> String {
    let b = browser();
    let url = format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=s",
        s.url("authorize"),
        app.id,
        crate::flows::enc(crate::flows::CALLBACK)
    );
    let res = b.get(url).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let to = location(&res);
    b.get(to).send().await.unwrap().text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_and_lifetimes_take_effect_without_a_restart() {
    let s = start_opts(Options {
        configure: |c| c.tenant_settings_refresh = Duration::from_millis(200),
        ..Options::default()
    })
    .await;
    let admin = s.admin_token().await;
    let web = app(&s, json!({"app_type": "regular_web"})).await;
    user(&s).await;
    let other = s.second_node(Duration::from_millis(200)).await;
    assert!(login_page(&other, &web).await.contains("Tessera"));
    let r = patch(
        &s,
        &admin,
        json!({"friendly_name": "Acme Corp", "picture_url": "https://acme.example/logo.png",
            "session_lifetime_in_minutes": 30}),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    // This node at once.
    let page = login_page(&s, &web).await;
    assert!(page.contains("Acme Corp"), "{page}");
    assert!(page.contains("https://acme.example/logo.png"), "{page}");
    // The other node within its refresh (it reads again in the background).
    let mut seen = false;
    for _ in 0..50 {
        if login_page(&other, &web).await.contains("Acme Corp") {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen, "the second node never showed the new name");

    // A new SSO session lives `session_lifetime` (30 minutes now).
    let b = browser();
    let url = format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=s",
        s.url("authorize"),
        web.id,
        crate::flows::enc(crate::flows::CALLBACK)
    );
    let res = b.get(url).send().await.unwrap();
    let res = fill_in_login(&s, &b, &location(&res)).await;
    assert_eq!(res.status(), 303);
    let cookies: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.contains("session") && c.contains("Max-Age=1800")),
        "{cookies:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_directory_and_default_audience_apply_to_the_password_grant() {
    let s = start().await;
    let admin = s.admin_token().await;
    apis(&s).await;
    let web = app(
        &s,
        json!({"app_type": "regular_web", "grant_types": ["password"]}),
    )
    .await;
    let password_login = || {
        let mut form = vec![
            ("grant_type", "password"),
            ("username", EMAIL),
            ("password", PASSWORD),
            ("scope", "openid"),
        ];
        form.extend(credentials(&web));
        let s = &s;
        async move { s.token_request(&form).await }
    };
    // A user of another database connection (the app is enabled on it).
    let r = s
        .api(
            Method::POST,
            "api/v2/connections",
            &admin,
            Some(json!({"name": "Staff", "strategy": "auth0", "enabled_clients": [web.id]})),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let r = s
        .api(
            Method::POST,
            "api/v2/users",
            &admin,
            Some(json!({"connection": "Staff", "email": EMAIL, "password": PASSWORD})),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    // Not in the default directory: refused.
    assert_eq!(password_login().await.status, 403);
    let r = patch(
        &s,
        &admin,
        json!({"default_directory": "Staff", "default_audience": API}),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = password_login().await;
    assert_eq!(r.status, 200, "{r:?}");
    let access = claims(r.body["access_token"].as_str().unwrap());
    assert_eq!(access["aud"][0], API, "{access}");
    // Back to the initial directory: refused again.
    patch(&s, &admin, json!({"default_directory": null})).await;
    assert_eq!(password_login().await.status, 403);
}
