//! POST oauth/token with client_credentials: RFC 9068 tokens, every error
//! with its code and reason, which clients may use the grant, lifetimes.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::Clock;
use tessera_core::clock::SystemClock;
use tessera_core::model::{AppType, Client, JwtConfiguration, RefreshTokenConfig};
use tessera_core::store::TenantStore;

use crate::common::*;

fn claims(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let header =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap();
    let payload =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap();
    (header, payload)
}

/// An RFC 6749 §5.2 error answer: its status, its `error` code and its typed
/// reason.
#[track_caller]
pub(crate) fn assert_oauth_error(r: &Reply, status: u16, error: &str, reason: Reason) {
    assert_eq!(r.status, status, "{r:?}");
    assert_eq!(r.body["error"], error, "{r:?}");
    assert_eq!(r.reason(), Some(reason), "{r:?}");
    assert!(r.body["error_description"].is_string(), "{r:?}");
    assert_eq!(r.headers["cache-control"], "no-store", "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_issues_an_rfc9068_token() {
    let s = start().await;
    let aud = s.management_audience();
    let r = s
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", ADMIN_ID),
            ("client_secret", ADMIN_SECRET),
            ("audience", &aud),
        ])
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.headers["cache-control"], "no-store");
    assert_eq!(r.headers["pragma"], "no-cache");
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 86400);
    let every = tessera_core::scopes::management_scope_names().join(" ");
    assert_eq!(
        r.body["scope"], every,
        "no scope asked: every granted scope"
    );
    let (header, c) = claims(r.body["access_token"].as_str().unwrap());
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], s.state.keys.current().signer().kid());
    assert_eq!(c["iss"], s.base);
    assert_eq!(c["sub"], format!("{ADMIN_ID}@clients"));
    assert_eq!(c["aud"], aud);
    assert_eq!(c["azp"], ADMIN_ID);
    assert_eq!(c["client_id"], ADMIN_ID);
    assert_eq!(c["gty"], "client-credentials");
    assert_eq!(c["scope"], every);
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        86400
    );
    assert!(c["jti"].as_str().unwrap().len() >= 22);
    let again = s.admin_token().await;
    assert_ne!(claims(&again).1["jti"], c["jti"], "a fresh jti per token");

    let metrics = http()
        .get(s.url("metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"tessera_tokens_issued_total{kind="management_api_token"} 2"#),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_json_resource_and_scope_narrowing() {
    let s = start().await;
    let aud = s.management_audience();
    // client_secret_basic with a JSON body carrying nulls (as Auth0's SDKs send).
    let res = http()
        .post(s.url("oauth/token"))
        .header("authorization", format!("Basic {}", STANDARD.encode(format!("{ADMIN_ID}:{ADMIN_SECRET}"))))
        .json(&json!({ "grant_type": "client_credentials", "audience": aud, "scope": "read:users create:users", "client_id": null, "organization": null }))
        .send()
        .await
        .unwrap();
    let r = reply(res).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["scope"], "read:users create:users");
    assert_eq!(
        claims(r.body["access_token"].as_str().unwrap()).1["scope"],
        "read:users create:users"
    );
    // RFC 8707 resource names the API too.
    let r = s
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", ADMIN_ID),
            ("client_secret", ADMIN_SECRET),
            ("resource", &aud),
            ("scope", "read:users"),
        ])
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["scope"], "read:users");
    // Beyond the grant: invalid_scope, not silent narrowing.
    let r = s
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", ADMIN_ID),
            ("client_secret", ADMIN_SECRET),
            ("audience", &aud),
            ("scope", "read:users fly:rockets"),
        ])
        .await;
    assert_oauth_error(&r, 400, "invalid_scope", Reason::ScopeNotGranted);
    assert!(
        r.body["error_description"]
            .as_str()
            .unwrap()
            .contains("fly:rockets")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_token_endpoint_error_has_its_code() {
    let s = start().await;
    let aud = s.management_audience();
    let base = |extra: &[(&'static str, &'static str)]| {
        let mut v: Vec<(&str, &str)> = vec![
            ("grant_type", "client_credentials"),
            ("client_id", ADMIN_ID),
        ];
        v.extend_from_slice(extra);
        v
    };
    // Wrong secret, unknown client: the same 401.
    let mut form = base(&[("client_secret", "wrong")]);
    form.push(("audience", &aud));
    assert_oauth_error(
        &s.token_request(&form).await,
        401,
        "invalid_client",
        Reason::ClientCredentialsInvalid,
    );
    let r = s
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", "nobody"),
            ("client_secret", "x"),
            ("audience", &aud),
        ])
        .await;
    assert_oauth_error(&r, 401, "invalid_client", Reason::ClientCredentialsInvalid);
    assert!(
        r.headers.get("www-authenticate").is_none(),
        "no Basic challenge when Basic was not used"
    );
    // With Basic: the challenge.
    let res = http()
        .post(s.url("oauth/token"))
        .basic_auth(ADMIN_ID, Some("wrong"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("audience", aud.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let r = reply(res).await;
    assert_oauth_error(&r, 401, "invalid_client", Reason::ClientCredentialsInvalid);
    assert!(
        r.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic"),
        "{r:?}"
    );
    // Basic and client_secret together.
    let res = http()
        .post(s.url("oauth/token"))
        .basic_auth(ADMIN_ID, Some(ADMIN_SECRET))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_secret", ADMIN_SECRET),
            ("audience", aud.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_oauth_error(
        &reply(res).await,
        400,
        "invalid_request",
        Reason::ClientAuthMethodsMixed,
    );
    // No client authentication at all.
    assert_oauth_error(
        &s.token_request(&[("grant_type", "client_credentials"), ("audience", &aud)])
            .await,
        401,
        "invalid_client",
        Reason::ClientAuthMissing,
    );
    // grant_type missing, unknown; a repeated parameter.
    assert_oauth_error(
        &s.token_request(&base(&[("client_secret", ADMIN_SECRET)])[1..])
            .await,
        400,
        "invalid_request",
        Reason::GrantTypeMissing,
    );
    assert_oauth_error(
        &s.token_request(&[
            ("grant_type", "http://auth0.com/oauth/grant-type/mfa-otp"),
            ("client_id", ADMIN_ID),
            ("client_secret", ADMIN_SECRET),
        ])
        .await,
        400,
        "unsupported_grant_type",
        Reason::GrantTypeUnsupported,
    );
    let r = reply(
        http()
            .post(s.url("oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("grant_type=client_credentials&client_id={ADMIN_ID}&client_secret={ADMIN_SECRET}&audience=a&audience=b"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_oauth_error(&r, 400, "invalid_request", Reason::ParameterRepeated);
    // Unsupported content type, malformed JSON, non-string JSON values.
    let r = reply(
        http()
            .post(s.url("oauth/token"))
            .header("content-type", "text/plain")
            .body("x")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_oauth_error(&r, 400, "invalid_request", Reason::ContentTypeUnsupported);
    let r = reply(
        http()
            .post(s.url("oauth/token"))
            .header("content-type", "application/json")
            .body("{")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_oauth_error(&r, 400, "invalid_request", Reason::JsonMalformed);
    let r = reply(
        http()
            .post(s.url("oauth/token"))
            .json(&json!({"grant_type": ["client_credentials"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_oauth_error(&r, 400, "invalid_request", Reason::ParameterNotString);
    // audience and resource disagreeing.
    let r = s
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", ADMIN_ID),
            ("client_secret", ADMIN_SECRET),
            ("audience", &aud),
            ("resource", "https://other.example/"),
        ])
        .await;
    assert_oauth_error(&r, 400, "invalid_request", Reason::AudienceResourceMismatch);
    // No audience, an unknown one, no client grant for it: 403 access_denied (Auth0).
    assert_oauth_error(
        &s.token_request(&base(&[("client_secret", ADMIN_SECRET)]))
            .await,
        403,
        "access_denied",
        Reason::AudienceMissing,
    );
    let mut form = base(&[("client_secret", ADMIN_SECRET)]);
    form.push(("audience", "https://unknown.example/"));
    assert_oauth_error(
        &s.token_request(&form).await,
        403,
        "access_denied",
        Reason::ApiUnknown,
    );
    let api = s.admin_token().await;
    let r = s
        .api(Method::POST, "api/v2/resource-servers", &api, Some(json!({"identifier": "https://orders.example/", "scopes": [{"value": "read:orders"}], "token_lifetime": 600})))
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let mut form = base(&[("client_secret", ADMIN_SECRET)]);
    form.push(("audience", "https://orders.example/"));
    let r = s.token_request(&form).await;
    assert_oauth_error(&r, 403, "access_denied", Reason::ClientGrantMissing);
}

fn client(id: &str, method: &str, grant_types: &[&str]) -> Client {
    let app_type = if method == "none" {
        AppType::Spa
    } else {
        AppType::RegularWeb
    };
    Client {
        client_id: id.into(),
        name: id.into(),
        app_type,
        token_endpoint_auth_method: method.parse().unwrap(),
        grant_types: grant_types.iter().map(|g| g.parse().unwrap()).collect(),
        callbacks: vec![],
        allowed_logout_urls: vec![],
        web_origins: vec![],
        allowed_origins: vec![],
        is_first_party: true,
        refresh_token: RefreshTokenConfig::defaults(app_type),
        jwt_configuration: JwtConfiguration::default(),
        settings: Default::default(),
        description: String::new(),
        is_token_endpoint_ip_header_trusted: false,
        client_authentication_methods: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_without_the_grant_or_a_secret_are_unauthorized() {
    let s = start().await;
    let aud = s.management_audience();
    let now = SystemClock.now();
    // A confidential client without the client_credentials grant type.
    let sealed = tessera_core::bootstrap::seal_client_secret(
        &s.master,
        "web-app",
        "web-secret-0123456789abcdef",
    )
    .unwrap();
    s.store
        .create_client(
            &client("web-app", "client_secret_post", &["authorization_code"]),
            Some(&sealed),
            now,
        )
        .await
        .unwrap();
    let r = s
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", "web-app"),
            ("client_secret", "web-secret-0123456789abcdef"),
            ("audience", &aud),
        ])
        .await;
    assert_oauth_error(&r, 400, "unauthorized_client", Reason::GrantTypeNotAllowed);
    // A public client.
    s.store
        .create_client(
            &client("spa-app", "none", &["authorization_code"]),
            None,
            now,
        )
        .await
        .unwrap();
    let r = s
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", "spa-app"),
            ("audience", &aud),
        ])
        .await;
    assert_oauth_error(
        &r,
        400,
        "unauthorized_client",
        Reason::PublicClientCredentials,
    );
    let r = s
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", "spa-app"),
            ("client_secret", "guess"),
            ("audience", &aud),
        ])
        .await;
    assert_oauth_error(&r, 401, "invalid_client", Reason::ClientCredentialsInvalid);
    // A confidential client presenting no secret.
    let r = s
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", "web-app"),
            ("audience", &aud),
        ])
        .await;
    assert_oauth_error(&r, 401, "invalid_client", Reason::ClientSecretRequired);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifetimes_follow_the_api_and_management_tokens_are_capped() {
    let s = start().await;
    let admin = s.admin_token().await;
    let r = s
        .api(Method::POST, "api/v2/resource-servers", &admin, Some(json!({"identifier": "https://short.example/", "scopes": [{"value": "read:x"}], "token_lifetime": 600})))
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let (id, secret) = s.m2m_client("https://short.example/", &["read:x"]).await;
    let r = s
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("audience", "https://short.example/"),
        ])
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["expires_in"], 600);
    let c = claims(r.body["access_token"].as_str().unwrap()).1;
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 600);
    assert_eq!(c["gty"], "client-credentials");
    assert_eq!(c["aud"], "https://short.example/");
    // The Management API's lifetime is capped at 86400 s, whatever is stored.
    let mut mgmt = s
        .store
        .get_resource_server_by_identifier(&s.management_audience())
        .await
        .unwrap()
        .unwrap();
    mgmt.token_lifetime = 500_000;
    s.store
        .update_resource_server(&mgmt, SystemClock.now())
        .await
        .unwrap();
    let t = s.admin_token().await;
    let c = claims(&t).1;
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        86400
    );
}
