//! `/api/v2/client-grants`: CRUD, errors, scopes, and the revocation of a
//! client's tokens when its grant is narrowed or deleted.

use reqwest::Method;
use serde_json::{Value, json};

use crate::clients::{
    api_m2m_client, assert_invalid_property, create_client, management_token, next_second,
};
use crate::common::*;

const API: &str = "https://orders.example/api";

async fn create_api(s: &TestServer, token: &str) {
    let r = s
        .api(
            Method::POST,
            "api/v2/resource-servers",
            token,
            Some(json!({
                "identifier": API, "name": "Orders",
                "scopes": [{"value": "read:orders"}, {"value": "write:orders"}]
            })),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
}

async fn create_grant(s: &TestServer, token: &str, body: Value) -> Reply {
    s.api(Method::POST, "api/v2/client-grants", token, Some(body))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_grant_crud() {
    let s = start().await;
    let t = s.admin_token().await;
    create_api(&s, &t).await;
    let c = create_client(
        &s,
        &t,
        json!({"name": "worker", "app_type": "non_interactive"}),
    )
    .await;
    let client_id = c["client_id"].as_str().unwrap();

    let r = create_grant(
        &s,
        &t,
        json!({"client_id": client_id, "audience": API, "scope": ["read:orders", "read:orders"]}),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("cgr_"), "{id}");
    assert_eq!(
        r.body,
        json!({"id": id, "client_id": client_id, "audience": API, "scope": ["read:orders"],
               "allow_any_organization": false, "subject_type": "client", "is_system": false})
    );

    let got = s
        .api(Method::GET, &format!("api/v2/client-grants/{id}"), &t, None)
        .await;
    assert_eq!(got.status, 200, "{got:?}");
    assert_eq!(got.body, r.body);

    // Filters and paging: the admin's own grant is there too.
    let all = s
        .api(
            Method::GET,
            "api/v2/client-grants?include_totals=true",
            &t,
            None,
        )
        .await;
    assert_eq!(all.status, 200, "{all:?}");
    assert_eq!(all.body["total"], 2);
    assert_eq!(all.body["client_grants"].as_array().unwrap().len(), 2);
    let by_client = s
        .api(
            Method::GET,
            &format!("api/v2/client-grants?client_id={client_id}"),
            &t,
            None,
        )
        .await;
    assert_eq!(by_client.body, json!([r.body.clone()]));
    let aud = url::form_urlencoded::byte_serialize(API.as_bytes()).collect::<String>();
    let by_audience = s
        .api(
            Method::GET,
            &format!("api/v2/client-grants?audience={aud}"),
            &t,
            None,
        )
        .await;
    assert_eq!(by_audience.body, json!([r.body.clone()]));
    let page2 = s
        .api(
            Method::GET,
            "api/v2/client-grants?per_page=1&page=1",
            &t,
            None,
        )
        .await;
    assert_eq!(page2.body.as_array().unwrap().len(), 1, "{page2:?}");

    let patched = s
        .api(
            Method::PATCH,
            &format!("api/v2/client-grants/{id}"),
            &t,
            Some(json!({"scope": ["read:orders", "write:orders"]})),
        )
        .await;
    assert_eq!(patched.status, 200, "{patched:?}");
    assert_eq!(
        patched.body["scope"],
        json!(["read:orders", "write:orders"])
    );
    assert_eq!(
        s.api(Method::GET, &format!("api/v2/client-grants/{id}"), &t, None)
            .await
            .body,
        patched.body
    );

    let del = s
        .api(
            Method::DELETE,
            &format!("api/v2/client-grants/{id}"),
            &t,
            None,
        )
        .await;
    assert_eq!(del.status, 204, "{del:?}");
    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"scope": []}))),
        (Method::DELETE, None),
    ] {
        let r = s
            .api(method, &format!("api/v2/client-grants/{id}"), &t, body)
            .await;
        assert_mgmt_error(&r, 404, "inexistent_client_grant");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_grant_errors() {
    let s = start().await;
    let t = s.admin_token().await;
    create_api(&s, &t).await;
    let c = create_client(
        &s,
        &t,
        json!({"name": "worker", "app_type": "non_interactive"}),
    )
    .await;
    let client_id = c["client_id"].as_str().unwrap();

    let r = create_grant(
        &s,
        &t,
        json!({"client_id": "nobody", "audience": API, "scope": []}),
    )
    .await;
    assert_mgmt_error(&r, 404, "inexistent_client");
    let r = create_grant(
        &s,
        &t,
        json!({"client_id": client_id, "audience": "https://nowhere/", "scope": []}),
    )
    .await;
    assert_mgmt_error(&r, 404, "inexistent_resource_server");
    let r = create_grant(
        &s,
        &t,
        json!({"client_id": client_id, "audience": API, "scope": ["delete:orders"]}),
    )
    .await;
    assert_invalid_property(&r, "scope");
    let r = create_grant(
        &s,
        &t,
        json!({"client_id": client_id, "audience": API, "scope": "read:orders"}),
    )
    .await;
    assert_invalid_property(&r, "scope");
    let r = create_grant(&s, &t, json!({"audience": API, "scope": []})).await;
    assert_invalid_property(&r, "client_id");
    let r = create_grant(
        &s,
        &t,
        json!({"client_id": client_id, "audience": API, "scope": [], "extra": true}),
    )
    .await;
    assert_invalid_property(&r, "extra");

    let ok = create_grant(
        &s,
        &t,
        json!({"client_id": client_id, "audience": API, "scope": ["read:orders"]}),
    )
    .await;
    assert_eq!(ok.status, 201, "{ok:?}");
    let r = create_grant(
        &s,
        &t,
        json!({"client_id": client_id, "audience": API, "scope": ["write:orders"]}),
    )
    .await;
    assert_mgmt_error(&r, 409, "conflict");

    let path = format!("api/v2/client-grants/{}", ok.body["id"].as_str().unwrap());
    let r = s
        .api(Method::PATCH, &path, &t, Some(json!({"scope": ["nope"]})))
        .await;
    assert_invalid_property(&r, "scope");
    let r = s
        .api(Method::PATCH, &path, &t, Some(json!({"audience": "x"})))
        .await;
    assert_invalid_property(&r, "audience");
    assert_eq!(
        s.api(Method::GET, &path, &t, None).await.body["scope"],
        json!(["read:orders"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_grant_endpoints_need_their_scopes() {
    let s = start().await;
    let admin = s.admin_token().await;
    create_api(&s, &admin).await;
    let c = create_client(
        &s,
        &admin,
        json!({"name": "worker", "app_type": "non_interactive"}),
    )
    .await;
    let client_id = c["client_id"].as_str().unwrap();
    let g = create_grant(
        &s,
        &admin,
        json!({"client_id": client_id, "audience": API, "scope": ["read:orders"]}),
    )
    .await;
    let id = g.body["id"].as_str().unwrap();
    let none = s
        .token_with_scopes(&["read:clients", "read:resource_servers"])
        .await;
    let cases = [
        (
            Method::GET,
            "api/v2/client-grants".to_owned(),
            None,
            "read:client_grants",
        ),
        (
            Method::POST,
            "api/v2/client-grants".to_owned(),
            Some(json!({"client_id": client_id, "audience": API, "scope": []})),
            "create:client_grants",
        ),
        (
            Method::GET,
            format!("api/v2/client-grants/{id}"),
            None,
            "read:client_grants",
        ),
        (
            Method::PATCH,
            format!("api/v2/client-grants/{id}"),
            Some(json!({"scope": []})),
            "update:client_grants",
        ),
        (
            Method::DELETE,
            format!("api/v2/client-grants/{id}"),
            None,
            "delete:client_grants",
        ),
    ];
    for (method, path, body, scope) in cases {
        let r = s.api(method.clone(), &path, &none, body).await;
        assert_mgmt_error(&r, 403, "insufficient_scope");
        assert!(
            r.body["message"].as_str().unwrap().contains(scope),
            "{method} {path}: {r:?}"
        );
    }
    let got = s
        .api(
            Method::GET,
            &format!("api/v2/client-grants/{id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(got.body, g.body, "nothing changed");
}

async fn token(s: &TestServer, id: &str, secret: &str) -> String {
    let r = management_token(s, id, secret).await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn narrowing_or_deleting_a_grant_revokes_the_clients_tokens() {
    let s = start().await;
    let admin = s.admin_token().await;
    let (id, secret, grant) =
        api_m2m_client(&s, &admin, &["read:clients", "read:connections"]).await;
    let path = format!("api/v2/client-grants/{grant}");

    // Widening keeps outstanding tokens.
    let first = token(&s, &id, &secret).await;
    let r = s
        .api(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"scope": ["read:clients", "read:connections", "read:users"]})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        s.api(Method::GET, "api/v2/clients", &first, None)
            .await
            .status,
        200
    );

    // Narrowing revokes them at once.
    let r = s
        .api(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"scope": ["read:clients"]})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_mgmt_error(
        &s.api(Method::GET, "api/v2/clients", &first, None).await,
        401,
        "invalid_token",
    );
    next_second().await;
    let second = token(&s, &id, &secret).await;
    assert_eq!(
        s.api(Method::GET, "api/v2/clients", &second, None)
            .await
            .status,
        200
    );
    assert_mgmt_error(
        &s.api(Method::GET, "api/v2/connections", &second, None)
            .await,
        403,
        "insufficient_scope",
    );

    // Deleting revokes them too, and no new token can be had.
    let r = s.api(Method::DELETE, &path, &admin, None).await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_mgmt_error(
        &s.api(Method::GET, "api/v2/clients", &second, None).await,
        401,
        "invalid_token",
    );
    let r = management_token(&s, &id, &secret).await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.body["error"], "access_denied");
    assert_eq!(r.reason(), Some(Reason::ClientGrantMissing), "{r:?}");
    // Other clients are untouched.
    assert_eq!(
        s.api(Method::GET, "api/v2/clients", &admin, None)
            .await
            .status,
        200
    );
}
