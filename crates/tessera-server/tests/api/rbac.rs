//! Issue 15, RBAC: `/api/v2/roles…`, `/api/v2/users/{id}/roles` and
//! `/permissions` in Auth0's shapes and scopes (and who is refused), and what
//! `enforce_policies` and the `*_authz` dialects do to the tokens, evaluated at
//! every mint (refreshes included).

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;
use crate::flows::{App, EMAIL, PASSWORD, app, claims, credentials, field, refresh, user};

const SHOP: &str = "https://shop.example/";

/// An API with three scopes, offline access, and `settings` on top.
async fn shop(s: &TestServer, admin: &str, settings: Value) {
    let mut body = json!({
        "identifier": SHOP,
        "name": "Shop",
        "allow_offline_access": true,
        "scopes": [
            {"value": "read:orders", "description": "Read orders"},
            {"value": "write:orders", "description": "Write orders"},
            {"value": "delete:orders", "description": "Delete orders"},
        ],
    });
    for (k, v) in settings.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = s
        .api(Method::POST, "api/v2/resource-servers", admin, Some(body))
        .await;
    assert_eq!(r.status, 201, "{r:?}");
}

async fn web(s: &TestServer) -> App {
    app(
        s,
        json!({"app_type": "regular_web", "grant_types": ["password", "refresh_token", "client_credentials"]}),
    )
    .await
}

async fn login(s: &TestServer, app: &App, audience: &str, scope: &str) -> Reply {
    let mut form = vec![
        ("grant_type", "password"),
        ("username", EMAIL),
        ("password", PASSWORD),
        ("audience", audience),
        ("scope", scope),
    ];
    form.extend(credentials(app));
    s.token_request(&form).await
}

async fn create_role(s: &TestServer, admin: &str, name: &str) -> String {
    let r = s
        .api(
            Method::POST,
            "api/v2/roles",
            admin,
            Some(json!({"name": name, "description": format!("{name}s")})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    field(&r, "id")
}

fn perms(names: &[&str]) -> Value {
    json!({"permissions": names.iter().map(|n| json!({
        "resource_server_identifier": SHOP, "permission_name": n,
    })).collect::<Vec<_>>()})
}

fn scopes_of(r: &Reply) -> Vec<String> {
    let mut v: Vec<String> = field(r, "scope").split(' ').map(str::to_owned).collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_permissions_and_members_in_auth0s_shapes() {
    let s = start().await;
    let admin = s.admin_token().await;
    shop(&s, &admin, json!({})).await;
    let uid = user(&s).await;
    let reader = create_role(&s, &admin, "reader").await;
    assert!(reader.starts_with("rol_"), "{reader}");
    let writer = create_role(&s, &admin, "Writer").await;

    // Listings: a bare array, or wrapped with totals; name_filter.
    let r = s.api(Method::GET, "api/v2/roles", &admin, None).await;
    assert_eq!(r.body.as_array().unwrap().len(), 2, "{r:?}");
    let r = s
        .api(
            Method::GET,
            "api/v2/roles?include_totals=true&per_page=1&name_filter=WRIT",
            &admin,
            None,
        )
        .await;
    assert_eq!(
        (&r.body["total"], &r.body["start"], &r.body["limit"]),
        (&json!(1), &json!(0), &json!(1)),
        "{r:?}"
    );
    assert_eq!(r.body["roles"][0]["name"], "Writer");
    let r = s
        .api(Method::GET, "api/v2/roles?per_page=0", &admin, None)
        .await;
    assert_mgmt_error(&r, 400, "invalid_query_string");

    // Get, update, duplicates, 404s, bad bodies.
    let path = format!("api/v2/roles/{reader}");
    let r = s.api(Method::GET, &path, &admin, None).await;
    assert_eq!(
        r.body,
        json!({"id": reader, "name": "reader", "description": "readers"})
    );
    let r = s
        .api(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"description": "may read"})),
        )
        .await;
    assert_eq!(r.body["description"], "may read", "{r:?}");
    let r = s
        .api(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"name": "Writer"})),
        )
        .await;
    assert_mgmt_error(&r, 409, "conflict");
    let r = s
        .api(
            Method::POST,
            "api/v2/roles",
            &admin,
            Some(json!({"name": "reader"})),
        )
        .await;
    assert_mgmt_error(&r, 409, "conflict");
    for body in [
        json!({}),
        json!({"name": ""}),
        json!({"name": "x", "color": 1}),
    ] {
        let r = s
            .api(Method::POST, "api/v2/roles", &admin, Some(body))
            .await;
        assert_mgmt_error(&r, 400, "invalid_body");
    }
    for (method, tail, body) in [
        (Method::GET, "", None),
        (Method::PATCH, "", Some(json!({"name": "n"}))),
        (Method::DELETE, "", None),
        (Method::GET, "/permissions", None),
        (Method::POST, "/permissions", Some(perms(&["read:orders"]))),
        (
            Method::DELETE,
            "/permissions",
            Some(perms(&["read:orders"])),
        ),
        (Method::GET, "/users", None),
        (Method::POST, "/users", Some(json!({"users": [uid]}))),
    ] {
        let r = s
            .api(
                method,
                &format!("api/v2/roles/rol_none{tail}"),
                &admin,
                body,
            )
            .await;
        assert_mgmt_error(&r, 404, "inexistent_role");
    }

    // Role permissions: scopes of an existing API only.
    let rp = format!("{path}/permissions");
    for (body, status, code) in [
        (json!({"permissions": []}), 400, "invalid_body"),
        (json!({}), 400, "invalid_body"),
        (
            json!({"permissions": [{"permission_name": "read:orders"}]}),
            400,
            "invalid_body",
        ),
        (perms(&["fly:orders"]), 400, "invalid_body"),
        (
            json!({"permissions": [{"resource_server_identifier": "urn:none", "permission_name": "x"}]}),
            404,
            "inexistent_resource_server",
        ),
    ] {
        let r = s.api(Method::POST, &rp, &admin, Some(body)).await;
        assert_mgmt_error(&r, status, code);
    }
    let r = s
        .api(
            Method::POST,
            &rp,
            &admin,
            Some(perms(&["read:orders", "write:orders"])),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let r = s
        .api(
            Method::GET,
            &format!("{rp}?include_totals=true"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.body["total"], 2, "{r:?}");
    assert_eq!(
        r.body["permissions"][0],
        json!({"resource_server_identifier": SHOP, "permission_name": "read:orders",
               "resource_server_name": "Shop", "description": "Read orders"})
    );
    let r = s
        .api(Method::DELETE, &rp, &admin, Some(perms(&["write:orders"])))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = s.api(Method::GET, &rp, &admin, None).await;
    assert_eq!(r.body.as_array().unwrap().len(), 1, "{r:?}");

    // Members both ways.
    let r = s
        .api(
            Method::POST,
            &format!("{path}/users"),
            &admin,
            Some(json!({"users": ["auth0|nobody"]})),
        )
        .await;
    assert_mgmt_error(&r, 404, "inexistent_user");
    let r = s
        .api(
            Method::POST,
            &format!("{path}/users"),
            &admin,
            Some(json!({"users": [uid]})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = s
        .api(Method::GET, &format!("{path}/users"), &admin, None)
        .await;
    assert_eq!(r.body[0]["user_id"], json!(uid), "{r:?}");
    assert_eq!(r.body[0]["email"], EMAIL, "{r:?}");
    let ur = format!("api/v2/users/{}/roles", enc(&uid));
    let r = s
        .api(Method::POST, &ur, &admin, Some(json!({"roles": [writer]})))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let r = s
        .api(
            Method::POST,
            &ur,
            &admin,
            Some(json!({"roles": ["rol_none"]})),
        )
        .await;
    assert_mgmt_error(&r, 404, "inexistent_role");
    let r = s
        .api(Method::POST, &ur, &admin, Some(json!({"roles": []})))
        .await;
    assert_mgmt_error(&r, 400, "invalid_body");
    let r = s
        .api(
            Method::GET,
            &format!("{ur}?include_totals=true"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.body["total"], 2, "{r:?}");
    assert_eq!(r.body["roles"][0]["name"], "reader", "{r:?}");

    // Direct permissions, and the listing with sources.
    let up = format!("api/v2/users/{}/permissions", enc(&uid));
    let r = s
        .api(
            Method::POST,
            &up,
            &admin,
            Some(perms(&["read:orders", "delete:orders"])),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let r = s.api(Method::GET, &up, &admin, None).await;
    let listed = r.body.as_array().unwrap();
    assert_eq!(listed.len(), 2, "{r:?}");
    let read = listed
        .iter()
        .find(|p| p["permission_name"] == "read:orders")
        .unwrap();
    assert_eq!(
        read["sources"],
        json!([
            {"source_id": "", "source_name": "", "source_type": "DIRECT"},
            {"source_id": reader, "source_name": "reader", "source_type": "ROLE"},
        ])
    );
    assert_eq!(read["resource_server_name"], "Shop");
    let r = s
        .api(Method::DELETE, &up, &admin, Some(perms(&["delete:orders"])))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let r = s
        .api(
            Method::DELETE,
            &ur,
            &admin,
            Some(json!({"roles": [writer]})),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let r = s
        .api(
            Method::GET,
            &format!("{up}?include_totals=true"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.body["total"], 1, "{r:?}");

    // Unknown users.
    for (method, tail, body) in [
        (Method::GET, "roles", None),
        (Method::POST, "roles", Some(json!({"roles": [reader]}))),
        (Method::DELETE, "roles", Some(json!({"roles": [reader]}))),
        (Method::GET, "permissions", None),
        (Method::POST, "permissions", Some(perms(&["read:orders"]))),
        (Method::DELETE, "permissions", Some(perms(&["read:orders"]))),
    ] {
        let r = s
            .api(
                method,
                &format!("api/v2/users/auth0%7Cnobody/{tail}"),
                &admin,
                body,
            )
            .await;
        assert_mgmt_error(&r, 404, "inexistent_user");
    }

    // Deleting the role takes it from its users.
    let r = s.api(Method::DELETE, &path, &admin, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = s.api(Method::GET, &ur, &admin, None).await;
    assert_eq!(r.body, json!([]), "{r:?}");
}

fn enc(s: &str) -> String {
    crate::flows::enc(s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rbac_route_refuses_the_wrong_tokens() {
    let s = start().await;
    let admin = s.admin_token().await;
    shop(&s, &admin, json!({})).await;
    let uid = user(&s).await;
    let role = create_role(&s, &admin, "reader").await;
    let web = web(&s).await;
    let signed_in = login(&s, &web, SHOP, "openid read:orders").await;
    let user_token = field(&signed_in, "access_token");
    let id_token = field(&signed_in, "id_token");
    let (m2m, secret) = s.m2m_client(SHOP, &["read:orders"]).await;
    let other_api = s
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", &m2m),
            ("client_secret", &secret),
            ("audience", SHOP),
        ])
        .await;
    let other_api = field(&other_api, "access_token");
    let unrelated = s.token_with_scopes(&["read:clients"]).await;
    let role_path = format!("api/v2/roles/{role}");
    let user_path = format!("api/v2/users/{}", enc(&uid));
    let routes = [
        (Method::GET, "api/v2/roles".to_owned(), None, "read:roles"),
        (
            Method::POST,
            "api/v2/roles".to_owned(),
            Some(json!({"name": "n"})),
            "create:roles",
        ),
        (Method::GET, role_path.clone(), None, "read:roles"),
        (
            Method::PATCH,
            role_path.clone(),
            Some(json!({"name": "m"})),
            "update:roles",
        ),
        (Method::DELETE, role_path.clone(), None, "delete:roles"),
        (
            Method::GET,
            format!("{role_path}/permissions"),
            None,
            "read:roles",
        ),
        (
            Method::POST,
            format!("{role_path}/permissions"),
            Some(perms(&["read:orders"])),
            "update:roles",
        ),
        (
            Method::DELETE,
            format!("{role_path}/permissions"),
            Some(perms(&["read:orders"])),
            "update:roles",
        ),
        (
            Method::GET,
            format!("{role_path}/users"),
            None,
            "read:role_members",
        ),
        (
            Method::POST,
            format!("{role_path}/users"),
            Some(json!({"users": [uid]})),
            "create:role_members",
        ),
        (
            Method::GET,
            format!("{user_path}/roles"),
            None,
            "read:role_members",
        ),
        (
            Method::POST,
            format!("{user_path}/roles"),
            Some(json!({"roles": [role]})),
            "create:role_members",
        ),
        (
            Method::DELETE,
            format!("{user_path}/roles"),
            Some(json!({"roles": [role]})),
            "delete:role_members",
        ),
        (
            Method::GET,
            format!("{user_path}/permissions"),
            None,
            "read:users",
        ),
        (
            Method::POST,
            format!("{user_path}/permissions"),
            Some(perms(&["read:orders"])),
            "update:users",
        ),
        (
            Method::DELETE,
            format!("{user_path}/permissions"),
            Some(perms(&["read:orders"])),
            "update:users",
        ),
    ];
    for (method, path, body, scope) in &routes {
        let r = s.api(method.clone(), path, &unrelated, body.clone()).await;
        assert_mgmt_error(&r, 403, "insufficient_scope");
        for token in [&user_token, &id_token, &other_api] {
            let r = s.api(method.clone(), path, token, body.clone()).await;
            assert_eq!(r.status, 401, "{method} {path}: {r:?}");
        }
        // The route's own scope is enough (deletions last: they change state).
        if *method != Method::DELETE {
            let t = s.token_with_scopes(&[scope]).await;
            let r = s.api(method.clone(), path, &t, body.clone()).await;
            assert!(r.status < 300, "{method} {path} with {scope}: {r:?}");
        }
    }
    // Auth0's alternatives: both read:users and read:roles read members.
    let both = s.token_with_scopes(&["read:users", "read:roles"]).await;
    let r = s
        .api(Method::GET, &format!("{user_path}/roles"), &both, None)
        .await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enforced_scopes_and_permissions_follow_roles_at_every_token() {
    let s = start().await;
    let admin = s.admin_token().await;
    shop(
        &s,
        &admin,
        json!({"enforce_policies": true, "token_dialect": "access_token_authz"}),
    )
    .await;
    let uid = user(&s).await;
    let web = web(&s).await;
    let asked = "openid offline_access read:orders write:orders delete:orders";

    // Nothing held: no API scope, an empty `permissions`.
    let r = login(&s, &web, SHOP, asked).await;
    assert_eq!(scopes_of(&r), ["offline_access", "openid"], "{r:?}");
    assert_eq!(claims(&field(&r, "access_token"))["permissions"], json!([]));

    let role = create_role(&s, &admin, "clerk").await;
    let rp = format!("api/v2/roles/{role}/permissions");
    s.api(
        Method::POST,
        &rp,
        &admin,
        Some(perms(&["read:orders", "write:orders"])),
    )
    .await;
    let ur = format!("api/v2/users/{}/roles", enc(&uid));
    s.api(Method::POST, &ur, &admin, Some(json!({"roles": [role]})))
        .await;
    let up = format!("api/v2/users/{}/permissions", enc(&uid));
    s.api(Method::POST, &up, &admin, Some(perms(&["delete:orders"])))
        .await;

    // Asked and held; `permissions` lists every held one, asked or not.
    let r = login(&s, &web, SHOP, "openid offline_access read:orders").await;
    assert_eq!(scopes_of(&r), ["offline_access", "openid", "read:orders"]);
    let at = claims(&field(&r, "access_token"));
    assert_eq!(at["scope"], field(&r, "scope"));
    assert_eq!(
        at["permissions"],
        json!(["delete:orders", "read:orders", "write:orders"])
    );
    let r = login(&s, &web, SHOP, asked).await;
    assert_eq!(
        scopes_of(&r),
        [
            "delete:orders",
            "offline_access",
            "openid",
            "read:orders",
            "write:orders"
        ]
    );
    let mut rt = field(&r, "refresh_token");

    // A permission removed from the role: gone at the next refresh.
    s.api(Method::DELETE, &rp, &admin, Some(perms(&["write:orders"])))
        .await;
    let r = refresh(&s, &web, &rt, None).await;
    assert_eq!(
        scopes_of(&r),
        ["delete:orders", "offline_access", "openid", "read:orders"],
        "{r:?}"
    );
    rt = r.body["refresh_token"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or(rt);
    // The role removed from the user: gone at the next refresh.
    s.api(Method::DELETE, &ur, &admin, Some(json!({"roles": [role]})))
        .await;
    let r = refresh(&s, &web, &rt, None).await;
    assert_eq!(scopes_of(&r), ["delete:orders", "offline_access", "openid"]);
    assert_eq!(
        claims(&field(&r, "access_token"))["permissions"],
        json!(["delete:orders"])
    );
    rt = r.body["refresh_token"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or(rt);
    // Given back, then the role deleted: gone again.
    s.api(Method::POST, &ur, &admin, Some(json!({"roles": [role]})))
        .await;
    let r = refresh(&s, &web, &rt, None).await;
    assert!(scopes_of(&r).contains(&"read:orders".to_owned()), "{r:?}");
    rt = r.body["refresh_token"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or(rt);
    s.api(
        Method::DELETE,
        &format!("api/v2/roles/{role}"),
        &admin,
        None,
    )
    .await;
    let r = refresh(&s, &web, &rt, None).await;
    assert_eq!(scopes_of(&r), ["delete:orders", "offline_access", "openid"]);

    // Not enforced: every asked scope, no `permissions` (the dialect alone
    // adds nothing).
    let rs = s
        .api(Method::GET, "api/v2/resource-servers", &admin, None)
        .await;
    let id = rs
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["identifier"] == SHOP)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s
        .api(
            Method::PATCH,
            &format!("api/v2/resource-servers/{id}"),
            &admin,
            Some(json!({"enforce_policies": false})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["token_dialect"], "access_token_authz");
    let r = login(&s, &web, SHOP, asked).await;
    assert_eq!(
        scopes_of(&r),
        [
            "delete:orders",
            "offline_access",
            "openid",
            "read:orders",
            "write:orders"
        ]
    );
    assert!(
        claims(&field(&r, "access_token"))
            .get("permissions")
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn machine_tokens_list_their_grant_and_users_never_reach_the_management_api() {
    let s = start().await;
    let admin = s.admin_token().await;
    shop(
        &s,
        &admin,
        json!({"enforce_policies": true, "token_dialect": "rfc9068_profile_authz"}),
    )
    .await;
    let (m2m, secret) = s.m2m_client(SHOP, &["read:orders", "write:orders"]).await;
    let r = s
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", &m2m),
            ("client_secret", &secret),
            ("audience", SHOP),
        ])
        .await;
    let at = claims(&field(&r, "access_token"));
    assert_eq!(at["permissions"], json!(["read:orders", "write:orders"]));
    assert_eq!(at["scope"], "read:orders write:orders");

    // The Management API's scopes are never granted to users or roles...
    let uid = user(&s).await;
    let mgmt = s.management_audience();
    let role = create_role(&s, &admin, "admins").await;
    let body = json!({"permissions": [{"resource_server_identifier": mgmt, "permission_name": "read:users"}]});
    for path in [
        format!("api/v2/roles/{role}/permissions"),
        format!("api/v2/users/{}/permissions", enc(&uid)),
    ] {
        let r = s.api(Method::POST, &path, &admin, Some(body.clone())).await;
        assert_mgmt_error(&r, 400, "invalid_body");
    }
    // ...and a user holding roles still cannot get a Management API token.
    s.api(
        Method::POST,
        &format!("api/v2/roles/{role}/users"),
        &admin,
        Some(json!({"users": [uid]})),
    )
    .await;
    let web = web(&s).await;
    let r = login(&s, &web, &mgmt, "read:users").await;
    assert!(r.status >= 400, "{r:?}");
    assert!(r.body.get("access_token").is_none(), "{r:?}");
    assert_eq!(r.reason(), Some(Reason::ManagementApiForUser), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_the_rbac_endpoints() {
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
    let paths = &r.body["paths"];
    for (path, method, scope) in [
        ("/api/v2/roles", "get", "read:roles"),
        ("/api/v2/roles", "post", "create:roles"),
        ("/api/v2/roles/{id}", "get", "read:roles"),
        ("/api/v2/roles/{id}", "patch", "update:roles"),
        ("/api/v2/roles/{id}", "delete", "delete:roles"),
        ("/api/v2/roles/{id}/permissions", "get", "read:roles"),
        ("/api/v2/roles/{id}/permissions", "post", "update:roles"),
        ("/api/v2/roles/{id}/permissions", "delete", "update:roles"),
        ("/api/v2/roles/{id}/users", "get", "read:role_members"),
        ("/api/v2/roles/{id}/users", "post", "update:roles"),
        ("/api/v2/users/{id}/roles", "get", "read:role_members"),
        ("/api/v2/users/{id}/roles", "post", "update:users"),
        ("/api/v2/users/{id}/roles", "delete", "update:users"),
        ("/api/v2/users/{id}/permissions", "get", "read:users"),
        ("/api/v2/users/{id}/permissions", "post", "update:users"),
        ("/api/v2/users/{id}/permissions", "delete", "update:users"),
    ] {
        let op = &paths[path][method];
        assert_eq!(
            op["security"][0]["bearer"][0], scope,
            "{path} {method}: {op}"
        );
        for p in op["parameters"].as_array().into_iter().flatten() {
            let want = if p["name"] == "id" { "path" } else { "query" };
            assert_eq!(p["in"], want, "{path} {method}: {p}");
        }
    }
    let list = paths["/api/v2/roles"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect::<Vec<_>>();
    for name in ["page", "per_page", "include_totals", "name_filter"] {
        assert!(list.contains(&name), "{list:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_login_gets_only_the_held_scopes() {
    let s = start().await;
    let admin = s.admin_token().await;
    shop(
        &s,
        &admin,
        json!({"enforce_policies": true, "token_dialect": "access_token_authz"}),
    )
    .await;
    let uid = user(&s).await;
    let up = format!("api/v2/users/{}/permissions", enc(&uid));
    let r = s
        .api(Method::POST, &up, &admin, Some(perms(&["read:orders"])))
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let web = app(
        &s,
        json!({"app_type": "regular_web", "grant_types": ["authorization_code", "refresh_token"]}),
    )
    .await;
    let r = crate::flows::login(
        &s,
        &web,
        "openid read:orders write:orders",
        &[("audience", SHOP)],
    )
    .await;
    assert_eq!(scopes_of(&r), ["openid", "read:orders"], "{r:?}");
    let at = claims(&field(&r, "access_token"));
    assert_eq!(at["permissions"], json!(["read:orders"]));
    assert_eq!(at["scope"], field(&r, "scope"));
}
