//! Client assertions at the token endpoint: every algorithm works, and every
//! malformed, replayed, misaddressed or mis-signed assertion is refused
//! `invalid_client` (401) with its own reason.

use reqwest::Method;
use serde_json::json;
use tessera_core::error::Reason;
use tessera_core::store::{CredentialStore, TenantStore};

use super::*;
use crate::token::assert_oauth_error;

fn refused(r: &Reply, reason: Reason) {
    assert_oauth_error(r, 401, "invalid_client", reason);
}

/// A failure before the signature verifies: its own reason, but on the wire
/// the one description every such failure has (the unknown client's), so it
/// tells nothing of the client, its keys or their algorithms.
fn refused_alike(r: &Reply, reason: Reason) {
    refused(r, reason);
    assert_eq!(
        r.body["error_description"],
        tessera_core::client_auth::WRONG_CLIENT,
        "{r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_algorithm_authenticates_from_pem_and_jwk() {
    let s = start().await;
    let admin = s.admin_token().await;
    for (key, as_jwk) in [
        (TestKey::rsa("RS256"), false),
        (TestKey::rsa("RS384"), true),
        (TestKey::rsa("PS256"), false),
        (TestKey::ec(), true),
    ] {
        let (id, _, _) = pkj_client(&s, &admin, &key, as_jwk).await;
        let r = token_with(&s, &key.sign(&claims(&s, &id)), &[]).await;
        assert_eq!(r.status, 200, "{}: {r:?}", key.alg);
        // The token it got works at the Management API.
        let token = r.body["access_token"].as_str().unwrap();
        let got = s.api(Method::GET, "api/v2/clients", token, None).await;
        assert_eq!(got.status, 200, "{got:?}");
        // aud may be the token endpoint, alone in an array; client_id may be sent.
        let mut c = claims(&s, &id);
        c["aud"] = json!([s.url("oauth/token")]);
        let r = token_with(&s, &key.sign(&c), &[("client_id", &id)]).await;
        assert_eq!(r.status, 200, "{}: {r:?}", key.alg);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_claims_are_refused_each_with_its_reason() {
    let s = start().await;
    let admin = s.admin_token().await;
    let key = TestKey::rsa("RS256");
    let (id, _, _) = pkj_client(&s, &admin, &key, false).await;
    let t = now();

    // Replay: the same assertion twice.
    let once = key.sign(&claims(&s, &id));
    assert_eq!(token_with(&s, &once, &[]).await.status, 200);
    refused(
        &token_with(&s, &once, &[]).await,
        Reason::ClientAssertionReplayed,
    );

    let cases: Vec<(&str, serde_json::Value, Reason)> = vec![
        (
            "aud",
            json!("https://other.example/"),
            Reason::ClientAssertionWrongAudience,
        ),
        (
            "aud",
            json!([s.url("api/v2/")]),
            Reason::ClientAssertionWrongAudience,
        ),
        (
            "aud",
            json!([s.base, "https://elsewhere.example/"]),
            Reason::ClientAssertionWrongAudience,
        ),
        (
            "aud",
            json!([s.base, s.url("oauth/token")]),
            Reason::ClientAssertionWrongAudience,
        ),
        ("exp", json!(t - 120), Reason::ClientAssertionExpired),
        // The boundary: refused from exp + LEEWAY on (the server's clock is
        // at or past the test's `t`).
        (
            "exp",
            json!(t - tessera_core::client_assertion::LEEWAY),
            Reason::ClientAssertionExpired,
        ),
        (
            "exp",
            json!(t + 3600),
            Reason::ClientAssertionLifetimeTooLong,
        ),
        ("nbf", json!(t + 600), Reason::ClientAssertionNotYetValid),
        ("iat", json!(t + 600), Reason::ClientAssertionNotYetValid),
        (
            "sub",
            json!("someone-else"),
            Reason::ClientAssertionSubjectMismatch,
        ),
    ];
    for (claim, value, reason) in cases {
        let mut c = claims(&s, &id);
        c[claim] = value;
        refused(&token_with(&s, &key.sign(&c), &[]).await, reason);
    }
    for missing in ["jti", "exp", "aud"] {
        let mut c = claims(&s, &id);
        c.as_object_mut().unwrap().remove(missing);
        let r = token_with(&s, &key.sign(&c), &[]).await;
        let expected = if missing == "aud" {
            Reason::ClientAssertionWrongAudience
        } else {
            Reason::ClientAssertionClaimMissing
        };
        refused(&r, expected);
    }
    // client_id naming another client than the assertion.
    let r = token_with(&s, &key.sign(&claims(&s, &id)), &[("client_id", ADMIN_ID)]).await;
    refused_alike(&r, Reason::ClientAssertionSubjectMismatch);
    // An assertion naming a client that does not exist.
    let r = token_with(&s, &key.sign(&claims(&s, "ghost")), &[]).await;
    refused_alike(&r, Reason::ClientCredentialsInvalid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_clients_own_key_and_algorithm_sign() {
    let s = start().await;
    let admin = s.admin_token().await;
    let key = TestKey::rsa("RS256");
    let (id, cred, _) = pkj_client(&s, &admin, &key, false).await;
    let c = || claims(&s, &id);

    // alg none, with and without a signature.
    let none = key.sign_as("RS256", &json!({"alg": "none"}), &c());
    refused_alike(
        &token_with(&s, &none, &[]).await,
        Reason::ClientAssertionAlgorithm,
    );
    let unsigned = format!("{}.", none.rsplit_once('.').unwrap().0);
    refused_alike(
        &token_with(&s, &unsigned, &[]).await,
        Reason::ClientAssertionAlgorithm,
    );
    // HS256 keyed with the public key: its PEM bytes, its JWK's bytes.
    for secret in [key.pem.clone(), key.jwk.to_string()] {
        let forged = hs256(secret.as_bytes(), &c());
        refused_alike(
            &token_with(&s, &forged, &[]).await,
            Reason::ClientAssertionAlgorithm,
        );
    }
    // The right key, another algorithm than the credential's.
    let ps = key.sign_as("PS256", &json!({"alg": "PS256"}), &c());
    refused_alike(
        &token_with(&s, &ps, &[]).await,
        Reason::ClientAssertionAlgorithm,
    );
    // Another client's key: with its kid (no such credential here), without.
    let other = TestKey::rsa("RS256");
    let (_, other_cred, _) = pkj_client(&s, &admin, &other, false).await;
    let other_kid = s
        .api(
            Method::GET,
            &format!("api/v2/clients/{id}/credentials"),
            &admin,
            None,
        )
        .await;
    assert_eq!(other_kid.status, 200);
    let with_kid = other.sign_as(
        "RS256",
        &json!({"alg": "RS256", "kid": "not-this-clients-kid"}),
        &c(),
    );
    refused_alike(
        &token_with(&s, &with_kid, &[]).await,
        Reason::ClientAssertionUnknownKey,
    );
    refused_alike(
        &token_with(&s, &other.sign(&c()), &[]).await,
        Reason::ClientAssertionBadSignature,
    );
    let _ = other_cred;
    // Garbage, a truncated signature, an oversized assertion, crit.
    refused_alike(
        &token_with(&s, "not.a.jwt", &[]).await,
        Reason::ClientAssertionMalformed,
    );
    refused_alike(
        &token_with(&s, "garbage", &[]).await,
        Reason::ClientAssertionMalformed,
    );
    let good = key.sign(&c());
    let truncated = &good[..good.len() - 10];
    refused_alike(
        &token_with(&s, truncated, &[]).await,
        Reason::ClientAssertionBadSignature,
    );
    let huge = format!("{}{}", good, "A".repeat(9000));
    refused_alike(
        &token_with(&s, &huge, &[]).await,
        Reason::ClientAssertionTooLarge,
    );
    let crit = key.sign_as("RS256", &json!({"alg": "RS256", "crit": ["exp"]}), &c());
    refused_alike(
        &token_with(&s, &crit, &[]).await,
        Reason::ClientAssertionMalformed,
    );

    // The credential's kid selects it.
    let listed = s
        .api(
            Method::GET,
            &format!("api/v2/clients/{id}/credentials/{cred}"),
            &admin,
            None,
        )
        .await;
    let kid = listed.body["kid"].as_str().unwrap().to_owned();
    let with_kid = key.sign_as("RS256", &json!({"alg": "RS256", "kid": kid}), &c());
    assert_eq!(token_with(&s, &with_kid, &[]).await.status, 200);

    // An expired credential verifies nothing.
    let mut stored = s
        .store
        .get_client_credential(&id, &cred)
        .await
        .unwrap()
        .unwrap();
    stored.expires_at = Some(now() - 1);
    assert!(s.store.update_client_credential(&stored).await.unwrap());
    refused_alike(
        &token_with(&s, &key.sign(&c()), &[]).await,
        Reason::ClientAssertionUnknownKey,
    );
    stored.expires_at = None;
    assert!(s.store.update_client_credential(&stored).await.unwrap());
    assert_eq!(token_with(&s, &key.sign(&c()), &[]).await.status, 200);
    // A deleted credential verifies nothing (and leaves the client's list).
    let r = s
        .api(
            Method::DELETE,
            &format!("api/v2/clients/{id}/credentials/{cred}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    refused_alike(
        &token_with(&s, &key.sign(&c()), &[]).await,
        Reason::ClientAssertionUnknownKey,
    );
    let client = s
        .api(Method::GET, &format!("api/v2/clients/{id}"), &admin, None)
        .await;
    assert_eq!(
        client.body["client_authentication_methods"]["private_key_jwt"]["credentials"],
        json!([]),
        "{client:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_method_at_a_time_and_only_where_configured() {
    let s = start().await;
    let admin = s.admin_token().await;
    let key = TestKey::ec();
    let (id, cred, old_secret) = pkj_client(&s, &admin, &key, false).await;
    let assertion = key.sign(&claims(&s, &id));

    // With a secret in the body, or Basic.
    let r = token_with(&s, &assertion, &[("client_secret", "whatever-secret")]).await;
    refused_alike(&r, Reason::ClientAssertionWithSecret);
    let aud = s.management_audience();
    let res = http()
        .post(s.url("oauth/token"))
        .basic_auth(&id, Some("whatever"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("audience", aud.as_str()),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion.as_str()),
        ])
        .send()
        .await
        .unwrap();
    refused_alike(&reply(res).await, Reason::ClientAssertionWithSecret);
    // Another assertion type, or the type without an assertion.
    let aud = s.management_audience();
    for form in [
        vec![
            ("client_assertion_type", "urn:other"),
            ("client_assertion", assertion.as_str()),
        ],
        vec![("client_assertion_type", JWT_BEARER)],
        vec![("client_assertion", assertion.as_str())],
    ] {
        let mut f = vec![
            ("grant_type", "client_credentials"),
            ("audience", aud.as_str()),
        ];
        f.extend(form);
        refused_alike(
            &s.token_request(&f).await,
            Reason::ClientAssertionTypeUnsupported,
        );
    }

    // The private_key_jwt client's secret no longer works, nor does nothing.
    let (plain, secret) = s.m2m_client(&aud, &["read:clients"]).await;
    let stored = s.store.get_client(&id).await.unwrap().unwrap();
    assert!(stored.1.is_some(), "the client keeps its secret at rest");
    for secret in [Some(old_secret.as_str()), None] {
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("audience", aud.as_str()),
            ("client_id", id.as_str()),
        ];
        form.extend(secret.map(|v| ("client_secret", v)));
        refused_alike(
            &s.token_request(&form).await,
            Reason::ClientAssertionRequired,
        );
    }
    let res = http()
        .post(s.url("oauth/token"))
        .basic_auth(&id, Some(&old_secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("audience", aud.as_str()),
        ])
        .send()
        .await
        .unwrap();
    refused_alike(&reply(res).await, Reason::ClientAssertionRequired);

    // A client with a credential it did not enable, and a client with none.
    let cred_body = add_credential(&s, &admin, &plain, &key, false).await;
    assert!(cred_body["id"].is_string());
    let r = token_with(&s, &key.sign(&claims(&s, &plain)), &[]).await;
    refused_alike(&r, Reason::ClientAssertionNotAllowed);
    // Its secret still works.
    let r = s
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("audience", aud.as_str()),
            ("client_id", &plain),
            ("client_secret", &secret),
        ])
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    // A public client.
    let spa =
        crate::clients::create_client(&s, &admin, json!({"name": "spa", "app_type": "spa"})).await;
    let spa_id = spa["client_id"].as_str().unwrap();
    let r = token_with(&s, &key.sign(&claims(&s, spa_id)), &[]).await;
    refused_alike(&r, Reason::ClientAssertionNotAllowed);
    let _ = cred;
}
