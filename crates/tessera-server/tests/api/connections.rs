//! `/api/v2/connections` (database connections): CRUD, validation, scopes, and
//! the deletion of a connection's users with it.

use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::store::UserStore;

use crate::clients::{assert_invalid_property, create_client};
use crate::common::*;

const DB: &str = "Username-Password-Authentication";

async fn create_connection(s: &TestServer, token: &str, body: Value) -> Reply {
    s.api(Method::POST, "api/v2/connections", token, Some(body))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_crud_in_auth0_shapes() {
    let s = start().await;
    let t = s.admin_token().await;

    let listed = s.api(Method::GET, "api/v2/connections", &t, None).await;
    assert_eq!(listed.status, 200, "{listed:?}");
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert_eq!(listed.body[0]["name"], DB);
    assert_eq!(listed.body[0]["strategy"], "auth0");
    assert_eq!(listed.body[0]["realms"], json!([DB]));

    let app = create_client(&s, &t, json!({"name": "web"})).await;
    let app_id = app["client_id"].as_str().unwrap();
    let r = create_connection(
        &s,
        &t,
        json!({"name": "Staff_DB-1", "strategy": "auth0", "enabled_clients": [app_id]}),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("con_"), "{id}");
    assert_eq!(
        r.body,
        json!({
            "id": id, "name": "Staff_DB-1", "strategy": "auth0",
            "options": {"passwordPolicy": "fair", "password_complexity_options": {"min_length": 8}},
            "enabled_clients": [app_id], "realms": ["Staff_DB-1"], "is_domain_connection": false,
            "metadata": {}
        })
    );
    let got = s
        .api(Method::GET, &format!("api/v2/connections/{id}"), &t, None)
        .await;
    assert_eq!(got.status, 200, "{got:?}");
    assert_eq!(got.body, r.body);

    let second = create_connection(&s, &t, json!({"name": "Partners", "strategy": "auth0"})).await;
    assert_eq!(second.status, 201, "{second:?}");
    let all = s
        .api(
            Method::GET,
            "api/v2/connections?include_totals=true&per_page=2",
            &t,
            None,
        )
        .await;
    assert_eq!(all.body["total"], 3, "{all:?}");
    assert_eq!(all.body["connections"].as_array().unwrap().len(), 2);
    let by_name = s
        .api(Method::GET, "api/v2/connections?name=Staff_DB-1", &t, None)
        .await;
    assert_eq!(by_name.body, json!([r.body.clone()]));
    let by_strategy = s
        .api(
            Method::GET,
            "api/v2/connections?strategy=auth0&include_totals=true",
            &t,
            None,
        )
        .await;
    assert_eq!(by_strategy.body["total"], 3);
    let none = s
        .api(Method::GET, "api/v2/connections?strategy=oidc", &t, None)
        .await;
    assert_eq!(none.body, json!([]));

    // options is replaced as a whole; enabled_clients too.
    let patched = s
        .api(
            Method::PATCH,
            &format!("api/v2/connections/{id}"),
            &t,
            Some(json!({"options": {"password_complexity_options": {"min_length": 12}}, "enabled_clients": []})),
        )
        .await;
    assert_eq!(patched.status, 200, "{patched:?}");
    assert_eq!(
        patched.body["options"],
        json!({"password_complexity_options": {"min_length": 12}})
    );
    assert_eq!(patched.body["enabled_clients"], json!([]));
    assert_eq!(patched.body["name"], "Staff_DB-1");
    let r = s
        .api(Method::GET, &format!("api/v2/connections/{id}"), &t, None)
        .await;
    assert_eq!(r.body, patched.body);

    let del = s
        .api(
            Method::DELETE,
            &format!("api/v2/connections/{id}"),
            &t,
            None,
        )
        .await;
    assert_eq!(del.status, 204, "{del:?}");
    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"enabled_clients": []}))),
        (Method::DELETE, None),
    ] {
        let r = s
            .api(method, &format!("api/v2/connections/{id}"), &t, body)
            .await;
        assert_mgmt_error(&r, 404, "inexistent_connection");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_validation_and_conflicts() {
    let s = start().await;
    let t = s.admin_token().await;
    let post = |body: Value| {
        let s = &s;
        let t = &t;
        async move { create_connection(s, t, body).await }
    };
    assert_invalid_property(
        &post(json!({"name": "has space", "strategy": "auth0"})).await,
        "name",
    );
    assert_invalid_property(
        &post(json!({"name": "x".repeat(129), "strategy": "auth0"})).await,
        "name",
    );
    assert_invalid_property(
        &post(json!({"name": "", "strategy": "auth0"})).await,
        "name",
    );
    assert_invalid_property(&post(json!({"strategy": "auth0"})).await, "name");
    assert_invalid_property(&post(json!({"name": "a"})).await, "strategy");
    assert_invalid_property(
        &post(json!({"name": "a", "strategy": "google-oauth2"})).await,
        "strategy",
    );
    assert_invalid_property(
        &post(json!({"name": "a", "strategy": "auth0", "options": "x"})).await,
        "options",
    );
    assert_invalid_property(
        &post(json!({"name": "a", "strategy": "auth0", "options": {"password_complexity_options": {"min_length": 0}}})).await,
        "options.password_complexity_options.min_length",
    );
    assert_invalid_property(
        &post(json!({"name": "a", "strategy": "auth0", "options": {"password_complexity_options": {"min_length": 129}}})).await,
        "options.password_complexity_options.min_length",
    );
    assert_invalid_property(
        &post(json!({"name": "a", "strategy": "auth0", "options": {"passwordPolicy": "strong"}}))
            .await,
        "options.passwordPolicy",
    );
    assert_invalid_property(
        &post(json!({"name": "a", "strategy": "auth0", "options": {"disable_signup": "yes"}}))
            .await,
        "options.disable_signup",
    );
    assert_invalid_property(
        &post(json!({"name": "a", "strategy": "auth0", "enabled_clients": ["no-such-client"]}))
            .await,
        "enabled_clients",
    );
    assert_invalid_property(
        &post(json!({"name": "a", "strategy": "auth0", "realms": ["has space"]})).await,
        "realms",
    );

    let r = post(json!({"name": DB, "strategy": "auth0"})).await;
    assert_mgmt_error(&r, 409, "connection_conflict");

    let ok = post(json!({"name": "a", "strategy": "auth0"})).await;
    assert_eq!(ok.status, 201, "{ok:?}");
    let path = format!("api/v2/connections/{}", ok.body["id"].as_str().unwrap());
    let r = s
        .api(Method::PATCH, &path, &t, Some(json!({"name": "b"})))
        .await;
    assert_invalid_property(&r, "name");
    let r = s
        .api(Method::PATCH, &path, &t, Some(json!({"strategy": "oidc"})))
        .await;
    assert_invalid_property(&r, "strategy");
    let r = s
        .api(
            Method::PATCH,
            &path,
            &t,
            Some(json!({"options": {"passwordPolicy": 1}})),
        )
        .await;
    assert_invalid_property(&r, "options.passwordPolicy");
    let r = s
        .api(
            Method::PATCH,
            &path,
            &t,
            Some(json!({"enabled_clients": ["ghost"]})),
        )
        .await;
    assert_invalid_property(&r, "enabled_clients");
    let r = s.api(Method::GET, &path, &t, None).await;
    assert_eq!(r.body, ok.body, "refused changes change nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_endpoints_need_their_scopes() {
    let s = start().await;
    let admin = s.admin_token().await;
    // Made first: a client made later is enabled on the connection.
    let none = s.token_with_scopes(&["read:clients", "read:users"]).await;
    let ok = create_connection(&s, &admin, json!({"name": "a", "strategy": "auth0"})).await;
    let id = ok.body["id"].as_str().unwrap();
    let cases = [
        (
            Method::GET,
            "api/v2/connections".to_owned(),
            None,
            "read:connections",
        ),
        (
            Method::POST,
            "api/v2/connections".to_owned(),
            Some(json!({"name": "b", "strategy": "auth0"})),
            "create:connections",
        ),
        (
            Method::GET,
            format!("api/v2/connections/{id}"),
            None,
            "read:connections",
        ),
        (
            Method::PATCH,
            format!("api/v2/connections/{id}"),
            Some(json!({"enabled_clients": []})),
            "update:connections",
        ),
        (
            Method::DELETE,
            format!("api/v2/connections/{id}"),
            None,
            "delete:connections",
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
    let r = s
        .api(
            Method::GET,
            &format!("api/v2/connections/{id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.body, ok.body, "nothing changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_connection_deletes_its_users() {
    let s = start().await;
    let t = s.admin_token().await;
    let staff = create_connection(&s, &t, json!({"name": "Staff", "strategy": "auth0"})).await;
    let staff_id = staff.body["id"].as_str().unwrap();
    let mut users = Vec::new();
    for (connection, email) in [
        ("Staff", "a@staff.example"),
        ("Staff", "b@staff.example"),
        (DB, "c@users.example"),
    ] {
        let r = s
            .api(
                Method::POST,
                "api/v2/users",
                &t,
                Some(json!({"connection": connection, "email": email, "password": "Tr0ub4dor&3-horse"})),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        users.push(r.body["user_id"].as_str().unwrap().to_owned());
    }
    let r = s
        .api(
            Method::DELETE,
            &format!("api/v2/connections/{staff_id}"),
            &t,
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert!(s.store.get_user(&users[0]).await.unwrap().is_none());
    assert!(s.store.get_user(&users[1]).await.unwrap().is_none());
    assert!(
        s.store.get_user(&users[2]).await.unwrap().is_some(),
        "other connections' users stay"
    );
    // A new connection of the same name starts empty.
    let again = create_connection(&s, &t, json!({"name": "Staff", "strategy": "auth0"})).await;
    assert_eq!(again.status, 201, "{again:?}");
    assert!(
        s.store
            .find_user_for_login("Staff", "a@staff.example")
            .await
            .unwrap()
            .is_none(),
        "no user of the deleted connection reappears"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_client_removes_it_from_connections() {
    let s = start().await;
    let t = s.admin_token().await;
    let keep = create_client(&s, &t, json!({"name": "keep"})).await;
    let gone = create_client(&s, &t, json!({"name": "gone"})).await;
    let (keep, gone) = (
        keep["client_id"].as_str().unwrap(),
        gone["client_id"].as_str().unwrap(),
    );
    let c = create_connection(
        &s,
        &t,
        json!({"name": "Both", "strategy": "auth0", "enabled_clients": [keep, gone]}),
    )
    .await;
    assert_eq!(c.status, 201, "{c:?}");
    let r = s
        .api(Method::DELETE, &format!("api/v2/clients/{gone}"), &t, None)
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let r = s
        .api(
            Method::GET,
            &format!("api/v2/connections/{}", c.body["id"].as_str().unwrap()),
            &t,
            None,
        )
        .await;
    assert_eq!(r.body["enabled_clients"], json!([keep]));
}
