//! The JWKS cache: the refetch limit under a flood of unknown kids, a real
//! rotation, the refresh after max-age, an unreachable JWKS. Its timing is
//! the monotonic clock's (real sleeps); the tokens' times are at NOW.

use std::sync::atomic::Ordering;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::json;
use tessera_core::keys::SigningAlg;
use tessera_verify::{AccessTokenVerifier, Claims, SetupError, VerifyError};

use crate::common::{API, ISS, TestKey, at_now, good_claims, jwks, jwks_server};

/// Every token verified in its own task, all started before any is awaited.
async fn verify_concurrently(
    v: &AccessTokenVerifier,
    tokens: Vec<String>,
) -> Vec<Result<Claims, VerifyError>> {
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|t| {
            let v = v.clone();
            tokio::spawn(async move { v.verify(&t).await })
        })
        .collect();
    let mut results = Vec::with_capacity(tasks.len());
    for t in tasks {
        results.push(t.await.unwrap());
    }
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_unknown_kids_cause_at_most_one_fetch_per_interval() {
    let k = TestKey::new(SigningAlg::RS256, "k1");
    let server = jwks_server(jwks(&[&k]), "public, max-age=600").await;
    let interval = Duration::from_millis(800);
    let v = AccessTokenVerifier::new(&server.url, ISS, vec![API.into()])
        .with_options(at_now().refetch_interval(interval).build().unwrap());
    v.verify(&k.access(json!({}))).await.unwrap();
    assert_eq!(server.hits.load(Ordering::SeqCst), 1, "first use fetches");

    // 200 concurrent tokens, each with a fresh random kid (properly signed,
    // with a real RSA key), from several tasks at once.
    let attacker = TestKey::new(SigningAlg::RS256, "x");
    let tokens: Vec<String> = (0..200)
        .map(|_| {
            let kid = B64.encode(
                aws_lc_rs::rand::generate::<[u8; 16]>(&aws_lc_rs::rand::SystemRandom::new())
                    .unwrap()
                    .expose(),
            );
            attacker.sign(
                json!({"alg": "RS256", "kid": kid, "typ": "at+jwt"}),
                good_claims(),
            )
        })
        .collect();
    let burst = |tokens: Vec<String>| {
        let v = v.clone();
        async move {
            for r in verify_concurrently(&v, tokens).await {
                assert!(matches!(r, Err(VerifyError::UnknownKid(_))));
            }
        }
    };
    tokio::time::sleep(interval).await;
    burst(tokens.clone()).await;
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        2,
        "200 unknown kids, one interval: one fetch"
    );
    // Again within the same interval: none.
    burst(tokens.clone()).await;
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
    // Valid tokens meanwhile never fetch.
    for _ in 0..20 {
        v.verify(&k.access(json!({}))).await.unwrap();
    }
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);

    // A real rotation: the issuer publishes a new key. Once the interval has
    // passed, the first token with the new kid fetches once and verifies.
    let k2 = TestKey::new(SigningAlg::ES256, "k2");
    *server.body.lock().await = jwks(&[&k, &k2]);
    tokio::time::sleep(interval).await;
    let new_tokens: Vec<String> = (0..50).map(|_| k2.access(json!({}))).collect();
    for r in verify_concurrently(&v, new_tokens).await {
        r.unwrap();
    }
    assert_eq!(server.hits.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jwks_is_refreshed_after_its_max_age_without_blocking() {
    let k = TestKey::new(SigningAlg::EdDSA, "k1");
    let server = jwks_server(jwks(&[&k]), "max-age=1").await;
    let v = AccessTokenVerifier::new(&server.url, ISS, vec![API.into()]).with_options(
        at_now()
            .refetch_interval(Duration::from_millis(100))
            .build()
            .unwrap(),
    );
    v.verify(&k.access(json!({}))).await.unwrap();
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    // The key is withdrawn; until max-age runs out, it is still used.
    *server.body.lock().await = br#"{"keys":[]}"#.to_vec();
    v.verify(&k.access(json!({}))).await.unwrap();
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Stale: this request is answered from the old keys, a refresh starts behind it.
    v.verify(&k.access(json!({}))).await.unwrap();
    for _ in 0..50 {
        if server.hits.load(Ordering::SeqCst) == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        v.verify(&k.access(json!({}))).await.unwrap_err(),
        VerifyError::UnknownKid("k1".into())
    );
}

#[tokio::test]
async fn an_unreachable_jwks_is_a_distinct_error() {
    let k = TestKey::new(SigningAlg::ES256, "k1");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}/jwks.json");
    let v = AccessTokenVerifier::new(&url, ISS, vec![API.into()]);
    assert!(matches!(
        v.verify(&k.access(json!({}))).await,
        Err(VerifyError::JwksUnavailable(_))
    ));
    // Within the interval the failure is remembered, not retried.
    assert!(matches!(
        v.verify(&k.access(json!({}))).await,
        Err(VerifyError::JwksUnavailable(_))
    ));
    assert!(matches!(
        AccessTokenVerifier::from_issuer(&format!("http://127.0.0.1:{port}/"), vec![API.into()])
            .await,
        Err(SetupError::Discovery(_))
    ));
}
