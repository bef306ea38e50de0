//! The example API against a real Tessera started in-process: a scoped token is
//! served, an unscoped one gets 403 insufficient_scope, and no token, garbage,
//! an ID token and a token for another API (the Management API) get 401
//! invalid_token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::Clock;
use tessera_core::clock::SystemClock;
use tessera_server::testing::{TestServer, http, start};
use tessera_verify::AccessTokenVerifier;

const API: &str = "https://appointments.example/";

/// client_credentials at POST /oauth/token.
async fn token(tessera: &TestServer, client_id: &str, secret: &str, audience: &str) -> String {
    let r = tessera
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("audience", audience),
        ])
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body["access_token"].as_str().unwrap().to_owned()
}

/// Registers the appointments API through the Management API.
async fn create_api(tessera: &TestServer) {
    let admin = tessera.admin_token().await;
    let r = tessera
        .api(
            Method::POST,
            "api/v2/resource-servers",
            &admin,
            Some(json!({
                "identifier": API,
                "name": "Appointments",
                "scopes": [{"value": "read:appointments", "description": "Read appointments"}],
            })),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
}

/// An ID token for `client_id`, signed with the server's current key exactly
/// as the authorization-code grant signs one (typ JWT, aud = the client).
fn id_token(tessera: &TestServer, client_id: &str) -> String {
    let now = SystemClock.now();
    let claims = json!({
        "iss": tessera.base,
        "sub": "auth0|ada",
        "aud": client_id,
        "iat": now,
        "exp": now + 3600,
        "auth_time": now,
        "sid": "sid-1",
        "nonce": "n-1",
        "email": "ada@example.com",
    });
    let keys = tessera.state.keys.current();
    tessera_core::jwt::sign(keys.signer(), tessera_core::jwt::TYP_JWT, &claims).unwrap()
}

/// The example API in-process on its own port; returns its base URL.
async fn start_example(issuer: &str) -> String {
    let verifier = AccessTokenVerifier::from_issuer(issuer, vec![API.to_owned()])
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, appointments_api::app(verifier))
            .await
            .unwrap();
    });
    format!("http://{addr}/")
}

struct Answer {
    status: u16,
    www_authenticate: String,
    body: String,
}

async fn get_appointments(base: &str, token: Option<&str>) -> Answer {
    let mut req = http().get(format!("{base}appointments"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let www_authenticate = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = res.text().await.unwrap();
    Answer {
        status,
        www_authenticate,
        body,
    }
}

fn assert_invalid_token(case: &str, a: &Answer) {
    assert_eq!(a.status, 401, "{case}: {} {}", a.www_authenticate, a.body);
    assert!(
        a.www_authenticate.starts_with("Bearer"),
        "{case}: {}",
        a.www_authenticate
    );
    if case != "no token" {
        assert!(
            a.www_authenticate.contains("error=\"invalid_token\""),
            "{case}: {}",
            a.www_authenticate
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_api_serves_scoped_tokens_and_refuses_everything_else() {
    let tessera = start().await;
    create_api(&tessera).await;
    let (reader, reader_secret) = tessera.m2m_client(API, &["read:appointments"]).await;
    let (nobody, nobody_secret) = tessera.m2m_client(API, &[]).await;
    let api = start_example(&tessera.base).await;

    // The scoped token: 200 and the list.
    let scoped = token(&tessera, &reader, &reader_secret, API).await;
    let a = get_appointments(&api, Some(&scoped)).await;
    assert_eq!(a.status, 200, "{} {}", a.www_authenticate, a.body);
    let list: Value = serde_json::from_str(&a.body).unwrap();
    let items = list.as_array().expect("a JSON list");
    assert!(!items.is_empty());
    assert_eq!(items[0]["for"], format!("{reader}@clients"));

    // A valid token for this API without the scope: 403 insufficient_scope.
    let unscoped = token(&tessera, &nobody, &nobody_secret, API).await;
    let a = get_appointments(&api, Some(&unscoped)).await;
    assert_eq!(a.status, 403, "{} {}", a.www_authenticate, a.body);
    assert!(
        a.www_authenticate.contains("error=\"insufficient_scope\""),
        "{}",
        a.www_authenticate
    );
    assert!(
        a.www_authenticate.contains("scope=\"read:appointments\""),
        "{}",
        a.www_authenticate
    );

    // No token, garbage, an ID token, a token for another API: 401 invalid_token.
    assert_invalid_token("no token", &get_appointments(&api, None).await);
    assert_invalid_token(
        "garbage",
        &get_appointments(&api, Some("not-a-token")).await,
    );
    assert_invalid_token(
        "garbage JWT",
        &get_appointments(&api, Some("eyJhbGciOiJub25lIn0.e30.")).await,
    );
    let id_token = id_token(&tessera, &reader);
    assert_invalid_token("ID token", &get_appointments(&api, Some(&id_token)).await);
    let management = tessera.admin_token().await;
    assert_invalid_token(
        "Management API token",
        &get_appointments(&api, Some(&management)).await,
    );
    // A tampered scoped token (its payload swapped for the unscoped one's).
    let s: Vec<&str> = scoped.split('.').collect();
    let u: Vec<&str> = unscoped.split('.').collect();
    let forged = format!("{}.{}.{}", s[0], u[1], s[2]);
    assert_invalid_token("forged", &get_appointments(&api, Some(&forged)).await);
}
