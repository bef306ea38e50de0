//! Auth0's custom-claim rules at run time: restricted claims cannot be set on
//! either token and leave it otherwise intact; all custom claims of a token
//! together are capped.

use serde_json::{Map, Value, json};

use super::{NS, deploy_and_bind, password_login, server, web_app};
use crate::flows::{apis, claims, field, user};

/// The restricted names the test tries (Auth0's list, and `scope`).
const RESTRICTED: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "azp",
    "scope",
    "auth_time",
    "nonce",
    "at_hash",
    "c_hash",
    "acr",
    "amr",
    "sid",
    "cnf",
    "client_id",
    "gty",
    "permissions",
    "org_id",
    "org_name",
    "roles",
    "groups",
    "may_act",
    "act",
];

/// Claims that differ between two logins by nature.
const PER_LOGIN: &[&str] = &["exp", "iat", "jti", "auth_time", "sid", "nbf", "at_hash"];

fn without_per_login(c: &Value) -> Map<String, Value> {
    let mut m = c.as_object().unwrap().clone();
    for k in PER_LOGIN {
        m.remove(*k);
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restricted_claims_cannot_be_set_and_the_token_is_otherwise_intact() {
    let s = server().await;
    apis(&s).await;
    user(&s).await;
    let web = web_app(&s, "Web app", json!({})).await;
    let scope = "openid profile email read:orders";
    // What the tokens carry without an action.
    let before = password_login(&s, &web, scope, "before").await;
    assert_eq!(before.status, 200, "{before:?}");
    let (id_before, at_before) = (
        claims(&field(&before, "id_token")),
        claims(&field(&before, "access_token")),
    );

    let names = serde_json::to_string(RESTRICTED).unwrap();
    let code = format!(
        r#"exports.onExecutePostLogin = async (event, api) => {{
  const namespace = 'https://my-app.example.com';
  for (const claim of {names}) {{
    api.idToken.setCustomClaim(claim, 'evil');
    api.accessToken.setCustomClaim(claim, 'evil');
  }}
  // OIDC profile claims come from the profile in the ID token.
  api.idToken.setCustomClaim('name', 'Mallory');
  api.idToken.setCustomClaim('email', 'mallory@example.com');
  api.idToken.setCustomClaim(`${{namespace}}/kept`, 'id');
  api.accessToken.setCustomClaim(`${{namespace}}/kept`, 'access');
  api.accessToken.setCustomClaim('plain_name', 'allowed');
}};"#
    );
    let admin = s.admin_token().await;
    deploy_and_bind(&s, &admin, "post-login", "restricted", &code, json!([])).await;

    let r = password_login(&s, &web, scope, "after").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["scope"], before.body["scope"], "{r:?}");
    let (id, at) = (
        claims(&field(&r, "id_token")),
        claims(&field(&r, "access_token")),
    );
    for name in RESTRICTED {
        assert_ne!(id[*name], "evil", "ID token {name}: {id}");
        assert_ne!(at[*name], "evil", "access token {name}: {at}");
    }
    assert_eq!(id["name"], "Ada Lovelace", "{id}");
    assert_eq!(id["email"], crate::flows::EMAIL);
    assert_eq!(id[format!("{NS}/kept")], "id");
    assert_eq!(at[format!("{NS}/kept")], "access");
    assert_eq!(at["plain_name"], "allowed");

    // Every other claim is as without the action.
    let mut expected_id = without_per_login(&id_before);
    expected_id.insert(format!("{NS}/kept"), json!("id"));
    assert_eq!(without_per_login(&id), expected_id);
    let mut expected_at = without_per_login(&at_before);
    expected_at.insert(format!("{NS}/kept"), json!("access"));
    expected_at.insert("plain_name".into(), json!("allowed"));
    assert_eq!(without_per_login(&at), expected_at);
    for k in PER_LOGIN {
        assert_eq!(
            id.get(*k).is_some(),
            id_before.get(*k).is_some(),
            "ID token {k}"
        );
        assert_eq!(
            at.get(*k).is_some(),
            at_before.get(*k).is_some(),
            "access token {k}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_custom_claims_of_a_token_are_capped_together() {
    let s = server().await;
    apis(&s).await;
    user(&s).await;
    let web = web_app(&s, "Web app", json!({})).await;
    let admin = s.admin_token().await;
    deploy_and_bind(
        &s,
        &admin,
        "post-login",
        "big",
        r#"exports.onExecutePostLogin = async (event, api) => {
  const namespace = 'https://my-app.example.com';
  api.accessToken.setCustomClaim(`${namespace}/big1`, 'a'.repeat(5 * 1024));
  api.accessToken.setCustomClaim(`${namespace}/big2`, 'b'.repeat(5 * 1024));
  api.accessToken.setCustomClaim(`${namespace}/small`, 'c');
  api.idToken.setCustomClaim(`${namespace}/big1`, 'd'.repeat(5 * 1024));
};"#,
        json!([]),
    )
    .await;
    let r = password_login(&s, &web, "openid email read:orders", "agent").await;
    assert_eq!(r.status, 200, "{r:?}");
    let at = claims(&field(&r, "access_token"));
    // The server's cap: 8 KiB of custom claims per token (docs/actions.md).
    assert_eq!(
        at[format!("{NS}/big1")].as_str().map(str::len),
        Some(5 * 1024)
    );
    assert!(at.get(format!("{NS}/big2")).is_none(), "over the cap");
    assert_eq!(at[format!("{NS}/small")], "c");
    assert_eq!(at["aud"][0], crate::flows::API);
    // Each token has its own cap.
    let id = claims(&field(&r, "id_token"));
    assert_eq!(
        id[format!("{NS}/big1")].as_str().map(str::len),
        Some(5 * 1024)
    );
    assert_eq!(id["email"], crate::flows::EMAIL);
}
