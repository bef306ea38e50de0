//! Interop: Auth0's express-openid-connect (from npm, pinned), unchanged, in
//! an Express app (tests/browser/express-app.mjs, a child process killed on
//! drop) that headless Chromium signs in to through Tessera
//! (tests/browser/express-login.mjs), twice: the README's quick start (the
//! implicit `id_token` flow answered by `form_post`, no client secret) and the
//! code flow with a client secret (`client_secret_basic`) and an API audience.
//! Each reads the user in a route, and RP-initiated logout ends the Tessera
//! session.
//!
//! Tessera and the app both listen on 127.0.0.1 (other ports): one site, so
//! the app's transaction cookie reaches its `form_post` callback over http.

use std::time::Duration;

use serde_json::{Value, json};

use crate::browser_kit::*;
use crate::common::*;

const EXPRESS: &str = "express@5.3.0";
const EXPRESS_OIDC: &str = "express-openid-connect@3.4.0";
const PACKAGES: &[&str] = &[PLAYWRIGHT_CORE, EXPRESS, EXPRESS_OIDC];
const COOKIE_SECRET: &str = "a-long-random-cookie-secret-for-the-express-app-0123456789";
const API: &str = "https://appointments.example.com/";
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// One sign-in and sign-out, and what the browser reported.
struct Run {
    base: String,
    client_id: String,
    report: Value,
    /// The browser's and the app's output and the server log, for messages.
    context: String,
}

/// Registers a regular web application (`client` adds to its settings),
/// starts the Express app for it (`app` adds to the app's settings; with
/// `clientSecret: true` the client's secret goes in) and
/// lets the browser sign in and out.
async fn sign_in_and_out(sb: &Sandbox, tenant: &Tenant, client: Value, app: Value) -> Run {
    let (browser, modules) = browser_and_modules(PACKAGES).await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut settings = json!({
        "name": "express-openid-connect app",
        "app_type": "regular_web",
        "callbacks": [format!("{base}/callback")],
        "allowed_logout_urls": [base],
    });
    merge(&mut settings, client);
    let created = tenant.create("clients", settings).await;
    let client_id = created["client_id"].as_str().unwrap().to_owned();
    let mut app_config = json!({
        "port": port,
        "issuer": tenant.server.base(),
        "baseURL": base,
        "clientID": client_id,
        "secret": COOKIE_SECRET,
    });
    merge(&mut app_config, app);
    if app_config["clientSecret"] == true {
        app_config["clientSecret"] = created["client_secret"].clone();
    }
    let mut node = Node::spawn(
        sb,
        &modules,
        &browser,
        "express-app.mjs",
        &[app_config.to_string()],
        &[],
    );
    node.wait_for_line("listening", Duration::from_secs(30))
        .await;
    let config = json!({ "base": base, "issuer": tenant.origin(), "email": EMAIL });
    let out = browse(
        sb,
        (&browser, &modules),
        "express-login.mjs",
        &config,
        SCRIPT_TIMEOUT,
    )
    .await;
    let context = format!(
        "browser:\n{}\n{}\napp:\n{}\n{}\nserver log:\n{}",
        out.stdout,
        out.stderr,
        node.stdout(),
        node.stderr(),
        tenant.server.stderr()
    );
    drop(node);
    let report = out
        .report()
        .unwrap_or_else(|| panic!("no report from express-login.mjs: {context}"));
    assert_eq!(report["failed"], Value::Null, "{context}");
    assert!(out.status.success(), "{context}");
    // The report tells what happened without carrying a token (JWTs start "eyJ").
    assert!(!report.to_string().contains("eyJ"), "{context}");
    Run {
        base,
        client_id,
        report,
        context,
    }
}

fn merge(into: &mut Value, from: Value) {
    if let (Some(into), Value::Object(from)) = (into.as_object_mut(), from) {
        into.extend(from);
    }
}

/// What both flows show: the login page, the user in /me, single sign-on,
/// RP-initiated logout back to the app, and no session afterwards.
fn assert_signed_in_and_out(run: &Run, tenant: &Tenant) {
    let (r, context) = (&run.report, &run.context);
    assert_eq!(r["login"]["login_page"], true, "{context}");
    assert_eq!(r["login"]["csp_complaints"], 0, "{context}");
    assert_eq!(r["login"]["title"], "Signed in", "{context}");
    assert_eq!(r["me"]["status"], 200, "{context}");
    let user = &r["me"]["body"]["user"];
    assert_eq!(user["sub"], tenant.user["user_id"], "{context}");
    assert_eq!(user["email"], EMAIL, "{context}");
    assert_eq!(user["name"], "Grace Hopper", "{context}");
    assert_eq!(r["sso"]["login_page_shown"], false, "{context}");
    assert_eq!(r["sso"]["title"], "Signed in", "{context}");
    let ends = r["logout"]["end_session"].as_array().unwrap();
    assert_eq!(ends.len(), 1, "{context}");
    assert_eq!(ends[0]["path"], "/oidc/logout", "{context}");
    assert!(
        ends[0]["names"]
            .as_array()
            .unwrap()
            .contains(&json!("id_token_hint")),
        "{context}"
    );
    assert_eq!(
        ends[0]["values"]["post_logout_redirect_uri"],
        run.base.as_str(),
        "{context}"
    );
    assert_eq!(r["logout"]["title"], "Signed out", "{context}");
    assert_eq!(r["after_logout"]["login_page"], true, "{context}");
}

#[tokio::test(flavor = "multi_thread")]
async fn express_openid_connect_quick_start_signs_in_by_id_token_form_post() {
    let sb = Sandbox::new();
    let tenant = Tenant::start(&sb).await;
    // The README's settings, no client secret: the implicit grant, which is
    // one of a regular web application's default grant types.
    let run = sign_in_and_out(&sb, &tenant, json!({}), json!({})).await;
    let (r, context) = (&run.report, &run.context);
    // The quick start's defaults, as the browser sent them.
    let authorize = &r["login"]["authorize"][0];
    assert_eq!(authorize["response_type"], "id_token", "{context}");
    assert_eq!(authorize["response_mode"], "form_post", "{context}");
    assert_eq!(authorize["client_id"], run.client_id.as_str(), "{context}");
    assert_eq!(
        r["login"]["callback"],
        json!([{ "method": "POST", "names": ["id_token", "iss", "state"] }]),
        "{context}"
    );
    assert_eq!(r["me"]["body"]["access_token"], Value::Null, "{context}");
    assert_signed_in_and_out(&run, &tenant);
    tenant.server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn express_openid_connect_code_flow_gets_an_api_access_token() {
    let sb = Sandbox::new();
    let tenant = Tenant::start(&sb).await;
    tenant
        .create(
            "resource-servers",
            json!({ "identifier": API, "name": "Appointments" }),
        )
        .await;
    let run = sign_in_and_out(
        &sb,
        &tenant,
        json!({ "token_endpoint_auth_method": "client_secret_basic" }),
        json!({ "clientSecret": true, "audience": API }),
    )
    .await;
    let (r, context) = (&run.report, &run.context);
    let authorize = &r["login"]["authorize"][0];
    assert_eq!(authorize["response_type"], "code", "{context}");
    assert_eq!(authorize["audience"], API, "{context}");
    let callback = &r["login"]["callback"][0];
    assert_eq!(callback["method"], "GET", "{context}");
    assert_eq!(
        callback["names"],
        json!(["code", "iss", "state"]),
        "{context}"
    );
    // The access token is the API's (RFC 9068), with userinfo beside it.
    let token = &r["me"]["body"]["access_token"];
    assert_eq!(token["token_type"], "Bearer", "{context}");
    let claims = &token["claims"];
    assert_eq!(
        claims["aud"],
        json!([API, format!("{}userinfo", tenant.server.base())]),
        "{context}"
    );
    assert_eq!(claims["azp"], run.client_id.as_str(), "{context}");
    assert_eq!(claims["sub"], tenant.user["user_id"], "{context}");
    assert_signed_in_and_out(&run, &tenant);
    tenant.server.stop().await;
}
