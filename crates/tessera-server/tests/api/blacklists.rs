//! `/api/v2/blacklists/tokens`: a blacklisted jti is refused at once, here and
//! (through storage) on other nodes; the listing; validation and scopes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::clock::{Clock, SystemClock};
use tessera_core::revocation::Revocations;

use crate::common::*;

const PATH: &str = "api/v2/blacklists/tokens";

fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blacklisted_jti_is_refused_at_once() {
    let s = start().await;
    let aud = s.management_audience();
    let first = s.admin_token().await;
    let second = s.admin_token().await;
    let claims = payload(&first);
    let jti = claims["jti"].as_str().unwrap().to_owned();
    assert_ne!(jti, payload(&second)["jti"].as_str().unwrap());

    // Both work, and nothing is blacklisted yet.
    let r = s.api(Method::GET, PATH, &first, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, json!([]));

    let r = s
        .api(
            Method::POST,
            PATH,
            &second,
            Some(json!({ "jti": jti, "aud": aud })),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");

    // The first token is refused at once; the second still works.
    let r = s.api(Method::GET, PATH, &first, None).await;
    assert_mgmt_error(&r, 401, "invalid_token");
    assert!(
        r.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token"),
        "{r:?}"
    );
    assert_mgmt_error(
        &s.api(Method::GET, "api/v2/keys/signing", &first, None)
            .await,
        401,
        "invalid_token",
    );
    let r = s.api(Method::GET, PATH, &second, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, json!([{ "aud": aud, "jti": jti }]));

    // Another node learns of it from storage (at its next refresh).
    let other_node = Revocations::load(s.store.clone(), SystemClock.now())
        .await
        .unwrap();
    let audiences = vec![aud.clone()];
    assert!(other_node.is_revoked(&jti, ADMIN_ID, &audiences, claims["iat"].as_i64().unwrap()));
    assert!(!other_node.is_revoked(
        payload(&second)["jti"].as_str().unwrap(),
        ADMIN_ID,
        &audiences,
        claims["iat"].as_i64().unwrap()
    ));

    // Without an audience, and the filter.
    let r = s
        .api(
            Method::POST,
            PATH,
            &second,
            Some(json!({ "jti": "some-other-jti" })),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let r = s.api(Method::GET, PATH, &second, None).await;
    assert_eq!(
        r.body,
        json!([{ "jti": "some-other-jti" }, { "aud": aud, "jti": jti }]),
        "{r:?}"
    );
    let encoded: String = url::form_urlencoded::byte_serialize(aud.as_bytes()).collect();
    let r = s
        .api(Method::GET, &format!("{PATH}?aud={encoded}"), &second, None)
        .await;
    assert_eq!(r.body, json!([{ "aud": aud, "jti": jti }]), "{r:?}");
    let r = s
        .api(
            Method::GET,
            &format!("{PATH}?aud=https%3A%2F%2Fnowhere"),
            &second,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, json!([]), "{r:?}");

    // Blacklisting the same token again is harmless; it is listed once.
    let r = s
        .api(
            Method::POST,
            PATH,
            &second,
            Some(json!({ "jti": jti, "aud": aud })),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let r = s.api(Method::GET, PATH, &second, None).await;
    assert_eq!(r.body.as_array().unwrap().len(), 2, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blacklist_scopes_and_validation() {
    let s = start().await;
    let none = reply(http().get(s.url(PATH)).send().await.unwrap()).await;
    assert_mgmt_error(&none, 401, "missing_token");

    let reader = s
        .token_with_scopes(&["read:users", "read:signing_keys"])
        .await;
    assert_mgmt_error(
        &s.api(Method::GET, PATH, &reader, None).await,
        403,
        "insufficient_scope",
    );
    let r = s
        .api(Method::POST, PATH, &reader, Some(json!({ "jti": "x" })))
        .await;
    assert_mgmt_error(&r, 403, "insufficient_scope");
    // The refused request blacklisted nothing.
    let victim = s.admin_token().await;
    assert_eq!(
        s.api(Method::GET, PATH, &victim, None).await.body,
        json!([])
    );

    let token = s.token_with_scopes(&["blacklist:tokens"]).await;
    for (body, property) in [
        (json!({}), "jti"),
        (json!({ "jti": "" }), "jti"),
        (json!({ "jti": "two words" }), "jti"),
        (json!({ "jti": "x".repeat(513) }), "jti"),
        (json!({ "jti": 42 }), "jti"),
        (json!({ "jti": "ok", "aud": "" }), "aud"),
        (json!({ "jti": "ok", "aud": "has space" }), "aud"),
        (json!({ "jti": "ok", "unknown": true }), "unknown"),
    ] {
        let r = s.api(Method::POST, PATH, &token, Some(body.clone())).await;
        assert_mgmt_error(&r, 400, "invalid_body");
        assert!(
            r.body["message"].as_str().unwrap().contains(property),
            "{body}: {r:?}"
        );
    }
    let r = reply(
        http()
            .post(s.url(PATH))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_mgmt_error(&r, 400, "invalid_body");
    assert_mgmt_error(
        &s.api(Method::GET, &format!("{PATH}?bogus=1"), &token, None)
            .await,
        400,
        "invalid_query_string",
    );
    // Nothing was stored by the refused requests.
    assert_eq!(s.api(Method::GET, PATH, &token, None).await.body, json!([]));
    assert_eq!(s.api(Method::GET, PATH, &victim, None).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_the_blacklist_endpoints() {
    let s = start().await;
    let r = reply(
        http()
            .get(s.url("api/v2/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let ops = &r.body["paths"]["/api/v2/blacklists/tokens"];
    for (method, ok) in [("get", "200"), ("post", "201")] {
        assert_eq!(
            ops[method]["security"][0]["bearer"][0], "blacklist:tokens",
            "{ops}"
        );
        assert!(ops[method]["responses"][ok].is_object(), "{ops}");
    }
    assert!(ops["post"]["requestBody"].is_object(), "{ops}");
    assert_eq!(ops["get"]["parameters"][0]["name"], "aud", "{ops}");
    let body = &r.body["components"]["schemas"]["BlacklistTokenBody"];
    assert_eq!(body["required"], json!(["jti"]), "{body}");
}
