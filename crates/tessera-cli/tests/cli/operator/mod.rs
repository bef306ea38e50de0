//! Operator commands on the server storage, by theme: APIs and client grants
//! ([`apis_grants`]), clients and users ([`clients_users`]).

mod apis_grants;
mod clients_users;

use serde_json::Value;

use crate::common::*;

/// The claims of a JWT (base64url payload), unverified.
pub fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    let standard: String = payload
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            other => other,
        })
        .collect();
    serde_json::from_slice(&unbase64(&standard)).expect("a JSON payload")
}

/// One non-empty stderr line containing every needle, exit `code`, no panic.
pub fn assert_cli_failure(case: &str, out: &Outcome, code: i32, needles: &[&str]) {
    assert_eq!(out.status.code(), Some(code), "{case}: {out:?}");
    assert!(!out.stderr.contains("panicked"), "{case}: a panic: {out:?}");
    for needle in needles {
        assert!(
            out.stderr.contains(needle),
            "{case}: no {needle:?}: {out:?}"
        );
    }
    assert!(out.stdout.trim().is_empty(), "{case}: {out:?}");
}

pub async fn client_credentials(
    server: &Server,
    client_id: &str,
    secret: &str,
    audience: &str,
    scope: Option<&str>,
) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", secret),
        ("audience", audience),
    ];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let res = reqwest::Client::new()
        .post(server.url("oauth/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}
