//! Interop: Auth0's auth0-spa-js (from npm, pinned), unchanged, in headless
//! Chromium against a running `tessera serve` (tests/browser/spa.mjs).
//!
//! Tessera listens on http://127.0.0.1:P1; the app is served on
//! http://127.0.0.1:P2: another origin, the same site, so the session cookie
//! (`SameSite=Lax` on http) reaches the hidden iframe of silent
//! authentication. A third origin, http://127.0.0.1:P3, is in no client's
//! `web_origins`: the negative side.

use std::time::Duration;

use serde_json::{Value, json};

use crate::browser_kit::*;
use crate::common::*;

const SPA_JS: &str = "@auth0/auth0-spa-js@2.28.3";
const PACKAGES: &[&str] = &[PLAYWRIGHT_CORE, SPA_JS];
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(240);

#[tokio::test(flavor = "multi_thread")]
async fn auth0_spa_js_logs_in_renews_silently_and_by_refresh_token_and_logs_out() {
    let (browser, modules) = browser_and_modules(PACKAGES).await;
    let sb = Sandbox::new();
    let tenant = Tenant::start(&sb).await;
    let issuer = tenant.server.base();
    let (app_port, foreign_port) = (free_port(), free_port());
    let app = format!("http://127.0.0.1:{app_port}");
    let foreign = format!("http://127.0.0.1:{foreign_port}");

    // The app's client. The foreign origin's page is a registered callback,
    // but not a web origin: it must get no answer through postMessage.
    let spa = tenant
        .create(
            "clients",
            json!({
                "name": "auth0-spa-js app",
                "app_type": "spa",
                "callbacks": [format!("{app}/"), format!("{foreign}/")],
                "web_origins": [app],
                "allowed_logout_urls": [format!("{app}/")],
            }),
        )
        .await;
    // The same app with useRefreshTokens: rotating, expiring refresh tokens.
    let rt = tenant
        .create(
            "clients",
            json!({
                "name": "auth0-spa-js app with refresh tokens",
                "app_type": "spa",
                "callbacks": [format!("{app}/")],
                "web_origins": [app],
                "allowed_logout_urls": [format!("{app}/")],
                "refresh_token": { "rotation_type": "rotating", "expiration_type": "expiring" },
            }),
        )
        .await;
    let (client_id, rt_client_id) = (
        spa["client_id"].as_str().unwrap(),
        rt["client_id"].as_str().unwrap(),
    );

    let config = json!({
        "issuer": tenant.origin(),
        "appPort": app_port,
        "foreignPort": foreign_port,
        "clientId": client_id,
        "rtClientId": rt_client_id,
        "email": EMAIL,
    });
    let out = browse(
        &sb,
        (&browser, &modules),
        "spa.mjs",
        &config,
        SCRIPT_TIMEOUT,
    )
    .await;
    let report = out
        .report()
        .unwrap_or_else(|| panic!("no report from spa.mjs: {out:?}"));
    let context = || {
        format!(
            "report: {report:#}\nbrowser log:\n{}\nserver log:\n{}",
            out.stderr,
            tenant.server.stderr()
        )
    };
    assert_eq!(report["failed"], Value::Null, "{}", context());
    assert!(out.status.success(), "{}", context());
    // The report tells what happened without carrying a token (JWTs start "eyJ").
    assert!(!report.to_string().contains("eyJ"), "{}", context());

    // handleRedirectCallback redeemed the code cross-origin; getUser has the
    // profile and email claims of the ID token.
    let login = &report["login"];
    assert_eq!(login["authenticated"], true, "{}", context());
    assert_eq!(login["user"]["email"], EMAIL, "{}", context());
    assert_eq!(login["user"]["name"], "Grace Hopper", "{}", context());
    assert_eq!(
        login["user"]["sub"],
        tenant.user["user_id"],
        "{}",
        context()
    );
    assert_eq!(login["id_token_claims"]["iss"], issuer.as_str());
    assert_eq!(login["id_token_claims"]["aud"], client_id);
    assert_eq!(
        login["token_requests"],
        json!([{ "grant_type": "authorization_code", "status": 200 }]),
        "{}",
        context()
    );

    // getTokenSilently went through the iframe (web_message) and brought new tokens.
    let silent = &report["silent"];
    assert_eq!(silent["ok"], true, "{}", context());
    assert_eq!(silent["new_access_token"], true, "{}", context());
    assert_eq!(silent["new_id_token"], true, "{}", context());
    assert_eq!(silent["web_message_authorize_requests"], 1, "{}", context());
    assert_eq!(silent["iframe_authorize_requests"], 1, "{}", context());
    assert_eq!(silent["code_grants"], 1, "{}", context());
    assert_eq!(silent["csp_complaints"], 0, "{}", context());

    // CORS: the app's origin reads the token endpoint's error; a foreign
    // origin reads nothing, with or without a preflight.
    let cors = &report["cors"];
    for kind in ["simple", "preflighted"] {
        let allowed = &cors["allowed"][kind];
        assert_eq!(
            allowed,
            &json!({ "read": true, "status": 400, "error": "invalid_grant" }),
            "{kind}: {}",
            context()
        );
        let foreign = &cors["foreign"][kind];
        assert_eq!(foreign["read"], false, "{kind}: {}", context());
        assert_eq!(foreign["error"], "TypeError", "{kind}: {}", context());
    }

    // No postMessage reached the foreign origin; the SDK there timed out.
    let other = &report["foreign_origin"];
    assert_eq!(other["sdk"]["ok"], false, "{}", context());
    assert_eq!(other["sdk"]["error"], "timeout", "{}", context());
    assert_eq!(other["messages_during_sdk"], json!([]), "{}", context());
    assert_eq!(
        other["framed_for_app"]["messages"],
        json!([]),
        "{}",
        context()
    );
    assert_eq!(other["framed_for_app"]["refused"], true, "{}", context());
    // The same frame in the app's page is answered: the check can see a message.
    let control = &other["control"];
    assert_eq!(control["refused"], false, "{}", context());
    assert_eq!(
        control["messages"],
        json!([{ "origin": tenant.origin(), "type": "authorization_response", "has_code": true, "error": null }]),
        "{}",
        context()
    );

    // logout went through /v2/logout back to returnTo; then login_required.
    let logout = &report["logout"];
    assert_eq!(logout["returned_to"], format!("{app}/"), "{}", context());
    assert_eq!(
        logout["logout_requests"],
        json!([{ "client_id": client_id, "returnTo": format!("{app}/") }]),
        "{}",
        context()
    );
    assert_eq!(logout["after"]["ok"], false, "{}", context());
    assert_eq!(logout["after"]["error"], "login_required", "{}", context());
    // The login page cannot be framed, not even by the client's web origin.
    assert_eq!(logout["login_framed"]["refused"], true, "{}", context());
    assert_eq!(
        logout["login_framed"]["messages"],
        json!([]),
        "{}",
        context()
    );

    // useRefreshTokens: two renewals through the refresh grant, each with the
    // token the previous answer rotated in; no iframe.
    let refresh = &report["refresh"];
    assert_eq!(refresh["login_user"], EMAIL, "{}", context());
    assert!(
        refresh["code_grant_scope"]
            .as_str()
            .is_some_and(|s| s.split(' ').any(|s| s == "offline_access")),
        "{}",
        context()
    );
    for renewal in ["first", "second"] {
        assert_eq!(refresh[renewal]["ok"], true, "{renewal}: {}", context());
        assert_eq!(
            refresh[renewal]["new_access_token"],
            true,
            "{renewal}: {}",
            context()
        );
    }
    assert_eq!(
        refresh["refresh_requests"],
        json!([
            { "client_id": rt_client_id, "status": 200 },
            { "client_id": rt_client_id, "status": 200 },
        ]),
        "{}",
        context()
    );
    assert_eq!(refresh["authorize_requests"], 0, "{}", context());
    assert_eq!(refresh["every_token_present"], true, "{}", context());
    assert_eq!(refresh["all_tokens_distinct"], true, "{}", context());
    assert_eq!(refresh["presented_latest"], true, "{}", context());

    tenant.server.stop().await;
}
