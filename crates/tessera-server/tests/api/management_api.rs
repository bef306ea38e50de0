//! The Management API's guard (which tokens it refuses, and how), the resource
//! server endpoints' scopes and shapes, and the OpenAPI document.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::json;
use tessera_core::clock::SystemClock;
use tessera_core::{Clock, jwt};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_api_refuses_everything_but_its_own_access_tokens() {
    let s = start().await;
    let path = "api/v2/resource-servers";
    // No token, a malformed header, garbage.
    let r = reply(http().get(s.url(path)).send().await.unwrap()).await;
    assert_mgmt_error(&r, 401, "missing_token");
    assert_eq!(r.headers["www-authenticate"], "Bearer realm=\"tessera\"");
    let r = reply(
        http()
            .get(s.url(path))
            .header("authorization", "Token abc")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_mgmt_error(&r, 401, "invalid_token");
    let r = s.api(Method::GET, path, "not.a.jwt", None).await;
    assert_mgmt_error(&r, 401, "invalid_token");
    assert!(
        r.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\"")
    );

    let now = SystemClock.now();
    let signer = s.state.keys.current().signer().clone();
    let good = json!({
        "iss": s.base, "sub": format!("{ADMIN_ID}@clients"), "aud": s.management_audience(), "iat": now, "exp": now + 60,
        "jti": "j1", "client_id": ADMIN_ID, "azp": ADMIN_ID, "scope": "read:resource_servers", "gty": "client-credentials"
    });
    // Control: a well-formed token signed by the server passes.
    let ok = jwt::sign(&signer, jwt::TYP_AT_JWT, &good).unwrap();
    assert_eq!(s.api(Method::GET, path, &ok, None).await.status, 200);
    // An ID token (typ JWT, aud = a client id, nonce) is refused with its own message.
    let id_token = jwt::sign(
        &signer,
        jwt::TYP_JWT,
        &json!({"iss": s.base, "sub": "auth0|1", "aud": s.management_audience(), "iat": now, "exp": now + 60, "nonce": "n"}),
    )
    .unwrap();
    let r = s.api(Method::GET, path, &id_token, None).await;
    assert_mgmt_error(&r, 401, "invalid_token");
    assert_eq!(r.reason(), Some(Reason::TokenIsIdToken), "{r:?}");
    // A token for another API.
    let mut other = good.clone();
    other["aud"] = json!("https://orders.example/");
    let r = s
        .api(
            Method::GET,
            path,
            &jwt::sign(&signer, jwt::TYP_AT_JWT, &other).unwrap(),
            None,
        )
        .await;
    assert_mgmt_error(&r, 401, "invalid_token");
    // Expired; another issuer.
    let mut expired = good.clone();
    expired["exp"] = json!(now - 1);
    let r = s
        .api(
            Method::GET,
            path,
            &jwt::sign(&signer, jwt::TYP_AT_JWT, &expired).unwrap(),
            None,
        )
        .await;
    assert_mgmt_error(&r, 401, "invalid_token");
    assert_eq!(r.body["message"], "Expired token");
    let mut foreign_iss = good.clone();
    foreign_iss["iss"] = json!("https://evil.example/");
    let r = s
        .api(
            Method::GET,
            path,
            &jwt::sign(&signer, jwt::TYP_AT_JWT, &foreign_iss).unwrap(),
            None,
        )
        .await;
    assert_mgmt_error(&r, 401, "invalid_token");
    // Forged: a signature byte flipped; signed by a key this server does not publish.
    let (head, sig) = ok.rsplit_once('.').unwrap();
    let mut sig = sig.as_bytes().to_vec();
    sig[3] = if sig[3] == b'A' { b'B' } else { b'A' };
    let r = s
        .api(
            Method::GET,
            path,
            &format!("{head}.{}", String::from_utf8(sig).unwrap()),
            None,
        )
        .await;
    assert_mgmt_error(&r, 401, "invalid_token");
    let (foreign, _) =
        tessera_core::keys::SigningKey::generate(tessera_core::keys::SigningAlg::RS256).unwrap();
    let r = s
        .api(
            Method::GET,
            path,
            &jwt::sign(&foreign, jwt::TYP_AT_JWT, &good).unwrap(),
            None,
        )
        .await;
    assert_mgmt_error(&r, 401, "invalid_token");
    // alg none with our kid.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD
            .encode(json!({"alg": "none", "typ": "at+jwt", "kid": signer.kid()}).to_string()),
        URL_SAFE_NO_PAD.encode(good.to_string())
    );
    assert_mgmt_error(
        &s.api(Method::GET, path, &none, None).await,
        401,
        "invalid_token",
    );
    // A real token from the token endpoint for another API.
    let admin = s.admin_token().await;
    s.api(
        Method::POST,
        path,
        &admin,
        Some(
            json!({"identifier": "https://orders.example/", "scopes": [{"value": "read:orders"}]}),
        ),
    )
    .await;
    let (id, secret) = s
        .m2m_client("https://orders.example/", &["read:orders"])
        .await;
    let r = s
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("audience", "https://orders.example/"),
        ])
        .await;
    let orders_token = r.body["access_token"].as_str().unwrap().to_owned();
    assert_mgmt_error(
        &s.api(Method::GET, path, &orders_token, None).await,
        401,
        "invalid_token",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_server_endpoints_enforce_their_scopes_and_shapes() {
    let s = start().await;
    let read_only = s.token_with_scopes(&["read:resource_servers"]).await;
    let r = s
        .api(
            Method::POST,
            "api/v2/resource-servers",
            &read_only,
            Some(json!({"identifier": "https://x.example/"})),
        )
        .await;
    assert_mgmt_error(&r, 403, "insufficient_scope");
    let challenge = r.headers["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains("create:resource_servers"),
        "{challenge}"
    );
    let nothing = s.token_with_scopes(&["read:users"]).await;
    assert_mgmt_error(
        &s.api(Method::GET, "api/v2/resource-servers", &nothing, None)
            .await,
        403,
        "insufficient_scope",
    );

    let admin = s.admin_token().await;
    let created = s
        .api(Method::POST, "api/v2/resource-servers", &admin, Some(json!({"identifier": "https://x.example/", "name": "X", "scopes": [{"value": "read:x", "description": "Read X"}]})))
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.body["token_lifetime"], 86400);
    assert_eq!(created.body["signing_alg"], "RS256");
    assert_eq!(created.body["is_system"], false);
    let id = created.body["id"].as_str().unwrap().to_owned();
    // Duplicate identifier, bad bodies.
    let r = s
        .api(
            Method::POST,
            "api/v2/resource-servers",
            &admin,
            Some(json!({"identifier": "https://x.example/"})),
        )
        .await;
    assert_mgmt_error(&r, 409, "resource_server_conflict");
    let r = s
        .api(
            Method::POST,
            "api/v2/resource-servers",
            &admin,
            Some(json!({"identifier": "https://y.example/", "colour": "red"})),
        )
        .await;
    assert_mgmt_error(&r, 400, "invalid_body");
    assert!(
        r.body["message"].as_str().unwrap().contains("colour"),
        "{r:?}"
    );
    let r = s
        .api(
            Method::POST,
            "api/v2/resource-servers",
            &admin,
            Some(json!({"identifier": "https://y.example/", "token_lifetime": "long"})),
        )
        .await;
    assert_mgmt_error(&r, 400, "invalid_body");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("token_lifetime"),
        "{r:?}"
    );
    let r = s
        .api(
            Method::POST,
            "api/v2/resource-servers",
            &admin,
            Some(json!({"identifier": "has space"})),
        )
        .await;
    assert_mgmt_error(&r, 400, "invalid_body");
    let r = s
        .api(
            Method::POST,
            "api/v2/resource-servers",
            &admin,
            Some(json!({"identifier": "https://z.example/", "signing_alg": "HS256"})),
        )
        .await;
    assert_mgmt_error(&r, 400, "invalid_body");
    // Read by id and by identifier, list with totals.
    let r = s
        .api(
            Method::GET,
            &format!("api/v2/resource-servers/{id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.body["identifier"], "https://x.example/", "{r:?}");
    let by_identifier = format!(
        "api/v2/resource-servers/{}",
        urlencode("https://x.example/")
    );
    assert_eq!(
        s.api(Method::GET, &by_identifier, &admin, None).await.body["id"],
        id.as_str()
    );
    let r = s
        .api(
            Method::GET,
            "api/v2/resource-servers?include_totals=true&per_page=1",
            &admin,
            None,
        )
        .await;
    assert_eq!(r.body["total"], 2, "{r:?}");
    assert_eq!(r.body["resource_servers"].as_array().unwrap().len(), 1);
    assert_mgmt_error(
        &s.api(
            Method::GET,
            "api/v2/resource-servers?per_page=1000",
            &admin,
            None,
        )
        .await,
        400,
        "invalid_query_string",
    );
    assert_mgmt_error(
        &s.api(Method::GET, "api/v2/resource-servers?bogus=1", &admin, None)
            .await,
        400,
        "invalid_query_string",
    );
    // Update (identifier immutable), the system API untouchable, delete, 404.
    let r = s
        .api(
            Method::PATCH,
            &format!("api/v2/resource-servers/{id}"),
            &admin,
            Some(json!({"token_lifetime": 120})),
        )
        .await;
    assert_eq!(r.body["token_lifetime"], 120, "{r:?}");
    let r = s
        .api(
            Method::PATCH,
            &format!("api/v2/resource-servers/{id}"),
            &admin,
            Some(json!({"identifier": "https://moved.example/"})),
        )
        .await;
    assert_mgmt_error(&r, 400, "invalid_body");
    let mgmt = format!(
        "api/v2/resource-servers/{}",
        urlencode(&s.management_audience())
    );
    assert_mgmt_error(
        &s.api(Method::DELETE, &mgmt, &admin, None).await,
        400,
        "operation_not_supported",
    );
    assert_eq!(
        s.api(
            Method::DELETE,
            &format!("api/v2/resource-servers/{id}"),
            &admin,
            None
        )
        .await
        .status,
        204
    );
    let r = s
        .api(
            Method::GET,
            &format!("api/v2/resource-servers/{id}"),
            &admin,
            None,
        )
        .await;
    assert_mgmt_error(&r, 404, "inexistent_resource_server");
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_comes_from_the_handlers() {
    let s = start().await;
    let r = reply(
        http()
            .get(s.url("api/v2/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(
        r.body["openapi"].as_str().unwrap().starts_with("3."),
        "{r:?}"
    );
    let paths = r.body["paths"].as_object().unwrap();
    let rs = &paths["/api/v2/resource-servers"];
    assert!(rs["get"]["responses"]["200"].is_object());
    assert!(rs["post"]["requestBody"].is_object());
    assert_eq!(
        rs["post"]["security"][0]["bearer"][0],
        "create:resource_servers"
    );
    assert!(
        r.body["components"]["schemas"]["CreateResourceServer"]["properties"]["identifier"]
            .is_object()
    );
    // Every documented operation is served (not 404/405) — the document cannot drift.
    let admin = s.admin_token().await;
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            let concrete = path.replace("{id}", "nope").replace("{kid}", "nope");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = s
                .api(
                    m.clone(),
                    &concrete,
                    &admin,
                    if m == Method::GET || m == Method::DELETE {
                        None
                    } else {
                        Some(json!({}))
                    },
                )
                .await;
            assert!(
                r.status != 405 && !(r.status == 404 && r.body["error"] == "not_found"),
                "{method} {path}: {r:?}"
            );
        }
    }
}
