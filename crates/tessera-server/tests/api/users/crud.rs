//! Creating, reading, changing and deleting users; passwords; duplicates and
//! bad bodies.

use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::clock::SystemClock;
use tessera_core::model::Connection;
use tessera_core::store::{TenantStore, UserStore};
use tessera_core::{Clock, password};

use super::*;
use crate::common::*;

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
        ..Default::default()
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
        ..Default::default()
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
