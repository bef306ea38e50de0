//! `/api/v2/connections` with `strategy: oidc` and `oauth2` (issue 14): Auth0's
//! option shapes, validation, the sealed `client_secret` (never returned, kept
//! by a PATCH that omits it), and the scopes.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;
use crate::flows;

const SECRET: &str = "upstream-client-s3cret-never-shown";

pub(crate) fn oidc_body(name: &str, issuer: &str, enabled: &[&str]) -> Value {
    json!({
        "name": name, "strategy": "oidc", "enabled_clients": enabled,
        "options": {
            "type": "back_channel",
            "discovery_url": format!("{issuer}.well-known/openid-configuration"),
            "issuer": issuer,
            "client_id": "downstream", "client_secret": SECRET,
            "scope": "openid profile email",
            "set_user_root_attributes": "on_each_login",
            "connection_settings": {"pkce": "auto"}
        }
    })
}

fn assert_no_secret(body: &Value) {
    let text = body.to_string();
    assert!(!text.contains(SECRET), "secret shown: {text}");
    assert!(
        !text.contains("client_secret"),
        "client_secret shown: {text}"
    );
    assert!(!text.contains("sealed:"), "sealed secret shown: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_connection_secrets_are_never_returned() {
    let s = start().await;
    let t = s.admin_token().await;
    let r = s
        .api(
            Method::POST,
            "api/v2/connections",
            &t,
            Some(oidc_body("Upstream", "http://127.0.0.1:9/", &[])),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_no_secret(&r.body);
    assert_eq!(r.body["strategy"], "oidc");
    assert_eq!(r.body["options"]["client_id"], "downstream");
    assert_eq!(r.body["options"]["scope"], "openid profile email");
    let id = r.body["id"].as_str().unwrap().to_owned();
    let got = s
        .api(Method::GET, &format!("api/v2/connections/{id}"), &t, None)
        .await;
    assert_eq!(got.status, 200);
    assert_no_secret(&got.body);
    let list = s.api(Method::GET, "api/v2/connections", &t, None).await;
    assert_no_secret(&list.body);
    // A PATCH of options without the secret keeps the stored one.
    let mut options = got.body["options"].clone();
    options["scope"] = json!("openid email");
    let patched = s
        .api(
            Method::PATCH,
            &format!("api/v2/connections/{id}"),
            &t,
            Some(json!({ "options": options })),
        )
        .await;
    assert_eq!(patched.status, 200, "{patched:?}");
    assert_no_secret(&patched.body);
    assert_eq!(patched.body["options"]["scope"], "openid email");
    // A PATCH must leave what a login needs (the kept secret counts).
    let gutted = s
        .api(
            Method::PATCH,
            &format!("api/v2/connections/{id}"),
            &t,
            Some(json!({"options": {"client_id": "downstream", "client_secret": "new"}})),
        )
        .await;
    assert_eq!(gutted.status, 400, "{gutted:?}");
    assert!(
        gutted.body["message"]
            .as_str()
            .unwrap()
            .contains("options.issuer")
    );
    let stored = tessera_core::store::TenantStore::get_connection(&*s.store, &id)
        .await
        .unwrap()
        .unwrap();
    let sealed = stored.options["client_secret"].as_str().unwrap();
    assert!(sealed.starts_with("sealed:v1:"), "{sealed}");
    assert_eq!(
        tessera_core::manage::upstream_options::open_client_secret(&s.master, &id, &stored.options)
            .unwrap()
            .as_str(),
        SECRET
    );

    let oauth2 = s
        .api(
            Method::POST,
            "api/v2/connections",
            &t,
            Some(json!({"name": "gh", "strategy": "oauth2", "options": {
                "authorizationURL": "https://gh.example/login/oauth/authorize",
                "tokenURL": "https://gh.example/login/oauth/access_token",
                "userinfo_url": "https://api.gh.example/user",
                "client_id": "x", "client_secret": SECRET, "scope": ["read:user"],
                "pkce_enabled": true,
                "attribute_map": {"attributes": {"user_id": "id", "nickname": "login"}}
            }})),
        )
        .await;
    assert_eq!(oauth2.status, 201, "{oauth2:?}");
    assert_no_secret(&oauth2.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_upstream_options_are_refused_by_name() {
    let s = start().await;
    let t = s.admin_token().await;
    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = oidc_body("Bad", "https://idp.example/", &[]);
        f(&mut b["options"]);
        b
    };
    let cases = [
        (
            with(&|o| o["issuer"] = json!("http://idp.example/")),
            "options.issuer",
        ),
        (
            with(&|o| o["discovery_url"] = json!("http://idp.example/.well-known/x")),
            "options.discovery_url",
        ),
        (
            with(&|o| o["scope"] = json!("profile email")),
            "options.scope",
        ),
        (
            with(&|o| o["type"] = json!("front_channel")),
            "options.type",
        ),
        (
            with(&|o| {
                o.as_object_mut().unwrap().remove("client_secret");
            }),
            "options.client_secret",
        ),
        (
            with(&|o| {
                o.as_object_mut().unwrap().remove("discovery_url");
            }),
            "options.authorization_endpoint",
        ),
        (with(&|o| o["made_up"] = json!(true)), "options.made_up"),
    ];
    for (body, property) in cases {
        let r = s
            .api(Method::POST, "api/v2/connections", &t, Some(body))
            .await;
        assert_eq!(r.status, 400, "{property}: {r:?}");
        assert!(
            r.body["message"].as_str().unwrap().contains(property),
            "{property}: {r:?}"
        );
        assert!(!r.body.to_string().contains(SECRET), "{r:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_connections_need_their_scopes() {
    let s = start().await;
    let admin = s.admin_token().await;
    let reader = s.token_with_scopes(&["read:connections"]).await;
    let r = s
        .api(
            Method::POST,
            "api/v2/connections",
            &reader,
            Some(oidc_body("U", "https://idp.example/", &[])),
        )
        .await;
    assert_mgmt_error(&r, 403, "insufficient_scope");
    let ok = s
        .api(
            Method::POST,
            "api/v2/connections",
            &admin,
            Some(oidc_body("U", "https://idp.example/", &[])),
        )
        .await;
    assert_eq!(ok.status, 201);
    let id = ok.body["id"].as_str().unwrap();
    let r = s
        .api(
            Method::PATCH,
            &format!("api/v2/connections/{id}"),
            &reader,
            Some(json!({"options": {"client_secret": "x"}})),
        )
        .await;
    assert_mgmt_error(&r, 403, "insufficient_scope");
    // A user's own access token is no Management API token.
    flows::user(&s).await;
    let app = flows::app(&s, json!({})).await;
    let user_token = flows::field(&flows::login(&s, &app, "openid", &[]).await, "access_token");
    for (method, path, body) in [
        (
            Method::POST,
            "api/v2/connections".to_owned(),
            Some(oidc_body("V", "https://idp.example/", &[])),
        ),
        (
            Method::PATCH,
            format!("api/v2/connections/{id}"),
            Some(json!({"options": {}})),
        ),
    ] {
        let r = s.api(method, &path, &user_token, body).await;
        assert_eq!(r.status, 401, "{r:?}");
    }
}

fn strict(config: &mut tessera_server::ServerConfig) {
    config.upstream_allow_loopback_http = false;
}

/// Review finding 1: without the test flag (production), no connection may
/// name a loopback, private, link-local or mapped address, nor plain http.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_urls_to_internal_addresses_are_refused_in_production() {
    let s = start_opts(tessera_server::testing::Options {
        configure: strict,
        ..Default::default()
    })
    .await;
    let t = s.admin_token().await;
    for (key, url) in [
        (
            "discovery_url",
            "http://127.0.0.1:15000/.well-known/openid-configuration",
        ),
        (
            "discovery_url",
            "https://localhost/.well-known/openid-configuration",
        ),
        (
            "discovery_url",
            "https://10.0.0.5/.well-known/openid-configuration",
        ),
        ("discovery_url", "https://169.254.169.254/latest/meta-data"),
        ("discovery_url", "https://[::ffff:127.0.0.1]/x"),
        ("discovery_url", "https://[fd00::1]/x"),
        ("discovery_url", "https://100.64.0.1/x"),
        ("issuer", "http://127.0.0.1:9/"),
    ] {
        let mut body = oidc_body("Strict", "https://idp.example/", &[]);
        body["options"][key] = json!(url);
        let r = s
            .api(Method::POST, "api/v2/connections", &t, Some(body))
            .await;
        assert_eq!(r.status, 400, "{url}: {r:?}");
        assert!(
            r.body["message"]
                .as_str()
                .unwrap()
                .contains(&format!("options.{key}")),
            "{url}: {r:?}"
        );
    }
    let mut oauth2 = json!({"name": "gh", "strategy": "oauth2", "options": {
        "authorizationURL": "https://gh.example/login/oauth/authorize",
        "tokenURL": "https://gh.example/login/oauth/access_token",
        "userinfo_url": "http://127.0.0.1:8500/v1/agent/self",
        "client_id": "x", "client_secret": SECRET,
    }});
    let r = s
        .api(Method::POST, "api/v2/connections", &t, Some(oauth2.clone()))
        .await;
    assert_eq!(r.status, 400, "{r:?}");
    oauth2["options"]["userinfo_url"] = json!("https://api.gh.example/user");
    let r = s
        .api(Method::POST, "api/v2/connections", &t, Some(oauth2))
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    // Nor through a PATCH (with a new secret, so only the URL is refused).
    let id = r.body["id"].as_str().unwrap().to_owned();
    let mut options = r.body["options"].clone();
    options["userinfo_url"] = json!("https://192.168.0.1/user");
    options["client_secret"] = json!("new-secret");
    let r = s
        .api(
            Method::PATCH,
            &format!("api/v2/connections/{id}"),
            &t,
            Some(json!({ "options": options })),
        )
        .await;
    assert_eq!(r.status, 400, "{r:?}");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("options.userinfo_url")
    );
}

/// Review finding 2: a PATCH moving the provider (or its client) must bring
/// a new client secret; the stored one never follows to a new URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_moving_the_provider_needs_a_new_client_secret() {
    let s = start().await;
    let t = s.admin_token().await;
    let r = s
        .api(
            Method::POST,
            "api/v2/connections",
            &t,
            Some(oidc_body("Moving", "https://idp.example/", &[])),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let id = r.body["id"].as_str().unwrap().to_owned();
    let read = r.body["options"].clone();
    let patch = |options: Value| {
        let s = &s;
        let t = &t;
        let id = &id;
        async move {
            s.api(
                Method::PATCH,
                &format!("api/v2/connections/{id}"),
                t,
                Some(json!({ "options": options })),
            )
            .await
        }
    };
    let mut moved = Vec::new();
    for (key, value) in [
        (
            "discovery_url",
            json!("https://attacker.example/.well-known/openid-configuration"),
        ),
        ("issuer", json!("https://attacker.example/")),
        ("token_endpoint", json!("https://attacker.example/token")),
        ("client_id", json!("other")),
        ("token_endpoint_auth_method", json!("client_secret_post")),
        ("discovery_url", Value::Null),
    ] {
        let mut o = read.clone();
        o[key] = value.clone();
        moved.push(o.clone());
        let r = patch(o).await;
        assert_eq!(r.status, 400, "{key}: {r:?}");
        assert!(
            r.body["message"]
                .as_str()
                .unwrap()
                .contains("options.client_secret"),
            "{key}: {r:?}"
        );
    }
    let stored = tessera_core::store::TenantStore::get_connection(&*s.store, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.options["discovery_url"], read["discovery_url"],
        "nothing was changed"
    );
    // The same change with a new secret is accepted, and seals the new one.
    let mut o = moved[2].clone();
    o["client_secret"] = json!("a-new-secret");
    let r = patch(o).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_no_secret(&r.body);
    let stored = tessera_core::store::TenantStore::get_connection(&*s.store, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        tessera_core::manage::upstream_options::open_client_secret(&s.master, &id, &stored.options)
            .unwrap()
            .as_str(),
        "a-new-secret"
    );
    // Hardening: the plaintext's length is what is limited (4096 bytes), on
    // PATCH as on POST.
    let mut o = read.clone();
    o["client_secret"] = json!("s".repeat(4000));
    assert_eq!(patch(o).await.status, 200);
    let mut o = read.clone();
    o["client_secret"] = json!("s".repeat(4097));
    let r = patch(o).await;
    assert_eq!(r.status, 400, "{r:?}");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("options.client_secret")
    );
}
