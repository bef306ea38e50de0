//! Tenant settings, connections' enabled clients, the tenant flag
//! `enable_client_connections` at client creation, and the one-time upgrade
//! of empty `enabled_clients` lists (issue 13).

use serde_json::json;
use tessera_core::store::*;

use crate::*;

pub async fn tenant_settings_patches_merge_atomically(db: Db) {
    assert_eq!(db.store.get_tenant_settings().await.unwrap(), json!({}));
    let doc = db
        .store
        .patch_tenant_settings(
            &json!({"friendly_name": "Acme", "flags": {"enable_sso": true}}),
            T0,
        )
        .await
        .unwrap();
    assert_eq!(doc["friendly_name"], "Acme");
    db.store
        .patch_tenant_settings(
            &json!({"flags": {"enable_client_connections": false}}),
            T0 + 1,
        )
        .await
        .unwrap();
    let doc = db
        .store
        .patch_tenant_settings(&json!({"friendly_name": null}), T0 + 2)
        .await
        .unwrap();
    assert_eq!(
        doc,
        json!({"flags": {"enable_sso": true, "enable_client_connections": false}})
    );
    assert_eq!(db.store.get_tenant_settings().await.unwrap(), doc);
    // Concurrent PATCHes of different flags: none is lost.
    let store = db.store.clone();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let patch = json!({"flags": {format!("f{i}"): true}});
            store.patch_tenant_settings(&patch, T0 + 3).await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let doc = db.store.get_tenant_settings().await.unwrap();
    for i in 0..8 {
        assert_eq!(doc["flags"][format!("f{i}")], true, "{doc}");
    }
}

pub async fn new_clients_join_every_connection_while_the_flag_is_on(db: Db) {
    db.store
        .create_connection(&connection("con_a", "A", &[]), T0)
        .await
        .unwrap();
    db.store
        .create_connection(&connection("con_b", "B", &["x"]), T0)
        .await
        .unwrap();
    db.store
        .create_client(&client("c1"), None, T0)
        .await
        .unwrap();
    let a = db.store.get_connection("con_a").await.unwrap().unwrap();
    let b = db.store.get_connection("con_b").await.unwrap().unwrap();
    assert_eq!(a.enabled_clients, ["c1"]);
    assert_eq!(b.enabled_clients, ["x", "c1"]);
    db.store
        .patch_tenant_settings(&json!({"flags": {"enable_client_connections": false}}), T0)
        .await
        .unwrap();
    db.store
        .create_client(&client("c2"), None, T0)
        .await
        .unwrap();
    let a = db.store.get_connection("con_a").await.unwrap().unwrap();
    assert_eq!(a.enabled_clients, ["c1"]);

    // Changes by client: enable, disable, unknown connection.
    let changed = db
        .store
        .change_connection_clients(
            "con_a",
            &[
                ("c2".into(), true),
                ("c1".into(), false),
                ("c2".into(), true),
            ],
            T0 + 1,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.enabled_clients, ["c2"]);
    assert_eq!(
        db.store.get_connection("con_a").await.unwrap().unwrap(),
        changed
    );
    assert!(
        db.store
            .change_connection_clients("con_zz", &[("c2".into(), true)], T0)
            .await
            .unwrap()
            .is_none()
    );
    // Concurrent changes of different clients: none is lost.
    for i in 0..8 {
        db.store
            .create_client(&client(&format!("n{i}")), None, T0)
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .change_connection_clients("con_b", &[(format!("n{i}"), true)], T0 + 2)
                .await
                .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let b = db.store.get_connection("con_b").await.unwrap().unwrap();
    for i in 0..8 {
        assert!(b.enabled_clients.contains(&format!("n{i}")), "{b:?}");
    }
}

pub async fn empty_client_lists_are_opened_once(db: Db) {
    // Clients and connections as a database before issue 13 holds them.
    db.store
        .patch_tenant_settings(&json!({"flags": {"enable_client_connections": false}}), T0)
        .await
        .unwrap();
    db.store
        .create_client(&client("c1"), None, T0)
        .await
        .unwrap();
    db.store
        .create_client(&client("c2"), None, T0 + 1)
        .await
        .unwrap();
    db.store
        .create_connection(&connection("con_open", "Open", &[]), T0)
        .await
        .unwrap();
    db.store
        .create_connection(&connection("con_some", "Some", &["c2"]), T0)
        .await
        .unwrap();
    // Two nodes starting at once: exactly one does it.
    let (one, two) = tokio::join!(
        db.store.open_connections_upgrade(T0),
        db.store.open_connections_upgrade(T0)
    );
    assert_eq!(
        [one.unwrap(), two.unwrap()].iter().filter(|d| **d).count(),
        1
    );
    let open = db.store.get_connection("con_open").await.unwrap().unwrap();
    assert_eq!(open.enabled_clients, ["c1", "c2"]);
    let some = db.store.get_connection("con_some").await.unwrap().unwrap();
    assert_eq!(some.enabled_clients, ["c2"]);
    // Later empty lists mean no client, and stay so.
    db.store
        .create_connection(&connection("con_later", "Later", &[]), T0)
        .await
        .unwrap();
    assert!(!db.store.open_connections_upgrade(T0 + 5).await.unwrap());
    let later = db.store.get_connection("con_later").await.unwrap().unwrap();
    assert!(later.enabled_clients.is_empty());
}

pub async fn connection_updates_never_undo_client_changes(db: Db) {
    for id in ["c1", "c2"] {
        db.store.create_client(&client(id), None, T0).await.unwrap();
    }
    db.store
        .create_connection(&connection("con_k", "K", &["c1", "c2"]), T0)
        .await
        .unwrap();
    // A PATCH read the connection, then c2 was disabled, then the PATCH
    // (which does not name enabled_clients) writes: c2 stays disabled.
    let mut stale = db.store.get_connection("con_k").await.unwrap().unwrap();
    db.store
        .change_connection_clients("con_k", &[("c2".into(), false)], T0 + 1)
        .await
        .unwrap();
    stale.options = json!({"disable_signup": true});
    assert!(
        db.store
            .update_connection(&stale, true, T0 + 2)
            .await
            .unwrap()
    );
    let got = db.store.get_connection("con_k").await.unwrap().unwrap();
    assert_eq!(got.enabled_clients, ["c1"]);
    assert_eq!(got.options, json!({"disable_signup": true}));
    // A list that names clients: replaced, minus clients that do not exist.
    let named = connection("con_k", "K", &["c1", "gone", "c2"]);
    assert!(
        db.store
            .update_connection(&named, false, T0 + 3)
            .await
            .unwrap()
    );
    let got = db.store.get_connection("con_k").await.unwrap().unwrap();
    assert_eq!(got.enabled_clients, ["c1", "c2"]);
    // Enabling a client that does not exist changes nothing.
    let got = db
        .store
        .change_connection_clients("con_k", &[("gone".into(), true)], T0 + 4)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.enabled_clients, ["c1", "c2"]);
    // A client deleted while a list naming it is written never stays listed.
    for i in 0..4 {
        let id = format!("d{i}");
        db.store
            .create_client(&client(&id), None, T0)
            .await
            .unwrap();
        let with = connection("con_k", "K", &["c1", &id]);
        let (deleted, updated) = tokio::join!(
            db.store.delete_client(&id),
            db.store.update_connection(&with, false, T0 + 5)
        );
        assert!(deleted.unwrap() && updated.unwrap());
        let got = db.store.get_connection("con_k").await.unwrap().unwrap();
        assert_eq!(got.enabled_clients, ["c1"], "{id}");
    }
}
