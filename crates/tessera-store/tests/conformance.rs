//! One storage suite, run against SQLite always and PostgreSQL (a throwaway
//! cluster, or TESSERA_TEST_POSTGRES_URL).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use tessera_core::bootstrap::{self, AdminClient};
use tessera_core::clock::{Clock, FixedClock};
use tessera_core::envelope::MasterKey;
use tessera_core::keys::{KeyError, KeyPolicy, KeyState, Keys, RotationRefused, SigningAlg};
use tessera_core::model::{Client, ClientGrant, JwtConfiguration};
use tessera_core::store::{KeyStore, MetaStore, Store, StoreError, TenantStore};
use tessera_core::{Issuer, Secret};
use tessera_store::{SqlStore, testing};

const T0: i64 = 1_800_000_000;
const POLICY: KeyPolicy = KeyPolicy {
    jwks_max_age: 300,
    reload_interval: 10,
    max_token_lifetime: 86400,
};

struct Db {
    store: Arc<SqlStore>,
    _dir: tempfile::TempDir,
}

async fn sqlite() -> Option<Db> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::open(&testing::sqlite_url(dir.path()))
        .await
        .unwrap();
    Some(Db {
        store: Arc::new(store),
        _dir: dir,
    })
}

async fn postgres() -> Option<Db> {
    let url = testing::fresh_postgres_database().await?;
    let store = SqlStore::open(&url).await.unwrap();
    Some(Db {
        store: Arc::new(store),
        _dir: tempfile::tempdir().unwrap(),
    })
}

macro_rules! suite {
    ($($case:ident),* $(,)?) => {
        mod on_sqlite { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $case() { if let Some(db) = super::sqlite().await { super::$case(db).await } } )* }
        mod on_postgres { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $case() { if let Some(db) = super::postgres().await { super::$case(db).await } } )* }
    };
}

suite!(
    meta_first_writer_wins,
    reopening_migrates_idempotently,
    key_inserts_are_atomic_and_unique,
    stale_key_change_is_a_conflict,
    key_lifecycle_rotate_and_revoke,
    concurrent_first_starts_make_one_key_set,
    tenant_objects_roundtrip,
    bootstrap_is_idempotent,
    blacklisted_tokens_keep_their_audience,
    users_create_and_refuse_duplicates,
    users_list_filters_sorts_and_pages,
    users_update_and_delete,
    clients_filter_update_secrets_and_delete,
    client_grants_filter_update_and_delete,
    connections_filter_update_and_delete_their_users,
);

fn master() -> Arc<MasterKey> {
    Arc::new(MasterKey::from_bytes(&[9u8; 32]))
}

async fn open_keys(db: &Db, clock: Arc<FixedClock>, alg: SigningAlg) -> Keys {
    Keys::open(db.store.clone(), master(), alg, POLICY, clock)
        .await
        .unwrap()
}

async fn meta_first_writer_wins(db: Db) {
    assert_eq!(db.store.get_meta("k").await.unwrap(), None);
    assert_eq!(
        db.store.put_meta_if_absent("k", "one").await.unwrap(),
        "one"
    );
    assert_eq!(
        db.store.put_meta_if_absent("k", "two").await.unwrap(),
        "one"
    );
    assert_eq!(
        db.store.get_meta("k").await.unwrap().as_deref(),
        Some("one")
    );
    db.store.ping().await.unwrap();
}

async fn reopening_migrates_idempotently(db: Db) {
    db.store
        .put_meta_if_absent("survives", "yes")
        .await
        .unwrap();
    // A second store on the same database runs the migrations again: no-op.
    let url = match db.store.backend() {
        "sqlite" => testing::sqlite_url(db._dir.path()),
        _ => return, // the PostgreSQL URL is not kept; SqlStore::open already ran twice per process
    };
    let again = SqlStore::open(&url).await.unwrap();
    assert_eq!(
        again.get_meta("survives").await.unwrap().as_deref(),
        Some("yes")
    );
}

async fn key_inserts_are_atomic_and_unique(db: Db) {
    let clock = Arc::new(FixedClock::new(T0));
    let keys = open_keys(&db, clock.clone(), SigningAlg::ES256).await;
    let before = db.store.list_signing_keys().await.unwrap();
    assert_eq!(before.len(), 2);
    // A second current key (plus an innocent next) must be refused as a whole.
    let mut rogue = before
        .iter()
        .find(|k| k.state == KeyState::Current)
        .unwrap()
        .clone();
    rogue.kid = "rogue".into();
    let mut extra = rogue.clone();
    extra.kid = "extra".into();
    extra.state = KeyState::Previous;
    let err = db
        .store
        .change_signing_keys(&[], &[extra, rogue])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(db.store.list_signing_keys().await.unwrap(), before);
    drop(keys);
}

async fn stale_key_change_is_a_conflict(db: Db) {
    let clock = Arc::new(FixedClock::new(T0));
    let _keys = open_keys(&db, clock, SigningAlg::EdDSA).await;
    let before = db.store.list_signing_keys().await.unwrap();
    let next = before
        .iter()
        .find(|k| k.state == KeyState::Next)
        .unwrap()
        .clone();
    let change = tessera_core::keys::KeyChange {
        expect: KeyState::Current, // wrong: it is next
        record: tessera_core::keys::KeyRecord {
            state: KeyState::Revoked,
            revoked_at: Some(T0),
            ..next
        },
    };
    let err = db
        .store
        .change_signing_keys(&[change], &[])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(db.store.list_signing_keys().await.unwrap(), before);
}

async fn key_lifecycle_rotate_and_revoke(db: Db) {
    let clock = Arc::new(FixedClock::new(T0));
    let keys = open_keys(&db, clock.clone(), SigningAlg::RS256).await;
    let set = keys.current();
    let first = set.signer().kid().to_owned();
    assert_eq!(
        set.published_kids().len(),
        2,
        "current and next are published"
    );
    assert_eq!(set.published_kids()[0], first);
    let next = set.published_kids()[1].clone();

    // Too early: the next key has not been published for max-age + reload.
    match keys.rotate().await {
        Err(KeyError::Refused(RotationRefused::NextNotPublishedLongEnough {
            kid,
            eligible_at,
            ..
        })) => {
            assert_eq!(kid, next);
            assert_eq!(eligible_at, T0 + 300 + 10);
        }
        other => panic!("expected refusal, got {other:?}"),
    }
    clock.advance(310);
    let promoted = keys.rotate().await.unwrap();
    assert_eq!(promoted.kid, next);
    let set = keys.current();
    assert_eq!(set.signer().kid(), next);
    assert!(
        set.published_kids().contains(&first),
        "previous key stays published"
    );
    assert_eq!(set.published_kids().len(), 3);

    // The current key cannot be revoked; the previous can, and leaves the JWKS at once.
    assert!(matches!(
        keys.revoke(&next).await,
        Err(KeyError::Refused(RotationRefused::RevokeCurrent(_)))
    ));
    keys.revoke(&first).await.unwrap();
    assert!(!keys.current().published_kids().contains(&first));
    assert!(!keys.current().jwks().contains(&first));
    assert!(matches!(
        keys.revoke(&first).await,
        Err(KeyError::Refused(RotationRefused::AlreadyRevoked(_)))
    ));
    assert!(matches!(
        keys.revoke("nope").await,
        Err(KeyError::Refused(RotationRefused::UnknownKid(_)))
    ));

    // Revoking the next key publishes a fresh one: the JWKS always has current + next.
    let new_next = keys.current().published_kids()[1].clone();
    keys.revoke(&new_next).await.unwrap();
    let set = keys.current();
    assert_eq!(set.published_kids().len(), 2);
    assert!(!set.published_kids().contains(&new_next));

    // A previous key is published until every token it signed has expired.
    clock.advance(310);
    keys.rotate().await.unwrap();
    let retired = next;
    assert!(keys.current().published_kids().contains(&retired));
    clock.advance(10 + 86400);
    keys.reload().await.unwrap();
    assert!(!keys.current().published_kids().contains(&retired));
    assert!(!keys.current().published_kids().is_empty());
}

async fn concurrent_first_starts_make_one_key_set(db: Db) {
    let clock = Arc::new(FixedClock::new(T0));
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let store = db.store.clone();
        let clock = clock.clone();
        tasks.push(tokio::spawn(async move {
            Keys::open(store, master(), SigningAlg::ES256, POLICY, clock)
                .await
                .map(|k| k.current().signer().kid().to_owned())
        }));
    }
    let mut kids = Vec::new();
    for t in tasks {
        kids.push(t.await.unwrap().unwrap());
    }
    kids.dedup();
    assert_eq!(kids.len(), 1, "every node signs with the same key");
    let all = db.store.list_signing_keys().await.unwrap();
    assert_eq!(
        all.iter().filter(|k| k.state == KeyState::Current).count(),
        1
    );
    assert_eq!(all.iter().filter(|k| k.state == KeyState::Next).count(), 1);
}

fn client(id: &str) -> Client {
    Client {
        client_id: id.into(),
        name: "app".into(),
        app_type: "regular_web".into(),
        token_endpoint_auth_method: "client_secret_basic".into(),
        grant_types: vec!["authorization_code".into()],
        callbacks: vec!["https://app.example/cb".into()],
        allowed_logout_urls: vec![],
        web_origins: vec![],
        is_first_party: false,
        refresh_token: serde_json::json!({"rotation_type": "rotating"}),
        jwt_configuration: JwtConfiguration::default(),
        description: String::new(),
    }
}

async fn tenant_objects_roundtrip(db: Db) {
    let m = master();
    let issuer = Issuer::parse("https://id.example.com/").unwrap();
    bootstrap::run(db.store.as_ref(), &m, &issuer, None, T0)
        .await
        .unwrap();
    let rs = db
        .store
        .get_resource_server_by_identifier("https://id.example.com/api/v2/")
        .await
        .unwrap()
        .unwrap();
    assert!(rs.is_system);
    assert!(rs.scopes.iter().any(|s| s.value == "read:users"));
    let conn = db
        .store
        .get_connection_by_name("Username-Password-Authentication")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(conn.strategy, "auth0");

    let secret = bootstrap::seal_client_secret(&m, "c1", "s3cret").unwrap();
    db.store
        .put_client(&client("c1"), Some(&secret), T0)
        .await
        .unwrap();
    let (got, got_secret) = db.store.get_client("c1").await.unwrap().unwrap();
    assert_eq!(got, client("c1"));
    assert_eq!(got_secret.unwrap(), secret);
    assert!(db.store.get_client("c2").await.unwrap().is_none());

    let grant = ClientGrant {
        id: "cgr_1".into(),
        client_id: "c1".into(),
        audience: rs.identifier.clone(),
        scope: vec!["read:users".into()],
    };
    db.store.put_client_grant(&grant, T0).await.unwrap();
    let widened = ClientGrant {
        scope: vec!["read:users".into(), "create:users".into()],
        ..grant.clone()
    };
    db.store.put_client_grant(&widened, T0 + 1).await.unwrap();
    assert_eq!(
        db.store
            .get_client_grant("c1", &rs.identifier)
            .await
            .unwrap()
            .unwrap(),
        widened
    );
    // Foreign keys are enforced: no grant for an unknown client or API.
    let orphan = ClientGrant {
        id: "cgr_2".into(),
        client_id: "ghost".into(),
        ..grant.clone()
    };
    assert!(matches!(
        db.store.put_client_grant(&orphan, T0).await,
        Err(StoreError::Conflict(_))
    ));
    let nowhere = ClientGrant {
        id: "cgr_3".into(),
        audience: "https://nowhere/".into(),
        ..grant
    };
    assert!(matches!(
        db.store.put_client_grant(&nowhere, T0).await,
        Err(StoreError::Conflict(_))
    ));
}

async fn bootstrap_is_idempotent(db: Db) {
    let m = master();
    let issuer = Issuer::parse("http://127.0.0.1:8080/").unwrap();
    let first = bootstrap::run(db.store.as_ref(), &m, &issuer, None, T0)
        .await
        .unwrap();
    let generated = first
        .generated_admin
        .expect("first start generates the admin client");
    assert_eq!(generated.client_id, first.admin_client_id);
    assert!(
        generated.client_secret.expose().len() >= 43,
        "at least 256 bits"
    );
    let second = bootstrap::run(db.store.as_ref(), &m, &issuer, None, T0 + 5)
        .await
        .unwrap();
    assert!(
        second.generated_admin.is_none(),
        "printed once, never again"
    );
    assert_eq!(second.admin_client_id, first.admin_client_id);
    let (_, secret) = db
        .store
        .get_client(&first.admin_client_id)
        .await
        .unwrap()
        .unwrap();
    let secret = secret.unwrap();
    assert!(m.verify_keyed_hash(
        bootstrap::CLIENT_SECRET_PURPOSE,
        generated.client_secret.expose().as_bytes(),
        &secret.hash
    ));
    let grant = db
        .store
        .get_client_grant(&first.admin_client_id, "http://127.0.0.1:8080/api/v2/")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(grant.scope, tessera_core::scopes::management_scope_names());

    // A configured admin client is ensured at every start, its secret following the setting.
    let given = AdminClient {
        client_id: "admin".into(),
        client_secret: Secret::new("x".repeat(40)),
    };
    bootstrap::run(db.store.as_ref(), &m, &issuer, Some(&given), T0)
        .await
        .unwrap();
    let changed = AdminClient {
        client_secret: Secret::new("y".repeat(40)),
        ..given.clone()
    };
    bootstrap::run(db.store.as_ref(), &m, &issuer, Some(&changed), T0)
        .await
        .unwrap();
    let (_, s) = db.store.get_client("admin").await.unwrap().unwrap();
    let s = s.unwrap();
    assert!(m.verify_keyed_hash(
        bootstrap::CLIENT_SECRET_PURPOSE,
        "y".repeat(40).as_bytes(),
        &s.hash
    ));
    assert!(!m.verify_keyed_hash(
        bootstrap::CLIENT_SECRET_PURPOSE,
        "x".repeat(40).as_bytes(),
        &s.hash
    ));
    assert_eq!(
        m.open("client_secret:admin", &s.sealed).unwrap().as_slice(),
        "y".repeat(40).as_bytes()
    );
    assert!(
        db.store
            .get_client_grant("admin", "http://127.0.0.1:8080/api/v2/")
            .await
            .unwrap()
            .is_some()
    );
    let _ = FixedClock::new(0).now();
}

async fn blacklisted_tokens_keep_their_audience(db: Db) {
    use tessera_core::store::{BlacklistedToken, Revocation, RevocationStore};
    let token = |aud: Option<&str>, jti: &str| BlacklistedToken {
        aud: aud.map(str::to_owned),
        jti: jti.to_owned(),
    };
    let store = &db.store;
    assert!(
        store
            .list_blacklisted_tokens(T0, None)
            .await
            .unwrap()
            .is_empty()
    );
    store
        .add_blacklisted_token(&token(Some("https://api.one"), "jti-1"), T0 + 100)
        .await
        .unwrap();
    // Blacklisting the same token twice lists it once.
    store
        .add_blacklisted_token(&token(Some("https://api.one"), "jti-1"), T0 + 100)
        .await
        .unwrap();
    store
        .add_blacklisted_token(&token(None, "jti-2"), T0 + 200)
        .await
        .unwrap();
    store
        .add_blacklisted_token(&token(Some("https://api.two"), "jti-3"), T0 + 10)
        .await
        .unwrap();
    // A jti revoked another way is listed too, without an audience; a client
    // revocation is not a blacklisted token.
    store
        .add_revocation(&Revocation::Jti {
            jti: "jti-4".into(),
            expires_at: T0 + 100,
        })
        .await
        .unwrap();
    store
        .add_revocation(&Revocation::Client {
            client_id: "some-client".into(),
            audience: Some("https://api.one".into()),
            issued_before: T0,
            expires_at: T0 + 100,
        })
        .await
        .unwrap();

    assert_eq!(
        store.list_blacklisted_tokens(T0, None).await.unwrap(),
        vec![
            token(None, "jti-2"),
            token(None, "jti-4"),
            token(Some("https://api.one"), "jti-1"),
            token(Some("https://api.two"), "jti-3"),
        ]
    );
    assert_eq!(
        store
            .list_blacklisted_tokens(T0, Some("https://api.one"))
            .await
            .unwrap(),
        vec![token(Some("https://api.one"), "jti-1")]
    );
    assert!(
        store
            .list_blacklisted_tokens(T0, Some("https://nowhere"))
            .await
            .unwrap()
            .is_empty()
    );
    // Expired entries are not listed.
    assert_eq!(
        store
            .list_blacklisted_tokens(T0 + 10, Some("https://api.two"))
            .await
            .unwrap(),
        vec![]
    );

    // Blacklisted tokens are jti revocations for the in-memory view.
    let live = store.live_revocations(T0).await.unwrap();
    for jti in ["jti-1", "jti-2", "jti-3", "jti-4"] {
        assert!(
            live.iter()
                .any(|r| matches!(r, Revocation::Jti { jti: j, .. } if j == jti)),
            "{jti} is not live: {live:?}"
        );
    }
    assert!(
        live.iter().any(|r| matches!(
            r,
            Revocation::Client { audience: Some(a), .. } if a == "https://api.one"
        )),
        "{live:?}"
    );
    assert_eq!(store.purge_revocations(T0 + 150).await.unwrap(), 5);
    assert_eq!(
        store.list_blacklisted_tokens(T0 + 150, None).await.unwrap(),
        vec![token(None, "jti-2")]
    );
}

// ---------------------------------------------------------------------------
// Users

const DB_CONN: &str = "Username-Password-Authentication";

fn db_user(
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
        identities: vec![tessera_core::model::Identity {
            connection: connection.into(),
            user_id: hex.into(),
            provider: "auth0".into(),
            is_social: false,
        }],
    }
}

fn search(filters: &[(tessera_core::store::UserField, &str)]) -> tessera_core::store::UserQuery {
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

fn user_ids(users: &[tessera_core::model::User]) -> Vec<&str> {
    users.iter().map(|u| u.user_id.as_str()).collect()
}

const ALL: tessera_core::store::Page = tessera_core::store::Page {
    page: 0,
    per_page: 100,
};

async fn users_create_and_refuse_duplicates(db: Db) {
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

async fn users_list_filters_sorts_and_pages(db: Db) {
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

async fn users_update_and_delete(db: Db) {
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

fn app(id: &str, app_type: &str, first_party: bool) -> Client {
    Client {
        app_type: app_type.into(),
        is_first_party: first_party,
        ..client(id)
    }
}

fn client_ids(items: &[(Client, Option<tessera_core::model::ClientSecret>)]) -> Vec<&str> {
    items.iter().map(|(c, _)| c.client_id.as_str()).collect()
}

fn connection(id: &str, name: &str, enabled: &[&str]) -> tessera_core::model::Connection {
    tessera_core::model::Connection {
        id: id.into(),
        name: name.into(),
        strategy: "auth0".into(),
        options: serde_json::json!({"passwordPolicy": "fair"}),
        enabled_clients: enabled.iter().map(|s| (*s).to_owned()).collect(),
    }
}

async fn clients_filter_update_secrets_and_delete(db: Db) {
    use tessera_core::store::{ClientFilter, Page, SecretChange};
    let m = master();
    let s1 = bootstrap::seal_client_secret(&m, "web", "one").unwrap();
    db.store
        .create_client(&app("web", "regular_web", true), Some(&s1), T0)
        .await
        .unwrap();
    db.store
        .create_client(&app("spa", "spa", true), None, T0 + 1)
        .await
        .unwrap();
    db.store
        .create_client(&app("m2m", "non_interactive", false), Some(&s1), T0 + 2)
        .await
        .unwrap();
    db.store
        .create_client(&app("nat", "native", false), None, T0 + 3)
        .await
        .unwrap();
    assert!(matches!(
        db.store
            .create_client(&app("web", "spa", true), None, T0)
            .await,
        Err(StoreError::Conflict(_))
    ));

    // Filters (computed from the stored documents), totals and paging.
    let all = ClientFilter::default();
    let (items, total) = db.store.list_clients(&all, ALL).await.unwrap();
    assert_eq!(total, 4);
    assert_eq!(client_ids(&items), ["web", "spa", "m2m", "nat"]);
    assert_eq!(items[0].1.as_ref(), Some(&s1));
    assert_eq!(items[1].1, None);
    let (items, total) = db
        .store
        .list_clients(
            &all,
            Page {
                page: 1,
                per_page: 3,
            },
        )
        .await
        .unwrap();
    assert_eq!((client_ids(&items), total), (vec!["nat"], 4));
    let browser = ClientFilter {
        app_types: vec!["spa".into(), "native".into()],
        is_first_party: None,
    };
    let (items, total) = db.store.list_clients(&browser, ALL).await.unwrap();
    assert_eq!((client_ids(&items), total), (vec!["spa", "nat"], 2));
    let third_party = ClientFilter {
        app_types: vec![],
        is_first_party: Some(false),
    };
    let (items, total) = db.store.list_clients(&third_party, ALL).await.unwrap();
    assert_eq!((client_ids(&items), total), (vec!["m2m", "nat"], 2));
    let both = ClientFilter {
        app_types: vec!["native".into(), "regular_web".into()],
        is_first_party: Some(true),
    };
    let (items, total) = db.store.list_clients(&both, ALL).await.unwrap();
    assert_eq!((client_ids(&items), total), (vec!["web"], 1));

    // Updates: the document (and so the filters) follow; the secret is kept,
    // replaced or removed as asked.
    let moved = app("web", "spa", false);
    assert!(
        db.store
            .update_client(&moved, SecretChange::Keep, T0 + 10)
            .await
            .unwrap()
    );
    let (got, secret) = db.store.get_client("web").await.unwrap().unwrap();
    assert_eq!((got, secret), (moved.clone(), Some(s1.clone())));
    let (items, _) = db.store.list_clients(&browser, ALL).await.unwrap();
    assert_eq!(client_ids(&items), ["web", "spa", "nat"]);
    let s2 = bootstrap::seal_client_secret(&m, "web", "two").unwrap();
    db.store
        .update_client(&moved, SecretChange::Set(&s2), T0 + 11)
        .await
        .unwrap();
    assert_eq!(
        db.store.get_client("web").await.unwrap().unwrap().1,
        Some(s2)
    );
    db.store
        .update_client(&moved, SecretChange::Remove, T0 + 12)
        .await
        .unwrap();
    assert_eq!(db.store.get_client("web").await.unwrap().unwrap().1, None);
    let ctx = db
        .store
        .client_credentials_context("web", "x")
        .await
        .unwrap();
    assert_eq!(ctx.client.unwrap().1, None);
    assert!(
        !db.store
            .update_client(&app("ghost", "spa", true), SecretChange::Keep, T0)
            .await
            .unwrap()
    );

    // Deleting a client takes its grants and its place in connections' lists.
    let issuer = Issuer::parse("https://id.example.com/").unwrap();
    bootstrap::run(db.store.as_ref(), &m, &issuer, None, T0)
        .await
        .unwrap();
    let grant = ClientGrant {
        id: "cgr_m2m".into(),
        client_id: "m2m".into(),
        audience: "https://id.example.com/api/v2/".into(),
        scope: vec!["read:users".into()],
    };
    db.store.create_client_grant(&grant, T0).await.unwrap();
    db.store
        .create_connection(&connection("con_a", "A", &["spa", "m2m", "nat"]), T0)
        .await
        .unwrap();
    db.store
        .create_connection(&connection("con_b", "B", &["spa"]), T0)
        .await
        .unwrap();
    assert!(db.store.delete_client("m2m").await.unwrap());
    assert!(!db.store.delete_client("m2m").await.unwrap());
    assert!(db.store.get_client("m2m").await.unwrap().is_none());
    assert!(
        db.store
            .get_client_grant_by_id("cgr_m2m")
            .await
            .unwrap()
            .is_none()
    );
    let a = db.store.get_connection("con_a").await.unwrap().unwrap();
    assert_eq!(a.enabled_clients, ["spa", "nat"]);
    let b = db.store.get_connection("con_b").await.unwrap().unwrap();
    assert_eq!(b.enabled_clients, ["spa"]);
}

async fn client_grants_filter_update_and_delete(db: Db) {
    use tessera_core::store::{GrantFilter, Page};
    let m = master();
    let issuer = Issuer::parse("https://id.example.com/").unwrap();
    bootstrap::run(
        db.store.as_ref(),
        &m,
        &issuer,
        Some(&AdminClient {
            client_id: "admin".into(),
            client_secret: Secret::new("s".repeat(40)),
        }),
        T0,
    )
    .await
    .unwrap();
    let mgmt = "https://id.example.com/api/v2/";
    let orders = tessera_core::model::ResourceServer {
        id: "rs_orders".into(),
        identifier: "https://orders.example/".into(),
        name: "Orders".into(),
        scopes: vec![],
        signing_alg: "RS256".into(),
        token_lifetime: 3600,
        allow_offline_access: false,
        skip_consent_for_verifiable_first_party_clients: false,
        is_system: false,
    };
    db.store.create_resource_server(&orders, T0).await.unwrap();
    db.store
        .create_client(&client("c1"), None, T0)
        .await
        .unwrap();
    let grant = |id: &str, client_id: &str, audience: &str| ClientGrant {
        id: id.into(),
        client_id: client_id.into(),
        audience: audience.into(),
        scope: vec!["read:users".into()],
    };
    db.store
        .create_client_grant(&grant("g1", "c1", mgmt), T0 + 1)
        .await
        .unwrap();
    db.store
        .create_client_grant(&grant("g2", "c1", &orders.identifier), T0 + 2)
        .await
        .unwrap();
    // One grant per client and audience; none for unknown clients or APIs.
    for bad in [
        grant("g3", "c1", mgmt),
        grant("g4", "ghost", mgmt),
        grant("g5", "c1", "https://nowhere/"),
    ] {
        assert!(matches!(
            db.store.create_client_grant(&bad, T0).await,
            Err(StoreError::Conflict(_))
        ));
    }

    let ids = |v: &[ClientGrant]| v.iter().map(|g| g.id.clone()).collect::<Vec<_>>();
    let (all, total) = db
        .store
        .list_client_grants(&GrantFilter::default(), ALL)
        .await
        .unwrap();
    assert_eq!(total, 3, "admin's grant, g1, g2");
    assert_eq!(&ids(&all)[1..], ["g1", "g2"]);
    let by_client = GrantFilter {
        client_id: Some("c1".into()),
        audience: None,
    };
    let (got, total) = db.store.list_client_grants(&by_client, ALL).await.unwrap();
    assert_eq!(
        (ids(&got), total),
        (vec!["g1".to_owned(), "g2".to_owned()], 2)
    );
    let (got, total) = db
        .store
        .list_client_grants(
            &by_client,
            Page {
                page: 1,
                per_page: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!((ids(&got), total), (vec!["g2".to_owned()], 2));
    let by_audience = GrantFilter {
        client_id: None,
        audience: Some(mgmt.into()),
    };
    let (got, total) = db
        .store
        .list_client_grants(&by_audience, ALL)
        .await
        .unwrap();
    assert_eq!(total, 2);
    assert!(ids(&got).contains(&"g1".to_owned()));
    let both = GrantFilter {
        client_id: Some("c1".into()),
        audience: Some(orders.identifier.clone()),
    };
    let (got, _) = db.store.list_client_grants(&both, ALL).await.unwrap();
    assert_eq!(ids(&got), ["g2"]);

    let scope = vec!["read:users".to_owned(), "create:users".to_owned()];
    let updated = db
        .store
        .update_client_grant("g1", &scope, T0 + 5)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.scope, scope);
    assert_eq!(
        db.store
            .get_client_grant_by_id("g1")
            .await
            .unwrap()
            .unwrap(),
        updated
    );
    assert!(
        db.store
            .update_client_grant("nope", &scope, T0)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        db.store.delete_client_grant("g1").await.unwrap(),
        Some(updated)
    );
    assert_eq!(db.store.delete_client_grant("g1").await.unwrap(), None);
    // Deleting the API takes its grants.
    db.store.delete_resource_server("rs_orders").await.unwrap();
    assert!(
        db.store
            .get_client_grant_by_id("g2")
            .await
            .unwrap()
            .is_none()
    );
}

async fn connections_filter_update_and_delete_their_users(db: Db) {
    use tessera_core::store::{ConnectionFilter, Page, UserStore};
    db.store
        .create_connection(&connection("con_a", "Staff", &[]), T0)
        .await
        .unwrap();
    db.store
        .create_connection(&connection("con_b", "Partners", &["c1"]), T0 + 1)
        .await
        .unwrap();
    let upstream = tessera_core::model::Connection {
        strategy: "oidc".into(),
        ..connection("con_c", "Upstream", &[])
    };
    db.store.create_connection(&upstream, T0 + 2).await.unwrap();
    assert!(matches!(
        db.store
            .create_connection(&connection("con_d", "Staff", &[]), T0)
            .await,
        Err(StoreError::Conflict(_))
    ));

    let names = |v: &[tessera_core::model::Connection]| {
        v.iter().map(|c| c.name.clone()).collect::<Vec<_>>()
    };
    let (all, total) = db
        .store
        .list_connections(&ConnectionFilter::default(), ALL)
        .await
        .unwrap();
    assert_eq!(
        (names(&all), total),
        (
            vec!["Staff".to_owned(), "Partners".into(), "Upstream".into()],
            3
        )
    );
    let (got, total) = db
        .store
        .list_connections(
            &ConnectionFilter::default(),
            Page {
                page: 1,
                per_page: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!((names(&got), total), (vec!["Upstream".to_owned()], 3));
    let databases = ConnectionFilter {
        strategy: Some("auth0".into()),
        name: None,
    };
    let (got, total) = db.store.list_connections(&databases, ALL).await.unwrap();
    assert_eq!(
        (names(&got), total),
        (vec!["Staff".to_owned(), "Partners".into()], 2)
    );
    let named = ConnectionFilter {
        strategy: Some("auth0".into()),
        name: Some("Partners".into()),
    };
    let (got, total) = db.store.list_connections(&named, ALL).await.unwrap();
    assert_eq!(
        (got, total),
        (vec![connection("con_b", "Partners", &["c1"])], 1)
    );

    // The name never changes through an update.
    let mut staff = connection("con_a", "Staff", &["c9"]);
    staff.options = serde_json::json!({"password_complexity_options": {"min_length": 12}});
    assert!(db.store.update_connection(&staff, T0 + 5).await.unwrap());
    assert_eq!(
        db.store.get_connection("con_a").await.unwrap().unwrap(),
        staff
    );
    let renamed = connection("con_a", "Renamed", &[]);
    assert!(!db.store.update_connection(&renamed, T0 + 6).await.unwrap());
    assert_eq!(
        db.store.get_connection("con_a").await.unwrap().unwrap(),
        staff
    );

    // Deleting a connection deletes its users, and only its users.
    for (hex, conn, email) in [
        ("s1", "Staff", "a@staff.example"),
        ("s2", "Staff", "b@staff.example"),
        ("p1", "Partners", "a@staff.example"),
    ] {
        db.store
            .create_user(
                &db_user(hex, conn, Some(email), None, T0),
                Some("$argon2id$h"),
            )
            .await
            .unwrap();
    }
    assert_eq!(
        db.store.delete_connection("con_a").await.unwrap(),
        Some(staff)
    );
    assert_eq!(db.store.delete_connection("con_a").await.unwrap(), None);
    assert!(db.store.get_connection("con_a").await.unwrap().is_none());
    assert!(db.store.get_user("auth0|s1").await.unwrap().is_none());
    assert!(db.store.get_user("auth0|s2").await.unwrap().is_none());
    assert!(db.store.get_user("auth0|p1").await.unwrap().is_some());
    let (_, total) = db
        .store
        .list_connections(&ConnectionFilter::default(), ALL)
        .await
        .unwrap();
    assert_eq!(total, 2);
}
