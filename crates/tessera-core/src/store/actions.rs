//! Storage of actions, their versions and trigger bindings.

use async_trait::async_trait;

use super::{Page, StoreError};
use crate::clock::UnixTime;
use crate::model::{Action, ActionBinding, ActionVersion, BoundVersion, TriggerId};

/// Filters of the action listing (Auth0's query parameters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionFilter {
    pub trigger: Option<TriggerId>,
    pub name: Option<String>,
    /// Only actions with (`true`) or without (`false`) a deployed version.
    pub deployed: Option<bool>,
}

/// What updating an action found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionUpdated {
    Updated,
    NotFound,
    /// The update changes the trigger of an action bound to its trigger:
    /// nothing written.
    Bound,
}

/// What deleting an action found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionDeleted {
    Deleted,
    /// Bound to a trigger and not forced: nothing deleted.
    Bound,
    NotFound,
}

#[async_trait]
pub trait ActionStore: Send + Sync + 'static {
    /// A new action; a name in use is `Conflict`.
    async fn create_action(&self, action: &Action) -> Result<(), StoreError>;
    async fn get_action(&self, id: &str) -> Result<Option<Action>, StoreError>;
    async fn get_action_by_name(&self, name: &str) -> Result<Option<Action>, StoreError>;
    /// A page of actions by name, and how many match.
    async fn list_actions(
        &self,
        filter: &ActionFilter,
        page: Page,
    ) -> Result<(Vec<Action>, i64), StoreError>;
    /// Replaces the action's draft, name and trigger (not its deployed
    /// version); a name in use is `Conflict`. A trigger change of a bound
    /// action is refused (checked under the row's lock, so a binding made
    /// meanwhile is seen).
    async fn update_action(&self, action: &Action) -> Result<ActionUpdated, StoreError>;
    /// Deletes the action, its versions and (with `force`) its bindings, in one
    /// transaction; bound and not forced: nothing.
    async fn delete_action(&self, id: &str, force: bool) -> Result<ActionDeleted, StoreError>;
    /// In one transaction: stores `version` with the next number of its action
    /// and makes it the deployed one; with `draft`, the action's draft becomes
    /// it too. The stored version; `None` when the action does not exist.
    async fn deploy_action_version(
        &self,
        version: &ActionVersion,
        draft: Option<&Action>,
        now: UnixTime,
    ) -> Result<Option<ActionVersion>, StoreError>;
    /// A page of the action's versions, newest first, and how many.
    async fn list_action_versions(
        &self,
        action_id: &str,
        page: Page,
    ) -> Result<(Vec<ActionVersion>, i64), StoreError>;
    async fn get_action_version(
        &self,
        action_id: &str,
        id: &str,
    ) -> Result<Option<ActionVersion>, StoreError>;
    /// The trigger's bindings, in order.
    async fn list_action_bindings(
        &self,
        trigger: TriggerId,
    ) -> Result<Vec<ActionBinding>, StoreError>;
    /// Replaces the trigger's bindings with `bindings` (in order), in one
    /// transaction. `false` (nothing written) when one of them names an action
    /// that no longer exists or has no deployed version.
    async fn set_action_bindings(
        &self,
        trigger: TriggerId,
        bindings: &[ActionBinding],
    ) -> Result<bool, StoreError>;
    /// What the trigger runs: each binding with its action's deployed version,
    /// in order, read in one statement (a deploy or a re-binding is seen whole
    /// or not at all).
    async fn load_trigger(&self, trigger: TriggerId) -> Result<Vec<BoundVersion>, StoreError>;
}
