//! Revocations reach the node that made them at once and every other node
//! within the refresh interval, without a database read per request.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::common::*;

const REFRESH: Duration = Duration::from_secs(1);

/// Polls `path` on `node` with `token` until it answers 401; the elapsed time.
async fn until_refused(node: &TestServer, path: &str, token: &str) -> Duration {
    let started = Instant::now();
    loop {
        let r = node.api(Method::GET, path, token, None).await;
        if r.status == 401 {
            return started.elapsed();
        }
        assert_eq!(r.status, 200, "{r:?}");
        assert!(
            started.elapsed() < REFRESH * 10,
            "node B still accepts a revoked token after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secret_revokes_tokens_here_at_once_and_on_other_nodes_within_the_bound() {
    let a = start().await;
    let b = a.second_node(REFRESH).await;
    let aud = a.management_audience();
    let (id, secret) = a.m2m_client(&aud, &["read:resource_servers"]).await;
    let r = a
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("audience", &aud),
        ])
        .await;
    let token = r.body["access_token"].as_str().unwrap().to_owned();
    let path = "api/v2/resource-servers";
    assert_eq!(a.api(Method::GET, path, &token, None).await.status, 200);
    assert_eq!(
        b.api(Method::GET, path, &token, None).await.status,
        200,
        "node B accepts it too"
    );

    let admin = a.admin_token().await;
    let r = a
        .api(
            Method::POST,
            &format!("api/v2/clients/{id}/rotate-secret"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        a.api(Method::GET, path, &token, None).await.status,
        401,
        "refused at once where it was revoked"
    );
    let waited = until_refused(&b, path, &token).await;
    assert!(
        waited <= REFRESH * 3,
        "node B took {waited:?}, more than the refresh bound"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blacklisted_jti_reaches_other_nodes_within_the_bound() {
    use base64::Engine;
    let a = start().await;
    let b = a.second_node(REFRESH).await;
    let victim = a.admin_token().await;
    let payload = victim.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    let other = a.admin_token().await;
    let r = a
        .api(
            Method::POST,
            "api/v2/blacklists/tokens",
            &other,
            Some(json!({"jti": claims["jti"]})),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let path = "api/v2/resource-servers";
    assert_eq!(a.api(Method::GET, path, &victim, None).await.status, 401);
    let waited = until_refused(&b, path, &victim).await;
    assert!(waited <= REFRESH * 3, "node B took {waited:?}");
    assert_eq!(
        b.api(Method::GET, path, &other, None).await.status,
        200,
        "other tokens unaffected"
    );
}
