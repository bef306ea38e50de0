//! Role-based access control: roles (unique names, filtered and paged
//! listings), role and direct permissions with their sources, user roles, and
//! what deleting a role, a user or an API, or removing a scope, leaves behind.

use tessera_core::manage::resource_servers::{self, NewResourceServer};
use tessera_core::model::{ResourceServer, ResourceServerScope};
use tessera_core::rbac::{Permission, PermissionSource, RbacStore, Role};
use tessera_core::store::{Page, StoreError, TenantStore, UserStore};

use crate::*;

const ORDERS: &str = "https://orders.example/";
const BILLING: &str = "https://billing.example/";

fn api(identifier: &str, scopes: &[&str]) -> ResourceServer {
    resource_servers::create(NewResourceServer {
        identifier: identifier.into(),
        scopes: Some(
            scopes
                .iter()
                .map(|s| ResourceServerScope {
                    value: (*s).into(),
                    description: String::new(),
                })
                .collect(),
        ),
        ..Default::default()
    })
    .unwrap()
}

fn role(id: &str, name: &str) -> Role {
    Role {
        id: id.into(),
        name: name.into(),
        description: Some(format!("{name} role")),
    }
}

fn perm(api: &str, name: &str) -> Permission {
    Permission {
        resource_server_identifier: api.into(),
        permission_name: name.into(),
    }
}

fn page(page: i64, per_page: i64) -> Page {
    Page { page, per_page }
}

fn pair(user: &str, role: &str) -> (String, String) {
    (user.into(), role.into())
}

fn names(roles: &[Role]) -> Vec<&str> {
    roles.iter().map(|r| r.name.as_str()).collect()
}

pub async fn roles_have_unique_names_and_filtered_pages(db: Db) {
    let s = &db.store;
    for (id, name) in [
        ("rol_1", "Admin"),
        ("rol_2", "billing_admin"),
        ("rol_3", "Reader"),
    ] {
        s.create_role(&role(id, name), T0).await.unwrap();
    }
    assert!(matches!(
        s.create_role(&role("rol_4", "Admin"), T0).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.get_role("rol_1").await.unwrap(),
        Some(role("rol_1", "Admin"))
    );
    assert_eq!(s.get_role("rol_9").await.unwrap(), None);

    let (all, total) = s.list_roles(None, page(0, 2)).await.unwrap();
    assert_eq!((names(&all), total), (vec!["Admin", "billing_admin"], 3));
    let (rest, _) = s.list_roles(None, page(1, 2)).await.unwrap();
    assert_eq!(names(&rest), vec!["Reader"]);
    // Case-insensitive "contains"; `_` and `%` are literal.
    let (admins, total) = s.list_roles(Some("ADMIN"), page(0, 50)).await.unwrap();
    assert_eq!((names(&admins), total), (vec!["Admin", "billing_admin"], 2));
    let (literal, total) = s.list_roles(Some("g_a"), page(0, 50)).await.unwrap();
    assert_eq!((names(&literal), total), (vec!["billing_admin"], 1));
    assert_eq!(s.list_roles(Some("%"), page(0, 50)).await.unwrap().1, 0);

    let mut renamed = role("rol_3", "Auditor");
    renamed.description = None;
    assert!(s.update_role(&renamed, T0 + 1).await.unwrap());
    assert_eq!(s.get_role("rol_3").await.unwrap(), Some(renamed));
    assert!(matches!(
        s.update_role(&role("rol_3", "Admin"), T0).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(!s.update_role(&role("rol_9", "X"), T0).await.unwrap());
    assert!(s.delete_role("rol_3").await.unwrap());
    assert!(!s.delete_role("rol_3").await.unwrap());
}

pub async fn permissions_come_from_roles_and_directly(db: Db) {
    let s = &db.store;
    s.create_resource_server(&api(ORDERS, &["read:orders", "write:orders"]), T0)
        .await
        .unwrap();
    s.create_resource_server(&api(BILLING, &["read:bills"]), T0)
        .await
        .unwrap();
    let alice = users::db_user("a1", "db", Some("alice@example.com"), None, T0);
    s.create_user(&alice, None).await.unwrap();
    s.create_role(&role("rol_r", "reader"), T0).await.unwrap();
    s.create_role(&role("rol_w", "writer"), T0).await.unwrap();
    let read = perm(ORDERS, "read:orders");
    let write = perm(ORDERS, "write:orders");
    let bills = perm(BILLING, "read:bills");
    s.add_role_permissions("rol_r", &[read.clone(), bills.clone()], T0)
        .await
        .unwrap();
    // Adding again changes nothing.
    s.add_role_permissions("rol_r", std::slice::from_ref(&read), T0)
        .await
        .unwrap();
    s.add_role_permissions("rol_w", &[read.clone(), write.clone()], T0)
        .await
        .unwrap();
    let (listed, total) = s.list_role_permissions("rol_r", page(0, 50)).await.unwrap();
    assert_eq!((listed, total), (vec![bills.clone(), read.clone()], 2));
    // An unknown role or API: a conflict (callers answer 404 first).
    assert!(matches!(
        s.add_role_permissions("rol_none", std::slice::from_ref(&read), T0)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.add_user_permissions(&alice.user_id, &[perm("urn:none", "x")], T0)
            .await,
        Err(StoreError::Conflict(_))
    ));

    let uid = alice.user_id.clone();
    s.add_user_roles(&[pair(&uid, "rol_r"), pair(&uid, "rol_w")], T0)
        .await
        .unwrap();
    s.add_user_roles(&[pair(&uid, "rol_r")], T0).await.unwrap();
    assert!(matches!(
        s.add_user_roles(&[pair("auth0|nobody", "rol_r")], T0).await,
        Err(StoreError::Conflict(_))
    ));
    s.add_user_permissions(&uid, std::slice::from_ref(&read), T0)
        .await
        .unwrap();
    let (roles, total) = s.list_user_roles(&uid, page(0, 50)).await.unwrap();
    assert_eq!((names(&roles), total), (vec!["reader", "writer"], 2));
    let (members, total) = s.list_role_users("rol_r", page(0, 50)).await.unwrap();
    assert_eq!((members[0].user_id.as_str(), total), (uid.as_str(), 1));
    assert_eq!(
        s.user_role_names(&uid, 1000).await.unwrap(),
        vec!["reader", "writer"]
    );
    assert_eq!(s.user_role_names(&uid, 1).await.unwrap(), vec!["reader"]);

    // Each permission once, with every source.
    let (held, total) = s.list_user_permissions(&uid, page(0, 50)).await.unwrap();
    assert_eq!(total, 3);
    let of = |p: &Permission| {
        held.iter()
            .find(|h| &h.permission == p)
            .map(|h| h.sources.clone())
            .unwrap()
    };
    let by = |id: &str, name: &str| PermissionSource::Role {
        id: id.into(),
        name: name.into(),
    };
    assert_eq!(
        of(&read),
        vec![
            PermissionSource::Direct,
            by("rol_r", "reader"),
            by("rol_w", "writer")
        ]
    );
    assert_eq!(of(&write), vec![by("rol_w", "writer")]);
    let (second, _) = s.list_user_permissions(&uid, page(1, 2)).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(
        s.user_api_permissions(&uid, ORDERS, 1000).await.unwrap(),
        vec!["read:orders", "write:orders"]
    );
    assert_eq!(
        s.user_api_permissions(&uid, BILLING, 1000).await.unwrap(),
        vec!["read:bills"]
    );

    // Removals.
    s.remove_user_roles(&[pair(&uid, "rol_w")]).await.unwrap();
    assert_eq!(
        s.user_api_permissions(&uid, ORDERS, 1000).await.unwrap(),
        vec!["read:orders"]
    );
    s.remove_user_permissions(&uid, std::slice::from_ref(&read))
        .await
        .unwrap();
    s.remove_role_permissions("rol_r", std::slice::from_ref(&read))
        .await
        .unwrap();
    assert!(
        s.user_api_permissions(&uid, ORDERS, 1000)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn deletions_and_removed_scopes_take_their_permissions(db: Db) {
    let s = &db.store;
    let mut orders = api(ORDERS, &["read:orders", "write:orders"]);
    s.create_resource_server(&orders, T0).await.unwrap();
    s.create_resource_server(&api(BILLING, &["read:bills"]), T0)
        .await
        .unwrap();
    let alice = users::db_user("a1", "db", Some("alice@example.com"), None, T0);
    let bob = users::db_user("b1", "db", Some("bob@example.com"), None, T0);
    s.create_user(&alice, None).await.unwrap();
    s.create_user(&bob, None).await.unwrap();
    let (a, b) = (alice.user_id.clone(), bob.user_id.clone());
    s.create_role(&role("rol_r", "reader"), T0).await.unwrap();
    let all = [
        perm(ORDERS, "read:orders"),
        perm(ORDERS, "write:orders"),
        perm(BILLING, "read:bills"),
    ];
    s.add_role_permissions("rol_r", &all, T0).await.unwrap();
    s.add_user_permissions(&b, &all, T0).await.unwrap();
    s.add_user_roles(&[pair(&a, "rol_r"), pair(&b, "rol_r")], T0)
        .await
        .unwrap();

    // A scope the API no longer defines leaves roles and users.
    orders.scopes.retain(|s| s.value != "write:orders");
    assert!(s.update_resource_server(&orders, T0 + 1).await.unwrap());
    assert_eq!(
        s.user_api_permissions(&b, ORDERS, 1000).await.unwrap(),
        vec!["read:orders"]
    );
    assert_eq!(
        s.list_role_permissions("rol_r", page(0, 50))
            .await
            .unwrap()
            .1,
        2
    );

    // A deleted API takes its permissions.
    let billing = s
        .get_resource_server_by_identifier(BILLING)
        .await
        .unwrap()
        .unwrap();
    s.delete_resource_server(&billing.id, T0 + 2).await.unwrap();
    assert_eq!(
        s.list_role_permissions("rol_r", page(0, 50))
            .await
            .unwrap()
            .1,
        1
    );
    assert_eq!(s.list_user_permissions(&b, page(0, 50)).await.unwrap().1, 1);

    // A deleted user leaves its roles and permissions.
    assert!(s.delete_user(&b).await.unwrap());
    assert_eq!(s.list_role_users("rol_r", page(0, 50)).await.unwrap().1, 1);
    assert_eq!(s.list_user_permissions(&b, page(0, 50)).await.unwrap().1, 0);

    // A deleted role leaves its users.
    assert!(s.delete_role("rol_r").await.unwrap());
    assert_eq!(s.list_user_roles(&a, page(0, 50)).await.unwrap().1, 0);
    assert!(s.user_role_names(&a, 1000).await.unwrap().is_empty());
    assert!(
        s.user_api_permissions(&a, ORDERS, 1000)
            .await
            .unwrap()
            .is_empty()
    );
}
