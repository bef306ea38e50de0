//! `/api/v2/users` and `/api/v2/users-by-email`.

use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::clock::SystemClock;
use tessera_core::model::Connection;
use tessera_core::store::{TenantStore, UserStore};
use tessera_core::{Clock, Secret, password};

use crate::common::*;

const DB: &str = "Username-Password-Authentication";
const PASSWORD: &str = "Tr0ub4dor&3-horse";

fn secret(s: &str) -> Secret<String> {
    Secret::new(s.to_owned())
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Creates a user in the database connection; asserts 201.
async fn create(s: &TestServer, token: &str, email: &str, extra: Value) -> Value {
    let mut body = json!({"connection": DB, "email": email, "password": PASSWORD});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let r = s.api(Method::POST, "api/v2/users", token, Some(body)).await;
    assert_eq!(r.status, 201, "{r:?}");
    r.body
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect()
}

async fn list(s: &TestServer, token: &str, query: &str) -> Reply {
    s.api(Method::GET, &format!("api/v2/users?{query}"), token, None)
        .await
}

/// No response ever carries a password or a hash.
fn assert_no_secret(r: &Reply, password: &str) {
    let text = r.body.to_string();
    assert!(!text.contains(password), "password echoed: {text}");
    assert!(!text.contains("argon2"), "hash returned: {text}");
    assert!(!text.contains("password_hash"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_crud_in_auth0_shapes() {
    let s = start().await;
    let t = s.admin_token().await;
    let u = create(
        &s,
        &t,
        "Jane.Doe@Example.com",
        json!({
            "given_name": "Jane", "family_name": "Doe", "picture": "https://example.com/j.png",
            "user_metadata": {"theme": "dark", "lang": "fr"}, "app_metadata": {"plan": "gold"},
            "email_verified": true, "verify_email": false
        }),
    )
    .await;
    let id = u["user_id"].as_str().unwrap().to_owned();
    let hex = id.strip_prefix("auth0|").expect("auth0| prefix");
    assert_eq!(hex.len(), 24);
    assert!(
        hex.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "{id}"
    );
    assert_eq!(u["email"], "jane.doe@example.com", "lower-cased");
    assert_eq!(
        u["name"], "jane.doe@example.com",
        "name defaults to the email"
    );
    assert_eq!(
        u["nickname"], "jane.doe",
        "nickname defaults to the local part"
    );
    assert_eq!(u["given_name"], "Jane");
    assert_eq!(u["family_name"], "Doe");
    assert_eq!(u["picture"], "https://example.com/j.png");
    assert_eq!(u["email_verified"], true);
    assert_eq!(u["blocked"], false);
    assert_eq!(u["logins_count"], 0);
    assert!(u.get("last_login").is_none(), "never logged in: {u}");
    assert_eq!(u["user_metadata"], json!({"theme": "dark", "lang": "fr"}));
    assert_eq!(u["app_metadata"], json!({"plan": "gold"}));
    assert_eq!(
        u["identities"],
        json!([{"connection": DB, "user_id": hex, "provider": "auth0", "isSocial": false}])
    );
    let created = u["created_at"].as_str().unwrap();
    assert!(
        created.ends_with('Z') && created.len() == "2024-01-01T00:00:00.000Z".len(),
        "{created}"
    );
    assert!(humantime::parse_rfc3339(created).is_ok(), "{created}");
    assert_eq!(u["updated_at"], u["created_at"]);

    let path = format!("api/v2/users/{}", enc(&id));
    let got = s.api(Method::GET, &path, &t, None).await;
    assert_eq!(got.status, 200, "{got:?}");
    assert_eq!(got.body, u);
    // The raw `|` works too.
    let raw = s
        .api(Method::GET, &format!("api/v2/users/{id}"), &t, None)
        .await;
    assert_eq!(raw.body, u);

    let r = s
        .api(
            Method::PATCH,
            &path,
            &t,
            Some(json!({
                "name": "Jane D.", "blocked": true,
                "user_metadata": {"lang": null, "tz": "UTC"}, "app_metadata": {"plan": "silver", "seats": 3}
            })),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["name"], "Jane D.");
    assert_eq!(r.body["blocked"], true);
    assert_eq!(
        r.body["user_metadata"],
        json!({"theme": "dark", "tz": "UTC"}),
        "merged; null removes"
    );
    assert_eq!(
        r.body["app_metadata"],
        json!({"plan": "silver", "seats": 3})
    );
    assert_eq!(r.body["given_name"], "Jane", "untouched");
    assert_eq!(r.body["email_verified"], true);
    let got = s.api(Method::GET, &path, &t, None).await;
    assert_eq!(got.body, r.body, "stored");
    // Nested objects are replaced whole; an empty object clears everything.
    let r = s
        .api(
            Method::PATCH,
            &path,
            &t,
            Some(json!({"user_metadata": {"theme": {"a": 1}}, "app_metadata": {}})),
        )
        .await;
    assert_eq!(
        r.body["user_metadata"],
        json!({"theme": {"a": 1}, "tz": "UTC"}),
        "{r:?}"
    );
    assert_eq!(r.body["app_metadata"], json!({}), "{r:?}");

    // A new email clears email_verified (as Auth0), unless it is given.
    let r = s
        .api(
            Method::PATCH,
            &path,
            &t,
            Some(json!({"email": "JANE@example.org"})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["email"], "jane@example.org");
    assert_eq!(r.body["email_verified"], false);
    let r = s
        .api(
            Method::PATCH,
            &path,
            &t,
            Some(json!({"email": "jane@example.net", "email_verified": true})),
        )
        .await;
    assert_eq!(r.body["email_verified"], true, "{r:?}");
    // The user's own connection may be named.
    let r = s
        .api(
            Method::PATCH,
            &path,
            &t,
            Some(json!({"connection": DB, "nickname": "jd"})),
        )
        .await;
    assert_eq!(r.body["nickname"], "jd", "{r:?}");

    let r = s.api(Method::DELETE, &path, &t, None).await;
    assert_eq!(r.status, 204, "{r:?}");
    for method in [Method::GET, Method::DELETE] {
        let r = s.api(method, &path, &t, None).await;
        assert_mgmt_error(&r, 404, "inexistent_user");
        assert_eq!(r.body["message"], "The user does not exist.");
    }
    let r = s
        .api(Method::PATCH, &path, &t, Some(json!({"name": "x"})))
        .await;
    assert_mgmt_error(&r, 404, "inexistent_user");
    let r = s
        .api(Method::GET, "api/v2/users/auth0%7Cnope", &t, None)
        .await;
    assert_mgmt_error(&r, 404, "inexistent_user");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_are_argon2id_and_never_returned() {
    let s = start().await;
    let t = s.admin_token().await;
    let pw = "a-long-and-secret-pw";
    let r = s
        .api(
            Method::POST,
            "api/v2/users",
            &t,
            Some(json!({"connection": DB, "email": "pw@example.com", "password": pw})),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_no_secret(&r, pw);
    assert!(r.body.get("password").is_none());
    let id = r.body["user_id"].as_str().unwrap().to_owned();

    let (user, hash) = s
        .store
        .find_user_for_login(DB, "PW@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.user_id, id);
    let hash = hash.unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(password::verify(&secret(pw), &hash));
    assert!(!password::verify(&secret("a-long-and-secret-pW"), &hash));

    let path = format!("api/v2/users/{}", enc(&id));
    for r in [
        s.api(Method::GET, &path, &t, None).await,
        list(&s, &t, "").await,
        list(&s, &t, "include_totals=true").await,
        s.api(
            Method::GET,
            "api/v2/users-by-email?email=pw%40example.com",
            &t,
            None,
        )
        .await,
    ] {
        assert_eq!(r.status, 200, "{r:?}");
        assert_no_secret(&r, pw);
    }

    // A new password is hashed again; the old one stops working.
    let new_pw = "another-secret-pw-2";
    let r = s
        .api(Method::PATCH, &path, &t, Some(json!({"password": new_pw})))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_no_secret(&r, new_pw);
    let (_, hash2) = s
        .store
        .find_user_for_login(DB, "pw@example.com")
        .await
        .unwrap()
        .unwrap();
    let hash2 = hash2.unwrap();
    assert!(hash2.starts_with("$argon2id$"));
    assert!(password::verify(&secret(new_pw), &hash2));
    assert!(!password::verify(&secret(pw), &hash2));

    // Errors about passwords do not echo them either.
    let r = s
        .api(Method::PATCH, &path, &t, Some(json!({"password": "short"})))
        .await;
    assert_mgmt_error(&r, 400, "invalid_body");
    assert!(
        r.body["message"].as_str().unwrap().contains("password"),
        "{r:?}"
    );
    assert_no_secret(&r, "short");
    let r = s
        .api(
            Method::PATCH,
            &path,
            &t,
            Some(json!({"password": 987654321})),
        )
        .await;
    assert_mgmt_error(&r, 400, "invalid_body");
    assert!(
        r.body["message"].as_str().unwrap().contains("password"),
        "{r:?}"
    );
    assert_no_secret(&r, "987654321");
    let (_, hash3) = s
        .store
        .find_user_for_login(DB, "pw@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hash3.unwrap(), hash2, "refused changes change nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_emails_conflict() {
    let s = start().await;
    let t = s.admin_token().await;
    create(&s, &t, "dup@example.com", json!({})).await;
    let r = s
        .api(
            Method::POST,
            "api/v2/users",
            &t,
            Some(json!({"connection": DB, "email": "DUP@Example.com", "password": PASSWORD})),
        )
        .await;
    assert_mgmt_error(&r, 409, "auth0_idp_error");
    assert_eq!(r.body["message"], "The user already exists.");

    let other = create(&s, &t, "other@example.com", json!({})).await;
    let path = format!("api/v2/users/{}", enc(other["user_id"].as_str().unwrap()));
    let r = s
        .api(
            Method::PATCH,
            &path,
            &t,
            Some(json!({"email": "Dup@example.com"})),
        )
        .await;
    assert_mgmt_error(&r, 409, "auth0_idp_error");
    let got = s.api(Method::GET, &path, &t, None).await;
    assert_eq!(got.body["email"], "other@example.com", "unchanged");
    // Its own email, in another case, is no conflict.
    let r = s
        .api(
            Method::PATCH,
            &path,
            &t,
            Some(json!({"email": "OTHER@example.com"})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_name_the_property() {
    let s = start().await;
    let t = s.admin_token().await;
    let social = Connection {
        id: "con_social0000000001".into(),
        name: "google-oauth2".into(),
        strategy: "google-oauth2".into(),
        options: json!({}),
        enabled_clients: vec![],
    };
    s.store
        .create_connection(&social, SystemClock.now())
        .await
        .unwrap();
    let strict = Connection {
        id: "con_strict0000000001".into(),
        name: "strict-db".into(),
        strategy: "auth0".into(),
        options: json!({"password_complexity_options": {"min_length": 20}}),
        enabled_clients: vec![],
    };
    s.store
        .create_connection(&strict, SystemClock.now())
        .await
        .unwrap();

    let ok = json!({"connection": DB, "email": "bad@example.com", "password": PASSWORD});
    let with = |patch: Value| {
        let mut b = ok.clone();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                b.as_object_mut().unwrap().remove(k);
            } else {
                b[k] = v.clone();
            }
        }
        b
    };
    let cases = [
        (with(json!({"username": "bad"})), "username"),
        (with(json!({"email_verified": "yes"})), "email_verified"),
        (with(json!({"user_metadata": [1]})), "user_metadata"),
        (with(json!({"blocked": 1})), "blocked"),
        (with(json!({"password": "short"})), "password"),
        (with(json!({"connection": "strict-db"})), "password"),
        (with(json!({"password": null})), "password"),
        (with(json!({"connection": null})), "connection"),
        (
            with(json!({"connection": "no-such-connection"})),
            "connection",
        ),
        (with(json!({"connection": "google-oauth2"})), "connection"),
        (with(json!({"email": null})), "email"),
        (with(json!({"email": "not-an-email"})), "email"),
        (with(json!({"picture": "javascript:alert(1)"})), "picture"),
        (with(json!({"name": ""})), "name"),
        (with(json!({"user_metadata": {"a.b": 1}})), "user_metadata"),
        (
            with(json!({"app_metadata": {"user_id": "x"}})),
            "app_metadata",
        ),
    ];
    for (body, property) in cases {
        let r = s
            .api(Method::POST, "api/v2/users", &t, Some(body.clone()))
            .await;
        assert_mgmt_error(&r, 400, "invalid_body");
        let message = r.body["message"].as_str().unwrap();
        assert!(message.contains(property), "{body} -> {message}");
        assert_no_secret(&r, PASSWORD);
    }
    let r = list(&s, &t, "").await;
    assert_eq!(r.body, json!([]), "nothing was created");

    // A strong enough password makes the strict connection work.
    let r = s
        .api(
            Method::POST,
            "api/v2/users",
            &t,
            Some(json!({"connection": "strict-db", "email": "s@example.com", "password": "x".repeat(20)})),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let path = format!("api/v2/users/{}", enc(r.body["user_id"].as_str().unwrap()));

    for (body, property) in [
        (json!({"nickname": "n", "favorite": 1}), "favorite"),
        (json!({"email_verified": "true"}), "email_verified"),
        (json!({"app_metadata": "x"}), "app_metadata"),
        (json!({"password": "y".repeat(19)}), "password"),
        (json!({"connection": DB}), "connection"),
        (json!({"email": "nope"}), "email"),
        (json!({}), "body"),
    ] {
        let r = s.api(Method::PATCH, &path, &t, Some(body.clone())).await;
        assert_mgmt_error(&r, 400, "invalid_body");
        let message = r.body["message"].as_str().unwrap();
        assert!(message.contains(property), "{body} -> {message}");
    }
    let r = s.api(Method::GET, &path, &t, None).await;
    assert_eq!(r.body["nickname"], "s", "refused changes change nothing");

    // Not JSON at all.
    let res = http()
        .post(s.url("api/v2/users"))
        .bearer_auth(&t)
        .header("content-type", "application/json")
        .body("{\"email\":")
        .send()
        .await
        .unwrap();
    assert_mgmt_error(&reply(res).await, 400, "invalid_body");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_searches_sorts_and_pages() {
    let s = start().await;
    let t = s.admin_token().await;
    create(&s, &t, "john@example.com", json!({"name": "John Doe"})).await;
    create(&s, &t, "ann@example.com", json!({"name": "Ann"})).await;
    create(&s, &t, "zed@other.org", json!({"name": "john"})).await;
    create(&s, &t, "bob@example.com", json!({"name": "Bob"})).await;

    let q = |query: &str| format!("q={}", enc(query));
    let r = list(&s, &t, &q("email:\"ann@example.com\"")).await;
    assert_eq!(ids(&r.body), ["ann@example.com"], "{r:?}");
    let r = list(&s, &t, &q("email:ANN@example.com")).await;
    assert_eq!(ids(&r.body), ["ann@example.com"], "{r:?}");
    let r = list(
        &s,
        &t,
        &format!("{}&sort=email:1", q("email:*@example.com")),
    )
    .await;
    assert_eq!(
        ids(&r.body),
        ["ann@example.com", "bob@example.com", "john@example.com"],
        "{r:?}"
    );
    let r = list(&s, &t, &format!("{}&sort=email:1", q("name:john"))).await;
    assert_eq!(
        ids(&r.body),
        ["zed@other.org"],
        "exact, case-insensitive: {r:?}"
    );
    let r = list(&s, &t, &q("name:\"John Doe\"")).await;
    assert_eq!(ids(&r.body), ["john@example.com"], "{r:?}");
    let r = list(
        &s,
        &t,
        &format!("{}&sort=email:1", q("name:john* AND email:*example.com")),
    )
    .await;
    assert_eq!(ids(&r.body), ["john@example.com"], "{r:?}");
    let r = list(
        &s,
        &t,
        &format!("{}&sort=email:-1", q("name:*o* email:*o*")),
    )
    .await;
    assert_eq!(
        ids(&r.body),
        ["zed@other.org", "john@example.com", "bob@example.com"],
        "{r:?}"
    );
    let r = list(&s, &t, &q("email:nobody@example.com")).await;
    assert_eq!(r.body, json!([]));
    let r = list(
        &s,
        &t,
        &format!("connection={}&search_engine=v3&sort=email:1", enc(DB)),
    )
    .await;
    assert_eq!(r.body.as_array().unwrap().len(), 4, "{r:?}");
    let r = list(&s, &t, "connection=other").await;
    assert_eq!(r.body, json!([]));

    // Sort both ways.
    let r = list(&s, &t, "sort=name:1").await;
    assert_eq!(
        ids(&r.body),
        [
            "ann@example.com",
            "bob@example.com",
            "john@example.com",
            "zed@other.org"
        ],
        "names Ann, Bob, John Doe, john: {r:?}"
    );
    let r = list(&s, &t, "sort=email:-1").await;
    assert_eq!(
        ids(&r.body),
        [
            "zed@other.org",
            "john@example.com",
            "bob@example.com",
            "ann@example.com"
        ]
    );

    // Pages with totals.
    let r = list(&s, &t, "sort=email:1&per_page=3&page=0&include_totals=true").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["start"], 0);
    assert_eq!(r.body["limit"], 3);
    assert_eq!(r.body["length"], 3);
    assert_eq!(r.body["total"], 4);
    assert_eq!(
        ids(&r.body["users"]),
        ["ann@example.com", "bob@example.com", "john@example.com"]
    );
    let r = list(&s, &t, "sort=email:1&per_page=3&page=1&include_totals=true").await;
    assert_eq!(r.body["start"], 3);
    assert_eq!(r.body["length"], 1);
    assert_eq!(r.body["total"], 4);
    assert_eq!(ids(&r.body["users"]), ["zed@other.org"]);
    let r = list(
        &s,
        &t,
        &format!(
            "{}&include_totals=true&per_page=1",
            q("email:*@example.com")
        ),
    )
    .await;
    assert_eq!(r.body["total"], 3, "totals count the search: {r:?}");
    assert_eq!(r.body["length"], 1);

    // What is not supported says what.
    for (query, says) in [
        (q("john"), "has no field"),
        (q("email:a OR email:b"), "OR"),
        (q("logins_count:[1 TO 5]"), "cannot be searched"),
        (q("favorite_color:red"), "favorite_color"),
        (q("name:\"open"), "closing quote"),
        ("sort=password:1".to_owned(), "sort"),
        ("sort=email:up".to_owned(), "sort"),
        ("search_engine=v2".to_owned(), "search_engine"),
        ("per_page=101".to_owned(), "per_page"),
        ("page=-1".to_owned(), "page"),
        ("page=999999999999999999".to_owned(), "page"),
        ("per_page=ten".to_owned(), "per_page"),
        ("fields=email&bogus=1".to_owned(), "bogus"),
        ("connection=a*".to_owned(), "connection"),
    ] {
        let r = list(&s, &t, &query).await;
        assert_mgmt_error(&r, 400, "invalid_query_string");
        let message = r.body["message"].as_str().unwrap();
        assert!(message.contains(says), "{query} -> {message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_by_email_is_case_insensitive() {
    let s = start().await;
    let t = s.admin_token().await;
    let strict = Connection {
        id: "con_second0000000001".into(),
        name: "second-db".into(),
        strategy: "auth0".into(),
        options: json!({}),
        enabled_clients: vec![],
    };
    s.store
        .create_connection(&strict, SystemClock.now())
        .await
        .unwrap();
    let a = create(&s, &t, "Same@Example.com", json!({})).await;
    let b = create(
        &s,
        &t,
        "same@example.com",
        json!({"connection": "second-db"}),
    )
    .await;
    create(&s, &t, "different@example.com", json!({})).await;
    assert_ne!(a["user_id"], b["user_id"]);

    let r = s
        .api(
            Method::GET,
            "api/v2/users-by-email?email=SAME%40example.COM",
            &t,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let found: Vec<&Value> = r.body.as_array().unwrap().iter().collect();
    assert_eq!(found.len(), 2, "{r:?}");
    assert!(found.contains(&&a) && found.contains(&&b), "{r:?}");

    let r = s
        .api(
            Method::GET,
            "api/v2/users-by-email?email=none%40example.com",
            &t,
            None,
        )
        .await;
    assert_eq!(r.body, json!([]));
    let r = s.api(Method::GET, "api/v2/users-by-email", &t, None).await;
    assert_mgmt_error(&r, 400, "invalid_query_string");
    let r = s
        .api(
            Method::GET,
            "api/v2/users-by-email?email=a%40b.c&extra=1",
            &t,
            None,
        )
        .await;
    assert_mgmt_error(&r, 400, "invalid_query_string");
}

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
    let required = schemas["CreateUser"]["required"].as_array().unwrap();
    for p in ["connection", "email", "password"] {
        assert!(required.contains(&json!(p)), "{required:?}");
    }
}
