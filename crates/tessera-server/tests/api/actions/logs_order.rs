//! The tenant's log of action runs (console output, failures with the
//! action's id, never a secret), and binding order.

use serde_json::{Value, json};

use super::{NS, bind, deploy_and_bind, password_login, server, web_app};
use crate::common::*;
use crate::flows::{apis, claims, field, user};
use crate::logs::events_until;

fn of_type<'a>(events: &'a [Value], code: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == code).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_output_is_in_the_tenant_log_with_the_action_id() {
    let s = server().await;
    apis(&s).await;
    let user_id = user(&s).await;
    let web = web_app(&s, "Web app", json!({})).await;
    let admin = s.admin_token().await;
    let action = deploy_and_bind(
        &s,
        &admin,
        "post-login",
        "chatty",
        r#"exports.onExecutePostLogin = async (event, api) => {
  console.log('login of', event.user.email, 'to', event.client.name);
};"#,
        json!([]),
    )
    .await;
    let r = password_login(&s, &web, "openid", "agent").await;
    assert_eq!(r.status, 200, "{r:?}");
    let events = events_until(&s, &admin, |e| !of_type(e, "actions_execution").is_empty()).await;
    let logged = of_type(&events, "actions_execution");
    assert_eq!(logged.len(), 1, "{logged:#?}");
    let e = logged[0];
    assert_eq!(e["client_id"], web.id.as_str(), "{e:#}");
    assert_eq!(e["user_id"], user_id.as_str());
    assert_eq!(e["details"]["trigger_id"], "post-login");
    let run = &e["details"]["executions"][0];
    assert_eq!(run["action_id"], action.as_str(), "{e:#}");
    assert_eq!(run["action_name"], "chatty");
    assert_eq!(
        run["logs"], "login of ada@example.com to Web app\n",
        "{e:#}"
    );
    assert!(of_type(&events, "actions_execution_failed").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_is_logged_with_the_action_id_and_never_a_secret() {
    const SECRET: &str = "sk_live_0123456789abcdef";
    let s = server().await;
    apis(&s).await;
    user(&s).await;
    let web = web_app(&s, "Web app", json!({})).await;
    let admin = s.admin_token().await;
    let action = deploy_and_bind(
        &s,
        &admin,
        "post-login",
        "leaky",
        r#"exports.onExecutePostLogin = async (event, api) => {
  throw new Error(`the billing API refused key ${event.secrets.API_KEY}`);
};"#,
        json!([{"name": "API_KEY", "value": SECRET}]),
    )
    .await;
    let r = password_login(&s, &web, "openid", "agent").await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.body["error"], "access_denied");
    assert_eq!(r.reason(), Some(Reason::ActionFailed));
    assert!(!r.body.to_string().contains(SECRET), "{r:?}");

    let events = events_until(&s, &admin, |e| {
        !of_type(e, "actions_execution_failed").is_empty()
    })
    .await;
    let failed = of_type(&events, "actions_execution_failed");
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(failed[0]["details"]["error"]["action_id"], action.as_str());
    assert_eq!(failed[0]["details"]["error"]["kind"], "exception");
    assert_eq!(failed[0]["client_id"], web.id.as_str());
    for e in &events {
        assert!(
            !e.to_string().contains(SECRET),
            "a secret in the log: {e:#}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_run_in_binding_order() {
    let s = server().await;
    apis(&s).await;
    user(&s).await;
    let web = web_app(&s, "Web app", json!({})).await;
    let admin = s.admin_token().await;
    let first = deploy_and_bind(
        &s,
        &admin,
        "post-login",
        "first",
        r#"exports.onExecutePostLogin = async (event, api) => {
  const namespace = 'https://my-app.example.com';
  api.accessToken.setCustomClaim(`${namespace}/who`, 'first');
  api.accessToken.setCustomClaim(`${namespace}/first_only`, true);
  api.user.setAppMetadata('ran', 'first');
};"#,
        json!([]),
    )
    .await;
    let second = deploy_and_bind(
        &s,
        &admin,
        "post-login",
        "second",
        r#"exports.onExecutePostLogin = async (event, api) => {
  const namespace = 'https://my-app.example.com';
  api.accessToken.setCustomClaim(`${namespace}/who`, 'second');
  api.accessToken.setCustomClaim(`${namespace}/saw`, event.user.app_metadata.ran || 'nothing');
  api.user.setAppMetadata('ran', 'second');
};"#,
        json!([]),
    )
    .await;

    bind(&s, &admin, "post-login", &[&first, &second]).await;
    let at = claims(&field(
        &password_login(&s, &web, "openid", "a").await,
        "access_token",
    ));
    assert_eq!(at[format!("{NS}/who")], "second", "{at}");
    assert_eq!(at[format!("{NS}/first_only")], true);
    assert_eq!(at[format!("{NS}/saw")], "first");

    bind(&s, &admin, "post-login", &[&second, &first]).await;
    let at = claims(&field(
        &password_login(&s, &web, "openid", "a").await,
        "access_token",
    ));
    assert_eq!(at[format!("{NS}/who")], "first", "{at}");
    // The metadata persisted by the previous login: `second` ran last there.
    assert_eq!(at[format!("{NS}/saw")], "second");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_output_is_bounded_and_marked_truncated() {
    let s = server().await;
    apis(&s).await;
    user(&s).await;
    let web = web_app(&s, "Web app", json!({})).await;
    let admin = s.admin_token().await;
    deploy_and_bind(
        &s,
        &admin,
        "post-login",
        "flood",
        r#"exports.onExecutePostLogin = async (event, api) => {
  for (let i = 0; i < 1000; i++) {
    console.log(`line ${i} `.padEnd(100, '.'));
  }
};"#,
        json!([]),
    )
    .await;
    let r = password_login(&s, &web, "openid", "agent").await;
    assert_eq!(r.status, 200, "{r:?}");
    let events = events_until(&s, &admin, |e| !of_type(e, "actions_execution").is_empty()).await;
    let run = &of_type(&events, "actions_execution")[0]["details"]["executions"][0];
    assert_eq!(run["logs_truncated"], true, "{run:#}");
    let logs = run["logs"].as_str().unwrap();
    assert!(logs.starts_with("line 0 "), "{logs}");
    assert!(logs.len() <= 8 * 1024, "{}", logs.len());
}
