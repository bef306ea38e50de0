//! Tokens minted by a real Tessera: every algorithm, the API's and the
//! application's view of them.

use serde_json::json;
use tessera_core::keys::SigningAlg;
use tessera_verify::{
    AccessTokenVerifier, Claims, IdTokenExpectations, IdTokenVerifier, VerifyError,
};

use crate::common::{API, NOW, api_token, at_now, options_at_now, sign_id_token, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_tokens_from_tessera_verify_for_every_algorithm() {
    for alg in SigningAlg::ALL {
        let s = start(alg).await;
        let token = api_token(&s, &["read:appointments"]).await;
        let v = AccessTokenVerifier::from_issuer(&s.base, vec![API.into()])
            .await
            .unwrap();
        assert_eq!(v.issuer(), s.base);
        let c: Claims = v
            .verify(&token)
            .await
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(c.iss, s.base);
        assert_eq!(c.aud, vec![API.to_string()]);
        assert!(c.has_scope("read:appointments"), "{alg}: {c:?}");
        assert!(!c.has_scope("write:appointments"));
        assert_eq!(c.gty.as_deref(), Some("client-credentials"));
        assert!(c.client_id.is_some() && c.jti.is_some() && c.iat.is_some());

        // The same token is not for another API...
        let other =
            AccessTokenVerifier::from_issuer(&s.base, vec!["https://other.example/".into()])
                .await
                .unwrap();
        assert!(matches!(
            other.verify(&token).await,
            Err(VerifyError::WrongAudience { .. })
        ));
        // ...nor from another issuer.
        let wrong_iss = AccessTokenVerifier::new(
            &s.url(".well-known/jwks.json"),
            "https://elsewhere.example/",
            vec![API.into()],
        );
        assert_eq!(
            wrong_iss.verify(&token).await.unwrap_err(),
            VerifyError::WrongIssuer {
                expected: "https://elsewhere.example/".into(),
                actual: s.base.clone()
            }
        );
        // A Management API token is an access token for the Management API.
        let mgmt = s.admin_token().await;
        let mv = AccessTokenVerifier::from_issuer(&s.base, vec![s.url("api/v2/")])
            .await
            .unwrap();
        assert!(mv.verify(&mgmt).await.unwrap().has_scope("read:clients"));
        assert!(matches!(
            v.verify(&mgmt).await,
            Err(VerifyError::WrongAudience { .. })
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_is_refused_by_an_api_and_checked_by_its_app() {
    let s = start(SigningAlg::RS256).await;
    // The ID tokens are crafted at NOW and checked by verifiers whose clock
    // stands there; the server's access token is refused before any time check.
    let t = NOW;
    let id_claims = json!({"iss": s.base, "sub": "auth0|u1", "aud": "app-client", "iat": t,
        "exp": t + 600, "auth_time": t - 30, "nonce": "n-123", "sid": "s1"});
    let id_token = sign_id_token(&s, id_claims.clone());

    let api = AccessTokenVerifier::from_issuer(&s.base, vec![API.into()])
        .await
        .unwrap();
    assert_eq!(
        api.verify(&id_token).await.unwrap_err(),
        VerifyError::IdToken {
            client_id: "app-client".into()
        }
    );
    // Even an issuer that accepts `typ: JWT` access tokens refuses it.
    let lenient = api
        .clone()
        .with_options(at_now().accept_plain_jwt_typ(true).build().unwrap());
    assert!(matches!(
        lenient.verify(&id_token).await,
        Err(VerifyError::IdToken { .. })
    ));

    let app = IdTokenVerifier::from_issuer(&s.base, "app-client")
        .await
        .unwrap()
        .with_options(options_at_now());
    let nonce = IdTokenExpectations {
        nonce: Some("n-123".into()),
        max_age: Some(3600),
    };
    let c = app.verify(&id_token, &nonce).await.unwrap();
    assert_eq!(c.sub, "auth0|u1");
    assert_eq!(
        app.verify(
            &id_token,
            &IdTokenExpectations {
                nonce: Some("other".into()),
                max_age: None
            }
        )
        .await
        .unwrap_err(),
        VerifyError::NonceMismatch
    );
    let old = sign_id_token(&s, {
        let mut c = id_claims.clone();
        c["auth_time"] = json!(t - 7200);
        c
    });
    assert_eq!(
        app.verify(&old, &nonce).await.unwrap_err(),
        VerifyError::AuthTooOld
    );
    let other_app = IdTokenVerifier::from_issuer(&s.base, "other-client")
        .await
        .unwrap()
        .with_options(options_at_now());
    assert!(matches!(
        other_app
            .verify(&id_token, &IdTokenExpectations::default())
            .await,
        Err(VerifyError::WrongAudience { .. })
    ));
    let several = sign_id_token(&s, {
        let mut c = id_claims.clone();
        c["aud"] = json!(["app-client", "someone-else"]);
        c
    });
    assert_eq!(
        app.verify(&several, &IdTokenExpectations::default())
            .await
            .unwrap_err(),
        VerifyError::AzpMismatch
    );
    let with_azp = sign_id_token(&s, {
        let mut c = id_claims.clone();
        c["aud"] = json!(["app-client", "someone-else"]);
        c["azp"] = json!("app-client");
        c
    });
    app.verify(&with_azp, &IdTokenExpectations::default())
        .await
        .unwrap();
    let expired = sign_id_token(&s, {
        let mut c = id_claims.clone();
        c["exp"] = json!(t - 3600);
        c
    });
    assert_eq!(
        app.verify(&expired, &IdTokenExpectations::default())
            .await
            .unwrap_err(),
        VerifyError::Expired { seconds_ago: 3600 }
    );
    // An access token is not an ID token.
    let at = api_token(&s, &["read:appointments"]).await;
    assert_eq!(
        app.verify(&at, &IdTokenExpectations::default())
            .await
            .unwrap_err(),
        VerifyError::WrongType(Some("at+jwt".into()))
    );
}
