//! Issue 13: `GET /api/v2/actions/actions` (empty, Auth0's list shape) and
//! every path or method under `/api/v2` that names no endpoint answering in
//! Auth0's error shape, not the OAuth one.

use reqwest::Method;
use serde_json::json;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_list_is_empty_in_auth0s_shape() {
    let s = start().await;
    let admin = s.admin_token().await;
    let r = s
        .api(Method::GET, "api/v2/actions/actions", &admin, None)
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.body,
        json!({"actions": [], "total": 0, "page": 0, "per_page": 50})
    );
    // deploy-cli's query.
    let r = s
        .api(
            Method::GET,
            "api/v2/actions/actions?page=1&per_page=100&include_totals=true",
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["page"], 1, "{r:?}");
    let r = s
        .api(
            Method::GET,
            "api/v2/actions/actions?no_such_filter=1",
            &admin,
            None,
        )
        .await;
    assert_mgmt_error(&r, 400, "invalid_query_string");
    let r = s
        .api(
            Method::GET,
            "api/v2/actions/actions?per_page=101",
            &admin,
            None,
        )
        .await;
    assert_mgmt_error(&r, 400, "invalid_query_string");
    let other = s.token_with_scopes(&["read:clients"]).await;
    let r = s
        .api(Method::GET, "api/v2/actions/actions", &other, None)
        .await;
    assert_mgmt_error(&r, 403, "insufficient_scope");
    let r = reply(
        http()
            .get(s.url("api/v2/actions/actions"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_mgmt_error(&r, 401, "missing_token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_and_methods_answer_in_auth0s_shape() {
    let s = start().await;
    let admin = s.admin_token().await;
    for path in [
        "api/v2/nothing-here",
        "api/v2/clients/x/y/z",
        "api/v2/",
        "api/v2",
        "api/v2/actions/modules",
    ] {
        for method in [
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::PUT,
            Method::DELETE,
        ] {
            let r = s.api(method.clone(), path, &admin, None).await;
            assert_mgmt_error(&r, 404, "not_found");
            assert_eq!(r.body["error"], "Not Found", "{method} {path}: {r:?}");
            assert!(r.body.get("error_description").is_none(), "{r:?}");
        }
    }
    // Without a token too: the route does not exist whoever asks.
    let r = reply(http().get(s.url("api/v2/nothing")).send().await.unwrap()).await;
    assert_mgmt_error(&r, 404, "not_found");
    for (method, path) in [
        (Method::PUT, "api/v2/clients"),
        (Method::DELETE, "api/v2/tenants/settings"),
        (Method::PUT, "api/v2/actions/actions"),
        (Method::PUT, "api/v2/connections/con_x/clients"),
    ] {
        let r = s.api(method.clone(), path, &admin, None).await;
        assert_mgmt_error(&r, 405, "method_not_allowed");
        assert_eq!(r.body["error"], "Method Not Allowed", "{r:?}");
        assert!(r.headers.contains_key("allow"), "{method} {path}: {r:?}");
    }
    // Outside /api/v2 the OAuth shape stays.
    let r = reply(http().get(s.url("nothing-here")).send().await.unwrap()).await;
    assert_eq!(r.status, 404);
    assert!(r.body.get("statusCode").is_none(), "{r:?}");
}
