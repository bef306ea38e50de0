//! Client assertions at revocation and introspection, and discovery.

use serde_json::json;
use tessera_core::error::Reason;

use super::*;
use crate::token::assert_oauth_error;

async fn post(s: &TestServer, path: &str, form: &[(&str, &str)]) -> Reply {
    reply(http().post(s.url(path)).form(form).send().await.unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_and_revocation_take_assertions() {
    let s = start().await;
    let admin = s.admin_token().await;
    let key = TestKey::rsa("PS256");
    let (id, _, _) = pkj_client(&s, &admin, &key, false).await;
    let r = token_with(&s, &key.sign(&claims(&s, &id)), &[]).await;
    assert_eq!(r.status, 200, "{r:?}");
    let token = r.body["access_token"].as_str().unwrap().to_owned();

    let form = |assertion: &str| {
        vec![
            ("token".to_owned(), token.clone()),
            ("client_assertion_type".to_owned(), JWT_BEARER.to_owned()),
            ("client_assertion".to_owned(), assertion.to_owned()),
        ]
    };
    let send = |path: &'static str, f: Vec<(String, String)>| {
        let s = &s;
        async move {
            let pairs: Vec<(&str, &str)> =
                f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            post(s, path, &pairs).await
        }
    };
    let once = key.sign(&claims(&s, &id));
    let r = send("oauth/introspect", form(&once)).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["active"], true, "{r:?}");
    assert_eq!(r.body["client_id"], json!(id));
    // The same assertion again, here or at revocation: replayed.
    for path in ["oauth/introspect", "oauth/revoke"] {
        let r = send(path, form(&once)).await;
        assert_oauth_error(&r, 401, "invalid_client", Reason::ClientAssertionReplayed);
    }
    // Wrong audience, alg none, HS256 with the public key: refused at both.
    let mut wrong = claims(&s, &id);
    wrong["aud"] = json!("https://other.example/");
    for path in ["oauth/introspect", "oauth/revoke"] {
        let r = send(path, form(&key.sign(&wrong))).await;
        assert_oauth_error(
            &r,
            401,
            "invalid_client",
            Reason::ClientAssertionWrongAudience,
        );
        let none = key.sign_as("PS256", &json!({"alg": "none"}), &claims(&s, &id));
        let r = send(path, form(&none)).await;
        assert_oauth_error(&r, 401, "invalid_client", Reason::ClientAssertionAlgorithm);
        let forged = hs256(key.pem.as_bytes(), &claims(&s, &id));
        let r = send(path, form(&forged)).await;
        assert_oauth_error(&r, 401, "invalid_client", Reason::ClientAssertionAlgorithm);
    }
    // Revocation with a fresh assertion works; the token is then inactive.
    let r = send("oauth/revoke", form(&key.sign(&claims(&s, &id)))).await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = send("oauth/introspect", form(&key.sign(&claims(&s, &id)))).await;
    assert_eq!(r.body, json!({"active": false}), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_lists_private_key_jwt_and_its_algorithms() {
    let s = start().await;
    let r = reply(
        http()
            .get(s.url(".well-known/openid-configuration"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    for m in [
        "token_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
    ] {
        let list = r.body[m].as_array().unwrap();
        assert!(list.contains(&json!("private_key_jwt")), "{m}: {r:?}");
    }
    for m in [
        "token_endpoint_auth_signing_alg_values_supported",
        "revocation_endpoint_auth_signing_alg_values_supported",
        "introspection_endpoint_auth_signing_alg_values_supported",
    ] {
        assert_eq!(
            r.body[m],
            json!(["RS256", "RS384", "PS256", "ES256"]),
            "{m}"
        );
    }
}
