//! The IdP-token vault: put replaces, a user's deletion removes the tokens,
//! and the conditional replacement has exactly one winner among concurrent
//! writers that read the same refresh token.

use std::sync::Arc;

use tessera_core::idp_vault::SealedIdpTokens;
use tessera_core::store::*;

use crate::users::db_user;
use crate::*;

fn sealed(user_id: &str, at: &[u8], rt: Option<&[u8]>, now: i64) -> SealedIdpTokens {
    SealedIdpTokens {
        user_id: user_id.into(),
        connection: "Upstream".into(),
        access_token: at.to_vec(),
        refresh_token: rt.map(<[u8]>::to_vec),
        id_token: None,
        expires_at: Some(now + 3600),
        updated_at: now,
    }
}

pub async fn idp_tokens_are_replaced_conditionally_and_go_with_their_user(db: Db) {
    let s = &db.store;
    let user = db_user("aa01", "Upstream", Some("a@example.com"), None, T0);
    s.create_user(&user, None).await.unwrap();
    let id = user.user_id.as_str();
    assert!(s.get_idp_tokens(id, "Upstream").await.unwrap().is_none());
    s.put_idp_tokens(&sealed(id, b"at1", Some(b"rt1"), T0))
        .await
        .unwrap();
    s.put_idp_tokens(&sealed(id, b"at2", Some(b"rt2"), T0 + 1))
        .await
        .unwrap();
    let got = s.get_idp_tokens(id, "Upstream").await.unwrap().unwrap();
    assert_eq!(got, sealed(id, b"at2", Some(b"rt2"), T0 + 1));
    assert_eq!(s.list_idp_tokens(id).await.unwrap(), vec![got.clone()]);
    // A stale expectation changes nothing.
    assert!(
        !s.replace_idp_tokens_if(&sealed(id, b"at3", Some(b"rt3"), T0 + 2), b"rt1")
            .await
            .unwrap()
    );
    assert_eq!(
        s.get_idp_tokens(id, "Upstream").await.unwrap().unwrap(),
        got
    );
    // Concurrent replacements that read rt2: one wins.
    let store = Arc::clone(s);
    let mut tasks = Vec::new();
    for i in 0..8u8 {
        let store = Arc::clone(&store);
        let id = id.to_owned();
        tasks.push(tokio::spawn(async move {
            let new = sealed(&id, &[b'a', i], Some(&[b'r', i]), T0 + 3);
            store.replace_idp_tokens_if(&new, b"rt2").await.unwrap()
        }));
    }
    let mut winners = 0;
    for t in tasks {
        winners += usize::from(t.await.unwrap());
    }
    assert_eq!(winners, 1);
    let after = s.get_idp_tokens(id, "Upstream").await.unwrap().unwrap();
    assert_eq!(after.access_token[0], b'a');
    assert_eq!(
        after.refresh_token.as_deref().unwrap()[1],
        after.access_token[1]
    );
    assert!(s.delete_user(id).await.unwrap());
    assert!(s.get_idp_tokens(id, "Upstream").await.unwrap().is_none());
}

/// Review of issue 14, finding 11: a login whose answer has no refresh
/// token (Google sends one only at the first consent) keeps the stored one;
/// the rest is replaced.
pub async fn idp_tokens_keep_the_refresh_token_a_later_login_lacks(db: Db) {
    let s = &db.store;
    let user = db_user("aa02", "Upstream", Some("b@example.com"), None, T0);
    s.create_user(&user, None).await.unwrap();
    let id = user.user_id.as_str();
    s.put_idp_tokens(&sealed(id, b"at1", Some(b"rt1"), T0))
        .await
        .unwrap();
    s.put_idp_tokens(&sealed(id, b"at2", None, T0 + 1))
        .await
        .unwrap();
    let got = s.get_idp_tokens(id, "Upstream").await.unwrap().unwrap();
    assert_eq!(got.access_token, b"at2");
    assert_eq!(got.refresh_token.as_deref(), Some(&b"rt1"[..]));
    assert_eq!(got.updated_at, T0 + 1);
    s.put_idp_tokens(&sealed(id, b"at3", Some(b"rt3"), T0 + 2))
        .await
        .unwrap();
    let got = s.get_idp_tokens(id, "Upstream").await.unwrap().unwrap();
    assert_eq!(got.refresh_token.as_deref(), Some(&b"rt3"[..]));
}

pub async fn upstream_logins_are_taken_once_and_expire(db: Db) {
    use tessera_core::upstream::UpstreamLogin;
    let s = &db.store;
    let login = |expires_at| UpstreamLogin {
        tx_id: "tx1".into(),
        connection: "Upstream".into(),
        nonce: "n".into(),
        verifier_sealed: vec![1, 2, 3],
        expires_at,
        issuer: Some("https://idp.example/".into()),
        iss_required: true,
        auth_after: Some(T0 - 5),
    };
    s.put_upstream_login(b"h1", &login(T0 + 600), T0)
        .await
        .unwrap();
    let other_tx = UpstreamLogin {
        tx_id: "tx2".into(),
        issuer: None,
        iss_required: false,
        auth_after: None,
        ..login(T0 + 10)
    };
    s.put_upstream_login(b"h2", &other_tx, T0).await.unwrap();
    let store = Arc::clone(s);
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            store.take_upstream_login(b"h1", T0 + 1).await.unwrap()
        }));
    }
    let mut taken = Vec::new();
    for t in tasks {
        taken.extend(t.await.unwrap());
    }
    assert_eq!(taken, vec![login(T0 + 600)]);
    assert!(
        s.take_upstream_login(b"h2", T0 + 10)
            .await
            .unwrap()
            .is_none()
    );
    assert!(s.take_upstream_login(b"nope", T0).await.unwrap().is_none());
}

/// The Token Vault exchange's single flight: of N concurrent claimers of one
/// identity's upstream refresh exactly one wins; a stale expectation never
/// wins; a lease that ended can be claimed again; a replace clears it.
pub async fn idp_refreshes_are_claimed_by_one_and_leases_end(db: Db) {
    let s = &db.store;
    let user = db_user("aa02", "Upstream", Some("b@example.com"), None, T0);
    s.create_user(&user, None).await.unwrap();
    let id = user.user_id.as_str();
    s.put_idp_tokens(&sealed(id, b"at1", Some(b"rt1"), T0))
        .await
        .unwrap();
    assert!(
        !s.claim_idp_refresh(id, "Upstream", b"rt0", T0, T0 + 15)
            .await
            .unwrap()
    );
    assert!(
        !s.claim_idp_refresh("nobody", "Upstream", b"rt1", T0, T0 + 15)
            .await
            .unwrap()
    );
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let store = Arc::clone(s);
        let id = id.to_owned();
        tasks.push(tokio::spawn(async move {
            store
                .claim_idp_refresh(&id, "Upstream", b"rt1", T0, T0 + 15)
                .await
                .unwrap()
        }));
    }
    let mut winners = 0;
    for t in tasks {
        winners += usize::from(t.await.unwrap());
    }
    assert_eq!(winners, 1);
    // Live until T0 + 15; claimable again from then on (the winner died).
    assert!(
        !s.claim_idp_refresh(id, "Upstream", b"rt1", T0 + 14, T0 + 29)
            .await
            .unwrap()
    );
    assert!(
        s.claim_idp_refresh(id, "Upstream", b"rt1", T0 + 15, T0 + 30)
            .await
            .unwrap()
    );
    // Released (the provider was unreachable) with a backoff: not
    // claimable before it ends, claimable from then on; the lease and the
    // backoff are read without a write.
    s.release_idp_refresh(id, "Upstream", b"rt1", T0 + 16)
        .await
        .unwrap();
    let state = s.idp_refresh_state(id, "Upstream").await.unwrap().unwrap();
    assert_eq!(state.refreshing_until, None);
    assert_eq!(state.retry_after, Some(T0 + 16));
    assert!(
        !s.claim_idp_refresh(id, "Upstream", b"rt1", T0 + 15, T0 + 30)
            .await
            .unwrap()
    );
    assert!(
        s.claim_idp_refresh(id, "Upstream", b"rt1", T0 + 16, T0 + 31)
            .await
            .unwrap()
    );
    // The winner's replace clears the lease; the old expectation is stale.
    assert!(
        s.replace_idp_tokens_if(&sealed(id, b"at2", Some(b"rt2"), T0 + 17), b"rt1")
            .await
            .unwrap()
    );
    assert!(
        !s.claim_idp_refresh(id, "Upstream", b"rt1", T0 + 17, T0 + 32)
            .await
            .unwrap()
    );
    assert!(
        s.claim_idp_refresh(id, "Upstream", b"rt2", T0 + 17, T0 + 32)
            .await
            .unwrap()
    );
    // A login's put replaces the tokens and clears the lease too.
    s.put_idp_tokens(&sealed(id, b"at3", Some(b"rt2"), T0 + 18))
        .await
        .unwrap();
    assert!(
        s.claim_idp_refresh(id, "Upstream", b"rt2", T0 + 18, T0 + 33)
            .await
            .unwrap()
    );
    // ... and a backoff.
    s.release_idp_refresh(id, "Upstream", b"rt2", T0 + 60)
        .await
        .unwrap();
    s.put_idp_tokens(&sealed(id, b"at4", Some(b"rt2"), T0 + 19))
        .await
        .unwrap();
    let state = s.idp_refresh_state(id, "Upstream").await.unwrap().unwrap();
    assert_eq!((state.refreshing_until, state.retry_after), (None, None));
    assert!(
        s.claim_idp_refresh(id, "Upstream", b"rt2", T0 + 19, T0 + 34)
            .await
            .unwrap()
    );
    assert!(s.idp_refresh_state(id, "Nope").await.unwrap().is_none());
}

/// Review of issue 14, finding 8: one live upstream login per authorization
/// request; a new one replaces the previous one (which no longer completes).
pub async fn an_upstream_login_replaces_its_requests_previous_one(db: Db) {
    use tessera_core::upstream::UpstreamLogin;
    let s = &db.store;
    let login = |tx: &str| UpstreamLogin {
        tx_id: tx.into(),
        connection: "Upstream".into(),
        nonce: "n".into(),
        verifier_sealed: vec![1],
        expires_at: T0 + 600,
        issuer: None,
        iss_required: false,
        auth_after: None,
    };
    for i in 0..20u8 {
        s.put_upstream_login(&[b'a', i], &login("txA"), T0)
            .await
            .unwrap();
    }
    s.put_upstream_login(b"b0", &login("txB"), T0)
        .await
        .unwrap();
    for i in 0..19u8 {
        assert!(
            s.take_upstream_login(&[b'a', i], T0 + 1)
                .await
                .unwrap()
                .is_none()
        );
    }
    assert_eq!(
        s.take_upstream_login(&[b'a', 19], T0 + 1).await.unwrap(),
        Some(login("txA"))
    );
    assert_eq!(
        s.take_upstream_login(b"b0", T0 + 1).await.unwrap(),
        Some(login("txB"))
    );
}
