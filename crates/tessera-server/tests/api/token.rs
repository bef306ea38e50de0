//! POST oauth/token with client_credentials, and the Management API's guard.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::clock::SystemClock;
use tessera_core::model::{Client, JwtConfiguration};
use tessera_core::store::TenantStore;
use tessera_core::{Clock, jwt};

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
            ("grant_type", "password"),
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
    Client {
        client_id: id.into(),
        name: id.into(),
        app_type: if method == "none" {
            "spa".into()
        } else {
            "regular_web".into()
        },
        token_endpoint_auth_method: method.into(),
        grant_types: grant_types.iter().map(|g| g.to_string()).collect(),
        callbacks: vec![],
        allowed_logout_urls: vec![],
        web_origins: vec![],
        is_first_party: true,
        refresh_token: Value::Null,
        jwt_configuration: JwtConfiguration::default(),
        description: String::new(),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_api_refuses_everything_but_its_own_access_tokens() {
    let s = start().await;
    let path = "api/v2/resource-servers";
    // No token, a malformed header, garbage.
    let r = reply(http().get(s.url(path)).send().await.unwrap()).await;
    assert_mgmt_error(&r, 401, "missing_token");
    assert_eq!(r.headers["www-authenticate"], "Bearer realm=\"tessera\"");
    let r = reply(
        http()
            .get(s.url(path))
            .header("authorization", "Token abc")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_mgmt_error(&r, 401, "invalid_token");
    let r = s.api(Method::GET, path, "not.a.jwt", None).await;
    assert_mgmt_error(&r, 401, "invalid_token");
    assert!(
        r.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\"")
    );

    let now = SystemClock.now();
    let signer = s.state.keys.current().signer().clone();
    let good = json!({
        "iss": s.base, "sub": format!("{ADMIN_ID}@clients"), "aud": s.management_audience(), "iat": now, "exp": now + 60,
        "jti": "j1", "client_id": ADMIN_ID, "azp": ADMIN_ID, "scope": "read:resource_servers", "gty": "client-credentials"
    });
    // Control: a well-formed token signed by the server passes.
    let ok = jwt::sign(&signer, jwt::TYP_AT_JWT, &good).unwrap();
    assert_eq!(s.api(Method::GET, path, &ok, None).await.status, 200);
    // An ID token (typ JWT, aud = a client id, nonce) is refused with its own message.
    let id_token = jwt::sign(
        &signer,
        jwt::TYP_JWT,
        &json!({"iss": s.base, "sub": "auth0|1", "aud": s.management_audience(), "iat": now, "exp": now + 60, "nonce": "n"}),
    )
    .unwrap();
    let r = s.api(Method::GET, path, &id_token, None).await;
    assert_mgmt_error(&r, 401, "invalid_token");
    assert_eq!(r.reason(), Some(Reason::TokenIsIdToken), "{r:?}");
    // A token for another API.
    let mut other = good.clone();
    other["aud"] = json!("https://orders.example/");
    let r = s
        .api(
            Method::GET,
            path,
            &jwt::sign(&signer, jwt::TYP_AT_JWT, &other).unwrap(),
            None,
        )
        .await;
    assert_mgmt_error(&r, 401, "invalid_token");
    // Expired; another issuer.
    let mut expired = good.clone();
    expired["exp"] = json!(now - 1);
    let r = s
        .api(
            Method::GET,
            path,
            &jwt::sign(&signer, jwt::TYP_AT_JWT, &expired).unwrap(),
            None,
        )
        .await;
    assert_mgmt_error(&r, 401, "invalid_token");
    assert_eq!(r.body["message"], "Expired token");
    let mut foreign_iss = good.clone();
    foreign_iss["iss"] = json!("https://evil.example/");
    let r = s
        .api(
            Method::GET,
            path,
            &jwt::sign(&signer, jwt::TYP_AT_JWT, &foreign_iss).unwrap(),
            None,
        )
        .await;
    assert_mgmt_error(&r, 401, "invalid_token");
    // Forged: a signature byte flipped; signed by a key this server does not publish.
    let (head, sig) = ok.rsplit_once('.').unwrap();
    let mut sig = sig.as_bytes().to_vec();
    sig[3] = if sig[3] == b'A' { b'B' } else { b'A' };
    let r = s
        .api(
            Method::GET,
            path,
            &format!("{head}.{}", String::from_utf8(sig).unwrap()),
            None,
        )
        .await;
    assert_mgmt_error(&r, 401, "invalid_token");
    let (foreign, _) =
        tessera_core::keys::SigningKey::generate(tessera_core::keys::SigningAlg::RS256).unwrap();
    let r = s
        .api(
            Method::GET,
            path,
            &jwt::sign(&foreign, jwt::TYP_AT_JWT, &good).unwrap(),
            None,
        )
        .await;
    assert_mgmt_error(&r, 401, "invalid_token");
    // alg none with our kid.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD
            .encode(json!({"alg": "none", "typ": "at+jwt", "kid": signer.kid()}).to_string()),
        URL_SAFE_NO_PAD.encode(good.to_string())
    );
    assert_mgmt_error(
        &s.api(Method::GET, path, &none, None).await,
        401,
        "invalid_token",
    );
    // A real token from the token endpoint for another API.
    let admin = s.admin_token().await;
    s.api(
        Method::POST,
        path,
        &admin,
        Some(
            json!({"identifier": "https://orders.example/", "scopes": [{"value": "read:orders"}]}),
        ),
    )
    .await;
    let (id, secret) = s
        .m2m_client("https://orders.example/", &["read:orders"])
        .await;
    let r = s
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("audience", "https://orders.example/"),
        ])
        .await;
    let orders_token = r.body["access_token"].as_str().unwrap().to_owned();
    assert_mgmt_error(
        &s.api(Method::GET, path, &orders_token, None).await,
        401,
        "invalid_token",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_server_endpoints_enforce_their_scopes_and_shapes() {
    let s = start().await;
    let read_only = s.token_with_scopes(&["read:resource_servers"]).await;
    let r = s
        .api(
            Method::POST,
            "api/v2/resource-servers",
            &read_only,
            Some(json!({"identifier": "https://x.example/"})),
        )
        .await;
    assert_mgmt_error(&r, 403, "insufficient_scope");
    let challenge = r.headers["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains("create:resource_servers"),
        "{challenge}"
    );
    let nothing = s.token_with_scopes(&["read:users"]).await;
    assert_mgmt_error(
        &s.api(Method::GET, "api/v2/resource-servers", &nothing, None)
            .await,
        403,
        "insufficient_scope",
    );

    let admin = s.admin_token().await;
    let created = s
        .api(Method::POST, "api/v2/resource-servers", &admin, Some(json!({"identifier": "https://x.example/", "name": "X", "scopes": [{"value": "read:x", "description": "Read X"}]})))
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.body["token_lifetime"], 86400);
    assert_eq!(created.body["signing_alg"], "RS256");
    assert_eq!(created.body["is_system"], false);
    let id = created.body["id"].as_str().unwrap().to_owned();
    // Duplicate identifier, bad bodies.
    let r = s
        .api(
            Method::POST,
            "api/v2/resource-servers",
            &admin,
            Some(json!({"identifier": "https://x.example/"})),
        )
        .await;
    assert_mgmt_error(&r, 409, "resource_server_conflict");
    let r = s
        .api(
            Method::POST,
            "api/v2/resource-servers",
            &admin,
            Some(json!({"identifier": "https://y.example/", "colour": "red"})),
        )
        .await;
    assert_mgmt_error(&r, 400, "invalid_body");
    assert!(
        r.body["message"].as_str().unwrap().contains("colour"),
        "{r:?}"
    );
    let r = s
        .api(
            Method::POST,
            "api/v2/resource-servers",
            &admin,
            Some(json!({"identifier": "https://y.example/", "token_lifetime": "long"})),
        )
        .await;
    assert_mgmt_error(&r, 400, "invalid_body");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("token_lifetime"),
        "{r:?}"
    );
    let r = s
        .api(
            Method::POST,
            "api/v2/resource-servers",
            &admin,
            Some(json!({"identifier": "has space"})),
        )
        .await;
    assert_mgmt_error(&r, 400, "invalid_body");
    let r = s
        .api(
            Method::POST,
            "api/v2/resource-servers",
            &admin,
            Some(json!({"identifier": "https://z.example/", "signing_alg": "HS256"})),
        )
        .await;
    assert_mgmt_error(&r, 400, "invalid_body");
    // Read by id and by identifier, list with totals.
    let r = s
        .api(
            Method::GET,
            &format!("api/v2/resource-servers/{id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.body["identifier"], "https://x.example/", "{r:?}");
    let by_identifier = format!(
        "api/v2/resource-servers/{}",
        urlencode("https://x.example/")
    );
    assert_eq!(
        s.api(Method::GET, &by_identifier, &admin, None).await.body["id"],
        id.as_str()
    );
    let r = s
        .api(
            Method::GET,
            "api/v2/resource-servers?include_totals=true&per_page=1",
            &admin,
            None,
        )
        .await;
    assert_eq!(r.body["total"], 2, "{r:?}");
    assert_eq!(r.body["resource_servers"].as_array().unwrap().len(), 1);
    assert_mgmt_error(
        &s.api(
            Method::GET,
            "api/v2/resource-servers?per_page=1000",
            &admin,
            None,
        )
        .await,
        400,
        "invalid_query_string",
    );
    assert_mgmt_error(
        &s.api(Method::GET, "api/v2/resource-servers?bogus=1", &admin, None)
            .await,
        400,
        "invalid_query_string",
    );
    // Update (identifier immutable), the system API untouchable, delete, 404.
    let r = s
        .api(
            Method::PATCH,
            &format!("api/v2/resource-servers/{id}"),
            &admin,
            Some(json!({"token_lifetime": 120})),
        )
        .await;
    assert_eq!(r.body["token_lifetime"], 120, "{r:?}");
    let r = s
        .api(
            Method::PATCH,
            &format!("api/v2/resource-servers/{id}"),
            &admin,
            Some(json!({"identifier": "https://moved.example/"})),
        )
        .await;
    assert_mgmt_error(&r, 400, "invalid_body");
    let mgmt = format!(
        "api/v2/resource-servers/{}",
        urlencode(&s.management_audience())
    );
    assert_mgmt_error(
        &s.api(Method::DELETE, &mgmt, &admin, None).await,
        400,
        "operation_not_supported",
    );
    assert_eq!(
        s.api(
            Method::DELETE,
            &format!("api/v2/resource-servers/{id}"),
            &admin,
            None
        )
        .await
        .status,
        204
    );
    let r = s
        .api(
            Method::GET,
            &format!("api/v2/resource-servers/{id}"),
            &admin,
            None,
        )
        .await;
    assert_mgmt_error(&r, 404, "inexistent_resource_server");
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_comes_from_the_handlers() {
    let s = start().await;
    let r = reply(
        http()
            .get(s.url("api/v2/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(
        r.body["openapi"].as_str().unwrap().starts_with("3."),
        "{r:?}"
    );
    let paths = r.body["paths"].as_object().unwrap();
    let rs = &paths["/api/v2/resource-servers"];
    assert!(rs["get"]["responses"]["200"].is_object());
    assert!(rs["post"]["requestBody"].is_object());
    assert_eq!(
        rs["post"]["security"][0]["bearer"][0],
        "create:resource_servers"
    );
    assert!(
        r.body["components"]["schemas"]["CreateResourceServer"]["properties"]["identifier"]
            .is_object()
    );
    // Every documented operation is served (not 404/405) — the document cannot drift.
    let admin = s.admin_token().await;
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            let concrete = path.replace("{id}", "nope").replace("{kid}", "nope");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = s
                .api(
                    m.clone(),
                    &concrete,
                    &admin,
                    if m == Method::GET || m == Method::DELETE {
                        None
                    } else {
                        Some(json!({}))
                    },
                )
                .await;
            assert!(
                r.status != 405 && !(r.status == 404 && r.body["error"] == "not_found"),
                "{method} {path}: {r:?}"
            );
        }
    }
}
