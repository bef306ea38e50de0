//! Hostile and malformed tokens: each refused with its exact error, the
//! header checks before any key is used.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::json;
use tessera_core::keys::{SigningAlg, SigningKey};
use tessera_verify::{Claims, VerifyError};

use crate::common::{TestKey, fixed, good_claims};

#[tokio::test]
async fn hostile_headers_are_refused_before_any_key_is_used() {
    let rsa = TestKey::new(SigningAlg::RS256, "k-rsa");
    let ec = TestKey::new(SigningAlg::ES256, "k-ec");
    let v = fixed(&[&rsa, &ec]);
    assert!(v.verify(&rsa.access(json!({}))).await.is_ok());
    assert!(v.verify(&ec.access(json!({}))).await.is_ok());

    // alg: none, empty signature.
    let none = format!(
        "{}.{}.",
        B64.encode(json!({"alg": "none", "kid": "k-rsa", "typ": "at+jwt"}).to_string()),
        B64.encode(good_claims().to_string())
    );
    assert_eq!(
        v.verify(&none).await.unwrap_err(),
        VerifyError::UnsupportedAlgorithm("none".into())
    );

    // HS256 keyed with the RSA public key (the classic confusion).
    let rsa_kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let public_bytes = aws_lc_rs::signature::KeyPair::public_key(&rsa_kp)
        .as_ref()
        .to_vec();
    let input = format!(
        "{}.{}",
        B64.encode(json!({"alg": "HS256", "kid": "k-rsa", "typ": "at+jwt"}).to_string()),
        B64.encode(good_claims().to_string())
    );
    let mac = aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &public_bytes),
        input.as_bytes(),
    );
    let hs = format!("{input}.{}", B64.encode(mac.as_ref()));
    assert_eq!(
        v.verify(&hs).await.unwrap_err(),
        VerifyError::UnsupportedAlgorithm("HS256".into())
    );

    // kid missing from the JWKS, and no kid at all.
    let stranger = TestKey::new(SigningAlg::RS256, "k-unknown");
    assert_eq!(
        v.verify(&stranger.access(json!({}))).await.unwrap_err(),
        VerifyError::UnknownKid("k-unknown".into())
    );
    let no_kid = rsa.sign(json!({"alg": "RS256", "typ": "at+jwt"}), good_claims());
    assert_eq!(
        v.verify(&no_kid).await.unwrap_err(),
        VerifyError::MissingKid
    );

    // The header's alg is not the key's: PS256 and ES256 on an RS256 RSA key,
    // RS256 on the P-256 key.
    let ps = TestKey {
        key: SigningKey::generate(SigningAlg::PS256).unwrap().0,
        kid: "k-rsa".into(),
    };
    assert_eq!(
        v.verify(&ps.access(json!({}))).await.unwrap_err(),
        VerifyError::AlgorithmMismatch {
            header: "PS256".into(),
            key: "RS256".into()
        }
    );
    let es_on_rsa = ec.sign(
        json!({"alg": "ES256", "kid": "k-rsa", "typ": "at+jwt"}),
        good_claims(),
    );
    assert_eq!(
        v.verify(&es_on_rsa).await.unwrap_err(),
        VerifyError::AlgorithmMismatch {
            header: "ES256".into(),
            key: "RS256".into()
        }
    );
    let rs_on_ec = rsa.sign(
        json!({"alg": "RS256", "kid": "k-ec", "typ": "at+jwt"}),
        good_claims(),
    );
    assert_eq!(
        v.verify(&rs_on_ec).await.unwrap_err(),
        VerifyError::AlgorithmMismatch {
            header: "RS256".into(),
            key: "ES256".into()
        }
    );

    // Unknown crit.
    let crit = rsa.sign(
        json!({"alg": "RS256", "kid": "k-rsa", "typ": "at+jwt", "crit": ["exp"], "exp": 1}),
        good_claims(),
    );
    assert_eq!(
        v.verify(&crit).await.unwrap_err(),
        VerifyError::UnknownCritical(vec!["exp".into()])
    );

    // Oversized header: refused by size, before parsing.
    let big = rsa.sign(
        json!({"alg": "RS256", "kid": "k-rsa", "typ": "at+jwt", "x": "a".repeat(20_000)}),
        good_claims(),
    );
    assert_eq!(v.verify(&big).await.unwrap_err(), VerifyError::TooLarge);

    // Tampered signature.
    let good = rsa.access(json!({}));
    let (input, sig) = good.rsplit_once('.').unwrap();
    let mut sig = B64.decode(sig).unwrap();
    sig[10] ^= 1;
    let bad = format!("{input}.{}", B64.encode(sig));
    assert_eq!(v.verify(&bad).await.unwrap_err(), VerifyError::BadSignature);
    // Tampered claims under the old signature.
    let (h, rest) = good.split_once('.').unwrap();
    let (_, s) = rest.split_once('.').unwrap();
    let mut claims = good_claims();
    claims["scope"] = json!("admin");
    let forged = format!("{h}.{}.{s}", B64.encode(claims.to_string()));
    assert_eq!(
        v.verify(&forged).await.unwrap_err(),
        VerifyError::BadSignature
    );
}

#[tokio::test]
async fn malformed_tokens_are_refused() {
    let k = TestKey::new(SigningAlg::EdDSA, "k1");
    let v = fixed(&[&k]);
    let malformed = |r: Result<Claims, VerifyError>| matches!(r, Err(VerifyError::Malformed(_)));
    assert!(malformed(v.verify("").await));
    assert!(malformed(v.verify("opaque-token-value").await));
    assert!(malformed(v.verify("a.b").await));
    assert!(malformed(v.verify("a.b.c.d.e").await));
    assert!(malformed(v.verify("%%%.abc.def").await));
    assert!(malformed(v.verify("eyJhbGciOiJSUzI1NiJ9=.e30.AAAA").await)); // padding
    // Header is base64 but not JSON, or not an object, or alg of the wrong type.
    for h in [
        &b"{not json"[..],
        b"[1,2]",
        br#"{"alg": 256, "kid": "k1"}"#,
        br#"{"kid":"k1"}"#,
    ] {
        let t = format!("{}.{}.AAAA", B64.encode(h), B64.encode(b"{}"));
        assert!(
            malformed(v.verify(&t).await),
            "{}",
            String::from_utf8_lossy(h)
        );
    }
    // Signature part is not base64url.
    let good = k.access(json!({}));
    let (input, _) = good.rsplit_once('.').unwrap();
    assert!(malformed(v.verify(&format!("{input}.***")).await));
    // Correctly signed, but the payload is not JSON / not an object / has a
    // duplicate claim / a claim of the wrong type.
    let header = k.header().to_string();
    for p in [
        &b"not json"[..],
        b"[]",
        br#"{"iss":"a","iss":"b"}"#,
        br#"{"iss": 5, "sub": "s", "aud": "x", "exp": 1}"#,
    ] {
        let t = k.sign_raw(header.as_bytes(), p);
        assert!(
            malformed(v.verify(&t).await),
            "{}",
            String::from_utf8_lossy(p)
        );
    }
    // Correctly signed, but no `exp` / no `sub`.
    assert_eq!(
        v.verify(&k.access(json!({"exp": null}))).await.unwrap_err(),
        VerifyError::MissingClaim("exp")
    );
    assert_eq!(
        v.verify(&k.access(json!({"sub": null}))).await.unwrap_err(),
        VerifyError::MissingClaim("sub")
    );
}
