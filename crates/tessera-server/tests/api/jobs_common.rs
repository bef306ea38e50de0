//! Helpers of the user import and export job tests.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use tessera_core::store::{TenantStore, UserStore};

use crate::common::*;

pub const DB: &str = "Username-Password-Authentication";

/// The id of the database connection.
pub async fn db_connection_id(s: &TestServer) -> String {
    s.store
        .get_connection_by_name(DB)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// `POST /api/v2/jobs/users-imports` with `users` as the file and the form's
/// other fields.
pub async fn post_import(
    s: &TestServer,
    token: &str,
    users: &[u8],
    fields: &[(&str, &str)],
) -> Reply {
    let mut form = reqwest::multipart::Form::new().part(
        "users",
        reqwest::multipart::Part::bytes(users.to_vec())
            .file_name("users.json")
            .mime_str("application/json")
            .unwrap(),
    );
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    reply(
        http()
            .post(s.url("api/v2/jobs/users-imports"))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Imports `users` into the database connection and waits for the job's end.
pub async fn import(s: &TestServer, token: &str, users: &Value, upsert: bool) -> Value {
    let conn = db_connection_id(s).await;
    let r = post_import(
        s,
        token,
        users.to_string().as_bytes(),
        &[
            ("connection_id", &conn),
            ("upsert", if upsert { "true" } else { "false" }),
        ],
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    wait_for(s, token, r.body["id"].as_str().unwrap()).await
}

/// The job once completed or failed.
pub async fn wait_for(s: &TestServer, token: &str, id: &str) -> Value {
    for _ in 0..200 {
        let r = s
            .api(Method::GET, &format!("api/v2/jobs/{id}"), token, None)
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        if matches!(r.body["status"].as_str(), Some("completed" | "failed")) {
            return r.body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {id} did not end");
}

/// The stored password hash of `email`.
pub async fn stored_hash(s: &TestServer, email: &str) -> Option<String> {
    s.store
        .find_user_for_login(DB, email)
        .await
        .unwrap()
        .unwrap()
        .1
}

/// A password grant for `email` from a fresh app allowed it.
pub async fn password_grant(
    s: &TestServer,
    app: &crate::flows::App,
    email: &str,
    password: &str,
) -> Reply {
    let mut form = vec![
        (
            "grant_type",
            "http://auth0.com/oauth/grant-type/password-realm",
        ),
        ("realm", DB),
        ("username", email),
        ("password", password),
        ("scope", "openid"),
    ];
    form.extend(crate::flows::credentials(app));
    s.token_request(&form).await
}

/// A confidential app allowed the password-realm grant.
pub async fn realm_app(s: &TestServer) -> crate::flows::App {
    crate::flows::app(
        s,
        serde_json::json!({"app_type": "regular_web",
            "grant_types": ["http://auth0.com/oauth/grant-type/password-realm", "password"]}),
    )
    .await
}
