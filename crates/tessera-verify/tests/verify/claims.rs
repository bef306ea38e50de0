//! The claim checks after the signature: times (at a fixed clock, so ages are
//! exact), issuer, audience, `typ`, ID-token shape, the size cap, and what
//! comes through.

use serde_json::json;
use tessera_core::keys::SigningAlg;
use tessera_verify::{AccessTokenVerifier, VerifyError};

use crate::common::{
    API, ISS, NOW, TestKey, at_now, fixed, good_claims, jwks, jwks_server, options_at_now,
};

#[tokio::test]
async fn claims_are_checked() {
    let k = TestKey::new(SigningAlg::ES256, "k1");
    let v = fixed(&[&k]);
    // The verifier's clock stands at NOW; the leeway is 60 s.
    let t = NOW;
    assert_eq!(
        v.verify(&k.access(json!({"exp": t - 3600})))
            .await
            .unwrap_err(),
        VerifyError::Expired { seconds_ago: 3600 }
    );
    // Within the leeway (60 s) it is still fine; at its end, and past it, not.
    assert!(v.verify(&k.access(json!({"exp": t - 30}))).await.is_ok());
    assert!(v.verify(&k.access(json!({"exp": t - 59}))).await.is_ok());
    assert_eq!(
        v.verify(&k.access(json!({"exp": t - 60})))
            .await
            .unwrap_err(),
        VerifyError::Expired { seconds_ago: 60 }
    );
    assert_eq!(
        v.verify(&k.access(json!({"exp": t - 61})))
            .await
            .unwrap_err(),
        VerifyError::Expired { seconds_ago: 61 }
    );
    let err = v
        .verify(&k.access(json!({"exp": t - 14 * 60})))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "expired 14 minutes ago");
    assert_eq!(
        v.verify(&k.access(json!({"nbf": t + 3600})))
            .await
            .unwrap_err(),
        VerifyError::NotYetValid {
            seconds_until: 3600
        }
    );
    assert!(v.verify(&k.access(json!({"nbf": t + 30}))).await.is_ok());
    assert!(v.verify(&k.access(json!({"nbf": t + 60}))).await.is_ok());
    assert_eq!(
        v.verify(&k.access(json!({"nbf": t + 61})))
            .await
            .unwrap_err(),
        VerifyError::NotYetValid { seconds_until: 61 }
    );
    assert_eq!(
        v.verify(&k.access(json!({"iat": t + 3600})))
            .await
            .unwrap_err(),
        VerifyError::IssuedInFuture
    );
    assert!(v.verify(&k.access(json!({"iat": t + 60}))).await.is_ok());
    assert_eq!(
        v.verify(&k.access(json!({"iat": t + 61})))
            .await
            .unwrap_err(),
        VerifyError::IssuedInFuture
    );
    assert_eq!(
        v.verify(&k.access(json!({"iss": "https://evil.example/"})))
            .await
            .unwrap_err(),
        VerifyError::WrongIssuer {
            expected: ISS.into(),
            actual: "https://evil.example/".into()
        }
    );
    // `iss` is compared exactly: no trailing-slash leniency.
    assert!(matches!(
        v.verify(&k.access(json!({"iss": "https://issuer.example"})))
            .await,
        Err(VerifyError::WrongIssuer { .. })
    ));
    assert_eq!(
        v.verify(&k.access(json!({"aud": ["https://other.example/", "https://x.example/"]})))
            .await
            .unwrap_err(),
        VerifyError::WrongAudience {
            expected: vec![API.into()],
            actual: vec!["https://other.example/".into(), "https://x.example/".into()]
        }
    );
    // Several audiences, one of them ours: fine.
    let c = v
        .verify(&k.access(json!({"aud": ["https://other.example/", API]})))
        .await
        .unwrap();
    assert_eq!(c.aud.len(), 2);

    // typ: JWT is refused unless allowed; other types always.
    let plain = k.sign(
        json!({"alg": "ES256", "kid": "k1", "typ": "JWT"}),
        good_claims(),
    );
    assert_eq!(
        v.verify(&plain).await.unwrap_err(),
        VerifyError::WrongType(Some("JWT".into()))
    );
    let lenient = v
        .clone()
        .with_options(at_now().accept_plain_jwt_typ(true).build().unwrap());
    assert!(lenient.verify(&plain).await.is_ok());
    let no_typ = k.sign(json!({"alg": "ES256", "kid": "k1"}), good_claims());
    assert_eq!(
        lenient.verify(&no_typ).await.unwrap_err(),
        VerifyError::WrongType(None)
    );
    let dpop = k.sign(
        json!({"alg": "ES256", "kid": "k1", "typ": "dpop+jwt"}),
        good_claims(),
    );
    assert_eq!(
        v.verify(&dpop).await.unwrap_err(),
        VerifyError::WrongType(Some("dpop+jwt".into()))
    );
    let media = k.sign(
        json!({"alg": "ES256", "kid": "k1", "typ": "application/at+jwt"}),
        good_claims(),
    );
    assert!(v.verify(&media).await.is_ok());

    // ID-token shaped: nonce/at_hash with a client's audience, whatever its typ.
    let id_like = k.access(json!({"aud": "spa-client", "nonce": "x"}));
    assert_eq!(
        v.verify(&id_like).await.unwrap_err(),
        VerifyError::IdToken {
            client_id: "spa-client".into()
        }
    );
    let id_jwt = k.sign(
        json!({"alg": "ES256", "kid": "k1", "typ": "JWT"}),
        json!({"iss": ISS, "sub": "u", "aud": "spa-client", "exp": t + 60, "iat": t}),
    );
    assert_eq!(
        v.verify(&id_jwt).await.unwrap_err(),
        VerifyError::IdToken {
            client_id: "spa-client".into()
        }
    );

    // Size cap is configurable.
    let small = v
        .clone()
        .with_options(at_now().max_token_bytes(100).build().unwrap());
    assert_eq!(
        small.verify(&k.access(json!({}))).await.unwrap_err(),
        VerifyError::TooLarge
    );

    // Scopes, permissions and other claims come through.
    let c = v
        .verify(&k.access(json!({"permissions": ["read:appointments"], "org_id": "o1"})))
        .await
        .unwrap();
    assert!(c.has_permission("read:appointments") && !c.has_permission("write:appointments"));
    assert!(c.has_scope("write:appointments"));
    assert_eq!(c.extra["org_id"], json!("o1"));
}

#[tokio::test]
async fn another_issuer_reusing_our_kid_does_not_verify() {
    let ours = TestKey::new(SigningAlg::RS256, "shared-kid");
    let theirs = TestKey::new(SigningAlg::RS256, "shared-kid");
    let our_jwks = jwks_server(jwks(&[&ours]), "max-age=60").await;
    let their_jwks = jwks_server(jwks(&[&theirs]), "max-age=60").await;
    let v = AccessTokenVerifier::new(&our_jwks.url, ISS, vec![API.into()])
        .with_options(options_at_now());
    let theirs_v =
        AccessTokenVerifier::new(&their_jwks.url, "https://evil.example/", vec![API.into()])
            .with_options(options_at_now());

    // Their token, naming their issuer or ours, with our kid.
    for iss in ["https://evil.example/", ISS] {
        let token = theirs.access(json!({ "iss": iss }));
        assert_eq!(
            v.verify(&token).await.unwrap_err(),
            VerifyError::BadSignature
        );
    }
    // It is a good token for them (so the refusal is about the key).
    theirs_v
        .verify(&theirs.access(json!({"iss": "https://evil.example/"})))
        .await
        .unwrap();
    assert!(v.verify(&ours.access(json!({}))).await.is_ok());
}
