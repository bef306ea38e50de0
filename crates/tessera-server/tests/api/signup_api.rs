//! `POST dbconnections/signup` (Auth0's Authentication API): the new user in
//! Auth0's shape, and every refusal by its code: an existing email, an unknown
//! client, a connection that does not exist, is not a database connection or
//! is not enabled for the client, sign-up disabled, the password policy,
//! invalid properties, malformed bodies, the per-address rate limit.

use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::Secret;
use tessera_core::store::UserStore;

use crate::common::*;

pub(crate) const DB: &str = "Username-Password-Authentication";
const PASSWORD: &str = "correct horse battery staple";

/// A native application; its id.
pub(crate) async fn native_app(s: &TestServer) -> String {
    let admin = s.admin_token().await;
    let r = s
        .api(
            Method::POST,
            "api/v2/clients",
            &admin,
            Some(json!({"name": "Native app", "app_type": "native"})),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    r.body["client_id"].as_str().unwrap().to_owned()
}

/// The connection named `name`, as the Management API shows it.
pub(crate) async fn connection(s: &TestServer, name: &str) -> Value {
    let admin = s.admin_token().await;
    let r = s.api(Method::GET, "api/v2/connections", &admin, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no connection {name}"))
}

/// Sets a connection's `enabled_clients` (and `options`, when given).
pub(crate) async fn configure(
    s: &TestServer,
    name: &str,
    clients: &[&str],
    options: Option<Value>,
) {
    let admin = s.admin_token().await;
    let id = connection(s, name).await["id"].as_str().unwrap().to_owned();
    let mut body = json!({"enabled_clients": clients});
    if let Some(o) = options {
        body["options"] = o;
    }
    let r = s
        .api(
            Method::PATCH,
            &format!("api/v2/connections/{id}"),
            &admin,
            Some(body),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
}

pub(crate) async fn signup(s: &TestServer, body: Value) -> Reply {
    s.post_json("dbconnections/signup", &body).await
}

/// Asserts an Auth0 database-endpoint refusal with `code`.
pub(crate) fn assert_refused(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status, status, "{r:?}");
    assert_eq!(r.body["code"], code, "{r:?}");
    assert_eq!(r.body["statusCode"], status, "{r:?}");
    assert!(r.body["name"].is_string(), "{r:?}");
}

async fn user_count(s: &TestServer) -> usize {
    let admin = s.admin_token().await;
    let r = s.api(Method::GET, "api/v2/users", &admin, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body.as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_creates_the_user_and_answers_auth0s_shape() {
    let s = start().await;
    let app = native_app(&s).await;
    configure(&s, DB, &[&app], None).await;
    let r = signup(
        &s,
        json!({
            "client_id": app, "connection": DB, "email": "Grace@Example.com",
            "password": PASSWORD, "username": "grace", "given_name": "Grace",
            "family_name": "Hopper", "name": "Grace Hopper", "nickname": "amazing",
            "picture": "https://pics.example/grace.png",
            "user_metadata": {"plan": "silver", "team_id": "a111"},
            "phone_number": null,
        }),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let id = r.body["_id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 24, "{r:?}");
    assert_eq!(
        r.body,
        json!({
            "_id": id, "email": "grace@example.com", "email_verified": false,
            "given_name": "Grace", "family_name": "Hopper", "name": "Grace Hopper",
            "nickname": "amazing", "picture": "https://pics.example/grace.png",
            "user_metadata": {"plan": "silver", "team_id": "a111"},
        })
    );
    assert_eq!(r.headers["cache-control"], "no-store");
    // Stored in the connection, with the password hashed (it verifies).
    let stored = s
        .store
        .get_user(&format!("auth0|{id}"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.connection, DB);
    assert_eq!(stored.user_metadata["plan"], "silver");
    let (_, hash) = s
        .store
        .find_user_for_login(DB, "grace@example.com")
        .await
        .unwrap()
        .unwrap();
    let hash = hash.unwrap();
    assert!(tessera_core::password::verify(
        &Secret::new(PASSWORD.into()),
        &hash
    ));
    assert!(!hash.contains(PASSWORD));

    // A form body works too; a sign-up without profile answers only the basics.
    let res = http()
        .post(s.url("dbconnections/signup"))
        .form(&[
            ("client_id", app.as_str()),
            ("connection", DB),
            ("email", "alan@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let r = reply(res).await;
    assert_eq!(r.status, 200, "{r:?}");
    let keys: Vec<&String> = r.body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["_id", "email", "email_verified"], "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_email_is_user_exists_in_auth0s_exact_body() {
    let s = start().await;
    let app = native_app(&s).await;
    configure(&s, DB, &[&app], None).await;
    let body = |email: &str| json!({"client_id": app, "connection": DB, "email": email, "password": PASSWORD});
    assert_eq!(signup(&s, body("ada@example.com")).await.status, 200);
    let again = signup(&s, body("ADA@example.com")).await;
    assert_eq!(
        again.body,
        json!({"name": "BadRequestError", "code": "user_exists",
            "description": "The user already exists.", "statusCode": 400})
    );
    assert_eq!(again.status, 400);
    assert_eq!(user_count(&s).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_not_sign_up() {
    let s = start().await;
    let app = native_app(&s).await;
    let other = native_app(&s).await;
    let ok = |client: &str, connection: &str| {
        json!({"client_id": client, "connection": connection,
            "email": "eve@example.com", "password": PASSWORD})
    };

    // Enabled for another client only (an empty list would mean every client).
    configure(&s, DB, &[&other], None).await;
    assert_refused(&signup(&s, ok(&app, DB)).await, 400, "bad.connection");
    configure(&s, DB, &[&app], None).await;
    // Unknown or missing connection, unknown or missing client.
    assert_refused(&signup(&s, ok(&app, "Nope")).await, 400, "bad.connection");
    let mut no_connection = ok(&app, DB);
    no_connection["connection"] = Value::Null;
    assert_refused(&signup(&s, no_connection).await, 400, "bad.connection");
    assert_refused(
        &signup(&s, ok("unknown-client", DB)).await,
        400,
        "invalid_client",
    );
    let mut no_client = ok(&app, DB);
    no_client.as_object_mut().unwrap().remove("client_id");
    assert_refused(&signup(&s, no_client).await, 400, "invalid_client");

    // The password policy: Auth0's PasswordStrengthError with the rules.
    configure(
        &s,
        DB,
        &[&app],
        Some(json!({"password_complexity_options": {"min_length": 12}})),
    )
    .await;
    let mut weak = ok(&app, DB);
    weak["password"] = json!("elevenchars");
    let r = signup(&s, weak).await;
    assert_refused(&r, 400, "invalid_password");
    assert_eq!(r.body["name"], "PasswordStrengthError");
    assert_eq!(r.body["description"]["verified"], false);
    assert_eq!(r.body["description"]["rules"][0]["code"], "lengthAtLeast");
    assert_eq!(r.body["description"]["rules"][0]["format"], json!([12]));
    assert_eq!(r.body["description"]["rules"][0]["verified"], false);
    assert!(r.body["policy"].as_str().unwrap().contains("12"), "{r:?}");
    assert!(!r.body.to_string().contains("elevenchars"));

    // Invalid properties.
    for (key, value) in [
        ("email", json!("not-an-email")),
        ("email", Value::Null),
        ("password", Value::Null),
        ("picture", json!("javascript:alert(1)")),
        ("given_name", json!("x".repeat(151))),
        (
            "user_metadata",
            json!({"a": "1", "b": "2", "c": "3", "d": "4", "e": "5",
            "f": "6", "g": "7", "h": "8", "i": "9", "j": "10", "k": "11"}),
        ),
        ("user_metadata", json!({"n": 1})),
        ("user_metadata", json!({"n": "x".repeat(501)})),
    ] {
        let mut body = ok(&app, DB);
        body[key] = value;
        assert_refused(&signup(&s, body).await, 400, "invalid_signup");
    }
    // Malformed bodies, members of the wrong type, and a NUL anywhere (which
    // PostgreSQL text cannot hold: refused before any lookup, never a 5xx).
    for (key, value) in [
        ("password", json!(12345678901234u64)),
        ("email", json!(["a@example.com"])),
        ("user_metadata", json!("plan")),
        ("email", json!("a\0@example.com")),
        ("connection", json!("Username\0")),
        ("client_id", json!("\0")),
        ("user_metadata", json!({"plan": "gold\0"})),
    ] {
        let mut body = ok(&app, DB);
        body[key] = value;
        let r = signup(&s, body).await;
        assert_refused(&r, 400, "invalid_body");
        assert!(!r.body.to_string().contains("12345678901234"), "{r:?}");
    }
    for raw in ["[]", "{", "null", "\"x\""] {
        let res = http()
            .post(s.url("dbconnections/signup"))
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        assert_refused(&reply(res).await, 400, "invalid_body");
    }
    let res = http()
        .post(s.url("dbconnections/signup"))
        .form(&[("email", "a@example.com"), ("email", "b@example.com")])
        .send()
        .await
        .unwrap();
    assert_refused(&reply(res).await, 400, "invalid_body");

    // Sign-up disabled on the connection.
    configure(&s, DB, &[&app], Some(json!({"disable_signup": true}))).await;
    assert_refused(
        &signup(&s, ok(&app, DB)).await,
        400,
        "operation_not_supported",
    );

    assert_eq!(user_count(&s).await, 0, "no refusal created a user");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signups_are_rate_limited_per_address() {
    let s = start_opts(Options {
        configure: |c| c.rate_limit_per_minute = 3,
        ..Options::default()
    })
    .await;
    let app = native_app(&s).await;
    configure(&s, DB, &[&app], None).await;
    for i in 0..3 {
        let r = signup(
            &s,
            json!({"client_id": app, "connection": DB,
                "email": format!("u{i}@example.com"), "password": PASSWORD}),
        )
        .await;
        assert_eq!(r.status, 200, "{r:?}");
    }
    let r = signup(
        &s,
        json!({"client_id": app, "connection": DB, "email": "u0@example.com", "password": PASSWORD}),
    )
    .await;
    assert_refused(&r, 429, "too_many_requests");
    let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
}
