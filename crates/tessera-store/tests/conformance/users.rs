//! Users.

use tessera_core::store::*;

use crate::*;

pub fn db_user(
    hex: &str,
    connection: &str,
    email: Option<&str>,
    name: Option<&str>,
    created_at: i64,
) -> tessera_core::model::User {
    tessera_core::model::User {
        user_id: format!("auth0|{hex}"),
        connection: connection.into(),
        email: email.map(str::to_lowercase),
        email_verified: false,
        name: name.map(Into::into),
        given_name: None,
        family_name: None,
        nickname: email.and_then(|e| e.split('@').next()).map(Into::into),
        picture: None,
        user_metadata: serde_json::json!({"theme": "dark"})
            .as_object()
            .cloned()
            .unwrap(),
        app_metadata: serde_json::Map::new(),
        blocked: false,
        created_at,
        updated_at: created_at,
        last_login: None,
        logins_count: 0,
        username: None,
        phone_number: None,
        phone_verified: None,
        identities: vec![tessera_core::model::Identity {
            connection: connection.into(),
            user_id: hex.into(),
            provider: "auth0".into(),
            is_social: false,
        }],
    }
}

pub fn search(
    filters: &[(tessera_core::store::UserField, &str)],
) -> tessera_core::store::UserQuery {
    tessera_core::store::UserQuery {
        filters: filters
            .iter()
            .map(|(field, pattern)| tessera_core::store::UserFilter {
                field: *field,
                pattern: (*pattern).into(),
            })
            .collect(),
        sort: None,
    }
}

pub fn user_ids(users: &[tessera_core::model::User]) -> Vec<&str> {
    users.iter().map(|u| u.user_id.as_str()).collect()
}

pub const ALL: tessera_core::store::Page = tessera_core::store::Page {
    page: 0,
    per_page: 100,
};

pub async fn users_create_and_refuse_duplicates(db: Db) {
    use tessera_core::store::UserStore;
    let jane = db_user("a1", DB_CONN, Some("Jane@Example.com"), Some("Jane"), T0);
    db.store
        .create_user(&jane, Some("$argon2id$h1"))
        .await
        .unwrap();
    assert_eq!(db.store.get_user("auth0|a1").await.unwrap().unwrap(), jane);
    assert!(db.store.get_user("auth0|zz").await.unwrap().is_none());
    let (found, hash) = db
        .store
        .find_user_for_login(DB_CONN, "JANE@example.COM")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, jane);
    assert_eq!(hash.as_deref(), Some("$argon2id$h1"));
    assert!(
        db.store
            .find_user_for_login("other-db", "jane@example.com")
            .await
            .unwrap()
            .is_none()
    );

    // The same email (any case) in the same connection is a conflict, and
    // nothing is written.
    let twin = db_user(
        "a2",
        DB_CONN,
        Some("JANE@example.com"),
        Some("Twin"),
        T0 + 1,
    );
    assert!(matches!(
        db.store.create_user(&twin, Some("$argon2id$h2")).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(db.store.get_user("auth0|a2").await.unwrap().is_none());
    // So is a second user with the same id.
    let same_id = db_user("a1", DB_CONN, Some("other@example.com"), None, T0 + 1);
    assert!(matches!(
        db.store.create_user(&same_id, None).await,
        Err(StoreError::Conflict(_))
    ));
    // Another connection may have the same email; users without email never clash.
    let elsewhere = db_user("a3", "other-db", Some("jane@example.com"), None, T0 + 2);
    db.store.create_user(&elsewhere, None).await.unwrap();
    for (i, hex) in ["b1", "b2"].iter().enumerate() {
        db.store
            .create_user(&db_user(hex, DB_CONN, None, None, T0 + 3 + i as i64), None)
            .await
            .unwrap();
    }
    let by_email = db.store.users_by_email("JANE@EXAMPLE.COM").await.unwrap();
    assert_eq!(user_ids(&by_email), ["auth0|a1", "auth0|a3"]);
    assert!(
        db.store
            .users_by_email("nobody@example.com")
            .await
            .unwrap()
            .is_empty()
    );
    let (_, total) = db.store.list_users(&search(&[]), ALL).await.unwrap();
    assert_eq!(total, 4);
}

pub async fn users_list_filters_sorts_and_pages(db: Db) {
    use tessera_core::store::{Page, UserField, UserQuery, UserStore};
    let rows = [
        ("c1", DB_CONN, Some("ann@example.com"), Some("ann")),
        ("c2", DB_CONN, Some("bob@example.com"), Some("bob")),
        ("c3", DB_CONN, Some("carl@other.org"), Some("carl")),
        ("c4", "other-db", Some("dora@example.com"), None),
        ("c5", DB_CONN, Some("eve@example.com"), Some("50%_off")),
        ("c6", DB_CONN, Some("fay@example.com"), Some("50x_off")),
    ];
    for (i, (hex, conn, email, name)) in rows.iter().enumerate() {
        let mut u = db_user(hex, conn, *email, *name, T0 + i as i64);
        u.logins_count = (i as i64 * 7) % 4;
        db.store.create_user(&u, None).await.unwrap();
    }
    let ids_of = |query: UserQuery| {
        let store = db.store.clone();
        async move {
            let (users, total) = store.list_users(&query, ALL).await.unwrap();
            assert_eq!(total, users.len() as i64);
            user_ids(&users)
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>()
        }
    };
    // Exact, any case; emails and text fields.
    assert_eq!(
        ids_of(search(&[(UserField::Email, "ANN@example.com")])).await,
        ["auth0|c1"]
    );
    assert_eq!(
        ids_of(search(&[(UserField::Name, "BOB")])).await,
        ["auth0|c2"]
    );
    assert_eq!(
        ids_of(search(&[(UserField::Nickname, "carl")])).await,
        ["auth0|c3"]
    );
    assert_eq!(
        ids_of(search(&[(UserField::UserId, "auth0|c4")])).await,
        ["auth0|c4"]
    );
    assert!(
        ids_of(search(&[(UserField::Email, "ann@example")]))
            .await
            .is_empty(),
        "exact is exact"
    );
    // Wildcards: suffix, prefix, infix.
    assert_eq!(
        ids_of(search(&[(UserField::Email, "*@EXAMPLE.com")])).await,
        ["auth0|c1", "auth0|c2", "auth0|c4", "auth0|c5", "auth0|c6"]
    );
    assert_eq!(
        ids_of(search(&[(UserField::Email, "ca*")])).await,
        ["auth0|c3"]
    );
    assert_eq!(
        ids_of(search(&[(UserField::Name, "*A*")])).await,
        ["auth0|c1", "auth0|c3"]
    );
    // SQL's own wildcards are literal.
    assert_eq!(
        ids_of(search(&[(UserField::Name, "50%_*")])).await,
        ["auth0|c5"]
    );
    assert_eq!(
        ids_of(search(&[(UserField::Name, "50%_off")])).await,
        ["auth0|c5"]
    );
    // Connection, and several filters together (AND).
    assert_eq!(
        ids_of(search(&[(UserField::Connection, "other-db")])).await,
        ["auth0|c4"]
    );
    assert_eq!(
        ids_of(search(&[
            (UserField::Connection, DB_CONN),
            (UserField::Email, "*@example.com"),
            (UserField::Name, "*o*"),
        ]))
        .await,
        ["auth0|c2", "auth0|c5", "auth0|c6"]
    );
    // Sorted both ways; a missing value last either way.
    let sorted = |field, asc| UserQuery {
        filters: vec![],
        sort: Some((field, asc)),
    };
    assert_eq!(
        ids_of(sorted(UserField::Name, true)).await,
        [
            "auth0|c5", "auth0|c6", "auth0|c1", "auth0|c2", "auth0|c3", "auth0|c4"
        ]
    );
    assert_eq!(
        ids_of(sorted(UserField::Name, false)).await,
        [
            "auth0|c3", "auth0|c2", "auth0|c1", "auth0|c6", "auth0|c5", "auth0|c4"
        ]
    );
    assert_eq!(
        ids_of(sorted(UserField::CreatedAt, false)).await,
        [
            "auth0|c6", "auth0|c5", "auth0|c4", "auth0|c3", "auth0|c2", "auth0|c1"
        ]
    );
    // logins_count: 0, 3, 2, 1, 0, 3; ties by user id.
    assert_eq!(
        ids_of(sorted(UserField::LoginsCount, true)).await,
        [
            "auth0|c1", "auth0|c5", "auth0|c4", "auth0|c3", "auth0|c2", "auth0|c6"
        ]
    );
    // Pages, with the total of the whole search.
    let query = UserQuery {
        filters: search(&[(UserField::Email, "*@example.com")]).filters,
        sort: Some((UserField::Email, false)),
    };
    let (first, total) = db
        .store
        .list_users(
            &query,
            Page {
                page: 0,
                per_page: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!(total, 5);
    assert_eq!(user_ids(&first), ["auth0|c6", "auth0|c5"]);
    let (last, total) = db
        .store
        .list_users(
            &query,
            Page {
                page: 2,
                per_page: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!(total, 5);
    assert_eq!(user_ids(&last), ["auth0|c1"]);
    let (beyond, _) = db
        .store
        .list_users(
            &query,
            Page {
                page: 9,
                per_page: 2,
            },
        )
        .await
        .unwrap();
    assert!(beyond.is_empty());
}

pub async fn users_update_and_delete(db: Db) {
    use tessera_core::store::UserStore;
    let mut jane = db_user("d1", DB_CONN, Some("jane@example.com"), Some("Jane"), T0);
    db.store
        .create_user(&jane, Some("$argon2id$old"))
        .await
        .unwrap();
    let bob = db_user("d2", DB_CONN, Some("bob@example.com"), Some("Bob"), T0);
    db.store
        .create_user(&bob, Some("$argon2id$bob"))
        .await
        .unwrap();

    jane.name = Some("Jane Doe".into());
    jane.blocked = true;
    jane.email = Some("jane@example.org".into());
    jane.app_metadata
        .insert("plan".into(), serde_json::json!("gold"));
    jane.updated_at = T0 + 10;
    jane.last_login = Some(T0 + 5);
    jane.logins_count = 3;
    // No new hash: the old one stays.
    assert!(db.store.update_user(&jane, None).await.unwrap());
    assert_eq!(db.store.get_user("auth0|d1").await.unwrap().unwrap(), jane);
    let (_, hash) = db
        .store
        .find_user_for_login(DB_CONN, "jane@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hash.as_deref(), Some("$argon2id$old"));
    assert!(
        db.store
            .find_user_for_login(DB_CONN, "jane@example.com")
            .await
            .unwrap()
            .is_none(),
        "the old email is free"
    );
    assert_eq!(
        user_ids(
            &db.store
                .list_users(
                    &search(&[(tessera_core::store::UserField::Name, "jane doe")]),
                    ALL
                )
                .await
                .unwrap()
                .0
        ),
        ["auth0|d1"],
        "searchable columns follow the document"
    );
    // A new hash replaces it.
    assert!(
        db.store
            .update_user(&jane, Some("$argon2id$new"))
            .await
            .unwrap()
    );
    let (_, hash) = db
        .store
        .find_user_for_login(DB_CONN, "jane@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hash.as_deref(), Some("$argon2id$new"));

    // Taking another user's email is a conflict; nothing changes.
    let mut thief = bob.clone();
    thief.email = Some("jane@example.org".into());
    thief.name = Some("Thief".into());
    assert!(matches!(
        db.store.update_user(&thief, Some("$argon2id$x")).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(db.store.get_user("auth0|d2").await.unwrap().unwrap(), bob);
    let (_, hash) = db
        .store
        .find_user_for_login(DB_CONN, "bob@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hash.as_deref(), Some("$argon2id$bob"));

    // An unknown user is not updated (nor created).
    let ghost = db_user("d9", DB_CONN, Some("ghost@example.com"), None, T0);
    assert!(!db.store.update_user(&ghost, None).await.unwrap());
    assert!(db.store.get_user("auth0|d9").await.unwrap().is_none());

    assert!(db.store.delete_user("auth0|d1").await.unwrap());
    assert!(!db.store.delete_user("auth0|d1").await.unwrap());
    assert!(db.store.get_user("auth0|d1").await.unwrap().is_none());
    assert!(
        db.store
            .users_by_email("jane@example.org")
            .await
            .unwrap()
            .is_empty()
    );
    // Its email is free again.
    let again = db_user("d3", DB_CONN, Some("jane@example.org"), None, T0 + 20);
    db.store.create_user(&again, None).await.unwrap();
    let (_, total) = db.store.list_users(&search(&[]), ALL).await.unwrap();
    assert_eq!(total, 2);
}

// ---------------------------------------------------------------------------
// Clients, client grants and connections (Management API storage)

/// A user of `DB_CONN` with a username (stored lower-cased, as the core does)
/// and a phone number.
fn named(hex: &str, username: &str, created_at: i64) -> tessera_core::model::User {
    let mut u = db_user(
        hex,
        DB_CONN,
        Some(&format!("{hex}@example.com")),
        None,
        created_at,
    );
    u.username = Some(username.to_owned());
    u.phone_number = Some("+15551234567".into());
    u.phone_verified = Some(false);
    u
}

pub async fn usernames_are_unique_per_connection_and_searchable(db: Db) {
    use tessera_core::store::{UserField, UserStore};
    let s = &db.store;
    let jane = named("n1", "jane", T0);
    s.create_user(&jane, None).await.unwrap();
    assert_eq!(s.get_user("auth0|n1").await.unwrap().unwrap(), jane);
    assert_eq!(
        s.find_user_by_username(DB_CONN, "JANE").await.unwrap(),
        Some(jane.clone())
    );
    assert!(
        s.find_user_by_username("other-db", "jane")
            .await
            .unwrap()
            .is_none()
    );
    // The same username in the same connection is a conflict, and nothing is
    // written; another connection may have it; users without one never clash.
    assert!(matches!(
        s.create_user(&named("n2", "jane", T0 + 1), None).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(s.get_user("auth0|n2").await.unwrap().is_none());
    let mut elsewhere = named("n3", "jane", T0 + 2);
    elsewhere.connection = "other-db".into();
    s.create_user(&elsewhere, None).await.unwrap();
    for hex in ["n4", "n5"] {
        s.create_user(
            &db_user(hex, DB_CONN, Some(&format!("{hex}@x.com")), None, T0 + 3),
            None,
        )
        .await
        .unwrap();
    }
    // An update to a taken username is a conflict and changes nothing; to a
    // free one it moves the username.
    let mut bob = named("n6", "bob", T0 + 4);
    s.create_user(&bob, None).await.unwrap();
    bob.username = Some("jane".into());
    assert!(matches!(
        s.update_user(&bob, None).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.find_user_by_username(DB_CONN, "bob")
            .await
            .unwrap()
            .map(|u| u.user_id),
        Some("auth0|n6".into())
    );
    bob.username = Some("robert".into());
    assert!(s.update_user(&bob, None).await.unwrap());
    assert!(
        s.find_user_by_username(DB_CONN, "bob")
            .await
            .unwrap()
            .is_none()
    );
    // Searchable by username and phone number.
    let (found, _) = s
        .list_users(&search(&[(UserField::Username, "JAN*")]), ALL)
        .await
        .unwrap();
    assert_eq!(user_ids(&found), ["auth0|n1", "auth0|n3"]);
    let (found, total) = s
        .list_users(
            &search(&[
                (UserField::PhoneNumber, "+1555*"),
                (UserField::Connection, DB_CONN),
            ]),
            ALL,
        )
        .await
        .unwrap();
    assert_eq!(user_ids(&found), ["auth0|n1", "auth0|n6"]);
    assert_eq!(total, 2);
}

pub async fn concurrent_creates_of_one_username_have_one_winner(db: Db) {
    use tessera_core::store::UserStore;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .create_user(&named(&format!("r{i}"), "racer", T0 + i), None)
                .await
        }));
    }
    let mut winners = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => winners += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(winners, 1);
}

/// Review of issue 14, finding 3: users of upstream providers (`oidc|`,
/// `oauth2|`) never conflict on their connection's email, at creation or
/// update (an unverified upstream email cannot squat an address); database
/// users still do.
pub async fn upstream_users_never_conflict_on_email(db: Db) {
    use tessera_core::store::UserStore;
    let upstream = |strategy: &str, sub: &str, email: &str| {
        let mut u = db_user(sub, "corp", Some(email), None, T0);
        u.user_id = format!("{strategy}|corp|{sub}");
        u.identities[0].provider = strategy.into();
        u.identities[0].user_id = format!("corp|{sub}");
        u
    };
    let attacker = upstream("oidc", "attacker", "victim@corp.example");
    db.store.create_user(&attacker, None).await.unwrap();
    let victim = upstream("oidc", "victim", "Victim@corp.example");
    db.store.create_user(&victim, None).await.unwrap();
    let third = upstream("oauth2", "third", "victim@corp.example");
    db.store.create_user(&third, None).await.unwrap();
    assert_eq!(
        db.store
            .users_by_email("victim@corp.example")
            .await
            .unwrap()
            .len(),
        3
    );
    // An update to an email another upstream user has is no conflict.
    let mut other = upstream("oidc", "other", "other@corp.example");
    db.store.create_user(&other, None).await.unwrap();
    other.email = Some("victim@corp.example".into());
    assert!(db.store.update_user(&other, None).await.unwrap());
    // Database users of the same connection name still conflict.
    let a = db_user("d1", "corp", Some("victim@corp.example"), None, T0);
    db.store.create_user(&a, None).await.unwrap();
    let b = db_user("d2", "corp", Some("VICTIM@corp.example"), None, T0);
    assert!(matches!(
        db.store.create_user(&b, None).await,
        Err(StoreError::Conflict(_))
    ));
}

/// Actions' metadata changes apply to the user as stored: a block written in
/// between is kept, `null` removes a key, other fields are untouched.
pub async fn metadata_changes_apply_to_the_stored_user(db: Db) {
    use tessera_core::store::UserStore;
    let mut ada = db_user("e1", DB_CONN, Some("ada@example.com"), Some("Ada"), T0);
    ada.app_metadata
        .insert("plan".into(), serde_json::json!("silver"));
    db.store.create_user(&ada, None).await.unwrap();
    // A block (another writer) after the action read the user.
    ada.blocked = true;
    assert!(db.store.update_user(&ada, None).await.unwrap());
    let app = serde_json::json!({"plan": null, "tier": 2});
    let user = serde_json::json!({"theme": "light"});
    assert!(
        db.store
            .change_user_metadata("auth0|e1", app.as_object(), user.as_object(), T0 + 20,)
            .await
            .unwrap()
    );
    let stored = db.store.get_user("auth0|e1").await.unwrap().unwrap();
    assert!(stored.blocked, "the block written meanwhile is kept");
    assert_eq!(
        serde_json::Value::Object(stored.app_metadata),
        serde_json::json!({"tier": 2})
    );
    assert_eq!(stored.user_metadata["theme"], "light");
    assert_eq!(stored.updated_at, T0 + 20);
    assert_eq!(stored.name.as_deref(), Some("Ada"));
    assert!(
        !db.store
            .change_user_metadata("auth0|none", app.as_object(), None, T0)
            .await
            .unwrap()
    );
}
