//! Issue 13: `GET/PATCH /api/v2/connections/{id}/clients` in Auth0's shapes,
//! and a connection's enabled clients enforced at every entry point (hosted
//! login, password and password-realm grants, passwordless start and OTP,
//! `/dbconnections/signup` and `change_password`): enabled, not enabled,
//! removed, the tenant flag `enable_client_connections`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;
use crate::flows::{
    App, CALLBACK, EMAIL, PASSWORD, app, browser, credentials, enc, location, user,
};
use crate::signup_api::{DB, connection};

const REALM_GRANT: &str = "http://auth0.com/oauth/grant-type/password-realm";

fn clients_path(id: &str) -> String {
    format!("api/v2/connections/{id}/clients")
}

pub(crate) async fn set_enabled(s: &TestServer, connection_id: &str, client_id: &str, on: bool) {
    let admin = s.admin_token().await;
    let r = s
        .api(
            Method::PATCH,
            &clients_path(connection_id),
            &admin,
            Some(json!([{"client_id": client_id, "status": on}])),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_clients_in_auth0s_shapes_and_scopes() {
    let s = start().await;
    let admin = s.admin_token().await;
    let db = connection(&s, DB).await["id"].as_str().unwrap().to_owned();
    let mut made = Vec::new();
    for _ in 0..3 {
        made.push(app(&s, json!({"app_type": "regular_web"})).await.id);
    }
    // New clients are enabled on every connection (the flag's default).
    let r = s.api(Method::GET, &clients_path(&db), &admin, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    let listed: Vec<&str> = r.body["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    for id in &made {
        assert!(listed.contains(&id.as_str()), "{r:?}");
    }
    // Checkpoint paging: `take`, then `from` = the previous `next`.
    let mut seen = Vec::new();
    let mut from = String::new();
    loop {
        let r = s
            .api(
                Method::GET,
                &format!("{}?take=2&from={from}", clients_path(&db)),
                &admin,
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert!(r.body["clients"].as_array().unwrap().len() <= 2);
        for c in r.body["clients"].as_array().unwrap() {
            seen.push(c["client_id"].as_str().unwrap().to_owned());
        }
        match r.body.get("next").and_then(Value::as_str) {
            Some(next) => from = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, listed);
    // Disable one, enable it again: 204 each, the list follows.
    set_enabled(&s, &db, &made[0], false).await;
    let r = s
        .api(
            Method::GET,
            &format!("api/v2/connections/{db}"),
            &admin,
            None,
        )
        .await;
    assert!(
        !r.body["enabled_clients"]
            .as_array()
            .unwrap()
            .contains(&json!(made[0]))
    );
    set_enabled(&s, &db, &made[0], true).await;

    // Refused bodies: empty, over 50 changes, an unknown client to enable,
    // unknown properties, a status that is no boolean.
    let many: Vec<Value> = (0..51)
        .map(|i| json!({"client_id": format!("c{i}"), "status": false}))
        .collect();
    for body in [
        json!([]),
        Value::Array(many),
        json!([{"client_id": "ghost", "status": true}]),
        json!([{"client_id": made[1], "status": true, "extra": 1}]),
        json!([{"client_id": made[1], "status": "on"}]),
        json!({"client_id": made[1], "status": true}),
    ] {
        let r = s
            .api(Method::PATCH, &clients_path(&db), &admin, Some(body))
            .await;
        assert_mgmt_error(&r, 400, "invalid_body");
    }
    // Unknown connection; scopes.
    let r = s
        .api(Method::GET, &clients_path("con_nope"), &admin, None)
        .await;
    assert_mgmt_error(&r, 404, "inexistent_connection");
    let r = s
        .api(
            Method::PATCH,
            &clients_path("con_nope"),
            &admin,
            Some(json!([{"client_id": made[1], "status": false}])),
        )
        .await;
    assert_mgmt_error(&r, 404, "inexistent_connection");
    let read_only = s.token_with_scopes(&["read:connections"]).await;
    assert_eq!(
        s.api(Method::GET, &clients_path(&db), &read_only, None)
            .await
            .status,
        200
    );
    let r = s
        .api(
            Method::PATCH,
            &clients_path(&db),
            &read_only,
            Some(json!([{"client_id": made[1], "status": false}])),
        )
        .await;
    assert_mgmt_error(&r, 403, "insufficient_scope");
    let none = s.token_with_scopes(&["read:clients"]).await;
    let r = s.api(Method::GET, &clients_path(&db), &none, None).await;
    assert_mgmt_error(&r, 403, "insufficient_scope");
}

/// What each entry point answers `app` on the database connection: the
/// password-realm grant, the password grant, the hosted login, sign-up and
/// change_password.
async fn entry_points(s: &TestServer, app: &App) -> [bool; 5] {
    let mut realm = vec![
        ("grant_type", REALM_GRANT),
        ("realm", DB),
        ("username", EMAIL),
        ("password", PASSWORD),
    ];
    realm.extend(credentials(app));
    let realm_ok = s.token_request(&realm).await.status == 200;
    let mut password = vec![
        ("grant_type", "password"),
        ("username", EMAIL),
        ("password", PASSWORD),
    ];
    password.extend(credentials(app));
    let password_ok = s.token_request(&password).await.status == 200;
    let b = browser();
    let url = format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=s",
        s.url("authorize"),
        app.id,
        enc(CALLBACK)
    );
    let res = b.get(url).send().await.unwrap();
    let login_page = b.get(location(&res)).send().await.unwrap();
    // Refused: sent back to the client with an error instead of the form.
    let hosted_ok = login_page.status() == 200;
    if !hosted_ok {
        let to = location(&login_page);
        assert!(to.starts_with(CALLBACK) && to.contains("error="), "{to}");
    }
    static SIGNUPS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = SIGNUPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let signup = s
        .post_json(
            "dbconnections/signup",
            &json!({"client_id": app.id, "connection": DB,
                "email": format!("new-{n}@example.com"), "password": PASSWORD}),
        )
        .await;
    assert!(
        signup.status == 200 || signup.body["code"] == "bad.connection",
        "{signup:?}"
    );
    let change = s
        .post_json(
            "dbconnections/change_password",
            &json!({"client_id": app.id, "connection": DB, "email": EMAIL}),
        )
        .await;
    [
        realm_ok,
        password_ok,
        hosted_ok,
        signup.status == 200,
        change.status == 200,
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_not_enabled_on_the_connection_gets_in_nowhere() {
    let s = start().await;
    let admin = s.admin_token().await;
    user(&s).await;
    let web = app(
        &s,
        json!({"app_type": "regular_web", "grant_types": ["authorization_code", "password", REALM_GRANT]}),
    )
    .await;
    let db = connection(&s, DB).await["id"].as_str().unwrap().to_owned();
    // Enabled (at creation, by the flag): everywhere.
    assert_eq!(entry_points(&s, &web).await, [true; 5]);
    // Disabled: nowhere.
    set_enabled(&s, &db, &web.id, false).await;
    assert_eq!(entry_points(&s, &web).await, [false; 5]);
    // Enabled again.
    set_enabled(&s, &db, &web.id, true).await;
    assert_eq!(entry_points(&s, &web).await, [true; 5]);
    // An empty list enables no client (Auth0), not every client.
    let r = s
        .api(
            Method::PATCH,
            &format!("api/v2/connections/{db}"),
            &admin,
            Some(json!({"enabled_clients": []})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(entry_points(&s, &web).await, [false; 5]);

    // With the tenant flag off, a new client is enabled nowhere; on, everywhere.
    let r = s
        .api(
            Method::PATCH,
            "api/v2/tenants/settings",
            &admin,
            Some(json!({"flags": {"enable_client_connections": false}})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let grants = json!({"app_type": "regular_web", "grant_types": ["authorization_code", "password", REALM_GRANT]});
    let later = app(&s, grants.clone()).await;
    assert_eq!(entry_points(&s, &later).await, [false; 5]);
    s.api(
        Method::PATCH,
        "api/v2/tenants/settings",
        &admin,
        Some(json!({"flags": {"enable_client_connections": true}})),
    )
    .await;
    let latest = app(&s, grants).await;
    assert_eq!(entry_points(&s, &latest).await, [true; 5]);
    // A deleted client leaves the lists.
    let r = s
        .api(
            Method::DELETE,
            &format!("api/v2/clients/{}", latest.id),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let r = s.api(Method::GET, &clients_path(&db), &admin, None).await;
    assert!(!r.body.to_string().contains(&latest.id), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwordless_start_and_otp_need_the_client_enabled() {
    let s = start().await;
    let admin = s.admin_token().await;
    let native = app(
        &s,
        json!({"app_type": "native", "grant_types": ["http://auth0.com/oauth/grant-type/passwordless/otp"]}),
    )
    .await;
    // Created after the client, listing none: no client may use it.
    let r = s
        .api(
            Method::POST,
            "api/v2/connections",
            &admin,
            Some(json!({"name": "email", "strategy": "email", "enabled_clients": []})),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let email_id = r.body["id"].as_str().unwrap().to_owned();
    let start_body =
        json!({"client_id": native.id, "connection": "email", "email": EMAIL, "send": "code"});
    let start = || s.post_json("passwordless/start", &start_body);
    let otp_form = [
        (
            "grant_type",
            "http://auth0.com/oauth/grant-type/passwordless/otp",
        ),
        ("client_id", native.id.as_str()),
        ("realm", "email"),
        ("username", EMAIL),
        ("otp", "123456"),
    ];
    let otp = || s.token_request(&otp_form);
    let r = start().await;
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(r.body["error"], "bad.connection", "{r:?}");
    let r = otp().await;
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(r.reason(), Some(Reason::ConnectionUnusable), "{r:?}");
    set_enabled(&s, &email_id, &native.id, true).await;
    assert_eq!(start().await.status, 200);
    // Now a wrong code is only a wrong code.
    let r = otp().await;
    assert_eq!(r.reason(), Some(Reason::OtpWrong), "{r:?}");
}
