//! Verifications per second per algorithm, next to the raw aws-lc-rs signature
//! check of the same key over the same bytes, in the same run. The JWKS is
//! preloaded (`from_jwks`): no network.
//!
//! `cargo bench -p tessera-verify`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ED25519, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256,
    RSA_PSS_2048_8192_SHA256, RsaPublicKeyComponents,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use tessera_core::keys::{SigningAlg, SigningKey};
use tessera_verify::AccessTokenVerifier;

const ISS: &str = "https://tessera.example/";
const API: &str = "https://appointments.example/";

/// The public key as raw aws-lc-rs would hold it, from the same JWK.
fn raw_key(key: &SigningKey) -> ParsedPublicKey {
    let jwk = key.public_jwk();
    let d = |v: &Option<String>| B64.decode(v.as_ref().unwrap()).unwrap();
    match key.alg() {
        SigningAlg::RS256 | SigningAlg::PS256 => {
            let params = if key.alg() == SigningAlg::PS256 {
                &RSA_PSS_2048_8192_SHA256
            } else {
                &RSA_PKCS1_2048_8192_SHA256
            };
            let (n, e) = (d(&jwk.n), d(&jwk.e));
            RsaPublicKeyComponents { n: &n, e: &e }
                .to_parsed_public_key(params)
                .unwrap()
        }
        SigningAlg::ES256 => {
            let mut point = vec![4u8];
            point.extend(d(&jwk.x));
            point.extend(d(&jwk.y));
            ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).unwrap()
        }
        SigningAlg::EdDSA => ParsedPublicKey::new(&ED25519, d(&jwk.x)).unwrap(),
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for alg in SigningAlg::ALL {
        let key = SigningKey::generate(alg).unwrap().0;
        // A client_credentials access token shaped as Tessera issues them.
        let claims = json!({
            "iss": ISS, "sub": "Xk2mQ9@clients", "aud": API, "iat": now, "exp": now + 86_400,
            "jti": "3f1c2b8e-6a7d-4c5e-9f10-2a3b4c5d6e7f", "client_id": "Xk2mQ9", "azp": "Xk2mQ9",
            "scope": "read:appointments write:appointments", "gty": "client-credentials"
        });
        let token = tessera_core::jwt::sign(&key, "at+jwt", &claims).unwrap();
        let jwks = json!({"keys": [key.public_jwk()]}).to_string();
        let verifier =
            AccessTokenVerifier::from_jwks(jwks.as_bytes(), ISS, vec![API.into()]).unwrap();
        rt.block_on(verifier.verify(&token)).unwrap();

        let raw = raw_key(&key);
        let (input, sig) = token.rsplit_once('.').unwrap();
        let sig = B64.decode(sig).unwrap();
        assert!(raw.verify_sig(input.as_bytes(), &sig).is_ok());

        let mut g = c.benchmark_group(alg.as_str());
        g.throughput(Throughput::Elements(1));
        g.bench_function("raw_verify", |b| {
            b.iter(|| {
                std::hint::black_box(&raw)
                    .verify_sig(std::hint::black_box(input.as_bytes()), &sig)
                    .unwrap()
            })
        });
        g.bench_function("library_verify", |b| {
            b.to_async(&rt)
                .iter(|| async { verifier.verify(std::hint::black_box(&token)).await.unwrap() })
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(60)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
