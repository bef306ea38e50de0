//! credentials-exchange at run time: the `event` fields Auth0 documents
//! reach the action, `setCustomClaim` lands in the access token, and
//! `api.access.deny(code, reason)` answers Auth0's status and error.

use reqwest::Method;
use serde_json::json;

use super::{NS, deploy_and_bind, server};
use crate::common::*;
use crate::flows::{API, apis, claims, field};

const PROBE: &str = r#"exports.onExecuteCredentialsExchange = async (event, api) => {
  const namespace = 'https://my-app.example.com';
  const ua = event.request.user_agent || '';
  if (ua.startsWith('deny/')) {
    const code = ua.slice('deny/'.length);
    api.access.deny(code, `Denied with ${code}`);
    return;
  }
  api.accessToken.setCustomClaim(`${namespace}/context`, {
    client: {
      client_id: event.client.client_id,
      name: event.client.name,
      metadata: event.client.metadata,
    },
    resource_server: event.resource_server.identifier,
    request: {
      ip: event.request.ip,
      user_agent: event.request.user_agent,
      hostname: event.request.hostname,
      geoip: typeof event.request.geoip,
    },
    secret: event.secrets.TIER,
    requested_scopes: event.transaction.requested_scopes,
  });
};"#;

/// `client_credentials` for `API` with `scope`, sent with `user_agent`.
async fn exchange(s: &TestServer, id: &str, secret: &str, user_agent: &str) -> Reply {
    reply(
        http()
            .post(s.url("oauth/token"))
            .header("user-agent", user_agent)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", secret),
                ("audience", API),
                ("scope", "read:orders"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_credentials_exchange_event_field_reaches_the_action() {
    let s = server().await;
    apis(&s).await;
    let admin = s.admin_token().await;
    let (id, secret) = s.m2m_client(API, &["read:orders"]).await;
    let r = s
        .api(
            Method::PATCH,
            &format!("api/v2/clients/{id}"),
            &admin,
            Some(json!({"name": "Billing job", "client_metadata": {"team": "billing"}})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    deploy_and_bind(
        &s,
        &admin,
        "credentials-exchange",
        "m2m-probe",
        PROBE,
        json!([{"name": "TIER", "value": "gold-tier"}]),
    )
    .await;

    let r = exchange(&s, &id, &secret, "BillingJob/2.0").await;
    assert_eq!(r.status, 200, "{r:?}");
    let at = claims(&field(&r, "access_token"));
    let c = &at[format!("{NS}/context")];
    assert_eq!(c["client"]["client_id"], id.as_str(), "{c}");
    assert_eq!(c["client"]["name"], "Billing job");
    assert_eq!(c["client"]["metadata"], json!({"team": "billing"}));
    assert_eq!(c["resource_server"], API);
    assert_eq!(c["request"]["ip"], "127.0.0.1", "{c}");
    assert_eq!(c["request"]["user_agent"], "BillingJob/2.0");
    let host = url::Url::parse(&s.base)
        .unwrap()
        .host_str()
        .unwrap()
        .to_owned();
    assert_eq!(c["request"]["hostname"], host.as_str());
    assert_eq!(c["request"]["geoip"], "undefined");
    assert_eq!(c["secret"], "gold-tier");
    assert_eq!(c["requested_scopes"], json!(["read:orders"]));
    // The standard claims are the grant's.
    assert_eq!(at["aud"], API);
    assert_eq!(at["scope"], "read:orders");
    assert_eq!(at["gty"], "client-credentials");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credentials_exchange_denial_answers_auth0s_status_and_error() {
    let s = server().await;
    apis(&s).await;
    let admin = s.admin_token().await;
    let (id, secret) = s.m2m_client(API, &["read:orders"]).await;
    deploy_and_bind(
        &s,
        &admin,
        "credentials-exchange",
        "m2m-deny",
        PROBE,
        json!([]),
    )
    .await;

    for (code, status, reason) in [
        ("invalid_scope", 400, Reason::ActionDeniedInvalidScope),
        ("invalid_request", 400, Reason::ActionDeniedInvalidRequest),
        ("server_error", 500, Reason::ActionDeniedServerError),
    ] {
        let r = exchange(&s, &id, &secret, &format!("deny/{code}")).await;
        assert_eq!(r.status, status, "{code}: {r:?}");
        assert_eq!(r.body["error"], code, "{r:?}");
        assert_eq!(r.body["error_description"], format!("Denied with {code}"));
        assert_eq!(r.reason(), Some(reason), "{r:?}");
        assert!(r.body.get("access_token").is_none(), "{r:?}");
    }
    // A code Auth0 does not allow is sent as invalid_request.
    let r = exchange(&s, &id, &secret, "deny/access_denied").await;
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(r.body["error"], "invalid_request");
    assert_eq!(r.reason(), Some(Reason::ActionDeniedInvalidRequest));

    let r = exchange(&s, &id, &secret, "Fine/1.0").await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credentials_exchange_action_cannot_set_restricted_claims_and_a_failure_is_access_denied()
{
    let s = server().await;
    apis(&s).await;
    let admin = s.admin_token().await;
    let (id, secret) = s.m2m_client(API, &["read:orders"]).await;
    let action = deploy_and_bind(
        &s,
        &admin,
        "credentials-exchange",
        "m2m-restricted",
        r#"exports.onExecuteCredentialsExchange = async (event, api) => {
  const namespace = 'https://my-app.example.com';
  if ((event.request.user_agent || '') === 'broken') {
    throw new Error('upstream unavailable');
  }
  for (const claim of ['sub', 'aud', 'scope', 'gty', 'azp', 'iss', 'exp', 'permissions', 'client_id']) {
    api.accessToken.setCustomClaim(claim, 'evil');
  }
  api.accessToken.setCustomClaim(`${namespace}/kept`, true);
};"#,
        json!([]),
    )
    .await;
    let r = exchange(&s, &id, &secret, "fine").await;
    assert_eq!(r.status, 200, "{r:?}");
    let at = claims(&field(&r, "access_token"));
    for name in [
        "sub",
        "aud",
        "scope",
        "gty",
        "azp",
        "iss",
        "exp",
        "permissions",
        "client_id",
    ] {
        assert_ne!(at[name], "evil", "{name}: {at}");
    }
    assert_eq!(at["sub"], format!("{id}@clients"));
    assert_eq!(at["aud"], API);
    assert_eq!(at["scope"], "read:orders");
    assert_eq!(at["gty"], "client-credentials");
    assert_eq!(at[format!("{NS}/kept")], true);

    let r = exchange(&s, &id, &secret, "broken").await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.body["error"], "access_denied");
    assert_eq!(r.reason(), Some(Reason::ActionFailed));
    let events = crate::logs::events_until(&s, &admin, |e| {
        e.iter().any(|e| e["type"] == "actions_execution_failed")
    })
    .await;
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e["type"] == "actions_execution_failed")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(failed[0]["details"]["error"]["action_id"], action.as_str());
    assert_eq!(failed[0]["details"]["trigger_id"], "credentials-exchange");
    assert_eq!(failed[0]["client_id"], id.as_str());
}
