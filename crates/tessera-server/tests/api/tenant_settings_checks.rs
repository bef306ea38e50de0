//! Issue 13 (review 1, items 4 and 5): settings that name something must name
//! what exists (`default_audience`, `default_directory`), a deleted default API
//! is survived, and security-looking settings Tessera does not enforce are
//! refused rather than stored and ignored; `disable_self_service_change_password`
//! is enforced.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;
use crate::flows::{API, EMAIL, PASSWORD, apis, app, claims, credentials, user};
use crate::signup_api::{DB, connection};

const PATH: &str = "api/v2/tenants/settings";

async fn patch(s: &TestServer, token: &str, body: Value) -> Reply {
    s.api(Method::PATCH, PATH, token, Some(body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_audience_and_directory_must_exist() {
    let s = start().await;
    let admin = s.admin_token().await;
    apis(&s).await;
    // A connection that is not a database.
    let r = s
        .api(
            Method::POST,
            "api/v2/connections",
            &admin,
            Some(json!({"name": "email", "strategy": "email"})),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let before = s.api(Method::GET, PATH, &admin, None).await.body;
    let management = s.management_audience();
    for bad in [
        json!({"default_audience": "https://nowhere.example/"}),
        json!({"default_audience": management}),
        json!({"default_directory": "No-Such-Connection"}),
        json!({"default_directory": "email"}),
    ] {
        let r = patch(&s, &admin, bad.clone()).await;
        assert_mgmt_error(&r, 400, "invalid_body");
        let after = s.api(Method::GET, PATH, &admin, None).await.body;
        assert_eq!(after, before, "{bad}: nothing changes");
    }
    let r = patch(
        &s,
        &admin,
        json!({"default_audience": API, "default_directory": DB}),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    // Emptied: none.
    let r = patch(&s, &admin, json!({"default_audience": ""})).await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_default_api_is_no_longer_used() {
    let s = start().await;
    let admin = s.admin_token().await;
    user(&s).await;
    let r = s
        .api(
            Method::POST,
            "api/v2/resource-servers",
            &admin,
            Some(json!({"identifier": "https://gone.example/", "name": "Gone"})),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let api_id = r.body["id"].as_str().unwrap().to_owned();
    let web = app(
        &s,
        json!({"app_type": "regular_web", "grant_types": ["password"]}),
    )
    .await;
    let r = patch(
        &s,
        &admin,
        json!({"default_audience": "https://gone.example/"}),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let mut form = vec![
        ("grant_type", "password"),
        ("username", EMAIL),
        ("password", PASSWORD),
        ("scope", "openid"),
    ];
    form.extend(credentials(&web));
    let r = s.token_request(&form).await;
    assert_eq!(r.status, 200, "{r:?}");
    let access = claims(r.body["access_token"].as_str().unwrap());
    assert_eq!(access["aud"][0], "https://gone.example/", "{access}");
    let r = s
        .api(
            Method::DELETE,
            &format!("api/v2/resource-servers/{api_id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    // The password grant still works, without the deleted API: no audience,
    // so the access token is the opaque one only /userinfo takes.
    let r = s.token_request(&form).await;
    assert_eq!(r.status, 200, "{r:?}");
    let access = r.body["access_token"].as_str().unwrap();
    assert_eq!(access.split('.').count(), 1, "not opaque: {r:?}");
    let info = http()
        .get(s.url("userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_tessera_does_not_enforce_are_refused_when_strict() {
    let s = start().await;
    let admin = s.admin_token().await;
    let before = s.api(Method::GET, PATH, &admin, None).await.body;
    for strict in [
        json!({"flags": {"enforce_client_authentication_on_passwordless_start": true}}),
        json!({"flags": {"revoke_refresh_token_grant": true}}),
        json!({"session_cookie": {"mode": "non-persistent"}}),
    ] {
        let r = patch(&s, &admin, strict.clone()).await;
        assert_mgmt_error(&r, 400, "invalid_body");
        assert_eq!(
            s.api(Method::GET, PATH, &admin, None).await.body,
            before,
            "{strict}"
        );
    }
    // Their permissive values are accepted.
    let r = patch(
        &s,
        &admin,
        json!({"flags": {"enforce_client_authentication_on_passwordless_start": false,
            "revoke_refresh_token_grant": false}, "session_cookie": {"mode": "persistent"}}),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");

    let db = connection(&s, DB).await;
    let path = format!("api/v2/connections/{}", db["id"].as_str().unwrap());
    for option in [
        "password_history",
        "password_no_personal_info",
        "password_dictionary",
    ] {
        let r = s
            .api(
                Method::PATCH,
                &path,
                &admin,
                Some(json!({"options": {option: {"enable": true}}})),
            )
            .await;
        assert_mgmt_error(&r, 400, "invalid_body");
        let r = s
            .api(
                Method::PATCH,
                &path,
                &admin,
                Some(json!({"options": {option: {"enable": false}}})),
            )
            .await;
        assert_eq!(r.status, 200, "{option}: {r:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_service_password_change_can_be_disabled() {
    let s = start().await;
    let admin = s.admin_token().await;
    user(&s).await;
    let web = app(&s, json!({})).await;
    let db = connection(&s, DB).await;
    let body = json!({"client_id": web.id, "connection": DB, "email": EMAIL});
    let change = || s.post_json("dbconnections/change_password", &body);
    assert_eq!(change().await.status, 200);
    let mut options = db["options"].clone();
    options["disable_self_service_change_password"] = json!(true);
    let r = s
        .api(
            Method::PATCH,
            &format!("api/v2/connections/{}", db["id"].as_str().unwrap()),
            &admin,
            Some(json!({"options": options})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = change().await;
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(r.body["code"], "operation_not_supported", "{r:?}");
}
