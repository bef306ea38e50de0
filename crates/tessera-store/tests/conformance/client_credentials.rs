//! Client credentials (bound to their client, unique kid, deleted with the
//! client, dropped from its `client_authentication_methods`) and the single
//! use of assertion `jti`s (also concurrently; expired records swept).

use tessera_core::model::{
    ClientAuthenticationMethods, ClientCredential, ClientSecret, CredentialAlg, CredentialRef,
    PrivateKeyJwt, PublicJwk,
};
use tessera_core::store::{CredentialStore, SecretChange, StoreError, TenantStore};

use crate::*;

fn credential(id: &str, client_id: &str, kid: &str) -> ClientCredential {
    ClientCredential {
        id: id.into(),
        client_id: client_id.into(),
        name: "k".into(),
        kid: kid.into(),
        alg: CredentialAlg::ES256,
        credential_type: "public_key".into(),
        key: PublicJwk {
            kty: "EC".into(),
            n: None,
            e: None,
            crv: Some("P-256".into()),
            x: Some("x".into()),
            y: Some("y".into()),
        },
        thumbprint_sha256: None,
        subject_dn: None,
        created_at: T0,
        updated_at: T0,
        expires_at: None,
    }
}

pub async fn client_credentials_are_bound_to_their_client(db: Db) {
    let s = &db.store;
    let mut c = client("c1");
    s.create_client(&c, None, T0).await.unwrap();
    s.create_client(&client("c2"), None, T0).await.unwrap();
    let one = credential("cred_1", "c1", "kid-one-0001");
    assert!(s.create_client_credential(&one, 10).await.unwrap());
    assert!(
        s.create_client_credential(&credential("cred_2", "c1", "kid-two-0002"), 10)
            .await
            .unwrap()
    );
    // The same kid on one client: a conflict; on another client: fine.
    assert!(matches!(
        s.create_client_credential(&credential("cred_3", "c1", "kid-one-0001"), 10)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        s.create_client_credential(&credential("cred_4", "c2", "kid-one-0001"), 10)
            .await
            .unwrap()
    );
    // At the cap: refused, nothing written.
    assert!(
        !s.create_client_credential(&credential("cred_6", "c2", "kid-six-0006"), 1)
            .await
            .unwrap()
    );
    assert_eq!(s.list_client_credentials("c2").await.unwrap().len(), 1);
    // A client that does not exist.
    assert!(
        s.create_client_credential(&credential("cred_5", "ghost", "kid-ghost-01"), 10)
            .await
            .is_err()
    );
    let listed = s.list_client_credentials("c1").await.unwrap();
    assert_eq!(
        listed.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["cred_1", "cred_2"]
    );
    assert_eq!(listed[0], one);
    assert!(
        s.get_client_credential("c2", "cred_1")
            .await
            .unwrap()
            .is_none()
    );
    let mut changed = one.clone();
    changed.expires_at = Some(T0 + 60);
    assert!(s.update_client_credential(&changed).await.unwrap());
    assert_eq!(
        s.get_client_credential("c1", "cred_1").await.unwrap(),
        Some(changed)
    );
    let mut elsewhere = one.clone();
    elsewhere.client_id = "c2".into();
    assert!(!s.update_client_credential(&elsewhere).await.unwrap());

    // Deleting an enabled credential drops it from the client's list, in the
    // same transaction; the list may become empty (never the secret again).
    c.client_authentication_methods = Some(ClientAuthenticationMethods {
        private_key_jwt: Some(PrivateKeyJwt {
            credentials: vec![
                CredentialRef {
                    id: "cred_1".into(),
                },
                CredentialRef {
                    id: "cred_2".into(),
                },
            ],
        }),
    });
    assert!(s.update_client(&c, SecretChange::Keep, T0).await.unwrap());
    assert!(
        !s.delete_client_credential("c2", "cred_1", T0)
            .await
            .unwrap()
    );
    assert!(
        s.delete_client_credential("c1", "cred_1", T0)
            .await
            .unwrap()
    );
    assert!(
        !s.delete_client_credential("c1", "cred_1", T0)
            .await
            .unwrap()
    );
    let ids = |c: &tessera_core::model::Client| -> Vec<String> {
        c.client_authentication_methods
            .as_ref()
            .unwrap()
            .private_key_jwt_ids()
            .map(str::to_owned)
            .collect()
    };
    let stored = s.get_client("c1").await.unwrap().unwrap().0;
    assert_eq!(ids(&stored), ["cred_2"]);
    assert!(
        s.delete_client_credential("c1", "cred_2", T0)
            .await
            .unwrap()
    );
    let stored = s.get_client("c1").await.unwrap().unwrap().0;
    assert!(stored.uses_private_key_jwt() && ids(&stored).is_empty());
    // The client's credentials go with it.
    assert!(s.delete_client("c2").await.unwrap());
    assert!(s.list_client_credentials("c2").await.unwrap().is_empty());
}

fn enabled(ids: &[&str]) -> Option<ClientAuthenticationMethods> {
    Some(ClientAuthenticationMethods {
        private_key_jwt: Some(PrivateKeyJwt {
            credentials: ids
                .iter()
                .map(|id| CredentialRef { id: (*id).into() })
                .collect(),
        }),
    })
}

/// A client update is written only over the version it read: one made from
/// a stale read (e.g. an `update:clients` PATCH racing the removal of a key)
/// is a `Conflict` and cannot write the removed key back.
pub async fn client_credentials_survive_a_stale_client_update(db: Db) {
    let s = db.store.clone();
    let mut c = client("c1");
    c.client_authentication_methods = enabled(&["cred_1"]);
    s.create_client(&c, None, T0).await.unwrap();
    let read = s.get_client("c1").await.unwrap().unwrap().0;

    // The key is removed from the version read...
    let mut removed = read.clone();
    removed.client_authentication_methods = enabled(&[]);
    assert!(
        s.update_client_if_unchanged(&read, &removed, SecretChange::Keep, T0 + 1)
            .await
            .unwrap()
    );
    // ...so a rename made from the same (now stale) read is refused whole.
    let mut renamed = read.clone();
    renamed.name = "renamed".into();
    assert!(matches!(
        s.update_client_if_unchanged(&read, &renamed, SecretChange::Keep, T0 + 2)
            .await,
        Err(StoreError::Conflict(_))
    ));
    let stored = s.get_client("c1").await.unwrap().unwrap().0;
    assert_eq!(stored, removed);
    // Made again from a fresh read, it lands and keeps the removal.
    let mut renamed = stored.clone();
    renamed.name = "renamed".into();
    let secret = ClientSecret {
        sealed: vec![1, 2, 3],
        hash: vec![4, 5, 6],
    };
    assert!(
        s.update_client_if_unchanged(&stored, &renamed, SecretChange::Set(&secret), T0 + 3)
            .await
            .unwrap()
    );
    let (stored, stored_secret) = s.get_client("c1").await.unwrap().unwrap();
    assert_eq!(stored, renamed);
    assert_eq!(stored_secret, Some(secret));

    // Two concurrent updates from one read: exactly one lands.
    let (mut a, mut b) = (stored.clone(), stored.clone());
    a.name = "a".into();
    b.client_authentication_methods = enabled(&["cred_1"]);
    let (ra, rb) = tokio::join!(
        s.update_client_if_unchanged(&stored, &a, SecretChange::Keep, T0 + 4),
        s.update_client_if_unchanged(&stored, &b, SecretChange::Keep, T0 + 4),
    );
    let won: Vec<bool> = [&ra, &rb]
        .iter()
        .map(|r| match r {
            Ok(true) => true,
            Err(StoreError::Conflict(_)) => false,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{ra:?} {rb:?}");
    let now_stored = s.get_client("c1").await.unwrap().unwrap().0;
    assert_eq!(now_stored, if won[0] { a } else { b });

    // A client that does not exist: false, nothing written.
    let ghost = client("ghost");
    assert!(
        !s.update_client_if_unchanged(&ghost, &ghost, SecretChange::Remove, T0)
            .await
            .unwrap()
    );
}

/// Concurrent creations never take a client past its cap.
pub async fn client_credentials_are_capped_also_concurrently(db: Db) {
    let s = db.store.clone();
    s.create_client(&client("c1"), None, T0).await.unwrap();
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let id = format!("cred_{i}");
                let kid = format!("kid-number-{i:04}");
                s.create_client_credential(&credential(&id, "c1", &kid), 3)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        created += usize::from(t.await.unwrap());
    }
    assert_eq!(created, 3);
    assert_eq!(s.list_client_credentials("c1").await.unwrap().len(), 3);
}

pub async fn assertion_jtis_are_used_once_until_they_expire(db: Db) {
    let s = db.store.clone();
    assert!(
        s.record_assertion_jti("c1", "j1", T0 + 60, T0)
            .await
            .unwrap()
    );
    assert!(
        !s.record_assertion_jti("c1", "j1", T0 + 60, T0 + 1)
            .await
            .unwrap()
    );
    // Per client.
    assert!(
        s.record_assertion_jti("c2", "j1", T0 + 60, T0)
            .await
            .unwrap()
    );
    // After expiry (not yet swept) the record may be taken again.
    assert!(
        s.record_assertion_jti("c1", "j1", T0 + 200, T0 + 60)
            .await
            .unwrap()
    );
    assert!(
        !s.record_assertion_jti("c1", "j1", T0 + 200, T0 + 100)
            .await
            .unwrap()
    );
    assert_eq!(s.sweep_assertion_jtis(T0 + 60).await.unwrap(), 1, "c2's");
    assert_eq!(s.sweep_assertion_jtis(T0 + 200).await.unwrap(), 1);
    // Concurrently: exactly one winner.
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.record_assertion_jti("c1", "race", T0 + 60, T0)
                .await
                .unwrap()
        }));
    }
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1);
}
