//! Account linking: a linked user is no user of its own (reads, lists and
//! deletes skip it) but its login finds the primary in one read; every rule
//! of a link holds under concurrency (exactly one of conflicting links wins).

use std::sync::Arc;

use tessera_core::idp_vault::SealedIdpTokens;
use tessera_core::store::*;

use crate::users::db_user;
use crate::*;

async fn user(s: &SqlStore, hex: &str, connection: &str) -> String {
    let u = db_user(
        hex,
        connection,
        Some(&format!("{hex}@example.com")),
        None,
        T0,
    );
    s.create_user(&u, None).await.unwrap();
    u.user_id
}

pub async fn links_follow_auth0s_rules_and_unlinks_restore_the_user(db: Db) {
    let s = db.store.as_ref();
    let p = user(s, "a1", "A").await;
    let sec = user(s, "b1", "B").await;
    let same = user(s, "b2", "B").await;
    let other = user(s, "c1", "C").await;
    let tokens = SealedIdpTokens {
        user_id: sec.clone(),
        connection: "B".into(),
        access_token: b"at".to_vec(),
        refresh_token: None,
        id_token: None,
        expires_at: None,
        updated_at: T0,
    };
    s.put_idp_tokens(&tokens).await.unwrap();

    assert_eq!(s.link_user(&p, &sec, T0 + 1).await.unwrap(), Ok(()));
    // The secondary is no user of its own...
    assert!(s.get_user(&sec).await.unwrap().is_none());
    assert!(!s.delete_user(&sec).await.unwrap());
    assert!(s.users_by_email("b1@example.com").await.unwrap().is_empty());
    let (listed, total) = s
        .list_users(
            &UserQuery::default(),
            Page {
                page: 0,
                per_page: 50,
            },
        )
        .await
        .unwrap();
    assert_eq!(total, 3);
    assert!(listed.iter().all(|u| u.user_id != sec));
    // ...but its record signs in as the primary, and keeps its IdP tokens.
    let found = s.find_login_identity(&sec).await.unwrap().unwrap();
    assert_eq!(found.identity.user_id, sec);
    assert_eq!(found.user().user_id, p);
    assert_eq!(s.get_idp_tokens(&sec, "B").await.unwrap(), Some(tokens));
    let linked = s.linked_users(&p).await.unwrap();
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0].user_id, sec);
    // An unlinked user's login is its own.
    let own = s.find_login_identity(&other).await.unwrap().unwrap();
    assert!(own.primary.is_none());
    assert!(s.find_login_identity("auth0|none").await.unwrap().is_none());

    let refused = |r| Err::<(), _>(r);
    assert_eq!(
        s.link_user(&p, &same, T0).await.unwrap(),
        refused(LinkRefusal::SameConnection)
    );
    assert_eq!(
        s.link_user(&sec, &other, T0).await.unwrap(),
        refused(LinkRefusal::PrimaryIsLinked)
    );
    assert_eq!(
        s.link_user(&other, &sec, T0).await.unwrap(),
        refused(LinkRefusal::SecondaryIsLinked)
    );
    assert_eq!(
        s.link_user(&other, &p, T0).await.unwrap(),
        refused(LinkRefusal::SecondaryHasLinks)
    );
    assert_eq!(
        s.link_user(&p, "auth0|none", T0).await.unwrap(),
        refused(LinkRefusal::SecondaryMissing)
    );
    assert_eq!(
        s.link_user("auth0|none", &other, T0).await.unwrap(),
        refused(LinkRefusal::PrimaryMissing)
    );
    // Nothing of the refusals stuck.
    assert_eq!(s.linked_users(&p).await.unwrap().len(), 1);
    assert!(s.get_user(&other).await.unwrap().is_some());

    // Unlinking: only from its primary. A new user's cutoff is the second
    // before its creation (tokens of a deleted user of the same id are dead).
    assert_eq!(s.tokens_valid_after(&sec).await.unwrap(), Some(T0 - 1));
    assert!(!s.unlink_user(&other, &sec, T0 + 2).await.unwrap());
    assert_eq!(s.tokens_valid_after(&sec).await.unwrap(), Some(T0 - 1));
    assert!(s.unlink_user(&p, &sec, T0 + 2).await.unwrap());
    // Its access tokens from before stay refused.
    assert_eq!(s.tokens_valid_after(&sec).await.unwrap(), Some(T0 + 2));
    assert_eq!(s.tokens_valid_after(&p).await.unwrap(), Some(T0 - 1));
    assert_eq!(s.tokens_valid_after("auth0|nobody").await.unwrap(), None);
    assert!(!s.unlink_user(&p, &sec, T0 + 2).await.unwrap());
    let back = s.get_user(&sec).await.unwrap().unwrap();
    assert_eq!(back.email.as_deref(), Some("b1@example.com"));
    assert!(
        s.find_login_identity(&sec)
            .await
            .unwrap()
            .unwrap()
            .primary
            .is_none()
    );
    assert!(s.linked_users(&p).await.unwrap().is_empty());

    // Deleting a primary deletes its linked identities (and their tokens).
    assert_eq!(s.link_user(&p, &sec, T0 + 3).await.unwrap(), Ok(()));
    assert!(s.delete_user(&p).await.unwrap());
    assert!(s.find_login_identity(&sec).await.unwrap().is_none());
    assert!(s.get_idp_tokens(&sec, "B").await.unwrap().is_none());
}

/// Runs `links` (primary, secondary) all at once; how many won.
async fn race(store: &Arc<SqlStore>, links: Vec<(String, String)>) -> usize {
    let mut tasks = Vec::new();
    for (p, sec) in links {
        let store = Arc::clone(store);
        tasks.push(tokio::spawn(async move {
            store.link_user(&p, &sec, T0).await.unwrap().is_ok()
        }));
    }
    let mut won = 0;
    for t in tasks {
        if t.await.unwrap() {
            won += 1;
        }
    }
    won
}

pub async fn of_concurrent_conflicting_links_exactly_one_wins(db: Db) {
    let s = &db.store;
    // One secondary, eight primaries.
    let sec = user(s, "ff00", "Z").await;
    let mut links = Vec::new();
    for i in 0..8 {
        let p = user(s, &format!("f{i}"), &format!("C{i}")).await;
        links.push((p, sec.clone()));
    }
    assert_eq!(race(s, links).await, 1);
    let primary = s.find_login_identity(&sec).await.unwrap().unwrap();
    let primary = primary.primary.unwrap().user_id;
    assert_eq!(s.linked_users(&primary).await.unwrap().len(), 1);

    // A to B against B to A, eight times over.
    let a = user(s, "e1", "EA").await;
    let b = user(s, "e2", "EB").await;
    let links = (0..8)
        .map(|i| {
            if i % 2 == 0 {
                (a.clone(), b.clone())
            } else {
                (b.clone(), a.clone())
            }
        })
        .collect();
    assert_eq!(race(s, links).await, 1);
    let linked = s.linked_users(&a).await.unwrap().len() + s.linked_users(&b).await.unwrap().len();
    assert_eq!(linked, 1);

    // Eight identities of one connection onto one primary.
    let p = user(s, "d0", "DP").await;
    let mut links = Vec::new();
    for i in 1..=8 {
        links.push((p.clone(), user(s, &format!("d{i}"), "DS").await));
    }
    assert_eq!(race(s, links).await, 1);
    assert_eq!(s.linked_users(&p).await.unwrap().len(), 1);
}
