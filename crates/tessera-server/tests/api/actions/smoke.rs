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
