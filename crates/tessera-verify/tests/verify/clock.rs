//! The injected clock decides every time check: the same verifier and the same
//! token pass or fail as only the clock moves. The default clock is the
//! system's.

use std::sync::Arc;

use serde_json::json;
use tessera_core::keys::SigningAlg;
use tessera_verify::{
    AccessTokenVerifier, Clock, FixedClock, IdTokenExpectations, IdTokenVerifier, Options,
    SystemClock, VerifyError,
};

use crate::common::{API, ISS, NOW, TestKey, jwks};

#[tokio::test]
async fn the_injected_clock_decides_expiry_and_not_before() {
    let k = TestKey::new(SigningAlg::ES256, "k1");
    let clock = Arc::new(FixedClock::new(NOW));
    let v = AccessTokenVerifier::from_jwks(&jwks(&[&k]), ISS, vec![API.into()])
        .unwrap()
        .with_options(Options::builder().clock(clock.clone()).build().unwrap());
    // Issued at NOW, valid from NOW + 100, expires at NOW + 600; leeway 60 s.
    let token = k.access(json!({"nbf": NOW + 100}));

    clock.set(NOW + 39);
    assert_eq!(
        v.verify(&token).await.unwrap_err(),
        VerifyError::NotYetValid { seconds_until: 61 }
    );
    clock.set(NOW + 40);
    assert!(v.verify(&token).await.is_ok());
    clock.set(NOW + 600 + 59);
    assert!(v.verify(&token).await.is_ok());
    clock.set(NOW + 600 + 60);
    assert_eq!(
        v.verify(&token).await.unwrap_err(),
        VerifyError::Expired { seconds_ago: 60 }
    );
    clock.advance(14 * 60 - 60);
    let err = v.verify(&token).await.unwrap_err();
    assert_eq!(
        err,
        VerifyError::Expired {
            seconds_ago: 14 * 60
        }
    );
    assert_eq!(err.to_string(), "expired 14 minutes ago");
    // Back in time: the same token is good again.
    clock.set(NOW + 300);
    assert!(v.verify(&token).await.is_ok());

    // `iat` is judged by the same clock.
    let plain = k.access(json!({}));
    clock.set(NOW - 61);
    assert_eq!(
        v.verify(&plain).await.unwrap_err(),
        VerifyError::IssuedInFuture
    );
    clock.set(NOW - 60);
    assert!(v.verify(&plain).await.is_ok());

    // A plain function is a clock too.
    let later = v
        .clone()
        .with_options(Options::builder().clock(|| NOW + 10_000).build().unwrap());
    assert_eq!(
        later.verify(&plain).await.unwrap_err(),
        VerifyError::Expired {
            seconds_ago: 10_000 - 600
        }
    );
}

#[tokio::test]
async fn the_injected_clock_decides_an_id_tokens_max_age() {
    let k = TestKey::new(SigningAlg::RS256, "k1");
    let clock = Arc::new(FixedClock::new(NOW));
    let app = IdTokenVerifier::from_jwks(&jwks(&[&k]), ISS, "app-client")
        .unwrap()
        .with_options(Options::builder().clock(clock.clone()).build().unwrap());
    let token = k.sign(
        json!({"alg": "RS256", "kid": "k1", "typ": "JWT"}),
        json!({"iss": ISS, "sub": "auth0|u1", "aud": "app-client", "iat": NOW,
            "exp": NOW + 86_400, "auth_time": NOW - 100, "nonce": "n-1"}),
    );
    let expect = IdTokenExpectations {
        nonce: Some("n-1".into()),
        max_age: Some(3600),
    };
    assert!(app.verify(&token, &expect).await.is_ok());
    // auth_time + max_age + leeway is the last second the login counts.
    clock.set(NOW - 100 + 3600 + 60);
    assert!(app.verify(&token, &expect).await.is_ok());
    clock.advance(1);
    assert_eq!(
        app.verify(&token, &expect).await.unwrap_err(),
        VerifyError::AuthTooOld
    );
    // Without max_age only exp counts, by the same clock.
    assert!(
        app.verify(&token, &IdTokenExpectations::default())
            .await
            .is_ok()
    );
    clock.set(NOW + 86_400 + 60);
    assert_eq!(
        app.verify(&token, &IdTokenExpectations::default())
            .await
            .unwrap_err(),
        VerifyError::Expired { seconds_ago: 60 }
    );
}

#[tokio::test]
async fn the_default_clock_is_the_system_clock() {
    let k = TestKey::new(SigningAlg::EdDSA, "k1");
    let v = AccessTokenVerifier::from_jwks(&jwks(&[&k]), ISS, vec![API.into()]).unwrap();
    let now = SystemClock.now();
    assert!(
        v.verify(&k.access(json!({"iat": now, "exp": now + 600})))
            .await
            .is_ok()
    );
    // A token valid at NOW (2023) has long expired by the system's clock.
    assert!(matches!(
        v.verify(&k.access(json!({}))).await,
        Err(VerifyError::Expired { seconds_ago }) if seconds_ago >= now - NOW - 600
    ));
    assert!(matches!(
        v.verify(&k.access(json!({"iat": now - 3600, "exp": now - 3600}))).await,
        Err(VerifyError::Expired { seconds_ago }) if (3600..3660).contains(&seconds_ago)
    ));
}
