//! `/api/v2/clients`: CRUD, app-type defaults, validation, scopes, secrets and
//! the revocation of a client's tokens when its secret rotates or it is deleted.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::store::{ClientFilter, Page, TenantStore};

use crate::common::*;

/// Creates a client; asserts 201.
pub async fn create_client(s: &TestServer, token: &str, body: Value) -> Value {
    let r = s
        .api(Method::POST, "api/v2/clients", token, Some(body))
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    r.body
}

/// A client-credentials token request for the Management API.
pub async fn management_token(s: &TestServer, client_id: &str, secret: &str) -> Reply {
    let aud = s.management_audience();
    s.token_request(&[
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", secret),
        ("audience", &aud),
    ])
    .await
}

/// A machine-to-machine client made through the API, granted `scopes` on the
/// Management API through the API: (client_id, secret, grant id).
pub async fn api_m2m_client(
    s: &TestServer,
    admin: &str,
    scopes: &[&str],
) -> (String, String, String) {
    let c = create_client(
        s,
        admin,
        json!({"name": "m2m", "app_type": "non_interactive"}),
    )
    .await;
    let id = c["client_id"].as_str().unwrap().to_owned();
    let secret = c["client_secret"].as_str().unwrap().to_owned();
    let g = s
        .api(
            Method::POST,
            "api/v2/client-grants",
            admin,
            Some(json!({"client_id": id, "audience": s.management_audience(), "scope": scopes})),
        )
        .await;
    assert_eq!(g.status, 201, "{g:?}");
    (id, secret, g.body["id"].as_str().unwrap().to_owned())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Revocations cover tokens issued up to and including their second: a token
/// meant to survive one must be issued in a later second.
pub async fn next_second() {
    let start = unix_now();
    while unix_now() <= start {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn assert_invalid_property(r: &Reply, property: &str) {
    assert_mgmt_error(r, 400, "invalid_body");
    let message = r.body["message"].as_str().unwrap();
    assert!(
        message.contains(property),
        "expected {property} named: {r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_crud_and_app_type_defaults() {
    let s = start().await;
    let t = s.admin_token().await;

    let web = create_client(
        &s,
        &t,
        json!({"name": "Web", "callbacks": ["https://app.example/cb"]}),
    )
    .await;
    let id = web["client_id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
    assert_eq!(web["name"], "Web");
    assert_eq!(web["app_type"], "regular_web");
    assert_eq!(web["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!(
        web["grant_types"],
        json!([
            "implicit",
            "authorization_code",
            "refresh_token",
            "client_credentials"
        ])
    );
    assert_eq!(web["callbacks"], json!(["https://app.example/cb"]));
    assert_eq!(web["is_first_party"], true);
    assert_eq!(
        web["jwt_configuration"],
        json!({"lifetime_in_seconds": 36000, "alg": "RS256", "secret_encoded": false})
    );
    assert_eq!(
        web["refresh_token"],
        json!({
            "rotation_type": "rotating", "expiration_type": "expiring", "leeway": 0,
            "token_lifetime": 2592000, "infinite_token_lifetime": false,
            "idle_token_lifetime": 1296000, "infinite_idle_token_lifetime": false
        })
    );
    let secret = web["client_secret"].as_str().unwrap();
    assert_eq!(secret.len(), 64, "384 bits, base64url");

    for app_type in ["spa", "native"] {
        let c = create_client(&s, &t, json!({"name": app_type, "app_type": app_type})).await;
        assert_eq!(c["token_endpoint_auth_method"], "none", "{c}");
        assert_eq!(
            c["grant_types"],
            json!(["implicit", "authorization_code", "refresh_token"])
        );
        assert_eq!(c["refresh_token"]["leeway"], 30);
        assert!(
            c.get("client_secret").is_none(),
            "public clients have no secret: {c}"
        );
    }
    let m2m = create_client(
        &s,
        &t,
        json!({"name": "m2m", "app_type": "non_interactive", "is_first_party": false}),
    )
    .await;
    assert_eq!(m2m["grant_types"], json!(["client_credentials"]));
    assert_eq!(m2m["token_endpoint_auth_method"], "client_secret_post");
    assert!(m2m["client_secret"].is_string());

    // Read back (the admin holds read:client_keys, so the secret is shown).
    let got = s
        .api(Method::GET, &format!("api/v2/clients/{id}"), &t, None)
        .await;
    assert_eq!(got.status, 200, "{got:?}");
    assert_eq!(got.body, web);

    // Listing: paging, totals and filters.
    let all = s
        .api(
            Method::GET,
            "api/v2/clients?include_totals=true&per_page=2",
            &t,
            None,
        )
        .await;
    assert_eq!(all.status, 200, "{all:?}");
    assert_eq!(all.body["total"], 5, "admin + 4 created: {all:?}");
    assert_eq!(all.body["limit"], 2);
    assert_eq!(all.body["clients"].as_array().unwrap().len(), 2);
    let spa = s
        .api(Method::GET, "api/v2/clients?app_type=spa,native", &t, None)
        .await;
    let mut names: Vec<&str> = spa
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    // Created in the same second: their order is the store's tie-break.
    names.sort_unstable();
    assert_eq!(names, ["native", "spa"], "{spa:?}");
    let third = s
        .api(Method::GET, "api/v2/clients?is_first_party=false", &t, None)
        .await;
    assert_eq!(third.body.as_array().unwrap().len(), 1, "{third:?}");
    assert_eq!(third.body[0]["client_id"], m2m["client_id"]);
    let bad = s
        .api(Method::GET, "api/v2/clients?app_type=desktop", &t, None)
        .await;
    assert_mgmt_error(&bad, 400, "invalid_query_string");

    // Update: only what is given changes; nested objects merge.
    let patched = s
        .api(
            Method::PATCH,
            &format!("api/v2/clients/{id}"),
            &t,
            Some(json!({
                "name": "Web 2", "description": "the web app",
                "allowed_logout_urls": ["http://localhost:3000/bye"],
                "refresh_token": {"leeway": 5}, "jwt_configuration": {"alg": "ES256"}
            })),
        )
        .await;
    assert_eq!(patched.status, 200, "{patched:?}");
    assert_eq!(patched.body["name"], "Web 2");
    assert_eq!(patched.body["description"], "the web app");
    assert_eq!(patched.body["callbacks"], json!(["https://app.example/cb"]));
    assert_eq!(
        patched.body["allowed_logout_urls"],
        json!(["http://localhost:3000/bye"])
    );
    assert_eq!(patched.body["refresh_token"]["leeway"], 5);
    assert_eq!(patched.body["refresh_token"]["token_lifetime"], 2592000);
    assert_eq!(
        patched.body["jwt_configuration"],
        json!({"lifetime_in_seconds": 36000, "alg": "ES256", "secret_encoded": false})
    );
    assert_eq!(
        patched.body["client_secret"], secret,
        "the secret is unchanged"
    );
    let again = s
        .api(Method::GET, &format!("api/v2/clients/{id}"), &t, None)
        .await;
    assert_eq!(again.body, patched.body);

    // Delete, then 404 everywhere.
    let del = s
        .api(Method::DELETE, &format!("api/v2/clients/{id}"), &t, None)
        .await;
    assert_eq!(del.status, 204, "{del:?}");
    for (method, path, body) in [
        (Method::GET, format!("api/v2/clients/{id}"), None),
        (
            Method::PATCH,
            format!("api/v2/clients/{id}"),
            Some(json!({"name": "x"})),
        ),
        (Method::DELETE, format!("api/v2/clients/{id}"), None),
        (
            Method::POST,
            format!("api/v2/clients/{id}/rotate-secret"),
            None,
        ),
    ] {
        let r = s.api(method, &path, &t, body).await;
        assert_mgmt_error(&r, 404, "inexistent_client");
        assert_eq!(r.body["message"], "The client does not exist.");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_validation_names_the_property() {
    let s = start().await;
    let t = s.admin_token().await;
    let post = |body: Value| {
        let s = &s;
        let t = &t;
        async move { s.api(Method::POST, "api/v2/clients", t, Some(body)).await }
    };
    assert_invalid_property(
        &post(json!({"name": "a", "colour": "blue"})).await,
        "colour",
    );
    assert_invalid_property(
        &post(json!({"name": "a", "is_first_party": "yes"})).await,
        "is_first_party",
    );
    assert_invalid_property(&post(json!({"name": 42})).await, "name");
    assert_invalid_property(&post(json!({"app_type": "spa"})).await, "name");
    assert_invalid_property(&post(json!({"name": "a<b>"})).await, "name");
    assert_invalid_property(
        &post(json!({"name": "a", "app_type": "desktop"})).await,
        "app_type",
    );
    assert_invalid_property(
        &post(json!({"name": "a", "token_endpoint_auth_method": "private_key_jwt"})).await,
        "token_endpoint_auth_method",
    );
    assert_invalid_property(
        &post(json!({"name": "a", "grant_types": ["http://auth0.com/oauth/legacy/grant-type/ro"]}))
            .await,
        "grant_types",
    );
    assert_invalid_property(
        &post(json!({"name": "a", "app_type": "spa", "grant_types": ["authorization_code", "client_credentials"]})).await,
        "grant_types",
    );
    assert_invalid_property(
        &post(json!({"name": "a", "app_type": "non_interactive", "token_endpoint_auth_method": "none"})).await,
        "grant_types",
    );
    for url in [
        "http://app.example/cb",
        "https://app.example/cb#frag",
        "/cb",
        "myapp://cb",
        "javascript:alert(1)",
    ] {
        assert_invalid_property(
            &post(json!({"name": "a", "callbacks": [url]})).await,
            "callbacks",
        );
    }
    assert_invalid_property(
        &post(json!({"name": "a", "callbacks": "https://app.example/cb"})).await,
        "callbacks",
    );
    assert_invalid_property(
        &post(json!({"name": "a", "allowed_logout_urls": ["ftp://files.example/"]})).await,
        "allowed_logout_urls",
    );
    assert_invalid_property(
        &post(json!({"name": "a", "web_origins": ["https://app.example/path"]})).await,
        "web_origins",
    );
    for origin in ["https://app.example/path", "http://app.example", "null"] {
        assert_invalid_property(
            &post(json!({"name": "a", "allowed_origins": [origin]})).await,
            "allowed_origins",
        );
    }
    assert_invalid_property(
        &post(json!({"name": "a", "refresh_token": {"leeway": -1}})).await,
        "refresh_token.leeway",
    );
    assert_invalid_property(
        &post(json!({"name": "a", "refresh_token": {"leeway": "30"}})).await,
        "refresh_token.leeway",
    );
    assert_invalid_property(
        &post(json!({"name": "a", "refresh_token": {"rotation_type": "always"}})).await,
        "refresh_token.rotation_type",
    );
    assert_invalid_property(
        &post(json!({"name": "a", "refresh_token": {"token_lifetime": 0}})).await,
        "refresh_token.token_lifetime",
    );
    assert_invalid_property(
        &post(json!({"name": "a", "refresh_token": {"bogus": 1}})).await,
        "bogus",
    );
    assert_invalid_property(
        &post(json!({"name": "a", "jwt_configuration": {"lifetime_in_seconds": 36001}})).await,
        "jwt_configuration.lifetime_in_seconds",
    );
    assert_invalid_property(
        &post(json!({"name": "a", "jwt_configuration": {"alg": "HS256"}})).await,
        "jwt_configuration.alg",
    );
    // Native apps may use their own schemes and loopback http.
    let native = create_client(
        &s,
        &t,
        json!({"name": "n", "app_type": "native", "callbacks": ["com.example.app:/cb", "http://127.0.0.1:7000/cb"]}),
    )
    .await;

    // The whole result of a change is checked; a refused change changes nothing.
    let web = create_client(&s, &t, json!({"name": "web"})).await;
    let path = format!("api/v2/clients/{}", web["client_id"].as_str().unwrap());
    let r = s
        .api(
            Method::PATCH,
            &path,
            &t,
            Some(json!({"name": "renamed", "token_endpoint_auth_method": "none"})),
        )
        .await;
    assert_invalid_property(&r, "grant_types");
    let r = s
        .api(Method::PATCH, &path, &t, Some(json!({"client_id": "mine"})))
        .await;
    assert_invalid_property(&r, "client_id");
    let r = s
        .api(
            Method::PATCH,
            &path,
            &t,
            Some(json!({"callbacks": ["myapp://cb"]})),
        )
        .await;
    assert_invalid_property(&r, "callbacks");
    let unchanged = s.api(Method::GET, &path, &t, None).await;
    assert_eq!(unchanged.body, web);
    let r = s
        .api(
            Method::PATCH,
            &format!("api/v2/clients/{}", native["client_id"].as_str().unwrap()),
            &t,
            Some(json!({"app_type": "spa"})),
        )
        .await;
    assert_invalid_property(&r, "callbacks");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_endpoints_need_their_scopes() {
    let s = start().await;
    let admin = s.admin_token().await;
    let web = create_client(&s, &admin, json!({"name": "web"})).await;
    let id = web["client_id"].as_str().unwrap();
    let none = s
        .token_with_scopes(&["read:users", "read:connections"])
        .await;
    let cases = [
        (
            Method::GET,
            "api/v2/clients".to_owned(),
            None,
            "read:clients",
        ),
        (
            Method::POST,
            "api/v2/clients".to_owned(),
            Some(json!({"name": "x"})),
            "create:clients",
        ),
        (
            Method::GET,
            format!("api/v2/clients/{id}"),
            None,
            "read:clients",
        ),
        (
            Method::PATCH,
            format!("api/v2/clients/{id}"),
            Some(json!({"name": "x"})),
            "update:clients",
        ),
        (
            Method::DELETE,
            format!("api/v2/clients/{id}"),
            None,
            "delete:clients",
        ),
        (
            Method::POST,
            format!("api/v2/clients/{id}/rotate-secret"),
            None,
            "update:client_keys",
        ),
    ];
    for (method, path, body, scope) in cases {
        let r = s.api(method.clone(), &path, &none, body).await;
        assert_mgmt_error(&r, 403, "insufficient_scope");
        assert!(
            r.body["message"].as_str().unwrap().contains(scope),
            "{method} {path}: {r:?}"
        );
        assert!(
            r.headers["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("insufficient_scope")
        );
    }
    // update:clients does not rotate secrets.
    let updater = s.token_with_scopes(&["update:clients"]).await;
    let r = s
        .api(
            Method::POST,
            &format!("api/v2/clients/{id}/rotate-secret"),
            &updater,
            None,
        )
        .await;
    assert_mgmt_error(&r, 403, "insufficient_scope");
    // Nothing changed.
    let got = s
        .api(Method::GET, &format!("api/v2/clients/{id}"), &admin, None)
        .await;
    assert_eq!(got.body, web);
    // Without a token at all: 401.
    let r = reply(http().get(s.url("api/v2/clients")).send().await.unwrap()).await;
    assert_mgmt_error(&r, 401, "missing_token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_secret_is_shown_only_with_read_client_keys() {
    let s = start().await;
    let admin = s.admin_token().await;
    let web = create_client(&s, &admin, json!({"name": "web"})).await;
    let id = web["client_id"].as_str().unwrap();
    let secret = web["client_secret"].as_str().unwrap();

    let reader = s
        .token_with_scopes(&["read:clients", "update:clients"])
        .await;
    let got = s
        .api(Method::GET, &format!("api/v2/clients/{id}"), &reader, None)
        .await;
    assert_eq!(got.status, 200, "{got:?}");
    assert!(got.body.get("client_secret").is_none(), "{got:?}");
    let listed = s.api(Method::GET, "api/v2/clients", &reader, None).await;
    assert!(
        listed
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c.get("client_secret").is_none()),
        "{listed:?}"
    );
    let patched = s
        .api(
            Method::PATCH,
            &format!("api/v2/clients/{id}"),
            &reader,
            Some(json!({"name": "w"})),
        )
        .await;
    assert_eq!(patched.status, 200, "{patched:?}");
    assert!(patched.body.get("client_secret").is_none(), "{patched:?}");

    let keys = s
        .token_with_scopes(&["read:clients", "read:client_keys", "update:clients"])
        .await;
    let got = s
        .api(Method::GET, &format!("api/v2/clients/{id}"), &keys, None)
        .await;
    assert_eq!(got.body["client_secret"], secret);
    let listed = s.api(Method::GET, "api/v2/clients", &keys, None).await;
    let mine = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == id)
        .unwrap()
        .clone();
    assert_eq!(mine["client_secret"], secret);
    let patched = s
        .api(
            Method::PATCH,
            &format!("api/v2/clients/{id}"),
            &keys,
            Some(json!({"name": "w2"})),
        )
        .await;
    assert_eq!(patched.body["client_secret"], secret);
    // read:client_keys alone reads clients too (Auth0's rule).
    let only_keys = s.token_with_scopes(&["read:client_keys"]).await;
    let got = s
        .api(
            Method::GET,
            &format!("api/v2/clients/{id}"),
            &only_keys,
            None,
        )
        .await;
    assert_eq!(got.body["client_secret"], secret);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_secret_cuts_off_the_old_secret_and_its_tokens() {
    let s = start().await;
    let admin = s.admin_token().await;
    let (id, old_secret, _) = api_m2m_client(&s, &admin, &["read:clients"]).await;
    let r = management_token(&s, &id, &old_secret).await;
    assert_eq!(r.status, 200, "{r:?}");
    let old_token = r.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        s.api(Method::GET, "api/v2/clients", &old_token, None)
            .await
            .status,
        200
    );

    let rotated = s
        .api(
            Method::POST,
            &format!("api/v2/clients/{id}/rotate-secret"),
            &admin,
            None,
        )
        .await;
    assert_eq!(rotated.status, 200, "{rotated:?}");
    assert_eq!(rotated.body["client_id"], id);
    let new_secret = rotated.body["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(new_secret.len(), 64);
    assert_ne!(new_secret, old_secret);

    // The token obtained before the rotation is refused at once.
    let r = s.api(Method::GET, "api/v2/clients", &old_token, None).await;
    assert_mgmt_error(&r, 401, "invalid_token");
    // The old secret no longer authenticates.
    let r = management_token(&s, &id, &old_secret).await;
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(r.body["error"], "invalid_client");
    assert_eq!(r.reason(), Some(Reason::ClientCredentialsInvalid), "{r:?}");
    // The new one does, and its tokens (issued after the rotation's second) work.
    next_second().await;
    let r = management_token(&s, &id, &new_secret).await;
    assert_eq!(r.status, 200, "{r:?}");
    let new_token = r.body["access_token"].as_str().unwrap();
    assert_eq!(
        s.api(Method::GET, "api/v2/clients", new_token, None)
            .await
            .status,
        200
    );
    // The admin (another client) is not affected.
    assert_eq!(
        s.api(Method::GET, "api/v2/clients", &admin, None)
            .await
            .status,
        200
    );

    // Public clients have no secret to rotate.
    let spa = create_client(&s, &admin, json!({"name": "spa", "app_type": "spa"})).await;
    let r = s
        .api(
            Method::POST,
            &format!(
                "api/v2/clients/{}/rotate-secret",
                spa["client_id"].as_str().unwrap()
            ),
            &admin,
            None,
        )
        .await;
    assert_mgmt_error(&r, 400, "operation_not_supported");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_client_revokes_its_tokens_and_grants() {
    let s = start().await;
    let admin = s.admin_token().await;
    let (id, secret, grant) = api_m2m_client(&s, &admin, &["read:clients"]).await;
    let r = management_token(&s, &id, &secret).await;
    let token = r.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        s.api(Method::GET, "api/v2/clients", &token, None)
            .await
            .status,
        200
    );

    let r = s
        .api(
            Method::DELETE,
            &format!("api/v2/clients/{id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let r = s.api(Method::GET, "api/v2/clients", &token, None).await;
    assert_mgmt_error(&r, 401, "invalid_token");
    let r = management_token(&s, &id, &secret).await;
    assert_eq!(r.body["error"], "invalid_client", "{r:?}");
    assert_eq!(r.reason(), Some(Reason::ClientCredentialsInvalid), "{r:?}");
    let r = s
        .api(
            Method::GET,
            &format!("api/v2/client-grants/{grant}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, 404, "the grant went with the client: {r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_secrets_are_never_stored_in_clear() {
    let s = start().await;
    let admin = s.admin_token().await;
    let web = create_client(&s, &admin, json!({"name": "web"})).await;
    let id = web["client_id"].as_str().unwrap();
    let secret = web["client_secret"].as_str().unwrap();
    let rotated = s
        .api(
            Method::POST,
            &format!("api/v2/clients/{id}/rotate-secret"),
            &admin,
            None,
        )
        .await;
    let rotated = rotated.body["client_secret"].as_str().unwrap();

    let (clients, _) = s
        .store
        .list_clients(
            &ClientFilter::default(),
            Page {
                page: 0,
                per_page: 100,
            },
        )
        .await
        .unwrap();
    let (client, stored) = clients
        .into_iter()
        .find(|(c, _)| c.client_id == id)
        .unwrap();
    let stored = stored.unwrap();
    let doc = serde_json::to_string(&client).unwrap();
    for clear in [secret, rotated] {
        assert!(!doc.contains(clear), "secret in the document");
        for bytes in [&stored.sealed, &stored.hash] {
            assert!(
                !bytes.windows(clear.len()).any(|w| w == clear.as_bytes()),
                "secret in clear at rest"
            );
        }
    }
    // What is stored is the rotated secret, sealed under the master key and bound to the client.
    assert_eq!(
        s.master
            .open(&format!("client_secret:{id}"), &stored.sealed)
            .unwrap()
            .as_slice(),
        rotated.as_bytes()
    );
    assert!(
        s.master
            .open("client_secret:another", &stored.sealed)
            .is_err()
    );
    let ctx = s
        .store
        .client_credentials_context(id, &s.management_audience())
        .await
        .unwrap();
    assert_eq!(ctx.client.unwrap().1.unwrap(), stored);
}
