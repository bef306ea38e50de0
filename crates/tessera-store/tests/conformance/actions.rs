//! Actions: an update that moves an unbound action to another trigger moves
//! it in the listing's filter and in the bindings' check too.

use tessera_core::model::{Action, ActionBinding, ActionContent, BuildStatus, TriggerId};
use tessera_core::store::{ActionFilter, ActionStore, Page};

use crate::*;

fn action(id: &str, trigger: TriggerId) -> Action {
    Action {
        id: id.into(),
        name: format!("action {id}"),
        trigger,
        trigger_version: trigger.version().into(),
        draft: ActionContent {
            code: "// code".into(),
            runtime: "node22".into(),
            secrets: Vec::new(),
            status: BuildStatus::Built,
            built_at: T0,
        },
        deployed_version_id: None,
        created_at: T0,
        updated_at: T0,
    }
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

pub async fn an_actions_trigger_change_moves_it_in_listings_and_bindings(db: Db) {
    let a = action("a1", TriggerId::PostLogin);
    db.store.create_action(&a).await.unwrap();
    let moved = Action {
        trigger: TriggerId::CredentialsExchange,
        trigger_version: TriggerId::CredentialsExchange.version().into(),
        updated_at: T0 + 1,
        ..a
    };
    assert!(db.store.update_action(&moved).await.unwrap());
    assert_eq!(listed(&db, TriggerId::CredentialsExchange).await, ["a1"]);
    assert!(listed(&db, TriggerId::PostLogin).await.is_empty());
    let stored = db.store.get_action("a1").await.unwrap().unwrap();
    assert_eq!(stored.trigger, TriggerId::CredentialsExchange);

    // Deployed, it binds to its new trigger.
    let version = tessera_core::model::ActionVersion {
        id: "v1".into(),
        action_id: "a1".into(),
        number: 0,
        content: moved.draft.clone(),
        created_at: T0 + 2,
    };
    db.store
        .deploy_action_version(&version, None, T0 + 2)
        .await
        .unwrap()
        .unwrap();
    let binding = ActionBinding {
        id: "b1".into(),
        trigger: TriggerId::CredentialsExchange,
        action_id: "a1".into(),
        display_name: "a1".into(),
        created_at: T0 + 3,
        updated_at: T0 + 3,
    };
    assert!(
        db.store
            .set_action_bindings(TriggerId::CredentialsExchange, &[binding])
            .await
            .unwrap()
    );
}
