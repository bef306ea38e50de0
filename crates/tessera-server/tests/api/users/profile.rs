//! The rest of Auth0's user schema: `user_id` on creation, `username`,
//! `phone_number`, `phone_verified`, and on update `verify_phone_number` and
//! `client_id`; who may set them, and what is refused.

use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::Clock;
use tessera_core::clock::SystemClock;
use tessera_core::model::Connection;
use tessera_core::store::TenantStore;

use super::*;
use crate::common::*;

/// A database connection whose users have usernames.
const NAMED: &str = "named-db";
const REASON: &str = "tessera-error-reason";

async fn named_connection(s: &TestServer, id: &str, name: &str) {
    let conn = Connection {
        id: id.into(),
        name: name.into(),
        strategy: "auth0".into(),
        options: json!({"requires_username": true}),
        enabled_clients: vec![],
        ..Default::default()
    };
    s.store
        .create_connection(&conn, SystemClock.now())
        .await
        .unwrap();
}

fn reason(r: &Reply) -> &str {
    r.headers
        .get(REASON)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

async fn post(s: &TestServer, t: &str, body: Value) -> Reply {
    s.api(Method::POST, "api/v2/users", t, Some(body)).await
}

fn path_of(user: &Value) -> String {
    format!("api/v2/users/{}", enc(user["user_id"].as_str().unwrap()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_take_a_username_a_phone_and_their_own_id() {
    let s = start().await;
    let t = s.admin_token().await;
    named_connection(&s, "con_named00000000001", NAMED).await;
    let r = post(
        &s,
        &t,
        json!({
            "connection": NAMED, "email": "jane@example.com", "password": PASSWORD,
            "user_id": "legacy-42", "username": "Jane_D",
            "phone_number": "+15551234567", "phone_verified": true,
        }),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    let u = r.body;
    assert_eq!(u["user_id"], "auth0|legacy-42");
    assert_eq!(
        u["identities"],
        json!([{"connection": NAMED, "user_id": "legacy-42", "provider": "auth0", "isSocial": false}])
    );
    assert_eq!(u["username"], "jane_d", "lower-cased");
    assert_eq!(u["phone_number"], "+15551234567");
    assert_eq!(u["phone_verified"], true);
    for p in [path_of(&u), "api/v2/users/auth0|legacy-42".into()] {
        let got = s.api(Method::GET, &p, &t, None).await;
        assert_eq!(got.status, 200, "{got:?}");
        assert_eq!(got.body, u);
    }
    // Listed and searched with them.
    for q in [
        "q=username%3AJANE_D",
        "q=phone_number%3A%22%2B15551234567%22",
        "q=username%3Ajane*&connection=named-db",
    ] {
        let r = list(&s, &t, q).await;
        assert_eq!(r.status, 200, "{q}: {r:?}");
        assert_eq!(r.body, json!([u.clone()]), "{q}");
    }
    let r = list(&s, &t, "q=username%3Anobody").await;
    assert_eq!(r.body, json!([]));

    // Changed: a new number is not verified unless said so; verify_phone_number
    // and client_id are accepted (Tessera sends no SMS or email).
    let r = s
        .api(
            Method::PATCH,
            &path_of(&u),
            &t,
            Some(json!({
                "username": "JaneDoe", "phone_number": "+33612345678",
                "verify_phone_number": true, "client_id": "some-client",
            })),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["username"], "janedoe");
    assert_eq!(r.body["phone_number"], "+33612345678");
    assert_eq!(r.body["phone_verified"], false);
    let r = s
        .api(
            Method::PATCH,
            &path_of(&u),
            &t,
            Some(json!({"phone_verified": true})),
        )
        .await;
    assert_eq!(r.body["phone_verified"], true, "{r:?}");
    let got = s.api(Method::GET, &path_of(&u), &t, None).await;
    assert_eq!(got.body, r.body, "stored");
    // The old username is free again, in the same connection.
    let other = post(
        &s,
        &t,
        json!({"connection": NAMED, "email": "o@example.com", "password": PASSWORD, "username": "jane_d"}),
    )
    .await;
    assert_eq!(other.status, 201, "{other:?}");

    // A database connection without usernames takes the phone fields too; a
    // user without them shows none.
    let plain = create(
        &s,
        &t,
        "plain@example.com",
        json!({"phone_number": "+4915123456789"}),
    )
    .await;
    assert_eq!(plain["phone_number"], "+4915123456789");
    assert_eq!(plain["phone_verified"], false);
    assert!(plain.get("username").is_none(), "{plain}");
    let bare = create(&s, &t, "bare@example.com", json!({})).await;
    for key in ["username", "phone_number", "phone_verified"] {
        assert!(bare.get(key).is_none(), "{key}: {bare}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taken_usernames_and_ids_conflict() {
    let s = start().await;
    let t = s.admin_token().await;
    named_connection(&s, "con_named00000000001", NAMED).await;
    named_connection(&s, "con_named00000000002", "named-2").await;
    let body = |email: &str, conn: &str, extra: Value| {
        let mut b = json!({"connection": conn, "email": email, "password": PASSWORD});
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        b
    };
    let jane = post(
        &s,
        &t,
        body(
            "jane@example.com",
            NAMED,
            json!({"username": "jane", "user_id": "id-1"}),
        ),
    )
    .await;
    assert_eq!(jane.status, 201, "{jane:?}");

    // The username, in any case, in the same connection.
    let r = post(
        &s,
        &t,
        body("j2@example.com", NAMED, json!({"username": "JANE"})),
    )
    .await;
    assert_mgmt_error(&r, 409, "auth0_idp_error");
    assert_eq!(r.body["message"], "The user already exists.");
    assert_eq!(reason(&r), "username_taken");
    // Another connection may have it.
    let r = post(
        &s,
        &t,
        body("j2@example.com", "named-2", json!({"username": "jane"})),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    // The id, even in another connection (ids are the tenant's).
    for conn in [NAMED, DB] {
        let r = post(
            &s,
            &t,
            body("j3@example.com", conn, json!({"user_id": "id-1"})),
        )
        .await;
        assert_mgmt_error(&r, 409, "auth0_idp_error");
        assert_eq!(r.body["message"], "The user already exists.");
        assert_eq!(reason(&r), "user_id_taken", "{conn}");
    }
    // The email keeps its own reason.
    let r = post(&s, &t, body("JANE@example.com", NAMED, json!({}))).await;
    assert_mgmt_error(&r, 409, "auth0_idp_error");
    assert_eq!(reason(&r), "email_taken");

    // An update to a taken username is refused and changes nothing.
    let bob = post(
        &s,
        &t,
        body("bob@example.com", NAMED, json!({"username": "bob"})),
    )
    .await;
    assert_eq!(bob.status, 201, "{bob:?}");
    let r = s
        .api(
            Method::PATCH,
            &path_of(&bob.body),
            &t,
            Some(json!({"username": "Jane", "name": "Bob"})),
        )
        .await;
    assert_mgmt_error(&r, 409, "auth0_idp_error");
    assert_eq!(reason(&r), "username_taken");
    let got = s.api(Method::GET, &path_of(&bob.body), &t, None).await;
    assert_eq!(got.body, bob.body, "unchanged");
    // Its own username is no conflict.
    let r = s
        .api(
            Method::PATCH,
            &path_of(&bob.body),
            &t,
            Some(json!({"username": "BOB"})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_usernames_phones_and_ids_are_refused() {
    let s = start().await;
    let t = s.admin_token().await;
    named_connection(&s, "con_named00000000001", NAMED).await;

    // A username where the connection takes none: Auth0's answer.
    let r = post(
        &s,
        &t,
        json!({"connection": DB, "email": "a@example.com", "password": PASSWORD, "username": "jane"}),
    )
    .await;
    assert_mgmt_error(&r, 400, "invalid_body");
    assert_eq!(
        r.body["message"],
        "Cannot set username for connection without requires_username"
    );
    assert_eq!(reason(&r), "username_not_allowed");
    let plain = create(&s, &t, "plain@example.com", json!({})).await;
    let r = s
        .api(
            Method::PATCH,
            &path_of(&plain),
            &t,
            Some(json!({"username": "jane"})),
        )
        .await;
    assert_mgmt_error(&r, 400, "invalid_body");
    assert_eq!(reason(&r), "username_not_allowed");

    let ok = json!({"connection": NAMED, "email": "bad@example.com", "password": PASSWORD});
    let with = |patch: Value| {
        let mut b = ok.clone();
        b.as_object_mut()
            .unwrap()
            .extend(patch.as_object().unwrap().clone());
        b
    };
    let cases = [
        // Auth0's characters and lengths (1 to 15 by default); never an email.
        (json!({"username": "jane doe"}), "username"),
        (json!({"username": "jané"}), "username"),
        (json!({"username": "a/b"}), "username"),
        (json!({"username": ""}), "username"),
        (json!({"username": "x".repeat(16)}), "username"),
        (json!({"username": "jane@example.com"}), "username"),
        (json!({"username": 5}), "username"),
        (json!({"username": ["jane"]}), "username"),
        // E.164 strings only.
        (json!({"phone_number": "555-1234"}), "phone_number"),
        (json!({"phone_number": "+1 555 1234"}), "phone_number"),
        (json!({"phone_number": "15551234567"}), "phone_number"),
        (json!({"phone_number": "+1234567890123456"}), "phone_number"),
        (json!({"phone_number": 15551234567_u64}), "phone_number"),
        (json!({"phone_verified": "yes"}), "phone_verified"),
        // Ids that would not read the same in a path, or too long.
        (json!({"user_id": "a|b"}), "user_id"),
        (json!({"user_id": "a/b"}), "user_id"),
        (json!({"user_id": "a b"}), "user_id"),
        (json!({"user_id": "a\u{1}b"}), "user_id"),
        (json!({"user_id": "a%2Fb"}), "user_id"),
        (json!({"user_id": ""}), "user_id"),
        (json!({"user_id": "x".repeat(241)}), "user_id"),
        (json!({"user_id": 42}), "user_id"),
    ];
    for (patch, property) in cases {
        let body = with(patch.clone());
        let r = post(&s, &t, body).await;
        assert_mgmt_error(&r, 400, "invalid_body");
        let message = r.body["message"].as_str().unwrap();
        assert!(message.contains(property), "{patch} -> {message}");
        assert_no_secret(&r, PASSWORD);
    }
    // Properties Auth0 takes only on update are unknown on creation, and the
    // other way round.
    for (method, path, body, name) in [
        (
            Method::POST,
            "api/v2/users".to_owned(),
            with(json!({"verify_phone_number": true})),
            "verify_phone_number",
        ),
        (
            Method::POST,
            "api/v2/users".to_owned(),
            with(json!({"client_id": "c"})),
            "client_id",
        ),
        (
            Method::POST,
            "api/v2/users".to_owned(),
            with(json!({"phone": "+15551234567"})),
            "phone",
        ),
        (
            Method::PATCH,
            path_of(&plain),
            json!({"user_id": "new-id"}),
            "user_id",
        ),
        (
            Method::PATCH,
            path_of(&plain),
            json!({"phone": "+15551234567"}),
            "phone",
        ),
    ] {
        let r = s.api(method, &path, &t, Some(body)).await;
        assert_mgmt_error(&r, 400, "invalid_body");
        assert_eq!(
            r.body["message"],
            format!("Payload validation error: 'Additional properties not allowed: {name}'.")
        );
        assert_eq!(reason(&r), "additional_property");
    }
    let r = list(&s, &t, "connection=named-db").await;
    assert_eq!(r.body, json!([]), "nothing was created");

    // Updates are held to the same rules and change nothing when refused.
    let named = post(
        &s,
        &t,
        json!({"connection": NAMED, "email": "n@example.com", "password": PASSWORD, "username": "named"}),
    )
    .await;
    assert_eq!(named.status, 201, "{named:?}");
    for (body, property) in [
        (json!({"username": "no spaces"}), "username"),
        (json!({"username": 1}), "username"),
        (json!({"phone_number": "555"}), "phone_number"),
        (json!({"phone_number": 555}), "phone_number"),
        (json!({"phone_verified": 1}), "phone_verified"),
        (json!({"verify_phone_number": "yes"}), "verify_phone_number"),
        (json!({"client_id": 7}), "client_id"),
    ] {
        let r = s
            .api(Method::PATCH, &path_of(&named.body), &t, Some(body.clone()))
            .await;
        assert_mgmt_error(&r, 400, "invalid_body");
        let message = r.body["message"].as_str().unwrap();
        assert!(message.contains(property), "{body} -> {message}");
    }
    let got = s.api(Method::GET, &path_of(&named.body), &t, None).await;
    assert_eq!(got.body, named.body, "refused changes change nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_new_properties_need_the_usual_scopes() {
    let s = start().await;
    let admin = s.admin_token().await;
    named_connection(&s, "con_named00000000001", NAMED).await;
    let body = json!({
        "connection": NAMED, "email": "s@example.com", "password": PASSWORD,
        "user_id": "scoped", "username": "scoped", "phone_number": "+15551234567",
    });
    let token = s
        .token_with_scopes(&["read:users", "update:users", "update:users_app_metadata"])
        .await;
    let r = post(&s, &token, body.clone()).await;
    assert_mgmt_error(&r, 403, "insufficient_scope");
    assert!(
        r.body["message"].as_str().unwrap().contains("create:users"),
        "{r:?}"
    );
    let u = post(&s, &admin, body).await;
    assert_eq!(u.status, 201, "{u:?}");

    // Only app_metadata may change with update:users_app_metadata.
    let meta_only = s.token_with_scopes(&["update:users_app_metadata"]).await;
    let no_update = s
        .token_with_scopes(&["read:users", "create:users", "delete:users"])
        .await;
    for token in [&meta_only, &no_update] {
        for change in [
            json!({"username": "other"}),
            json!({"phone_number": "+15559876543"}),
            json!({"phone_verified": true}),
            json!({"verify_phone_number": false}),
            json!({"client_id": "c", "app_metadata": {"a": 1}}),
        ] {
            let r = s
                .api(
                    Method::PATCH,
                    &path_of(&u.body),
                    token,
                    Some(change.clone()),
                )
                .await;
            assert_mgmt_error(&r, 403, "insufficient_scope");
        }
    }
    let got = s.api(Method::GET, &path_of(&u.body), &admin, None).await;
    assert_eq!(got.body, u.body, "unchanged");
}
