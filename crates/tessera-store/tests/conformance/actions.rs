//! Actions, their versions and trigger bindings.

use tessera_core::model::{
    Action, ActionBinding, ActionContent, ActionVersion, BuildStatus, TriggerId,
};
use tessera_core::store::*;

use crate::*;

fn action(id: &str, name: &str, trigger: TriggerId, code: &str) -> Action {
    Action {
        id: id.into(),
        name: name.into(),
        trigger,
        trigger_version: trigger.version().into(),
        draft: ActionContent {
            code: code.into(),
            runtime: "node22".into(),
            secrets: vec![],
            status: BuildStatus::Built,
            built_at: T0,
        },
        deployed_version_id: None,
        created_at: T0,
        updated_at: T0,
    }
}

fn version(id: &str, a: &Action) -> ActionVersion {
    ActionVersion {
        id: id.into(),
        action_id: a.id.clone(),
        number: 0,
        content: a.draft.clone(),
        created_at: T0,
    }
}

fn binding(id: &str, action_id: &str, trigger: TriggerId) -> ActionBinding {
    ActionBinding {
        id: id.into(),
        trigger,
        action_id: action_id.into(),
        display_name: action_id.into(),
        created_at: T0,
        updated_at: T0,
    }
}

/// Names are unique; deploys number versions per action and move the
/// deployed one; bindings need a deployed action of their trigger; a trigger
/// is read with its deployed versions in binding order; a bound action is
/// deleted only when forced, with its bindings and versions.
pub async fn actions_deploy_bind_and_delete(db: Db) {
    let store = &db.store;
    let a = action("a1", "first", TriggerId::PostLogin, "v1");
    let b = action("b1", "second", TriggerId::PostLogin, "b");
    let m2m = action("c1", "m2m", TriggerId::CredentialsExchange, "c");
    for x in [&a, &b, &m2m] {
        store.create_action(x).await.unwrap();
    }
    let dup = action("a2", "first", TriggerId::PostLogin, "x");
    assert!(matches!(
        store.create_action(&dup).await,
        Err(StoreError::Conflict(_))
    ));
    // Not deployed: cannot be bound.
    assert!(
        !store
            .set_action_bindings(
                TriggerId::PostLogin,
                &[binding("bd1", "a1", TriggerId::PostLogin)]
            )
            .await
            .unwrap()
    );
    let v1 = store
        .deploy_action_version(&version("v1", &a), None, T0 + 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v1.number, 1);
    let mut a2 = a.clone();
    a2.draft.code = "v2".into();
    assert_eq!(
        store.update_action(&a2).await.unwrap(),
        ActionUpdated::Updated
    );
    // The update keeps the deployed version.
    assert_eq!(
        store
            .get_action("a1")
            .await
            .unwrap()
            .unwrap()
            .deployed_version_id
            .as_deref(),
        Some("v1")
    );
    let v2 = store
        .deploy_action_version(&version("v2", &a2), None, T0 + 2)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v2.number, 2);
    store
        .deploy_action_version(&version("vb", &b), None, T0 + 2)
        .await
        .unwrap()
        .unwrap();
    store
        .deploy_action_version(&version("vc", &m2m), None, T0 + 2)
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .deploy_action_version(
                &version("vx", &action("zz", "none", TriggerId::PostLogin, "")),
                None,
                T0
            )
            .await
            .unwrap()
            .is_none()
    );
    // Another trigger's action cannot be bound here.
    assert!(
        !store
            .set_action_bindings(
                TriggerId::PostLogin,
                &[binding("bd0", "c1", TriggerId::PostLogin)]
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .set_action_bindings(
                TriggerId::PostLogin,
                &[
                    binding("bd2", "b1", TriggerId::PostLogin),
                    binding("bd1", "a1", TriggerId::PostLogin),
                ],
            )
            .await
            .unwrap()
    );
    let run = store.load_trigger(TriggerId::PostLogin).await.unwrap();
    let order: Vec<(&str, &str)> = run
        .iter()
        .map(|r| (r.binding.id.as_str(), r.version.id.as_str()))
        .collect();
    assert_eq!(order, vec![("bd2", "vb"), ("bd1", "v2")]);
    assert_eq!(run[1].action_name, "first");
    assert!(
        store
            .load_trigger(TriggerId::CredentialsExchange)
            .await
            .unwrap()
            .is_empty()
    );
    let (versions, total) = store
        .list_action_versions(
            "a1",
            Page {
                page: 0,
                per_page: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(total, 2);
    assert_eq!(versions[0].number, 2);
    let (listed, total) = store
        .list_actions(
            &ActionFilter {
                trigger: Some(TriggerId::PostLogin),
                ..ActionFilter::default()
            },
            Page {
                page: 0,
                per_page: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(total, 2);
    assert_eq!(listed[0].name, "first");
    assert_eq!(
        store.delete_action("a1", false).await.unwrap(),
        ActionDeleted::Bound
    );
    assert_eq!(
        store.delete_action("a1", true).await.unwrap(),
        ActionDeleted::Deleted
    );
    assert_eq!(
        store.delete_action("a1", true).await.unwrap(),
        ActionDeleted::NotFound
    );
    let left = store
        .list_action_bindings(TriggerId::PostLogin)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert!(
        store
            .get_action_version("a1", "v1")
            .await
            .unwrap()
            .is_none()
    );
}

async fn listed(db: &Db, trigger: TriggerId) -> Vec<String> {
    let filter = ActionFilter {
        trigger: Some(trigger),
        ..ActionFilter::default()
    };
    let page = Page::checked(None, None).unwrap();
    let (found, _) = db.store.list_actions(&filter, page).await.unwrap();
    found.into_iter().map(|a| a.id).collect()
}

/// An update that moves an unbound action to another trigger moves it in the
/// listing's filter and in the bindings' check too.
pub async fn an_actions_trigger_change_moves_it_in_listings_and_bindings(db: Db) {
    let a = action("a1", "action a1", TriggerId::PostLogin, "// code");
    db.store.create_action(&a).await.unwrap();
    let moved = Action {
        trigger: TriggerId::CredentialsExchange,
        trigger_version: TriggerId::CredentialsExchange.version().into(),
        updated_at: T0 + 1,
        ..a
    };
    assert_eq!(
        db.store.update_action(&moved).await.unwrap(),
        ActionUpdated::Updated
    );
    assert_eq!(listed(&db, TriggerId::CredentialsExchange).await, ["a1"]);
    assert!(listed(&db, TriggerId::PostLogin).await.is_empty());
    let stored = db.store.get_action("a1").await.unwrap().unwrap();
    assert_eq!(stored.trigger, TriggerId::CredentialsExchange);
    // Deployed, it binds to its new trigger.
    db.store
        .deploy_action_version(&version("v1", &moved), None, T0 + 2)
        .await
        .unwrap()
        .unwrap();
    assert!(
        db.store
            .set_action_bindings(
                TriggerId::CredentialsExchange,
                &[binding("b1", "a1", TriggerId::CredentialsExchange)],
            )
            .await
            .unwrap()
    );
}
