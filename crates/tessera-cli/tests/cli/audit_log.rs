//! `TESSERA_AUDIT_LOG=stdout`: every tenant log event is also one JSON line in
//! the log output, without secrets; without the setting, none is.

use serde_json::Value;

use crate::common::*;

const ADMIN: &str = "audit-admin";
const SECRET: &str = "audit-admin-secret-0123456789-abcdefghijklmn";

/// Serves with `env`, makes a refused and a granted client-credentials
/// request, stops (which drains the log queue): the log output's JSON lines
/// that are log events.
async fn events_in_output(env: &[(&str, &str)]) -> (Vec<Value>, String) {
    let sb = Sandbox::new();
    let mut all = vec![
        ("TESSERA_BOOTSTRAP_CLIENT_ID", ADMIN),
        ("TESSERA_BOOTSTRAP_CLIENT_SECRET", SECRET),
    ];
    all.extend_from_slice(env);
    let server = Server::start(&sb, free_port(), &all).await;
    let http = reqwest::Client::new();
    let refused = http
        .post(server.url("oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", ADMIN),
            ("client_secret", "a-wrong-secret-for-the-audit-test"),
            ("audience", &server.url("api/v2/")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let token = management_token(&http, &server, ADMIN, SECRET).await;
    let stderr_path = server.stderr.clone();
    server.stop().await;
    let output = read(&stderr_path);
    let events = output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("log_id").is_some())
        .collect();
    (events, format!("{output}{token}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_lines_go_to_the_log_output_only_when_asked() {
    let (events, text) = events_in_output(&[("TESSERA_AUDIT_LOG", "stdout")]).await;
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert!(
        types.contains(&"feccft") && types.contains(&"seccft"),
        "{types:?}"
    );
    let granted = events.iter().find(|e| e["type"] == "seccft").unwrap();
    assert_eq!(granted["client_id"], ADMIN);
    assert!(
        granted["date"].as_str().unwrap().ends_with('Z'),
        "{granted}"
    );
    assert!(
        !text.contains(SECRET),
        "the admin secret is in the log output"
    );
    assert!(!text.contains("a-wrong-secret-for-the-audit-test"));
    // The token (appended after the output) appears once: only where we put it.
    let token_signature = text.rsplit('.').next().unwrap();
    assert_eq!(text.matches(token_signature).count(), 1);

    let (events, _) = events_in_output(&[]).await;
    assert!(events.is_empty(), "{events:?}");
}
