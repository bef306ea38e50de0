//! The engine end to end: every `api` call and `event` field with code written as Auth0's docs show it,
//! the sandbox's limits under concurrency, claim rules, secrets, the pool. Asserts on typed results.

use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tessera_actions::{
    ActionScript, Effects, Engine, FailureKind, Limits, Outcome, RefusalReason, Stop, TokenKind,
    Trigger,
};

fn action(id: &str, code: &str) -> ActionScript {
    ActionScript {
        action_id: id.to_owned(),
        version_id: format!("{id}-v1"),
        name: format!("action {id}"),
        code: Arc::from(code),
        secrets: Vec::new(),
    }
}

fn engine(workers: usize, queue: usize) -> Engine {
    engine_with(Limits {
        workers,
        queue,
        ..Limits::default()
    })
}

fn engine_with(limits: Limits) -> Engine {
    match Engine::new(limits) {
        Ok(e) => e,
        Err(e) => panic!("engine: {e}"),
    }
}

fn post_login_event() -> Value {
    json!({
        "user": {
            "user_id": "auth0|123", "email": "jane@example.com", "email_verified": true, "name": "Jane Doe",
            "given_name": "Jane", "family_name": "Doe", "nickname": "jane", "picture": "https://example.com/j.png",
            "app_metadata": { "plan": "gold" }, "user_metadata": { "favorite_color": "blue" },
            "created_at": "2026-01-01T00:00:00.000Z", "updated_at": "2026-01-02T00:00:00.000Z",
            "last_login": "2026-01-03T00:00:00.000Z", "logins_count": 7,
            "identities": [{ "provider": "auth0", "user_id": "123", "connection": "Username-Password-Authentication", "isSocial": false }]
        },
        "client": { "client_id": "cid", "name": "My SPA", "metadata": { "tier": "web" } },
        "connection": { "id": "con_1", "name": "Username-Password-Authentication", "strategy": "auth0" },
        "request": { "ip": "203.0.113.9", "user_agent": "Mozilla/5.0", "query": { "audience": "https://api" }, "hostname": "id.example.com" },
        "resource_server": { "identifier": "https://api" },
        "authorization": { "roles": ["admin", "editor"] },
        "transaction": { "requested_scopes": ["openid", "profile"], "protocol": "oidc-basic-profile", "redirect_uri": "https://app/cb", "locale": "en" },
        "stats": { "logins_count": 7 },
        "tenant": { "id": "tenant1" }
    })
}

fn cx_event() -> Value {
    json!({
        "client": { "client_id": "m2m", "name": "Backend", "metadata": { "team": "billing" } },
        "resource_server": { "identifier": "https://api" },
        "request": { "ip": "198.51.100.1", "hostname": "id.example.com" },
        "transaction": { "requested_scopes": ["read:invoices"] },
        "tenant": { "id": "tenant1" }
    })
}

async fn run(
    engine: &Engine,
    trigger: Trigger,
    actions: Vec<ActionScript>,
    event: Value,
) -> Outcome {
    engine.run(trigger, Arc::from(actions), event).await
}

fn effects(outcome: Outcome) -> Effects {
    match outcome.result {
        Ok(e) => e,
        Err(stop) => panic!("expected effects, got {stop:?}; logs {:?}", outcome.logs),
    }
}

#[allow(clippy::result_large_err)] // mirrors `Outcome::result`
fn denied(action_id: &str, code: Option<&str>, reason: &str) -> Result<Effects, Stop> {
    Err(Stop::Denied {
        action_id: action_id.to_owned(),
        code: code.map(str::to_owned),
        reason: reason.to_owned(),
        app_metadata: None,
        user_metadata: None,
    })
}

fn failure_kind(outcome: &Outcome) -> Option<FailureKind> {
    match &outcome.result {
        Err(Stop::Failed { kind, .. }) => Some(*kind),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_login_api_calls_and_event_fields_reach_the_code() {
    let engine = engine(2, 8);
    let code = r#"
exports.onExecutePostLogin = async (event, api) => {
  const namespace = 'https://my-app.example.com';
  if (event.authorization) {
    api.idToken.setCustomClaim(`${namespace}/roles`, event.authorization.roles);
    api.accessToken.setCustomClaim(`${namespace}/roles`, event.authorization.roles);
  }
  api.idToken.setCustomClaim(`${namespace}/favorite_color`, event.user.user_metadata.favorite_color);
  api.accessToken.setCustomClaim('myClaim', 'this is a private, non namespaced claim');
  api.idToken.setCustomClaim(`${namespace}/event`, {
    user: [event.user.user_id, event.user.email, event.user.email_verified, event.user.name, event.user.given_name,
           event.user.family_name, event.user.nickname, event.user.picture, event.user.app_metadata.plan,
           event.user.created_at, event.user.updated_at, event.user.last_login, event.user.logins_count,
           event.user.identities[0].provider],
    client: [event.client.client_id, event.client.name, event.client.metadata.tier],
    connection: [event.connection.id, event.connection.name, event.connection.strategy],
    request: [event.request.ip, event.request.user_agent, event.request.query.audience, event.request.hostname,
              typeof event.request.geoip],
    resource_server: event.resource_server.identifier,
    transaction: [event.transaction.requested_scopes, event.transaction.protocol, event.transaction.redirect_uri,
                  event.transaction.locale],
    stats: event.stats.logins_count,
    tenant: event.tenant.id,
    organization: typeof event.organization,
    multifactor: typeof api.multifactor,
    secrets: typeof event.secrets,
  });
  api.accessToken.addScope('read:reports');
  api.accessToken.removeScope('profile');
  api.user.setAppMetadata('didAnExpensiveTask', true);
  api.user.setUserMetadata('theme', 'dark');
  console.log(`Hello ${event.user.email}`, { n: 1 });
};
"#;
    let outcome = post_login(&engine, action("a1", code)).await;
    assert_eq!(outcome.logs.len(), 1);
    assert_eq!(outcome.logs[0].output, "Hello jane@example.com {\"n\":1}\n");
    assert!(!outcome.logs[0].truncated);
    let e = effects(outcome);
    let ns = "https://my-app.example.com";
    assert_eq!(
        e.id_token_claims[&format!("{ns}/roles")],
        json!(["admin", "editor"])
    );
    assert_eq!(
        e.access_token_claims[&format!("{ns}/roles")],
        json!(["admin", "editor"])
    );
    assert_eq!(
        e.id_token_claims[&format!("{ns}/favorite_color")],
        json!("blue")
    );
    assert_eq!(
        e.access_token_claims["myClaim"],
        json!("this is a private, non namespaced claim")
    );
    assert_eq!(
        e.id_token_claims[&format!("{ns}/event")],
        json!({
            "user": ["auth0|123", "jane@example.com", true, "Jane Doe", "Jane", "Doe", "jane", "https://example.com/j.png",
                     "gold", "2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z", "2026-01-03T00:00:00.000Z", 7, "auth0"],
            "client": ["cid", "My SPA", "web"],
            "connection": ["con_1", "Username-Password-Authentication", "auth0"],
            "request": ["203.0.113.9", "Mozilla/5.0", "https://api", "id.example.com", "undefined"],
            "resource_server": "https://api",
            "transaction": [["openid", "profile"], "oidc-basic-profile", "https://app/cb", "en"],
            "stats": 7, "tenant": "tenant1", "organization": "undefined", "multifactor": "undefined", "secrets": "object"
        })
    );
    assert_eq!(e.add_scopes, vec!["read:reports".to_owned()]);
    assert_eq!(e.remove_scopes, vec!["profile".to_owned()]);
    assert_eq!(
        e.app_metadata,
        json!({ "didAnExpensiveTask": true }).as_object().cloned()
    );
    assert_eq!(
        e.user_metadata,
        json!({ "theme": "dark" }).as_object().cloned()
    );
    assert!(e.refused_claims.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_resolve_in_call_order_and_metadata_reaches_later_actions() {
    let engine = engine(1, 8);
    let first = r#"
exports.onExecutePostLogin = async (event, api) => {
  // Each call returns `api`, as on Auth0.
  api.accessToken.addScope('a').accessToken.addScope('b').accessToken.removeScope('a');
  api.user.setAppMetadata('plan', null);
  api.user.setAppMetadata('seen', 1);
  api.user.setUserMetadata('color', 'red');
};"#;
    let second = r#"
exports.onExecutePostLogin = (event, api) => {
  api.accessToken.removeScope('b');
  api.accessToken.addScope('b');
  api.accessToken.removeScope('openid');
  api.idToken.setCustomClaim('https://x/meta', [event.user.app_metadata, event.user.user_metadata]);
};"#;
    let e = effects(post_login_all(&engine, vec![action("a1", first), action("a2", second)]).await);
    assert_eq!(e.add_scopes, vec!["b".to_owned()]);
    assert_eq!(e.remove_scopes, vec!["a".to_owned(), "openid".to_owned()]);
    assert_eq!(
        e.id_token_claims["https://x/meta"],
        json!([{ "seen": 1 }, { "favorite_color": "blue", "color": "red" }])
    );
    assert_eq!(
        e.app_metadata,
        json!({ "plan": null, "seen": 1 }).as_object().cloned()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commonjs_forms_and_plain_functions_run() {
    let engine = engine(1, 8);
    let forms = [
        "module.exports = { onExecutePostLogin: async (event, api) => { api.idToken.setCustomClaim('https://x/f', 1); } };",
        "exports.onExecutePostLogin = function (event, api) { api.idToken.setCustomClaim('https://x/f', 1); };",
        "async function onExecutePostLogin(event, api) { api.idToken.setCustomClaim('https://x/f', 1); }\nmodule.exports.onExecutePostLogin = onExecutePostLogin;",
        // Sloppy mode, as in Node: an undeclared assignment works.
        "exports.onExecutePostLogin = async (event, api) => { undeclared = 1; api.idToken.setCustomClaim('https://x/f', undeclared); };",
    ];
    for code in forms {
        let e = effects(post_login(&engine, action("a", code)).await);
        assert_eq!(e.id_token_claims["https://x/f"], json!(1), "{code}");
    }
    let none = post_login(&engine, action("a", "exports.other = () => {};")).await;
    assert_eq!(failure_kind(&none), Some(FailureKind::NoHandler));
    let syntax = post_login_all(&engine, vec![action("a", "exports.onExecutePostLogin = (")]).await;
    assert_eq!(failure_kind(&syntax), Some(FailureKind::Exception));
    // A post-login action bound to credentials-exchange has no handler there.
    let wrong = run(
        &engine,
        Trigger::CredentialsExchange,
        vec![action("a", forms[0])],
        cx_event(),
    )
    .await;
    assert_eq!(failure_kind(&wrong), Some(FailureKind::NoHandler));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_stops_the_later_actions() {
    let engine = engine(1, 8);
    let deny = r#"
exports.onExecutePostLogin = async (event, api) => {
  if (event.user.email && event.user.email.endsWith("@example.com") && event.client.name === "My SPA") {
    api.access.deny(`Access to ${event.client.name} is not allowed.`);
  }
};"#;
    let later = "exports.onExecutePostLogin = async (event, api) => { console.log('ran'); };";
    let outcome = post_login_all(&engine, vec![action("d", deny), action("l", later)]).await;
    assert_eq!(outcome.logs.len(), 1);
    assert_eq!(
        outcome.result,
        denied("d", None, "Access to My SPA is not allowed.")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_exchange_api_and_event() {
    let engine = engine(1, 8);
    let code = r#"
exports.onExecuteCredentialsExchange = async (event, api) => {
  api.accessToken.setCustomClaim('https://my-api.example.com/team', event.client.metadata.team);
  api.accessToken.setCustomClaim('https://my-api.example.com/ctx',
    [event.client.client_id, event.client.name, event.resource_server.identifier, event.request.ip,
     event.transaction.requested_scopes, event.secrets.KEY, typeof api.idToken, typeof api.user]);
};"#;
    let mut a = action("c", code);
    a.secrets = vec![("KEY".to_owned(), "k-value".to_owned())];
    let e = effects(run(&engine, Trigger::CredentialsExchange, vec![a], cx_event()).await);
    assert_eq!(
        e.access_token_claims["https://my-api.example.com/team"],
        json!("billing")
    );
    assert_eq!(
        e.access_token_claims["https://my-api.example.com/ctx"],
        json!([
            "m2m",
            "Backend",
            "https://api",
            "198.51.100.1",
            ["read:invoices"],
            "k-value",
            "undefined",
            "undefined"
        ])
    );
    assert!(e.id_token_claims.is_empty());

    for (code_arg, expected) in [
        ("invalid_scope", "invalid_scope"),
        ("server_error", "server_error"),
        ("nope", "invalid_request"),
    ] {
        let deny = format!(
            "exports.onExecuteCredentialsExchange = async (event, api) => {{ api.access.deny('{code_arg}', 'Not today'); }};"
        );
        let outcome = run(
            &engine,
            Trigger::CredentialsExchange,
            vec![action("c", &deny)],
            cx_event(),
        )
        .await;
        assert_eq!(outcome.result, denied("c", Some(expected), "Not today"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restricted_claims_are_refused_and_the_rest_kept() {
    let engine = engine(1, 8);
    let code = r#"
exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim('sub', 'evil');
  api.idToken.setCustomClaim('email', 'evil@example.com');
  api.accessToken.setCustomClaim('permissions', ['*']);
  api.accessToken.setCustomClaim('scope', 'admin');
  api.accessToken.setCustomClaim('email', 'jane@example.com');
  api.idToken.setCustomClaim('https://x/fn', () => 1);
  const cyclic = {}; cyclic.self = cyclic;
  api.idToken.setCustomClaim('https://x/cycle', cyclic);
  api.idToken.setCustomClaim('https://x/big', 10n);
  api.idToken.setCustomClaim('https://x/ok', { a: [1, 'two', null], f() {} });
};"#;
    let e = effects(post_login(&engine, action("r", code)).await);
    let refused: Vec<_> = e
        .refused_claims
        .iter()
        .map(|r| (r.token, r.name.as_str(), r.reason))
        .collect();
    assert_eq!(
        refused,
        vec![
            (TokenKind::Id, "sub", RefusalReason::Restricted),
            (TokenKind::Id, "email", RefusalReason::Restricted),
            (TokenKind::Access, "permissions", RefusalReason::Restricted),
            (TokenKind::Access, "scope", RefusalReason::Restricted),
            (TokenKind::Id, "https://x/fn", RefusalReason::NotJson),
            (TokenKind::Id, "https://x/cycle", RefusalReason::NotJson),
            (TokenKind::Id, "https://x/big", RefusalReason::NotJson),
        ]
    );
    assert!(e.refused_claims.iter().all(|r| r.action_id == "r"));
    assert_eq!(e.access_token_claims["email"], json!("jane@example.com"));
    assert_eq!(
        e.id_token_claims["https://x/ok"],
        json!({ "a": [1, "two", null] })
    );
    assert_eq!(e.id_token_claims.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_claims_size_cap_refuses_what_would_exceed_it() {
    let limits = Limits {
        workers: 1,
        claims_bytes: 1000,
        ..Limits::default()
    };
    let engine = engine_with(limits);
    let code = r#"
exports.onExecutePostLogin = async (event, api) => {
  api.accessToken.setCustomClaim('https://x/a', 'x'.repeat(600));
  api.accessToken.setCustomClaim('https://x/b', 'y'.repeat(600));
  api.accessToken.setCustomClaim('https://x/c', 'small');
  api.idToken.setCustomClaim('https://x/b', 'y'.repeat(600));
};"#;
    let e = effects(post_login(&engine, action("s", code)).await);
    assert!(e.access_token_claims.contains_key("https://x/a"));
    assert!(e.access_token_claims.contains_key("https://x/c"));
    assert!(!e.access_token_claims.contains_key("https://x/b"));
    // Each token has its own cap.
    assert!(e.id_token_claims.contains_key("https://x/b"));
    assert_eq!(e.refused_claims.len(), 1);
    assert_eq!(e.refused_claims[0].reason, RefusalReason::TooLarge);
    assert_eq!(e.refused_claims[0].token, TokenKind::Access);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_action_sees_only_its_own_secrets_and_failure_messages_mask_them() {
    let engine = engine(1, 8);
    let code = r#"
exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim(`https://x/${event.secrets.NAME}`, Object.keys(event.secrets));
};"#;
    let mut a = action("a", code);
    a.secrets = vec![
        ("NAME".to_owned(), "a".to_owned()),
        ("A_ONLY".to_owned(), "sa".to_owned()),
    ];
    let mut b = action("b", code);
    b.secrets = vec![("NAME".to_owned(), "b".to_owned())];
    let mut event = post_login_event();
    // A `secrets` the caller left in the event is replaced.
    event["secrets"] = json!({ "LEAK": "x" });
    let e = effects(run(&engine, Trigger::PostLogin, vec![a, b], event).await);
    assert_eq!(e.id_token_claims["https://x/a"], json!(["NAME", "A_ONLY"]));
    assert_eq!(e.id_token_claims["https://x/b"], json!(["NAME"]));

    let mut thrower = action(
        "t",
        "exports.onExecutePostLogin = async (event) => { throw new Error('key ' + event.secrets.API_KEY); };",
    );
    thrower.secrets = vec![("API_KEY".to_owned(), "sk_live_12345".to_owned())];
    let outcome = post_login(&engine, thrower).await;
    match outcome.result {
        Err(Stop::Failed {
            kind: FailureKind::Exception,
            message,
            action_id,
        }) => {
            assert_eq!(action_id, "t");
            assert!(!message.contains("sk_live_12345"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_output_is_bounded() {
    let limits = Limits {
        workers: 1,
        log_bytes: 100,
        ..Limits::default()
    };
    let engine = engine_with(limits);
    let code = "exports.onExecutePostLogin = async () => { for (let i = 0; i < 1000; i++) console.info('line', i); };";
    let outcome = post_login(&engine, action("l", code)).await;
    assert!(outcome.result.is_ok());
    assert!(outcome.logs[0].truncated);
    assert!(outcome.logs[0].output.len() <= 100);
    assert!(outcome.logs[0].output.starts_with("line 0\nline 1\n"));
}

// ---- the sandbox ----

/// Never ends on its own.
const SLOW: &str = "exports.onExecutePostLogin = async () => { while (true) {} };";
const GOOD: &str = "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('https://x/ok', event.user.user_id); };";

/// Runs one post-login action with the standard event.
async fn post_login(engine: &Engine, script: ActionScript) -> Outcome {
    post_login_all(engine, vec![script]).await
}

/// Runs post-login actions in order with the standard event.
async fn post_login_all(engine: &Engine, scripts: Vec<ActionScript>) -> Outcome {
    run(engine, Trigger::PostLogin, scripts, post_login_event()).await
}

/// Runs one post-login action on a task of its own.
fn spawn_run(engine: &Engine, script: ActionScript) -> tokio::task::JoinHandle<Outcome> {
    let engine = engine.clone();
    tokio::spawn(async move { post_login(&engine, script).await })
}

/// A good action still runs, and its claim is there.
async fn assert_serves(engine: &Engine) {
    let e = effects(post_login(engine, action("good", GOOD)).await);
    assert_eq!(e.id_token_claims["https://x/ok"], json!("auth0|123"));
}

/// Each hostile action with the failure it must end in (`None`: it must succeed).
fn hostile() -> Vec<(&'static str, &'static str, Option<FailureKind>)> {
    vec![
        (
            "loop",
            "exports.onExecutePostLogin = async () => { while (true) {} };",
            Some(FailureKind::Timeout),
        ),
        (
            "loop-caught",
            "exports.onExecutePostLogin = async () => { for (;;) { try { while (true) {} } catch (e) {} } };",
            Some(FailureKind::Timeout),
        ),
        (
            "jobs",
            "exports.onExecutePostLogin = async () => { const f = () => Promise.resolve().then(f); f(); await new Promise(() => {}); };",
            Some(FailureKind::Timeout),
        ),
        (
            "alloc",
            "exports.onExecutePostLogin = async () => { const a = []; while (true) a.push('x'.repeat(1 << 16) + a.length); };",
            Some(FailureKind::MemoryLimit),
        ),
        (
            "string",
            "exports.onExecutePostLogin = async () => { const a = new Array(1 << 26).fill(1.5); return a.length; };",
            Some(FailureKind::MemoryLimit),
        ),
        (
            "recursion",
            "exports.onExecutePostLogin = async () => { const f = (n) => f(n + 1) + 1; f(0); };",
            Some(FailureKind::StackOverflow),
        ),
        (
            "require",
            "const fs = require('fs');\nexports.onExecutePostLogin = async () => {};",
            Some(FailureKind::Exception),
        ),
        (
            "require-in-handler",
            "exports.onExecutePostLogin = async () => { require('child_process'); };",
            Some(FailureKind::Exception),
        ),
        (
            "fetch",
            "exports.onExecutePostLogin = async () => { await fetch('https://example.com'); };",
            Some(FailureKind::Exception),
        ),
        (
            "xhr",
            "exports.onExecutePostLogin = async () => { new XMLHttpRequest(); };",
            Some(FailureKind::Exception),
        ),
        (
            "env",
            "exports.onExecutePostLogin = async () => { return process.env.SECRET; };",
            Some(FailureKind::Exception),
        ),
        (
            "never",
            "exports.onExecutePostLogin = async () => { await new Promise(() => {}); };",
            Some(FailureKind::NeverSettled),
        ),
        (
            "tojson-loop",
            "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('https://x/t', { toJSON() { while (true) {} } }); };",
            Some(FailureKind::Timeout),
        ),
        (
            "proxy-exports",
            "module.exports = new Proxy({}, { get() { for (;;) {} } });",
            Some(FailureKind::Timeout),
        ),
        (
            "atomics-wait",
            "exports.onExecutePostLogin = async () => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1e9); };",
            Some(FailureKind::Exception),
        ),
        (
            "deny",
            "exports.onExecutePostLogin = async (event, api) => { api.access.deny('no'); };",
            None,
        ),
        (
            "absent",
            "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('https://x/types', [typeof fetch, typeof XMLHttpRequest, typeof process, typeof setTimeout, typeof WebSocket, typeof std, typeof os, typeof FinalizationRegistry, typeof __tesseraPostLoginApi, typeof __tesseraCredentialsExchangeApi]); };",
            None,
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_actions_fail_only_their_own_run_while_good_runs_go_on() {
    let engine = engine(3, 64);
    let mut tasks = Vec::new();
    for (id, code, expected) in hostile() {
        let bad_engine = engine.clone();
        tasks.push(tokio::spawn(async move {
            let outcome = post_login(&bad_engine, action(id, code)).await;
            (id, expected, outcome)
        }));
        for _ in 0..2 {
            let engine = engine.clone();
            tasks.push(tokio::spawn(async move {
                let outcome = post_login(&engine, action("good", GOOD)).await;
                ("good", None, outcome)
            }));
        }
    }
    for task in tasks {
        let Ok((id, expected, outcome)) = task.await else {
            panic!("task")
        };
        match (id, expected) {
            ("good", _) => assert_eq!(
                effects(outcome).id_token_claims["https://x/ok"],
                json!("auth0|123")
            ),
            ("deny", _) => assert!(
                matches!(outcome.result, Err(Stop::Denied { ref action_id, .. }) if action_id == "deny")
            ),
            ("absent", _) => assert_eq!(
                effects(outcome).id_token_claims["https://x/types"],
                json!(["undefined"; 10].to_vec())
            ),
            (id, Some(kind)) => match &outcome.result {
                Err(Stop::Failed {
                    action_id,
                    kind: got,
                    ..
                }) => {
                    assert_eq!((action_id.as_str(), *got), (id, kind), "{outcome:?}");
                }
                other => panic!("{id}: {other:?}"),
            },
            (id, None) => panic!("{id}"),
        }
    }
    // Still serving.
    for _ in 0..6 {
        assert_serves(&engine).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prototype_pollution_does_not_leak_nor_change_recorded_effects() {
    let engine = engine(1, 8);
    let polluter = r#"
exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim('https://x/before', 1);
  Object.prototype.polluted = 'yes';
  Array.prototype.push = () => { throw new Error('pushed'); };
  JSON.stringify = () => '"forged"';
  Object.prototype.toJSON = undefined;
  event.user.user_id = 'someone-else';
  event.__proto__.injected = true;
  api.__proto__.deny = () => {};
  const real = api.idToken.setCustomClaim;
  api.idToken.setCustomClaim = () => {};
  globalThis.leaked = 'g';
  real.call(api.idToken, 'https://x/value', { n: 2 });
  api.accessToken.addScope('s');
};"#;
    let checker = r#"
exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim('https://x/seen', [
    typeof ({}).polluted, typeof globalThis.leaked, event.user.user_id, typeof event.injected, [1].push(2),
    JSON.stringify({ a: 1 }),
  ]);
};"#;
    // What the checker sees in an untouched context.
    let clean = json!([
        "undefined",
        "undefined",
        "auth0|123",
        "undefined",
        2,
        "{\"a\":1}"
    ]);
    let e =
        effects(post_login_all(&engine, vec![action("p", polluter), action("c", checker)]).await);
    assert_eq!(e.id_token_claims["https://x/before"], json!(1));
    assert_eq!(e.id_token_claims["https://x/value"], json!({ "n": 2 }));
    assert_eq!(e.id_token_claims["https://x/seen"], clean);
    assert_eq!(e.add_scopes, vec!["s".to_owned()]);
    // And in the next run.
    let e = effects(post_login(&engine, action("c", checker)).await);
    assert_eq!(e.id_token_claims["https://x/seen"], clean);
}

/// Resident set size of this process, from /proc (Linux).
fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_returns_to_baseline_after_many_failing_runs() {
    let limits = Limits {
        workers: 2,
        time: Duration::from_millis(500),
        ..Limits::default()
    };
    let engine = engine_with(limits);
    let baseline = engine.heap_bytes();
    let failing = [
        (
            "exports.onExecutePostLogin = async () => { const a = []; while (true) a.push({ x: a.length, s: 'y'.repeat(1000) + a.length }); };",
            FailureKind::MemoryLimit,
        ),
        (
            "exports.onExecutePostLogin = async () => { const o = {}; o.self = o; globalThis.keep = o; throw new Error('x'); };",
            FailureKind::Exception,
        ),
        (
            "exports.onExecutePostLogin = async () => { const a = []; for (;;) a.push([a, new Array(1000)]); };",
            FailureKind::MemoryLimit,
        ),
        (
            "exports.onExecutePostLogin = async () => { const p = new Promise(() => {}); globalThis.p = p; p.self = p; await p; };",
            FailureKind::NeverSettled,
        ),
        (
            "exports.onExecutePostLogin = async () => { const f = () => f(); f(); };",
            FailureKind::StackOverflow,
        ),
        (
            "exports.onExecutePostLogin = async () => { let o; for (;;) o = { a: [1, 2, 3], prev: null }; };",
            FailureKind::Timeout,
        ),
    ];
    let mut rss_after_warmup = 0;
    for round in 0..8 {
        for (code, kind) in failing {
            let outcome = post_login(&engine, action("f", code)).await;
            assert_eq!(failure_kind(&outcome), Some(kind), "{code} {outcome:?}");
        }
        if round == 2 {
            rss_after_warmup = rss_bytes();
        }
    }
    let heap = engine.heap_bytes();
    assert!(
        heap <= baseline + 2 * 1024 * 1024,
        "heap {heap} vs baseline {baseline}"
    );
    assert!(engine.runtimes_replaced() > 0);
    // Ten more 32 MiB overruns (320 MiB if runtimes leaked) did not grow the process much; the margin
    // covers the other tests of this binary running at the same time.
    let rss = rss_bytes();
    assert!(
        rss <= rss_after_warmup + 128 * 1024 * 1024,
        "rss {rss} vs {rss_after_warmup}"
    );
    assert_serves(&engine).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_busy_at_once() {
    let limits = Limits {
        workers: 1,
        queue: 1,
        time: Duration::from_secs(1),
        ..Limits::default()
    };
    let engine = engine_with(limits);
    let running = spawn_run(&engine, action("slow", SLOW));
    // Let the worker take the slow job (a busy machine may be slow to schedule it).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let queued = spawn_run(&engine, action("queued", GOOD));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    let busy = post_login(&engine, action("busy", GOOD)).await;
    assert!(started.elapsed() < Duration::from_millis(250));
    assert!(
        matches!(busy.result, Err(Stop::Failed { kind: FailureKind::Busy, ref action_id, .. }) if action_id == "busy")
    );
    let Ok(running) = running.await else {
        panic!("task")
    };
    assert_eq!(failure_kind(&running), Some(FailureKind::Timeout));
    let Ok(queued) = queued.await else {
        panic!("task")
    };
    assert!(queued.result.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_run_frees_its_worker() {
    let limits = Limits {
        workers: 1,
        queue: 4,
        time: Duration::from_secs(30),
        ..Limits::default()
    };
    let engine = engine_with(limits);
    let dropped = tokio::time::timeout(
        Duration::from_millis(100),
        run(
            &engine,
            Trigger::PostLogin,
            vec![action("slow", SLOW)],
            post_login_event(),
        ),
    )
    .await;
    assert!(dropped.is_err());
    let started = Instant::now();
    assert_serves(&engine).await;
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_actions_costs_nothing() {
    let engine = engine(1, 0);
    let outcome = engine
        .run(
            Trigger::PostLogin,
            Arc::from(Vec::new()),
            post_login_event(),
        )
        .await;
    assert_eq!(
        outcome,
        Outcome {
            result: Ok(Effects::default()),
            logs: Vec::new()
        }
    );
}

#[test]
fn the_engine_and_its_run_future_can_cross_threads() {
    fn send_sync<T: Send + Sync + Clone>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let engine = engine(1, 1);
    send_sync(&engine);
    let future = engine.run(Trigger::PostLogin, Arc::from(Vec::new()), json!({}));
    send(&future);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_a_failed_run_left_behind_never_run_in_a_later_run() {
    // One worker: every run below uses the same runtime (or its replacement).
    let engine = engine(1, 8);
    let left_behind = [
        // Queues an endless job, then throws before the queue is drained.
        "exports.onExecutePostLogin = (event, api) => { Promise.resolve().then(() => { while (true) {} }); throw new Error('x'); };",
        // An endless chain of jobs, stopped by the time limit with jobs still queued.
        "exports.onExecutePostLogin = async () => { const f = () => Promise.resolve().then(f); f(); f(); await new Promise(() => {}); };",
        // Queues a job that would record a claim, then throws.
        "exports.onExecutePostLogin = (event, api) => { Promise.resolve().then(() => api.idToken.setCustomClaim('https://x/late', 1)); throw new Error('x'); };",
    ];
    for code in left_behind {
        let outcome = post_login(&engine, action("bad", code)).await;
        assert!(matches!(
            failure_kind(&outcome),
            Some(FailureKind::Exception | FailureKind::Timeout)
        ));
        let e = effects(post_login(&engine, action("good", GOOD)).await);
        assert_eq!(e.id_token_claims.len(), 1, "{code}");
        assert_eq!(e.id_token_claims["https://x/ok"], json!("auth0|123"));
    }
    assert!(engine.runtimes_replaced() >= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_or_huge_claim_values_are_refused_without_failing_the_run() {
    let engine = engine(1, 8);
    let code = r#"
exports.onExecutePostLogin = async (event, api) => {
  let deep = 1;
  for (let i = 0; i < 200000; i++) deep = [deep];
  api.idToken.setCustomClaim('https://x/deep', deep);
  let nested = 1;
  for (let i = 0; i < 200; i++) nested = { n: nested };
  api.idToken.setCustomClaim('https://x/nested', nested);
  api.accessToken.setCustomClaim('https://x/huge', 'x'.repeat(2 * 1024 * 1024));
  api.accessToken.setCustomClaim('https://x/fine', 'ok');
};"#;
    let e = effects(post_login(&engine, action("d", code)).await);
    let refused: Vec<_> = e
        .refused_claims
        .iter()
        .map(|r| (r.name.as_str(), r.reason))
        .collect();
    assert_eq!(
        refused,
        vec![
            ("https://x/deep", RefusalReason::NotJson),
            ("https://x/nested", RefusalReason::NotJson),
            ("https://x/huge", RefusalReason::TooLarge),
        ]
    );
    assert_eq!(e.access_token_claims["https://x/fine"], json!("ok"));
}

#[test]
fn unusable_limits_are_refused_by_name() {
    let cases = [
        (
            Limits {
                workers: 0,
                ..Limits::default()
            },
            "workers",
        ),
        (
            Limits {
                memory_bytes: 1024,
                ..Limits::default()
            },
            "memory_bytes",
        ),
        (
            Limits {
                stack_bytes: 1024,
                ..Limits::default()
            },
            "stack_bytes",
        ),
        (
            Limits {
                time: Duration::ZERO,
                ..Limits::default()
            },
            "time",
        ),
    ];
    for (limits, field) in cases {
        assert!(
            matches!(Engine::new(limits), Err(tessera_actions::EngineError::InvalidLimit(f)) if f == field)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_that_closes_the_wrapper_never_runs_and_fails_every_run() {
    let engine = engine(2, 8);
    let code = "}); console.log('escaped'); (function () {";
    assert!(engine.check(code).is_err());
    for _ in 0..3 {
        let outcome = post_login(&engine, action("esc", code)).await;
        assert_eq!(failure_kind(&outcome), Some(FailureKind::Exception));
        assert!(outcome.logs.iter().all(|l| !l.output.contains("escaped")));
    }
    // Redeclaring the wrapper's name after closing it does not pass either.
    let code = "} console.log('escaped'); function __tesseraAction(exports, require, module) { module.exports.onExecutePostLogin = () => {};";
    assert!(engine.check(code).is_err());
    let outcome = post_login(&engine, action("esc2", code)).await;
    assert_eq!(failure_kind(&outcome), Some(FailureKind::Exception));
    assert!(outcome.logs.iter().all(|l| !l.output.contains("escaped")));
    assert_serves(&engine).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_has_a_per_run_budget_and_refuses_auth0s_bad_key_names() {
    let engine = engine(2, 8);
    // 50 keys per object; the 51st throws a RangeError (caught here, so the run goes on).
    let code = r#"exports.onExecutePostLogin = async (event, api) => {
        for (let i = 0; i < 50; i++) api.user.setAppMetadata('k' + i, i);
        let err = null;
        try { api.user.setAppMetadata('k50', 1); } catch (e) { err = e.name; }
        api.user.setAppMetadata('k0', 'again');
        api.user.setUserMetadata('other', err);
    };"#;
    let e = effects(post_login(&engine, action("keys", code)).await);
    let app = e.app_metadata.expect("app_metadata");
    assert_eq!(app.len(), 50);
    assert_eq!(app["k0"], json!("again"));
    assert!(!app.contains_key("k50"));
    assert_eq!(
        e.user_metadata.expect("user_metadata")["other"],
        json!("RangeError")
    );

    // 16 KiB of JSON per object, counted over all actions of the run; uncaught, the action fails.
    let fill = "exports.onExecutePostLogin = async (event, api) => { api.user.setUserMetadata('a', 'x'.repeat(10000)); };";
    let over = "exports.onExecutePostLogin = async (event, api) => { api.user.setUserMetadata('b', 'x'.repeat(7000)); };";
    let outcome = post_login_all(&engine, vec![action("fill", fill), action("over", over)]).await;
    match &outcome.result {
        Err(Stop::Failed {
            action_id,
            kind: FailureKind::Exception,
            message,
        }) => {
            assert_eq!(action_id, "over");
            assert!(message.starts_with("RangeError"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // Replacing a key counts its new size only.
    let replace = "exports.onExecutePostLogin = async (event, api) => { for (let i = 0; i < 100; i++) api.user.setUserMetadata('a', 'x'.repeat(10000)); };";
    assert!(
        post_login(&engine, action("replace", replace))
            .await
            .result
            .is_ok()
    );

    // 900 keys × 60 KB is refused long before 54 MB.
    let attack = "exports.onExecutePostLogin = async (event, api) => { const v = 'x'.repeat(60000); for (let i = 0; i < 900; i++) api.user.setAppMetadata('k' + i, v); };";
    assert_eq!(
        failure_kind(&post_login(&engine, action("attack", attack)).await),
        Some(FailureKind::Exception)
    );

    // Names the Management API refuses: with '.', starting with '$', empty.
    for name in ["a.b", "$set", ""] {
        let code = format!(
            "exports.onExecutePostLogin = async (event, api) => {{ let n = null; try {{ api.user.setAppMetadata({name:?}, 1); }} catch (e) {{ n = e.name; }} api.user.setUserMetadata('err', n); }};"
        );
        let e = effects(post_login(&engine, action("name", &code)).await);
        assert!(e.app_metadata.is_none(), "{name}");
        assert_eq!(
            e.user_metadata.expect("user")["err"],
            json!("TypeError"),
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_32_refused_claims_are_kept_and_the_rest_counted() {
    let engine = engine(2, 8);
    let code = "exports.onExecutePostLogin = async (event, api) => { for (let i = 0; i < 1000; i++) api.idToken.setCustomClaim('sub', i); api.idToken.setCustomClaim('https://x/ok', 1); };";
    let e = effects(post_login(&engine, action("many", code)).await);
    assert_eq!(e.refused_claims.len(), 32);
    assert_eq!(e.refused_claims_dropped, 1000 - 32);
    assert_eq!(e.id_token_claims["https://x/ok"], json!(1));
}

#[test]
fn debug_of_an_action_never_shows_secret_values() {
    let mut script = action("dbg", "exports.onExecutePostLogin = () => {};");
    script.secrets = vec![("API_KEY".to_owned(), "s3cr3t-value-123".to_owned())];
    let shown = format!("{script:?} {script:#?} {:?}", vec![script.clone()]);
    assert!(!shown.contains("s3cr3t-value-123"), "{shown}");
    assert!(
        shown.contains("API_KEY") && shown.contains("[secret]"),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_8_kib_claims_budget_holds_per_token_over_all_actions() {
    assert_eq!(Limits::default().claims_bytes, 100 * 1024);
    let engine = engine_with(Limits {
        workers: 2,
        claims_bytes: 8 * 1024,
        ..Limits::default()
    });
    // Two actions each try to put 6 KB into each token; names of control characters count escaped.
    let code = r#"exports.onExecutePostLogin = async (event, api) => {
        const id = event.user.app_metadata.plan + Math.random();
        api.idToken.setCustomClaim('https://x/' + id, 'i'.repeat(6000));
        api.accessToken.setCustomClaim('https://x/' + id, 'a'.repeat(6000));
        api.accessToken.setCustomClaim('\u0001'.repeat(400), 1);
    };"#;
    let e = effects(post_login_all(&engine, vec![action("one", code), action("two", code)]).await);
    for claims in [&e.id_token_claims, &e.access_token_claims] {
        assert_eq!(claims.len(), 1, "{:?}", claims.keys());
        let json = serde_json::to_string(claims).expect("json");
        assert!(json.len() <= 8 * 1024, "{}", json.len());
    }
    // The id token's second 6 KB, the access token's second 6 KB and the two 2.4 KB escaped names.
    assert_eq!(e.refused_claims.len(), 4);
    assert!(
        e.refused_claims
            .iter()
            .all(|r| r.reason == RefusalReason::TooLarge)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wrapper_is_not_left_as_a_global() {
    let engine = engine(2, 8);
    let code = "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('https://x/w', typeof globalThis.__tesseraAction); };";
    let e = effects(post_login(&engine, action("w", code)).await);
    assert_eq!(e.id_token_claims["https://x/w"], json!("undefined"));
}
