//! The server over a real socket: discovery, JWKS (verified with an independent
//! JOSE implementation), health, metrics and the HTTP base.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use tessera_core::clock::SystemClock;
use tessera_core::keys::SigningAlg;

use crate::common::{Options, TestServer, start_opts};
use tessera_core::{Clock, Issuer, jwt};
use tessera_server::AppState;

async fn start_with(alg: SigningAlg, issuer_path: &'static str, body_limit: usize) -> TestServer {
    start_opts(Options {
        alg,
        issuer_path,
        body_limit,
        ..Options::default()
    })
    .await
}

async fn start(alg: SigningAlg) -> TestServer {
    start_with(alg, "/", 65_536).await
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn get_json(url: &str) -> (reqwest::StatusCode, reqwest::header::HeaderMap, Value) {
    let res = client().get(url).send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.json::<Value>().await.unwrap();
    (status, headers, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_documents_list_issuer_and_jwks() {
    let s = start(SigningAlg::RS256).await;
    for doc in [
        ".well-known/openid-configuration",
        ".well-known/oauth-authorization-server",
    ] {
        let (status, headers, body) = get_json(&format!("{}{doc}", s.base)).await;
        assert_eq!(status, 200, "{doc}");
        assert_eq!(body["issuer"], s.base);
        assert_eq!(body["jwks_uri"], format!("{}.well-known/jwks.json", s.base));
        assert_eq!(body["subject_types_supported"], json!(["public"]));
        assert!(
            body["id_token_signing_alg_values_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("RS256"))
        );
        assert!(
            body["id_token_signing_alg_values_supported"]
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a != "none")
        );
        assert_eq!(headers["cache-control"], "public, max-age=60");
        assert_eq!(
            body["authorization_endpoint"],
            format!("{}authorize", s.base)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issuer_with_a_path_serves_under_it() {
    let s = start_with(SigningAlg::ES256, "/tenant-a", 65_536).await;
    assert!(
        s.base.ends_with("/tenant-a/"),
        "trailing slash added: {}",
        s.base
    );
    let (status, _, body) = get_json(&format!("{}.well-known/openid-configuration", s.base)).await;
    assert_eq!(status, 200);
    assert_eq!(body["issuer"], s.base);
    let root = s.base.trim_end_matches("tenant-a/");
    let res = client()
        .get(format!("{root}.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_publishes_only_public_parts_with_a_max_age() {
    let s = start(SigningAlg::RS256).await;
    let (status, headers, body) = get_json(&format!("{}.well-known/jwks.json", s.base)).await;
    assert_eq!(status, 200);
    assert_eq!(headers["cache-control"], "public, max-age=60");
    assert_eq!(headers["content-type"], "application/json");
    let keys = body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "current and next");
    assert_eq!(
        keys[0]["kid"],
        s.state.keys.current().signer().kid(),
        "the signing key is published first"
    );
    for k in keys {
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(k.get(private).is_none(), "{private} in {k}");
        }
        assert_eq!(k["use"], "sig");
        assert_eq!(k["alg"], "RS256");
        assert_eq!(k["kty"], "RSA");
    }
}

/// A server-made signature verifies against the published JWK with RustCrypto
/// (jsonwebtoken's rust_crypto backend), independent of aws-lc-rs that signs.
async fn independent_verification(alg: SigningAlg, jose_alg: Algorithm) {
    let s = start(alg).await;
    let jwks: JwkSet = client()
        .get(format!("{}.well-known/jwks.json", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let now = SystemClock.now();
    let claims = json!({ "iss": s.base, "sub": "user-1", "aud": "https://api.example/", "iat": now, "exp": now + 600 });
    let token = jwt::sign(s.state.keys.current().signer(), jwt::TYP_AT_JWT, &claims).unwrap();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, jose_alg);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let kid = header.kid.unwrap();
    let jwk = jwks.find(&kid).expect("the signing kid is published");
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(jose_alg);
    validation.set_audience(&["https://api.example/"]);
    validation.set_issuer(&[s.base.as_str()]);
    let decoded = jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap();
    assert_eq!(decoded.claims["sub"], "user-1");

    // Control: a flipped signature byte must not verify.
    let (head, sig) = token.rsplit_once('.').unwrap();
    let mut sig = sig.as_bytes().to_vec();
    sig[5] = if sig[5] == b'A' { b'B' } else { b'A' };
    let forged = format!("{head}.{}", String::from_utf8(sig).unwrap());
    assert!(jsonwebtoken::decode::<Value>(&forged, &key, &validation).is_err());
    // And the next key (published, not signing) must not verify it either.
    let other = jwks
        .keys
        .iter()
        .find(|k| k.common.key_id.as_deref() != Some(kid.as_str()))
        .unwrap();
    assert!(
        jsonwebtoken::decode::<Value>(&token, &DecodingKey::from_jwk(other).unwrap(), &validation)
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rs256_signatures_verify_independently() {
    independent_verification(SigningAlg::RS256, Algorithm::RS256).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ps256_signatures_verify_independently() {
    independent_verification(SigningAlg::PS256, Algorithm::PS256).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn es256_signatures_verify_independently() {
    independent_verification(SigningAlg::ES256, Algorithm::ES256).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eddsa_signatures_verify_independently() {
    independent_verification(SigningAlg::EdDSA, Algorithm::EdDSA).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness() {
    let s = start(SigningAlg::ES256).await;
    let (status, _, body) = get_json(&format!("{}healthz", s.base)).await;
    assert_eq!(
        (status.as_u16(), body["status"].as_str()),
        (200, Some("ok"))
    );
    let (status, _, body) = get_json(&format!("{}readyz", s.base)).await;
    assert_eq!(
        (status.as_u16(), body["database"].as_str()),
        (200, Some("ok"))
    );
    // The database goes away: not ready, but still alive.
    s.store.close().await;
    let (status, _, body) = get_json(&format!("{}readyz", s.base)).await;
    assert_eq!(status, 503);
    assert_eq!(body["status"], "unavailable");
    let (status, _, _) = get_json(&format!("{}healthz", s.base)).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_per_route_and_tokens_per_kind() {
    let s = start(SigningAlg::ES256).await;
    for _ in 0..3 {
        client()
            .get(format!("{}.well-known/jwks.json", s.base))
            .send()
            .await
            .unwrap();
    }
    client()
        .get(format!("{}no/such/{}", s.base, "x"))
        .send()
        .await
        .unwrap();
    s.state
        .metrics
        .token_issued(tessera_server::metrics::TokenKind::IdToken);
    let res = client()
        .get(format!("{}metrics", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(
        text.contains(r#"tessera_http_requests_total{method="GET",route="/.well-known/jwks.json",status="200"} 3"#),
        "{text}"
    );
    assert!(
        text.contains(r#"tessera_http_request_duration_seconds_bucket{le="#),
        "{text}"
    );
    assert!(
        text.contains(r#"tessera_tokens_issued_total{kind="id_token"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"tessera_tokens_issued_total{kind="refresh_token"} 0"#),
        "{text}"
    );
    // Unmatched paths never become labels.
    assert!(!text.contains("no/such"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_json_with_security_headers_and_request_ids() {
    let s = start_with(SigningAlg::ES256, "/", 2048).await;
    let res = client()
        .get(format!("{}does-not-exist", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let h = res.headers().clone();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["cache-control"], "no-store");
    assert!(
        h.get("strict-transport-security").is_none(),
        "no HSTS on a plain-http issuer"
    );
    assert_eq!(
        h["x-request-id"].to_str().unwrap().len(),
        36,
        "a generated UUID"
    );
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "not_found");

    let res = client()
        .post(format!("{}.well-known/jwks.json", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"],
        "method_not_allowed"
    );

    let res = client()
        .post(format!("{}healthz", s.base))
        .body(vec![b'a'; 4096])
        .send()
        .await
        .unwrap();
    assert!(
        res.status() == 413 || res.status() == 405,
        "{}",
        res.status()
    );
    let res = client()
        .get(format!("{}healthz", s.base))
        .header("content-length", "4096")
        .body(vec![b'a'; 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"],
        "request_too_large"
    );

    // A plain client-chosen request id is echoed; anything else is replaced.
    let res = client()
        .get(format!("{}healthz", s.base))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
    let res = client()
        .get(format!("{}healthz", s.base))
        .header("x-request-id", "evil\tline break; token=abc")
        .send()
        .await
        .unwrap();
    assert_ne!(res.headers()["x-request-id"], "evil\tline break; token=abc");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_issuers_get_hsts() {
    // Only the issuer matters for the header; the socket stays plain http here.
    let s = start(SigningAlg::ES256).await;
    let mut config = (*s.state.config).clone();
    config.issuer = Issuer::parse("https://id.example.com/").unwrap();
    let state = AppState {
        config: Arc::new(config),
        ..s.state.clone()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(tessera_server::serve(
        listener,
        state,
        std::future::pending(),
    ));
    let res = client()
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert!(
        res.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age=")
    );
}
