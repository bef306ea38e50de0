//! Issue 13 (review 1, items 1, 2, 4): a connection's enabled clients hold
//! after the login too. An existing SSO session does not sign the user in to a
//! client its connection is not enabled for (nor through another connection
//! than `connection=` names), and codes and refresh tokens stop working once
//! the client is removed from the user's connection or the connection's
//! `authentication.active` is turned off.

use reqwest::Method;
use serde_json::json;
use tessera_core::error::Reason;

use crate::common::*;
use crate::enabled_clients::set_enabled;
use crate::flows::*;
use crate::signup_api::{DB, connection};

/// `/authorize` for `app_id` in browser `b` (already logged in or not): where
/// it sends the browser.
async fn sso(s: &TestServer, b: &reqwest::Client, app_id: &str, extra: &[(&str, &str)]) -> String {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", app_id),
        ("redirect_uri", CALLBACK),
        ("scope", "openid"),
        ("state", "st"),
    ];
    params.extend_from_slice(extra);
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect();
    let res = b
        .get(format!("{}?{}", s.url("authorize"), query.join("&")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    location(&res)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_does_not_open_a_client_its_connection_is_not_enabled_for() {
    let s = start().await;
    user(&s).await;
    let first = app(&s, json!({})).await;
    let second = app(&s, json!({})).await;
    let db = connection(&s, DB).await["id"].as_str().unwrap().to_owned();
    let b = browser();
    login_in(&s, &b, &first, "openid", &[]).await;
    // Control: the session signs the user in to both clients without a form.
    let to = sso(&s, &b, &second.id, &[("prompt", "none")]).await;
    assert!(query_of(&to).contains_key("code"), "{to}");

    set_enabled(&s, &db, &second.id, false).await;
    // prompt=none: login_required, no code.
    let to = sso(&s, &b, &second.id, &[("prompt", "none")]).await;
    assert!(to.starts_with(CALLBACK), "{to}");
    let q = query_of(&to);
    assert_eq!(
        q.get("error").map(String::as_str),
        Some("login_required"),
        "{to}"
    );
    assert!(!q.contains_key("code"), "{to}");
    // Without prompt: back to a login page (which refuses the client), never a code.
    let to = sso(&s, &b, &second.id, &[]).await;
    assert!(!query_of(&to).contains_key("code"), "{to}");
    // The first client still gets in through the session.
    let to = sso(&s, &b, &first.id, &[("prompt", "none")]).await;
    assert!(query_of(&to).contains_key("code"), "{to}");
    // connection= naming another connection than the session's user came from.
    let to = sso(
        &s,
        &b,
        &first.id,
        &[("prompt", "none"), ("connection", "email")],
    )
    .await;
    let q = query_of(&to);
    assert_eq!(
        q.get("error").map(String::as_str),
        Some("login_required"),
        "{to}"
    );
    assert!(!q.contains_key("code"), "{to}");
    let to = sso(&s, &b, &first.id, &[("prompt", "none"), ("connection", DB)]).await;
    assert!(query_of(&to).contains_key("code"), "{to}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_and_refresh_tokens_stop_when_the_client_is_removed_from_the_connection() {
    let s = start().await;
    user(&s).await;
    let web = app(&s, json!({})).await;
    let db = connection(&s, DB).await["id"].as_str().unwrap().to_owned();
    let first = login(&s, &web, "openid offline_access", &[]).await;
    let rt = field(&first, "refresh_token");
    // Control: the refresh works while the client is enabled.
    let r = refresh(&s, &web, &rt, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    let rt = field(&r, "refresh_token");
    // A code issued while enabled, exchanged after the removal.
    let b = browser();
    let (callback, verifier) = authorize(&s, &b, &web, "openid", &[]).await;
    let code = callback.get("code").unwrap().clone();

    set_enabled(&s, &db, &web.id, false).await;
    let r = refresh(&s, &web, &rt, None).await;
    assert_invalid_grant(&r, Reason::ConnectionNotEnabled);
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", &verifier),
    ];
    form.extend(credentials(&web));
    let r = s.token_request(&form).await;
    assert_invalid_grant(&r, Reason::ConnectionNotEnabled);

    // Enabled again, then the connection's authentication turned off.
    set_enabled(&s, &db, &web.id, true).await;
    let r = refresh(&s, &web, &rt, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    let rt = field(&r, "refresh_token");
    let admin = s.admin_token().await;
    let r = s
        .api(
            Method::PATCH,
            &format!("api/v2/connections/{db}"),
            &admin,
            Some(json!({"authentication": {"active": false}})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = refresh(&s, &web, &rt, None).await;
    assert_invalid_grant(&r, Reason::ConnectionNotEnabled);
    // Nor does the password grant or the hosted login let anyone in.
    let mut password = vec![
        ("grant_type", "password"),
        ("username", EMAIL),
        ("password", PASSWORD),
    ];
    password.extend(credentials(&web));
    let r = s.token_request(&password).await;
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.body.get("access_token").is_none(), "{r:?}");
    let b = browser();
    let to = sso(&s, &b, &web.id, &[]).await;
    let page = b.get(&to).send().await.unwrap();
    assert_ne!(page.status(), 200, "the login form is not shown");
}
