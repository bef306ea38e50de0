//! Clients, client grants and connections.

use tessera_core::bootstrap::{self, AdminClient};
use tessera_core::model::{AppType, Client, ClientGrant};
use tessera_core::store::*;
use tessera_core::{Issuer, Secret};

use crate::*;

pub fn app(id: &str, app_type: AppType, first_party: bool) -> Client {
    Client {
        app_type,
        is_first_party: first_party,
        ..client(id)
    }
}

pub fn client_ids(items: &[(Client, Option<tessera_core::model::ClientSecret>)]) -> Vec<&str> {
    items.iter().map(|(c, _)| c.client_id.as_str()).collect()
}

pub fn connection(id: &str, name: &str, enabled: &[&str]) -> tessera_core::model::Connection {
    tessera_core::model::Connection {
        id: id.into(),
        name: name.into(),
        strategy: "auth0".into(),
        options: serde_json::json!({"passwordPolicy": "fair"}),
        enabled_clients: enabled.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    }
}

pub async fn clients_filter_update_secrets_and_delete(db: Db) {
    use tessera_core::store::{ClientFilter, Page, SecretChange};
    let m = master();
    let s1 = bootstrap::seal_client_secret(&m, "web", "one").unwrap();
    db.store
        .create_client(&app("web", AppType::RegularWeb, true), Some(&s1), T0)
        .await
        .unwrap();
    db.store
        .create_client(&app("spa", AppType::Spa, true), None, T0 + 1)
        .await
        .unwrap();
    db.store
        .create_client(
            &app("m2m", AppType::NonInteractive, false),
            Some(&s1),
            T0 + 2,
        )
        .await
        .unwrap();
    db.store
        .create_client(&app("nat", AppType::Native, false), None, T0 + 3)
        .await
        .unwrap();
    assert!(matches!(
        db.store
            .create_client(&app("web", AppType::Spa, true), None, T0)
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
        app_types: vec![AppType::Spa, AppType::Native],
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
        app_types: vec![AppType::Native, AppType::RegularWeb],
        is_first_party: Some(true),
    };
    let (items, total) = db.store.list_clients(&both, ALL).await.unwrap();
    assert_eq!((client_ids(&items), total), (vec!["web"], 1));

    // Updates: the document (and so the filters) follow; the secret is kept,
    // replaced or removed as asked.
    let moved = app("web", AppType::Spa, false);
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
            .update_client(&app("ghost", AppType::Spa, true), SecretChange::Keep, T0)
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

pub async fn client_grants_filter_update_and_delete(db: Db) {
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
        settings: Default::default(),
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
    db.store
        .delete_resource_server("rs_orders", T0)
        .await
        .unwrap();
    assert!(
        db.store
            .get_client_grant_by_id("g2")
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn connections_filter_update_and_delete_their_users(db: Db) {
    use tessera_core::store::{ConnectionFilter, Page, UserStore};
    // The client the connections name (an update keeps only existing ones).
    db.store
        .create_client(&app("c1", AppType::RegularWeb, true), None, T0)
        .await
        .unwrap();
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
        strategies: vec!["auth0".into()],
        name: None,
    };
    let (got, total) = db.store.list_connections(&databases, ALL).await.unwrap();
    assert_eq!(
        (names(&got), total),
        (vec!["Staff".to_owned(), "Partners".into()], 2)
    );
    let named = ConnectionFilter {
        strategies: vec!["auth0".into()],
        name: Some("Partners".into()),
    };
    let (got, total) = db.store.list_connections(&named, ALL).await.unwrap();
    assert_eq!(
        (got, total),
        (vec![connection("con_b", "Partners", &["c1"])], 1)
    );

    // The name never changes through an update.
    let mut staff = connection("con_a", "Staff", &["c1"]);
    staff.options = serde_json::json!({"password_complexity_options": {"min_length": 12}});
    assert!(
        db.store
            .update_connection(&staff, false, T0 + 5)
            .await
            .unwrap()
    );
    assert_eq!(
        db.store.get_connection("con_a").await.unwrap().unwrap(),
        staff
    );
    let renamed = connection("con_a", "Renamed", &[]);
    assert!(
        !db.store
            .update_connection(&renamed, false, T0 + 6)
            .await
            .unwrap()
    );
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
