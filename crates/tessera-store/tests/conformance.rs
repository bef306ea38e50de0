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
