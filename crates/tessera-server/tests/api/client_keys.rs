//! Client credentials through the Management API (issue 9, point 2): only
//! `update:client_keys` creates or replaces a secret, changing the auth method
//! never removes, regenerates or reveals one, only `read:client_keys` sees a
//! stored secret, and tokens that do not belong to the Management API are
//! refused on these endpoints.

use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::bootstrap::CLIENT_SECRET_PURPOSE;
use tessera_core::clock::SystemClock;
use tessera_core::model::ClientSecret;
use tessera_core::store::TenantStore;
use tessera_core::{Clock, jwt};

use crate::clients::{api_m2m_client, create_client, management_token, next_second};
use crate::common::*;
use crate::refresh::{API, apis, app, field, login, user};

/// A secret a caller may choose (32 to 256 characters).
const CHOSEN: &str = "chosen-secret-0123456789-abcdefghijklmnopqrstuvwxyz";

async fn stored_secret(s: &TestServer, id: &str) -> Option<ClientSecret> {
    s.store.get_client(id).await.unwrap().unwrap().1
}

fn assert_needs_client_keys(r: &Reply) {
    assert_mgmt_error(r, 403, "insufficient_scope");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("update:client_keys"),
        "{r:?}"
    );
    assert!(
        r.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"insufficient_scope\""),
        "{r:?}"
    );
}

fn assert_no_secret(r: &Reply) {
    assert!(r.body.get("client_secret").is_none(), "{r:?}");
}

/// The review's attack: a token holding only `update:clients` flips the
/// bootstrap admin's auth method to `none` and back. It must learn no secret,
/// no new secret may exist, and the admin's own secret keeps working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_clients_alone_cannot_take_over_the_admin_client() {
    let s = start().await;
    let before = stored_secret(&s, ADMIN_ID).await.unwrap();
    let attacker = s.token_with_scopes(&["update:clients"]).await;
    let path = format!("api/v2/clients/{ADMIN_ID}");

    let r = s
        .api(
            Method::PATCH,
            &path,
            &attacker,
            Some(json!({"token_endpoint_auth_method": "none", "grant_types": ["authorization_code"]})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_no_secret(&r);
    assert_eq!(
        stored_secret(&s, ADMIN_ID).await.as_ref(),
        Some(&before),
        "going public keeps the secret"
    );

    let r = s
        .api(
            Method::PATCH,
            &path,
            &attacker,
            Some(json!({"token_endpoint_auth_method": "client_secret_post", "grant_types": ["client_credentials"]})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_no_secret(&r);
    assert_eq!(
        stored_secret(&s, ADMIN_ID).await.as_ref(),
        Some(&before),
        "no new secret exists"
    );
    // The admin's own secret still works, and nothing else does.
    let admin = s.admin_token().await;
    let got = s.api(Method::GET, &path, &admin, None).await;
    assert_eq!(got.body["client_secret"], ADMIN_SECRET, "{got:?}");
    assert_eq!(got.body["token_endpoint_auth_method"], "client_secret_post");
}

/// A client created public has no secret: making it confidential creates one,
/// which takes `update:client_keys`; the new secret is shown once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_secret_needs_update_client_keys() {
    let s = start().await;
    let admin = s.admin_token().await;
    let spa = create_client(&s, &admin, json!({"name": "spa", "app_type": "spa"})).await;
    let id = spa["client_id"].as_str().unwrap();
    let path = format!("api/v2/clients/{id}");
    let confidential = json!({"token_endpoint_auth_method": "client_secret_basic"});

    let updater = s
        .token_with_scopes(&["update:clients", "read:clients"])
        .await;
    let r = s
        .api(Method::PATCH, &path, &updater, Some(confidential.clone()))
        .await;
    assert_needs_client_keys(&r);
    assert!(stored_secret(&s, id).await.is_none(), "nothing was made");
    let got = s.api(Method::GET, &path, &admin, None).await;
    assert_eq!(got.body["token_endpoint_auth_method"], "none", "{got:?}");

    let keys = s.token_with_scopes(&["update:client_keys"]).await;
    let r = s.api(Method::PATCH, &path, &keys, Some(confidential)).await;
    assert_eq!(r.status, 200, "{r:?}");
    let fresh = r.body["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(fresh.len(), 64);
    assert!(s.master.verify_keyed_hash(
        CLIENT_SECRET_PURPOSE,
        fresh.as_bytes(),
        &stored_secret(&s, id).await.unwrap().hash
    ));
    // From now on it is a stored secret: not shown without read:client_keys.
    let r = s
        .api(Method::PATCH, &path, &keys, Some(json!({"name": "spa 2"})))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_no_secret(&r);
}

/// `client_secret` on update: `update:clients` alone gets 403 in Auth0's shape
/// and changes nothing; `update:client_keys` sets it, the old secret and its
/// tokens stop working; a bad value is a 400 that does not echo it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setting_client_secret_needs_update_client_keys() {
    let s = start().await;
    let admin = s.admin_token().await;
    let (id, old_secret, _) = api_m2m_client(&s, &admin, &["read:clients"]).await;
    let old_token = management_token(&s, &id, &old_secret).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("api/v2/clients/{id}");
    let before = stored_secret(&s, &id).await.unwrap();

    let updater = s.token_with_scopes(&["update:clients"]).await;
    let r = s
        .api(
            Method::PATCH,
            &path,
            &updater,
            Some(json!({"client_secret": CHOSEN})),
        )
        .await;
    assert_needs_client_keys(&r);
    // Together with an allowed change: still refused, and nothing changes.
    let r = s
        .api(
            Method::PATCH,
            &path,
            &updater,
            Some(json!({"name": "renamed", "client_secret": CHOSEN})),
        )
        .await;
    assert_needs_client_keys(&r);
    assert_eq!(stored_secret(&s, &id).await, Some(before));
    let got = s.api(Method::GET, &path, &admin, None).await;
    assert_eq!(got.body["name"], "m2m");

    let keys = s.token_with_scopes(&["update:client_keys"]).await;
    for (bad, problem) in [
        (json!("too-short"), "too-short"),
        (json!(format!("{CHOSEN} {CHOSEN}")), CHOSEN),
        (json!(12345678), "12345678"),
    ] {
        let r = s
            .api(
                Method::PATCH,
                &path,
                &keys,
                Some(json!({"client_secret": bad})),
            )
            .await;
        assert_mgmt_error(&r, 400, "invalid_body");
        assert!(
            !r.body["message"].as_str().unwrap().contains(problem),
            "the value is not echoed: {r:?}"
        );
    }

    let r = s
        .api(
            Method::PATCH,
            &path,
            &keys,
            Some(json!({"client_secret": CHOSEN})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_no_secret(&r);
    // The old secret and what it obtained are gone; the chosen one works.
    let r = management_token(&s, &id, &old_secret).await;
    assert_eq!(r.body["error"], "invalid_client", "{r:?}");
    assert_eq!(r.reason(), Some(Reason::ClientCredentialsInvalid), "{r:?}");
    assert_mgmt_error(
        &s.api(Method::GET, "api/v2/clients", &old_token, None).await,
        401,
        "invalid_token",
    );
    next_second().await;
    let r = management_token(&s, &id, CHOSEN).await;
    assert_eq!(r.status, 200, "{r:?}");

    // With read:client_keys as well, the answer shows the secret in force.
    let both = s
        .token_with_scopes(&["update:client_keys", "read:client_keys"])
        .await;
    let other = format!("{CHOSEN}-2");
    let r = s
        .api(
            Method::PATCH,
            &path,
            &both,
            Some(json!({"client_secret": other})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["client_secret"], other);
}

/// Every answer that carries a client (GET, list, PATCH) shows the secret
/// only to a token with `read:client_keys`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_is_shown_only_to_read_client_keys() {
    let s = start().await;
    let admin = s.admin_token().await;
    let web = create_client(&s, &admin, json!({"name": "web"})).await;
    let id = web["client_id"].as_str().unwrap();
    let secret = web["client_secret"].as_str().unwrap();
    let path = format!("api/v2/clients/{id}");
    let flip = |method: &str| json!({"token_endpoint_auth_method": method});

    let reader = s
        .token_with_scopes(&["read:clients", "update:clients"])
        .await;
    assert_no_secret(&s.api(Method::GET, &path, &reader, None).await);
    let list = s.api(Method::GET, "api/v2/clients", &reader, None).await;
    assert_eq!(list.status, 200, "{list:?}");
    assert!(
        list.body
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c.get("client_secret").is_none()),
        "{list:?}"
    );
    for method in ["client_secret_basic", "client_secret_post"] {
        let r = s
            .api(Method::PATCH, &path, &reader, Some(flip(method)))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_no_secret(&r);
    }

    let keys_reader = s
        .token_with_scopes(&["read:client_keys", "update:clients"])
        .await;
    let got = s.api(Method::GET, &path, &keys_reader, None).await;
    assert_eq!(got.body["client_secret"], secret, "{got:?}");
    let r = s
        .api(
            Method::PATCH,
            &path,
            &keys_reader,
            Some(flip("client_secret_basic")),
        )
        .await;
    assert_eq!(r.body["client_secret"], secret, "the same secret: {r:?}");
}

/// `rotate-secret` makes a credential: without `update:client_keys` it is 403
/// and the secret stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_secret_needs_update_client_keys() {
    let s = start().await;
    let before = stored_secret(&s, ADMIN_ID).await;
    let path = format!("api/v2/clients/{ADMIN_ID}/rotate-secret");
    for scopes in [
        &["update:clients"][..],
        &["read:client_keys", "create:clients", "update:clients"][..],
    ] {
        let token = s.token_with_scopes(scopes).await;
        assert_needs_client_keys(&s.api(Method::POST, &path, &token, None).await);
    }
    assert_eq!(stored_secret(&s, ADMIN_ID).await, before);
}

/// A token carrying the key scopes for another API, a user's access token for
/// another API and a user's ID token are all refused (401 `invalid_token`) on
/// every client-key endpoint, and change nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_tokens_are_refused_on_the_client_key_endpoints() {
    let s = start().await;
    let admin = s.admin_token().await;
    let before = stored_secret(&s, ADMIN_ID).await;
    // Another API that happens to define scopes with the same names.
    let other_api = "https://keys.example/";
    let r = s
        .api(
            Method::POST,
            "api/v2/resource-servers",
            &admin,
            Some(json!({
                "identifier": other_api,
                "name": "look-alike",
                "scopes": [
                    {"value": "update:client_keys", "description": "look-alike"},
                    {"value": "read:client_keys", "description": "look-alike"},
                ],
            })),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let (id, secret) = s
        .m2m_client(other_api, &["update:client_keys", "read:client_keys"])
        .await;
    let r = s
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("audience", other_api),
        ])
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let other_api_token = field(&r, "access_token");
    // A user's tokens from a real login.
    apis(&s).await;
    user(&s).await;
    let web = app(&s, json!({})).await;
    let r = login(&s, &web, "openid read:orders", &[("audience", API)]).await;
    let (user_token, id_token) = (field(&r, "access_token"), field(&r, "id_token"));

    for token in [&other_api_token, &user_token, &id_token] {
        for (method, path, body) in endpoints() {
            let r = s.api(method.clone(), &path, token, body).await;
            assert_mgmt_error(&r, 401, "invalid_token");
            assert_no_secret(&r);
        }
    }
    assert_eq!(stored_secret(&s, ADMIN_ID).await, before);
}

/// The endpoints that create, replace or reveal a client secret.
fn endpoints() -> Vec<(Method, String, Option<Value>)> {
    vec![
        (
            Method::PATCH,
            format!("api/v2/clients/{ADMIN_ID}"),
            Some(json!({"client_secret": CHOSEN})),
        ),
        (
            Method::POST,
            format!("api/v2/clients/{ADMIN_ID}/rotate-secret"),
            None,
        ),
        (Method::GET, format!("api/v2/clients/{ADMIN_ID}"), None),
        (Method::GET, "api/v2/clients".to_owned(), None),
    ]
}

/// A user-bound access token for the Management API audience (as a login
/// could obtain before the guard's fix) must not reach client keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_management_token_is_refused_on_the_client_key_endpoints() {
    let s = start().await;
    let before = stored_secret(&s, ADMIN_ID).await;
    let now = SystemClock.now();
    let claims = json!({
        "iss": s.base, "sub": "auth0|someone", "aud": s.management_audience(),
        "iat": now, "exp": now + 600, "jti": "user-jti", "client_id": "spa", "azp": "spa",
        "scope": "update:client_keys read:client_keys update:clients read:clients",
    });
    let token = jwt::sign(s.state.keys.current().signer(), jwt::TYP_AT_JWT, &claims).unwrap();
    for (method, path, body) in endpoints() {
        let r = s.api(method.clone(), &path, &token, body).await;
        assert!(matches!(r.status, 401 | 403), "{method} {path}: {r:?}");
        assert_no_secret(&r);
    }
    assert_eq!(stored_secret(&s, ADMIN_ID).await, before);
}

/// Switching to `none` keeps the secret (inert while public) and revokes
/// nothing; switching back restores the very same secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_auth_method_keeps_the_secret() {
    let s = start().await;
    let admin = s.admin_token().await;
    let (id, secret, _) = api_m2m_client(&s, &admin, &["read:clients"]).await;
    let token = management_token(&s, &id, &secret).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("api/v2/clients/{id}");
    let before = stored_secret(&s, &id).await;

    let r = s
        .api(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"token_endpoint_auth_method": "none", "grant_types": ["authorization_code"]})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(stored_secret(&s, &id).await, before, "the secret stays");
    // A public client cannot authenticate with it.
    let r = management_token(&s, &id, &secret).await;
    assert_eq!(r.status, 401, "{r:?}");

    let r = s
        .api(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"token_endpoint_auth_method": "client_secret_post", "grant_types": ["client_credentials"]})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["client_secret"], secret, "the very same secret");
    assert_eq!(stored_secret(&s, &id).await, before);
    let r = management_token(&s, &id, &secret).await;
    assert_eq!(r.status, 200, "{r:?}");
    // Nothing was revoked along the way.
    assert_eq!(
        s.api(Method::GET, "api/v2/clients", &token, None)
            .await
            .status,
        200
    );
}
