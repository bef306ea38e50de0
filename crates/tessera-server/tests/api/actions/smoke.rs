//! The shortest path through both triggers.

use serde_json::json;

use super::deploy_and_bind;
use crate::common::*;
use crate::flows::{API, apis, app, claims, field, login, user};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_login_action_sets_claims_as_auth0_documents() {
    let s = start().await;
    apis(&s).await;
    user(&s).await;
    let web = app(&s, json!({"app_type": "regular_web"})).await;
    let admin = s.admin_token().await;
    deploy_and_bind(
        &s,
        &admin,
        "post-login",
        "add-claims",
        r#"exports.onExecutePostLogin = async (event, api) => {
  const namespace = 'https://my-app.example.com';
  if (event.authorization) {
    api.idToken.setCustomClaim(`${namespace}/email`, event.user.email);
    api.accessToken.setCustomClaim(`${namespace}/client`, event.client.client_id);
    api.accessToken.setCustomClaim('sub', 'auth0|admin');
  }
};"#,
        json!([]),
    )
    .await;
    let r = login(&s, &web, "openid email read:orders", &[("audience", API)]).await;
    let id = claims(&field(&r, "id_token"));
    assert_eq!(id["https://my-app.example.com/email"], "ada@example.com");
    let at = claims(&field(&r, "access_token"));
    assert_eq!(at["https://my-app.example.com/client"], web.id.as_str());
    assert_ne!(at["sub"], "auth0|admin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credentials_exchange_action_adds_a_claim_and_can_deny() {
    let s = start().await;
    apis(&s).await;
    let admin = s.admin_token().await;
    let (id, secret) = s.m2m_client(API, &["read:orders"]).await;
    deploy_and_bind(
        &s,
        &admin,
        "credentials-exchange",
        "m2m",
        r#"exports.onExecuteCredentialsExchange = async (event, api) => {
  if (event.request.hostname === 'nowhere.example') {
    api.access.deny('invalid_request', 'not from there');
  }
  api.accessToken.setCustomClaim('https://example.com/tier', event.secrets.TIER);
};"#,
        json!([{"name": "TIER", "value": "gold"}]),
    )
    .await;
    let r = s
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("audience", API),
        ])
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let at = claims(&field(&r, "access_token"));
    assert_eq!(at["https://example.com/tier"], "gold");
}

/// `event.authorization.roles` holds the user's role names (RBAC), as the
/// documented roles-claim action reads them; removing the role shows at the
/// next token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_reach_the_post_login_event() {
    use reqwest::Method;
    let s = start().await;
    apis(&s).await;
    let user_id = user(&s).await;
    let web = app(&s, json!({"app_type": "regular_web"})).await;
    let admin = s.admin_token().await;
    let role = s
        .api(
            Method::POST,
            "api/v2/roles",
            &admin,
            Some(json!({"name": "editor"})),
        )
        .await;
    assert_eq!(role.status, 200, "{role:?}");
    let role_id = role.body["id"].as_str().unwrap().to_owned();
    let assigned = s
        .api(
            Method::POST,
            &format!("api/v2/users/{user_id}/roles"),
            &admin,
            Some(json!({"roles": [role_id]})),
        )
        .await;
    assert!(assigned.status < 300, "{assigned:?}");
    deploy_and_bind(
        &s,
        &admin,
        "post-login",
        "roles",
        r#"exports.onExecutePostLogin = async (event, api) => {
  const namespace = 'https://my-app.example.com';
  if (event.authorization) {
    api.idToken.setCustomClaim(`${namespace}/roles`, event.authorization.roles);
    api.accessToken.setCustomClaim(`${namespace}/roles`, event.authorization.roles);
  }
};"#,
        json!([]),
    )
    .await;
    let r = login(&s, &web, "openid read:orders", &[("audience", API)]).await;
    assert_eq!(
        claims(&field(&r, "id_token"))["https://my-app.example.com/roles"],
        json!(["editor"])
    );
    assert_eq!(
        claims(&field(&r, "access_token"))["https://my-app.example.com/roles"],
        json!(["editor"])
    );
    let removed = s
        .api(
            Method::DELETE,
            &format!("api/v2/users/{user_id}/roles"),
            &admin,
            Some(json!({"roles": [role_id]})),
        )
        .await;
    assert!(removed.status < 300, "{removed:?}");
    let r = login(&s, &web, "openid", &[]).await;
    assert_eq!(
        claims(&field(&r, "id_token"))["https://my-app.example.com/roles"],
        json!([])
    );
}
