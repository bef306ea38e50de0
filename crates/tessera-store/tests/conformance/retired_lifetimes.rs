//! Retired token lifetimes (issue 9, point 8): lowering an API's
//! `token_lifetime` or deleting the API remembers until when the tokens issued
//! under the longer lifetime may live, and revocations made afterwards last at
//! least that long.

use tessera_core::manage::resource_servers::{self, NewResourceServer};
use tessera_core::model::ResourceServer;
use tessera_core::revocation::revocation_expires_at;
use tessera_core::store::{RevocationStore, TenantStore};

use crate::{Db, T0};

const ORDERS: &str = "https://orders.example/";
const OTHER: &str = "https://other.example/";
/// Opaque access tokens live a day: the floor for "every audience".
const DAY: i64 = 86_400;

fn api(identifier: &str, lifetime: i64) -> ResourceServer {
    resource_servers::create(NewResourceServer {
        identifier: identifier.into(),
        token_lifetime: Some(lifetime),
        ..Default::default()
    })
    .unwrap()
}

pub async fn lowered_or_deleted_api_lifetimes_are_remembered_until_their_tokens_expire(db: Db) {
    let store = db.store.clone();
    let retired = async |identifier: Option<&str>, now: i64| {
        store.retired_token_expiry(identifier, now).await.unwrap()
    };
    let expiry = async |audience: Option<&str>, now: i64| {
        revocation_expires_at(store.as_ref(), audience, now)
            .await
            .unwrap()
    };
    let mut orders = api(ORDERS, 200_000);
    let mut other = api(OTHER, 300);
    store.create_resource_server(&orders, T0).await.unwrap();
    store.create_resource_server(&other, T0).await.unwrap();
    assert_eq!(retired(None, T0).await, None);
    assert_eq!(expiry(Some(ORDERS), T0).await, T0 + 200_000);

    // Lowered: the tokens issued under 200000 s live until T0 + 10 + 200000.
    orders.token_lifetime = 100;
    assert!(
        store
            .update_resource_server(&orders, T0 + 10)
            .await
            .unwrap()
    );
    assert_eq!(retired(Some(ORDERS), T0 + 10).await, Some(T0 + 200_010));
    assert_eq!(retired(Some(OTHER), T0 + 10).await, None);
    assert_eq!(expiry(Some(ORDERS), T0 + 10).await, T0 + 200_010);
    assert_eq!(expiry(Some(OTHER), T0 + 10).await, T0 + 310);

    // Raised: nothing more to remember (the current lifetime covers the rest).
    orders.token_lifetime = 300_000;
    assert!(
        store
            .update_resource_server(&orders, T0 + 20)
            .await
            .unwrap()
    );
    assert_eq!(retired(Some(ORDERS), T0 + 20).await, Some(T0 + 200_010));
    assert_eq!(expiry(Some(ORDERS), T0 + 20).await, T0 + 300_020);
    // Lowered again: the later expiry is kept; a shorter one never replaces it.
    orders.token_lifetime = 50;
    assert!(
        store
            .update_resource_server(&orders, T0 + 30)
            .await
            .unwrap()
    );
    orders.token_lifetime = 10;
    assert!(
        store
            .update_resource_server(&orders, T0 + 40)
            .await
            .unwrap()
    );
    assert_eq!(retired(Some(ORDERS), T0 + 40).await, Some(T0 + 300_030));
    // Other changes, and unknown APIs, record nothing.
    other.name = "renamed".into();
    assert!(store.update_resource_server(&other, T0 + 40).await.unwrap());
    assert!(
        !store
            .update_resource_server(&api("https://ghost.example/", 1), T0 + 40)
            .await
            .unwrap()
    );
    assert_eq!(retired(Some(OTHER), T0 + 40).await, None);
    assert_eq!(retired(Some("https://ghost.example/"), T0 + 40).await, None);

    // Deleted: its tokens live on until T0 + 50 + 300, and an audience naming
    // it still gets that, not the longest of every API.
    let deleted = store
        .delete_resource_server(&other.id, T0 + 50)
        .await
        .unwrap();
    assert_eq!(deleted.map(|d| d.identifier).as_deref(), Some(OTHER));
    assert_eq!(
        store
            .delete_resource_server(&other.id, T0 + 50)
            .await
            .unwrap(),
        None
    );
    assert_eq!(retired(Some(OTHER), T0 + 50).await, Some(T0 + 350));
    assert_eq!(expiry(Some(OTHER), T0 + 50).await, T0 + 350);

    // Every audience (or one that names no API, now or then): the longest of
    // the current lifetimes, the opaque tokens' day and the retired ones.
    assert_eq!(retired(None, T0 + 50).await, Some(T0 + 300_030));
    assert_eq!(expiry(None, T0 + 50).await, T0 + 300_030);
    assert_eq!(
        expiry(Some("https://never.example/"), T0 + 50).await,
        T0 + 300_030
    );

    // Once passed, a row no longer counts, and the sweep deletes it.
    // (OTHER now names no API, now or then: every audience.)
    assert_eq!(retired(Some(OTHER), T0 + 350).await, None);
    assert_eq!(expiry(Some(OTHER), T0 + 350).await, T0 + 300_030);
    assert_eq!(store.purge_revocations(T0 + 350).await.unwrap(), 1);
    assert_eq!(retired(None, T0 + 350).await, Some(T0 + 300_030));
    assert_eq!(store.purge_revocations(T0 + 300_030).await.unwrap(), 1);
    assert_eq!(retired(None, T0 + 300_030).await, None);
    assert_eq!(expiry(Some(ORDERS), T0 + 300_030).await, T0 + 300_040);
    assert_eq!(expiry(None, T0 + 300_030).await, T0 + 300_030 + DAY);
}

/// Concurrent raises and lowerings never lose a retired lifetime: each update
/// reads the lifetime it replaces under the row's lock.
pub async fn concurrent_lifetime_changes_never_lose_a_longer_lifetime(db: Db) {
    let store = db.store.clone();
    let orders = api(ORDERS, 10);
    store.create_resource_server(&orders, T0).await.unwrap();
    for round in 0..8 {
        // Each round at its own time, starting from the short lifetime.
        let now = T0 + round * 1_000_000;
        let mut short = orders.clone();
        short.token_lifetime = 10;
        assert!(store.update_resource_server(&short, now).await.unwrap());
        let mut tasks = Vec::new();
        for i in 0..24 {
            let store = store.clone();
            let mut rs = orders.clone();
            rs.token_lifetime = if i % 2 == 0 { 100_000 } else { 10 };
            tasks.push(tokio::spawn(async move {
                assert!(store.update_resource_server(&rs, now).await.unwrap());
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        // Whatever order they ran in, a 100000 s lifetime was stored at `now`:
        // either it is the current one, or a lowering replaced it and
        // remembered it.
        assert_eq!(
            revocation_expires_at(store.as_ref(), Some(ORDERS), now)
                .await
                .unwrap(),
            now + 100_000,
            "round {round}"
        );
    }
}
