//! The scopes each users endpoint needs, and the OpenAPI document.

use reqwest::Method;
use serde_json::{Value, json};

use super::*;
use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_needs_its_scope() {
    let s = start().await;
    let admin = s.admin_token().await;
    let u = create(&s, &admin, "scoped@example.com", json!({})).await;
    let path = format!("api/v2/users/{}", enc(u["user_id"].as_str().unwrap()));
    let body = json!({"connection": DB, "email": "new@example.com", "password": PASSWORD});
    // Every users scope but the one each endpoint needs.
    let all = [
        "read:users",
        "create:users",
        "update:users",
        "delete:users",
        "update:users_app_metadata",
    ];
    let endpoints: [(Method, String, Option<Value>, &str); 6] = [
        (Method::GET, "api/v2/users".into(), None, "read:users"),
        (
            Method::POST,
            "api/v2/users".into(),
            Some(body),
            "create:users",
        ),
        (Method::GET, path.clone(), None, "read:users"),
        (
            Method::PATCH,
            path.clone(),
            Some(json!({"name": "x"})),
            "update:users",
        ),
        (Method::DELETE, path.clone(), None, "delete:users"),
        (
            Method::GET,
            "api/v2/users-by-email?email=scoped%40example.com".into(),
            None,
            "read:users",
        ),
    ];
    for (method, p, body, needed) in endpoints {
        let others: Vec<&str> = all.iter().copied().filter(|sc| *sc != needed).collect();
        let token = s.token_with_scopes(&others).await;
        let r = s.api(method.clone(), &p, &token, body.clone()).await;
        assert_mgmt_error(&r, 403, "insufficient_scope");
        let challenge = r.headers["www-authenticate"].to_str().unwrap();
        assert!(challenge.contains("insufficient_scope"), "{challenge}");
        assert!(
            r.body["message"].as_str().unwrap().contains(needed),
            "{method} {p}: {r:?}"
        );
        // And with the scope it works.
        let token = s.token_with_scopes(&[needed]).await;
        let r = s.api(method.clone(), &p, &token, body).await;
        assert!(r.status < 300, "{method} {p} with {needed}: {r:?}");
    }
    // No token at all.
    let res = http().get(s.url("api/v2/users")).send().await.unwrap();
    assert_mgmt_error(&reply(res).await, 401, "missing_token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_metadata_scope_changes_only_app_metadata() {
    let s = start().await;
    let admin = s.admin_token().await;
    let u = create(
        &s,
        &admin,
        "meta@example.com",
        json!({"app_metadata": {"roles": ["a"], "keep": 1}}),
    )
    .await;
    let path = format!("api/v2/users/{}", enc(u["user_id"].as_str().unwrap()));
    let t = s.token_with_scopes(&["update:users_app_metadata"]).await;

    let r = s
        .api(
            Method::PATCH,
            &path,
            &t,
            Some(json!({"app_metadata": {"roles": ["a", "b"]}})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.body["app_metadata"],
        json!({"roles": ["a", "b"], "keep": 1})
    );

    for body in [
        json!({"name": "Mallory"}),
        json!({"app_metadata": {"x": 1}, "name": "Mallory"}),
        json!({"user_metadata": {"x": 1}}),
        json!({"blocked": true}),
        json!({"password": "a-new-long-password"}),
    ] {
        let r = s.api(Method::PATCH, &path, &t, Some(body.clone())).await;
        assert_mgmt_error(&r, 403, "insufficient_scope");
        assert!(
            r.headers["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("insufficient_scope")
        );
    }
    let got = s.api(Method::GET, &path, &admin, None).await;
    assert_eq!(got.body["name"], "meta@example.com", "unchanged");
    assert_eq!(
        got.body["app_metadata"],
        json!({"roles": ["a", "b"], "keep": 1})
    );
    assert_eq!(got.body["blocked"], false);
    // It does not let the caller read users either.
    let r = s.api(Method::GET, &path, &t, None).await;
    assert_mgmt_error(&r, 403, "insufficient_scope");
    // A token with neither update scope is refused, naming both.
    let none = s.token_with_scopes(&["read:users"]).await;
    let r = s
        .api(
            Method::PATCH,
            &path,
            &none,
            Some(json!({"app_metadata": {"x": 1}})),
        )
        .await;
    assert_mgmt_error(&r, 403, "insufficient_scope");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("update:users_app_metadata"),
        "{r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_the_users_endpoints() {
    let s = start().await;
    let res = http()
        .get(s.url("api/v2/openapi.json"))
        .send()
        .await
        .unwrap();
    let doc = reply(res).await.body;
    let paths = &doc["paths"];
    for (path, methods) in [
        ("/api/v2/users", &["get", "post"][..]),
        ("/api/v2/users/{id}", &["get", "patch", "delete"][..]),
        ("/api/v2/users-by-email", &["get"][..]),
    ] {
        for m in methods {
            assert!(paths[path][m].is_object(), "{path} {m} missing");
        }
    }
    let schemas = &doc["components"]["schemas"];
    assert!(
        schemas["UserDto"]["properties"]["identities"].is_object(),
        "{}",
        schemas["UserDto"]
    );
    assert!(schemas["UserDto"]["properties"].get("password").is_none());
    for p in ["username", "phone_number", "phone_verified"] {
        assert!(
            schemas["UserDto"]["properties"][p].is_object(),
            "{p}: {}",
            schemas["UserDto"]
        );
    }
    let required = schemas["CreateUser"]["required"].as_array().unwrap();
    for p in ["connection", "email", "password"] {
        assert!(required.contains(&json!(p)), "{required:?}");
    }
    // The bodies (core's, under its `openapi` feature) are documented as they
    // are read: every property Auth0 has, a password a string of format
    // password, nothing else accepted, nothing required in an update.
    for (schema, properties) in [("CreateUser", 17), ("UpdateUser", 18)] {
        let body = &schemas[schema];
        assert_eq!(body["additionalProperties"], json!(false), "{body}");
        assert_eq!(
            body["properties"].as_object().map(|p| p.len()),
            Some(properties),
            "{body}"
        );
        assert_eq!(
            body["properties"]["password"]["format"], "password",
            "{body}"
        );
        assert_eq!(
            body["properties"]["password"]["type"],
            json!(["string", "null"]),
            "{body}"
        );
    }
    assert!(schemas["UpdateUser"].get("required").is_none());
    assert!(
        schemas["UpdateUser"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("at least one")),
        "{}",
        schemas["UpdateUser"]
    );
}
