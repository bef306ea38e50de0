//! Role-based access control, Auth0's "API Authorization Core": roles, the
//! permissions a role grants, users' roles and direct permissions
//! ([`RbacStore`]), and what they mean for a user's access tokens
//! ([`enforce`]). docs/rbac.md describes the rules.
//!
//! A permission is a scope an API defines, named by the API's identifier and
//! the scope's value. Deleting a role, a user or an API removes what refers to
//! it; removing a scope from an API removes the permissions naming it (in the
//! same transaction as the API's update).

use async_trait::async_trait;

use crate::clock::UnixTime;
use crate::model::{ResourceServer, TokenDialect, User};
use crate::store::{Page, Store, StoreError};

/// Most permissions of one API read for a user when a token is minted (the
/// scopes one API may define are bounded too; see docs/rbac.md).
pub const MAX_TOKEN_PERMISSIONS: i64 = 1000;
/// Most role names [`user_role_names`] returns.
pub const MAX_ROLE_NAMES: i64 = 1000;
/// Most sources listed for one of a user's permissions.
pub const MAX_PERMISSION_SOURCES: i64 = 100;

/// A role (`rol_…`); its name is unique in the tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
}

/// A scope of an API, granted by a role or directly to a user.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Permission {
    pub resource_server_identifier: String,
    pub permission_name: String,
}

/// Where a user's permission comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PermissionSource {
    Direct,
    Role { id: String, name: String },
}

/// One of a user's permissions and every source of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPermission {
    pub permission: Permission,
    pub sources: Vec<PermissionSource>,
}

/// Roles, role permissions, user roles and users' direct permissions. Adding
/// what is already there is not an error (nothing changes); a user, role or
/// API that does not exist is a `Conflict` (a foreign key), so callers check
/// existence first for Auth0's 404s.
#[async_trait]
pub trait RbacStore: Send + Sync + 'static {
    /// Conflict when the name is taken.
    async fn create_role(&self, role: &Role, now: UnixTime) -> Result<(), StoreError>;
    async fn get_role(&self, id: &str) -> Result<Option<Role>, StoreError>;
    /// By name (then id); `name_filter` keeps the roles whose name contains it,
    /// case-insensitively. The total counts every match.
    async fn list_roles(
        &self,
        name_filter: Option<&str>,
        page: Page,
    ) -> Result<(Vec<Role>, i64), StoreError>;
    /// Replaces name and description. False when absent; Conflict when the
    /// name is another role's.
    async fn update_role(&self, role: &Role, now: UnixTime) -> Result<bool, StoreError>;
    /// Deletes it, its permissions and its assignments. False when absent.
    async fn delete_role(&self, id: &str) -> Result<bool, StoreError>;

    async fn add_role_permissions(
        &self,
        role_id: &str,
        permissions: &[Permission],
        now: UnixTime,
    ) -> Result<(), StoreError>;
    async fn remove_role_permissions(
        &self,
        role_id: &str,
        permissions: &[Permission],
    ) -> Result<(), StoreError>;
    /// Ordered by API identifier, then name.
    async fn list_role_permissions(
        &self,
        role_id: &str,
        page: Page,
    ) -> Result<(Vec<Permission>, i64), StoreError>;

    /// Assigns each `(user_id, role_id)`, in one transaction.
    async fn add_user_roles(
        &self,
        pairs: &[(String, String)],
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// Removes each `(user_id, role_id)`, in one transaction.
    async fn remove_user_roles(&self, pairs: &[(String, String)]) -> Result<(), StoreError>;
    /// The role's users, by user id.
    async fn list_role_users(
        &self,
        role_id: &str,
        page: Page,
    ) -> Result<(Vec<User>, i64), StoreError>;
    /// The user's roles, by name (then id).
    async fn list_user_roles(
        &self,
        user_id: &str,
        page: Page,
    ) -> Result<(Vec<Role>, i64), StoreError>;

    async fn add_user_permissions(
        &self,
        user_id: &str,
        permissions: &[Permission],
        now: UnixTime,
    ) -> Result<(), StoreError>;
    async fn remove_user_permissions(
        &self,
        user_id: &str,
        permissions: &[Permission],
    ) -> Result<(), StoreError>;
    /// The user's permissions, direct or through roles, each once with its
    /// sources (at most [`MAX_PERMISSION_SOURCES`]), ordered by API
    /// identifier, then name.
    async fn list_user_permissions(
        &self,
        user_id: &str,
        page: Page,
    ) -> Result<(Vec<UserPermission>, i64), StoreError>;
    /// The names of the permissions the user holds for the API `identifier`,
    /// direct or through roles, each once, sorted, at most `limit`.
    async fn user_api_permissions(
        &self,
        user_id: &str,
        identifier: &str,
        limit: i64,
    ) -> Result<Vec<String>, StoreError>;
    /// The names of the user's roles, sorted, at most `limit`.
    async fn user_role_names(&self, user_id: &str, limit: i64) -> Result<Vec<String>, StoreError>;
}

/// The names of the user's roles (Auth0's `event.authorization.roles`),
/// sorted, at most [`MAX_ROLE_NAMES`].
pub async fn user_role_names(store: &dyn Store, user_id: &str) -> Result<Vec<String>, StoreError> {
    store.user_role_names(user_id, MAX_ROLE_NAMES).await
}

/// Whether the API's tokens carry `permissions` (the `*_authz` dialects).
pub fn dialect_has_permissions(dialect: TokenDialect) -> bool {
    matches!(
        dialect,
        TokenDialect::AccessTokenAuthz | TokenDialect::Rfc9068ProfileAuthz
    )
}

/// What RBAC makes of a user's token for an API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enforced {
    /// The granted scopes: the OIDC ones as asked, the API's only when held.
    pub scope: Vec<String>,
    /// The `permissions` claim (`*_authz` dialects): every permission the
    /// user holds for the API, asked or not, sorted.
    pub permissions: Option<Vec<String>>,
}

/// Auth0's rule for a user's token for `api` whose granted scopes (already
/// limited to what the API defines) are `scope`: with `enforce_policies`, the
/// API's scopes are those the user holds as permissions (the intersection of
/// asked and held), and with an `*_authz` dialect the token lists every held
/// permission the API still defines. Without `enforce_policies` nothing
/// changes and no `permissions` claim is added (the dialect then has no
/// effect). Read at every mint, so a change shows at the next token.
pub async fn enforce(
    store: &dyn Store,
    user_id: &str,
    api: &ResourceServer,
    scope: Vec<String>,
) -> Result<Enforced, StoreError> {
    if !api.settings.enforce_policies {
        return Ok(Enforced {
            scope,
            permissions: None,
        });
    }
    let held: Vec<String> = store
        .user_api_permissions(user_id, &api.identifier, MAX_TOKEN_PERMISSIONS)
        .await?
        .into_iter()
        .filter(|p| api.scopes.iter().any(|d| &d.value == p))
        .collect();
    let scope = scope
        .into_iter()
        .filter(|s| {
            let of_api = api.scopes.iter().any(|d| &d.value == s);
            !of_api || held.contains(s)
        })
        .collect();
    let permissions = dialect_has_permissions(api.settings.token_dialect).then_some(held);
    Ok(Enforced { scope, permissions })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_authz_dialects_carry_permissions() {
        assert!(!dialect_has_permissions(TokenDialect::AccessToken));
        assert!(dialect_has_permissions(TokenDialect::AccessTokenAuthz));
        assert!(!dialect_has_permissions(TokenDialect::Rfc9068Profile));
        assert!(dialect_has_permissions(TokenDialect::Rfc9068ProfileAuthz));
    }
}
