//! Meta, migrations and signing keys.

use std::sync::Arc;

use tessera_core::clock::FixedClock;
use tessera_core::envelope::MasterKey;
use tessera_core::keys::{KeyError, KeyState, Keys, RotationRefused, SigningAlg};
use tessera_core::store::*;
use tessera_store::{SqlStore, testing};

use crate::*;

pub fn master() -> Arc<MasterKey> {
    Arc::new(MasterKey::from_bytes(&[9u8; 32]))
}

pub async fn open_keys(db: &Db, clock: Arc<FixedClock>, alg: SigningAlg) -> Keys {
    Keys::open(db.store.clone(), master(), alg, POLICY, clock)
        .await
        .unwrap()
}

pub async fn meta_first_writer_wins(db: Db) {
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

pub async fn reopening_migrates_idempotently(db: Db) {
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

pub async fn key_inserts_are_atomic_and_unique(db: Db) {
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

pub async fn stale_key_change_is_a_conflict(db: Db) {
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

pub async fn key_lifecycle_rotate_and_revoke(db: Db) {
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

pub async fn concurrent_first_starts_make_one_key_set(db: Db) {
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
