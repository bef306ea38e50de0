//! `/api/v2/clients/{id}/credentials` and `client_authentication_methods`:
//! scopes, who must not get in, and what keys are refused.

use serde_json::json;
use tessera_core::error::Reason;
use tessera_core::jwt;
use tessera_core::store::CredentialStore;

use super::*;

const SCOPES: [&str; 4] = [
    "read:client_credentials",
    "create:client_credentials",
    "update:client_credentials",
    "delete:client_credentials",
];

fn path(id: &str) -> String {
    format!("api/v2/clients/{id}/credentials")
}

async fn post_key(s: &TestServer, token: &str, id: &str, body: Value) -> Reply {
    s.api(Method::POST, &path(id), token, Some(body)).await
}

fn assert_bad(r: &Reply, property: &str) {
    assert_mgmt_error(r, 400, "invalid_body");
    assert!(
        r.body["message"].as_str().unwrap().contains(property),
        "{property}: {r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_needs_its_scope_and_a_management_token() {
    let s = start().await;
    let admin = s.admin_token().await;
    let (id, _) = s.m2m_client(&s.management_audience(), &[]).await;
    let key = TestKey::rsa("RS256");
    let cred = add_credential(&s, &admin, &id, &key, false).await;
    let one = format!("{}/{}", path(&id), cred["id"].as_str().unwrap());
    let body = json!({"credential_type": "public_key", "pem": TestKey::ec().pem, "alg": "ES256"});
    let endpoints: [(Method, String, Option<Value>, &str); 5] = [
        (Method::GET, path(&id), None, SCOPES[0]),
        (Method::GET, one.clone(), None, SCOPES[0]),
        (Method::POST, path(&id), Some(body), SCOPES[1]),
        (
            Method::PATCH,
            one.clone(),
            Some(json!({"expires_at": "2999-01-01T00:00:00Z"})),
            SCOPES[2],
        ),
        (Method::DELETE, one.clone(), None, SCOPES[3]),
    ];
    // Tokens that are not the Management API's: a user's, an ID token, another API's.
    let t = now();
    let sign = |typ: &str, c: Value| jwt::sign(s.state.keys.current().signer(), typ, &c).unwrap();
    let all = SCOPES.join(" ");
    let user = sign(
        jwt::TYP_AT_JWT,
        json!({"iss": s.base, "sub": "auth0|u", "aud": s.management_audience(), "iat": t, "exp": t + 60, "jti": "u1", "client_id": ADMIN_ID, "scope": all}),
    );
    let id_token = sign(
        jwt::TYP_JWT,
        json!({"iss": s.base, "sub": "auth0|u", "aud": ADMIN_ID, "iat": t, "exp": t + 60}),
    );
    let other_api = sign(
        jwt::TYP_AT_JWT,
        json!({"iss": s.base, "sub": format!("{ADMIN_ID}@clients"), "aud": "https://orders.example/", "iat": t, "exp": t + 60, "jti": "o1", "client_id": ADMIN_ID, "gty": "client-credentials", "scope": all}),
    );
    for (method, p, body, needed) in endpoints {
        let others: Vec<&str> = SCOPES
            .iter()
            .copied()
            .filter(|sc| *sc != needed)
            .chain([
                "read:clients",
                "update:clients",
                "create:clients",
                "delete:clients",
                "read:client_keys",
                "update:client_keys",
            ])
            .collect();
        let token = s.token_with_scopes(&others).await;
        let r = s.api(method.clone(), &p, &token, body.clone()).await;
        assert_mgmt_error(&r, 403, "insufficient_scope");
        assert!(
            r.body["message"].as_str().unwrap().contains(needed),
            "{r:?}"
        );
        for bad in [&user, &id_token, &other_api] {
            let r = s.api(method.clone(), &p, bad, body.clone()).await;
            assert_mgmt_error(&r, 401, "invalid_token");
        }
        let token = s.token_with_scopes(&[needed]).await;
        let r = s.api(method.clone(), &p, &token, body).await;
        assert!(r.status < 300, "{method} {p} with {needed}: {r:?}");
    }
    let res = http().get(s.url(&path(&id))).send().await.unwrap();
    assert_mgmt_error(&reply(res).await, 401, "missing_token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_are_auth0_shaped_and_bound_to_their_client() {
    let s = start().await;
    let admin = s.admin_token().await;
    let (a, _) = s.m2m_client(&s.management_audience(), &[]).await;
    let (b, _) = s.m2m_client(&s.management_audience(), &[]).await;
    let key = TestKey::rsa("RS384");
    let r = post_key(
        &s,
        &admin,
        &a,
        json!({"credential_type": "public_key", "name": "rotation 1", "pem": key.pem, "alg": "RS384",
               "expires_at": "2999-12-31T23:59:59Z", "kid": "my-own-kid-1"}),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    let cred = r.body.clone();
    assert!(cred["id"].as_str().unwrap().starts_with("cred_"));
    assert_eq!(cred["name"], "rotation 1");
    assert_eq!(cred["alg"], "RS384");
    assert_eq!(cred["kid"], "my-own-kid-1");
    assert_eq!(cred["credential_type"], "public_key");
    assert_eq!(cred["expires_at"], "2999-12-31T23:59:59.000Z");
    assert!(cred["created_at"].is_string() && cred["updated_at"].is_string());
    for secretish in ["pem", "jwk", "n", "key", "client_id"] {
        assert!(cred.get(secretish).is_none(), "{secretish}: {cred:?}");
    }
    let cid = cred["id"].as_str().unwrap();
    // The same key twice (same kid): a conflict.
    let r = post_key(&s, &admin, &a, json!({"credential_type": "public_key", "pem": key.pem, "alg": "RS384", "kid": "my-own-kid-1"})).await;
    assert_mgmt_error(&r, 409, "credential_conflict");
    // Listed under its client only; another client's path does not reach it.
    let listed = s.api(Method::GET, &path(&a), &admin, None).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1, "{listed:?}");
    let other = s.api(Method::GET, &path(&b), &admin, None).await;
    assert_eq!(other.body, json!([]));
    let wrong = format!("{}/{cid}", path(&b));
    for method in [Method::GET, Method::DELETE] {
        let r = s.api(method, &wrong, &admin, None).await;
        assert_mgmt_error(&r, 404, "inexistent_credential");
    }
    let r = s
        .api(
            Method::PATCH,
            &wrong,
            &admin,
            Some(json!({"expires_at": null})),
        )
        .await;
    assert_mgmt_error(&r, 404, "inexistent_credential");
    // Unknown clients.
    assert_mgmt_error(
        &s.api(Method::GET, &path("nobody"), &admin, None).await,
        404,
        "inexistent_client",
    );
    // PATCH: expires_at only, in the future, null removes it.
    let one = format!("{}/{cid}", path(&a));
    let r = s
        .api(
            Method::PATCH,
            &one,
            &admin,
            Some(json!({"expires_at": "2001-01-01T00:00:00Z"})),
        )
        .await;
    assert_bad(&r, "expires_at");
    let r = s
        .api(Method::PATCH, &one, &admin, Some(json!({"name": "x"})))
        .await;
    assert_mgmt_error(&r, 400, "invalid_body");
    let r = s
        .api(
            Method::PATCH,
            &one,
            &admin,
            Some(json!({"expires_at": null})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.get("expires_at").is_none(), "{r:?}");
    // A client's credentials go with it.
    let r = s
        .api(Method::DELETE, &format!("api/v2/clients/{a}"), &admin, None)
        .await;
    assert_eq!(r.status, 204);
    assert!(
        s.store
            .list_client_credentials(&a)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_weak_mismatched_and_malformed_keys_are_refused() {
    let s = start().await;
    let admin = s.admin_token().await;
    let (id, _) = s.m2m_client(&s.management_audience(), &[]).await;
    let rsa = TestKey::rsa("RS256");
    let ec = TestKey::ec();
    let with = |extra: Value| {
        let mut b = json!({"credential_type": "public_key"});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let mut private_jwk = rsa.jwk.clone();
    private_jwk["d"] = json!("AQAB");
    let weak_n = URL_SAFE_NO_PAD.encode([0xc5u8; 128]);
    let cases: Vec<(Value, &str)> = vec![
        (with(json!({"pem": rsa.private_pem()})), "pem"),
        (
            with(json!({"pem": rsa.private_pem().replace("PRIVATE KEY", "RSA PRIVATE KEY")})),
            "pem",
        ),
        (
            with(json!({"pem": format!("{}{}", rsa.pem, ec.private_pem())})),
            "pem",
        ),
        (with(json!({"jwk": private_jwk})), "jwk"),
        (with(json!({"jwk": {"kty": "oct", "k": "c2VjcmV0"}})), "jwk"),
        (
            with(json!({"jwk": {"kty": "RSA", "n": weak_n, "e": "AQAB"}})),
            "jwk",
        ),
        // A public exponent of 34 bits (2^33 + 1): at most 33 are accepted.
        (
            with(
                json!({"jwk": {"kty": "RSA", "n": rsa.jwk["n"], "e": URL_SAFE_NO_PAD.encode([2u8, 0, 0, 0, 1])}}),
            ),
            "jwk",
        ),
        (
            with(
                json!({"pem": "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n"}),
            ),
            "pem",
        ),
        (with(json!({"pem": "hello"})), "pem"),
        (
            with(json!({"pem": rsa.pem.replace("PUBLIC KEY", "CERTIFICATE")})),
            "pem",
        ),
        (with(json!({"pem": ec.pem, "alg": "RS256"})), "alg"),
        (with(json!({"pem": rsa.pem, "alg": "ES256"})), "alg"),
        (with(json!({"pem": rsa.pem, "alg": "HS256"})), "alg"),
        (with(json!({"pem": rsa.pem, "alg": "none"})), "alg"),
        (with(json!({"pem": rsa.pem, "jwk": rsa.jwk})), "pem"),
        (with(json!({})), "pem"),
        (with(json!({"pem": rsa.pem, "kid": "short"})), "kid"),
        (
            with(json!({"pem": rsa.pem, "expires_at": "2001-01-01T00:00:00Z"})),
            "expires_at",
        ),
        (
            with(json!({"pem": rsa.pem, "expires_at": "tomorrow"})),
            "expires_at",
        ),
        (
            with(json!({"pem": rsa.pem, "parse_expiry_from_cert": true})),
            "parse_expiry_from_cert",
        ),
        (
            with(json!({"pem": rsa.pem, "name": "n".repeat(129)})),
            "name",
        ),
        (with(json!({"pem": "A".repeat(20_000)})), "pem"),
        (json!({"pem": rsa.pem}), "credential_type"),
        (
            json!({"credential_type": "x509_cert", "pem": rsa.pem}),
            "credential_type",
        ),
        (
            json!({"credential_type": "cert_subject_dn", "subject_dn": "CN=x"}),
            "credential_type",
        ),
    ];
    for (body, property) in cases {
        let r = post_key(&s, &admin, &id, body.clone()).await;
        assert_bad(&r, property);
        assert!(
            !r.body["message"].as_str().unwrap().contains("MII"),
            "no key material echoed: {r:?}"
        );
    }
    // An unknown property: Auth0's message.
    let r = post_key(
        &s,
        &admin,
        &id,
        with(json!({"pem": rsa.pem, "secret": "x"})),
    )
    .await;
    assert_mgmt_error(&r, 400, "invalid_body");
    assert!(
        s.store
            .list_client_credentials(&id)
            .await
            .unwrap()
            .is_empty()
    );
    // A PKCS#1 RSA public key and an X.509 certificate are public keys.
    let pkcs1 = {
        let der = STANDARD
            .decode(
                rsa.pem
                    .lines()
                    .filter(|l| !l.starts_with("-----"))
                    .collect::<String>(),
            )
            .unwrap();
        // SPKI = SEQUENCE { AlgorithmIdentifier (15 bytes), BIT STRING { 0x00, RSAPublicKey } }
        let inner = &der[24..];
        pem("RSA PUBLIC KEY", inner)
    };
    let r = post_key(&s, &admin, &id, with(json!({"pem": pkcs1}))).await;
    assert_eq!(r.status, 201, "{r:?}");
    let cert = rcgen::generate_simple_self_signed(vec!["client.example".into()]).unwrap();
    let r = post_key(
        &s,
        &admin,
        &id,
        with(json!({"pem": cert.cert.pem(), "alg": "ES256", "parse_expiry_from_cert": true})),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert!(r.body["expires_at"].is_string(), "{r:?}");
    assert!(r.body["thumbprint_sha256"].is_string(), "{r:?}");
    assert!(
        r.body["subject_dn"].as_str().unwrap().contains("CN="),
        "{r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enabling_credentials_needs_update_client_credentials() {
    let s = start().await;
    let admin = s.admin_token().await;
    let key = TestKey::rsa("RS256");
    let (id, old_secret) = s
        .m2m_client(&s.management_audience(), &["read:clients"])
        .await;
    let (other, _) = s.m2m_client(&s.management_audience(), &[]).await;
    let mine = add_credential(&s, &admin, &id, &key, false).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let theirs = add_credential(&s, &admin, &other, &TestKey::ec(), false).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let client = format!("api/v2/clients/{id}");
    let methods = |ids: &[&str]| {
        let list: Vec<Value> = ids.iter().map(|i| json!({"id": i})).collect();
        json!({"client_authentication_methods": {"private_key_jwt": {"credentials": list}}})
    };
    // update:clients (even with update:client_keys) cannot enable a key.
    let narrow = s
        .token_with_scopes(&["update:clients", "update:client_keys"])
        .await;
    let r = s
        .api(Method::PATCH, &client, &narrow, Some(methods(&[&mine])))
        .await;
    assert_mgmt_error(&r, 403, "insufficient_scope");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("update:client_credentials")
    );
    let got = s.api(Method::GET, &client, &admin, None).await;
    assert!(
        got.body.get("client_authentication_methods").is_none(),
        "{got:?}"
    );
    // Another client's credential, an unknown one, the same one twice, three,
    // an empty list, together with token_endpoint_auth_method: refused.
    for body in [
        methods(&[&theirs]),
        methods(&["cred_unknown"]),
        methods(&[&mine, &mine]),
        methods(&[&mine, &theirs, "cred_x"]),
        methods(&[]),
        {
            let mut b = methods(&[&mine]);
            b["token_endpoint_auth_method"] = json!("client_secret_post");
            b
        },
    ] {
        let r = s.api(Method::PATCH, &client, &admin, Some(body)).await;
        assert_mgmt_error(&r, 400, "invalid_body");
    }
    // Enabled: the answer shows it, and token_endpoint_auth_method is null.
    let r = enable(&s, &admin, &id, &[&mine]).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["token_endpoint_auth_method"], Value::Null, "{r:?}");
    assert_eq!(
        r.body["client_authentication_methods"],
        json!({"private_key_jwt": {"credentials": [{"id": mine}]}})
    );
    // update:clients alone can neither turn it off nor switch to a secret.
    let narrow = s.token_with_scopes(&["update:clients"]).await;
    for body in [
        json!({"client_authentication_methods": null}),
        json!({"token_endpoint_auth_method": "client_secret_post"}),
    ] {
        let r = s.api(Method::PATCH, &client, &narrow, Some(body)).await;
        assert_mgmt_error(&r, 403, "insufficient_scope");
    }
    // ... but may change other things.
    let r = s
        .api(
            Method::PATCH,
            &client,
            &narrow,
            Some(json!({"description": "d"})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["token_endpoint_auth_method"], Value::Null);
    // Back to a secret makes a NEW one: that needs update:client_keys too
    // (the secret private_key_jwt replaced never comes back).
    let creds = s
        .token_with_scopes(&["update:clients", "update:client_credentials"])
        .await;
    let back = json!({"token_endpoint_auth_method": "client_secret_basic"});
    let r = s
        .api(Method::PATCH, &client, &creds, Some(back.clone()))
        .await;
    assert_mgmt_error(&r, 403, "insufficient_scope");
    let creds = s
        .token_with_scopes(&[
            "update:clients",
            "update:client_credentials",
            "update:client_keys",
        ])
        .await;
    let r = s.api(Method::PATCH, &client, &creds, Some(back)).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.body.get("client_authentication_methods").is_none(),
        "{r:?}"
    );
    assert_eq!(r.body["token_endpoint_auth_method"], "client_secret_basic");
    let new_secret = r.body["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, old_secret);
    let r = basic_token(&s, &id, &old_secret).await;
    crate::token::assert_oauth_error(&r, 401, "invalid_client", Reason::ClientCredentialsInvalid);
    assert_eq!(basic_token(&s, &id, &new_secret).await.status, 200);
    // A public client cannot use private_key_jwt.
    let spa =
        crate::clients::create_client(&s, &admin, json!({"name": "spa", "app_type": "spa"})).await;
    let spa_id = spa["client_id"].as_str().unwrap();
    let spa_cred = add_credential(&s, &admin, spa_id, &key, false).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = enable(&s, &admin, spa_id, &[&spa_cred]).await;
    assert_mgmt_error(&r, 400, "invalid_body");
    // At creation: refused with a pointer to the steps.
    let r = s
        .api(Method::POST, "api/v2/clients", &admin, Some(json!({"name": "c", "client_authentication_methods": {"private_key_jwt": {"credentials": []}}})))
        .await;
    assert_mgmt_error(&r, 400, "invalid_body");
}

/// What the client's secret obtained goes when `private_key_jwt` replaces it,
/// and what a credential obtained goes when that enabled credential is deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacing_or_deleting_a_credential_revokes_what_it_obtained() {
    let s = start().await;
    let admin = s.admin_token().await;
    let (id, secret) = s
        .m2m_client(&s.management_audience(), &["read:clients"])
        .await;
    let by_secret = basic_token(&s, &id, &secret).await;
    let by_secret = by_secret.body["access_token"].as_str().unwrap().to_owned();
    let works = |token: String| {
        let s = &s;
        async move { s.api(Method::GET, "api/v2/clients", &token, None).await }
    };
    assert_eq!(works(by_secret.clone()).await.status, 200);

    let key = TestKey::rsa("RS256");
    let cred = add_credential(&s, &admin, &id, &key, false).await;
    let cred_id = cred["id"].as_str().unwrap().to_owned();
    assert_eq!(enable(&s, &admin, &id, &[&cred_id]).await.status, 200);
    assert_mgmt_error(&works(by_secret).await, 401, "invalid_token");

    crate::clients::next_second().await;
    let r = token_with(&s, &key.sign(&claims(&s, &id)), &[]).await;
    assert_eq!(r.status, 200, "{r:?}");
    let by_key = r.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(works(by_key.clone()).await.status, 200);
    let r = s
        .api(
            Method::DELETE,
            &format!("{}/{cred_id}", path(&id)),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_mgmt_error(&works(by_key).await, 401, "invalid_token");
    // And the deleted key signs nothing any more.
    let r = token_with(&s, &key.sign(&claims(&s, &id)), &[]).await;
    assert_eq!(r.status, 401, "{r:?}");
}
