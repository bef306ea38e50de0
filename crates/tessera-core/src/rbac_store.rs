//! Role-based access control: role, permission and assignment types and
//! their storage trait ([`RbacStore`], in the [`crate::store::Store`]
//! supertrait). The rules for tokens are [`crate::rbac`]'s.

use async_trait::async_trait;

use crate::clock::UnixTime;
use crate::error::StoreError;
use crate::model::User;
use crate::page::Page;

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
    /// By name, case-insensitively (then id); `name_filter` keeps the roles whose name contains it,
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
    /// The user's roles, by name as [`RbacStore::list_roles`].
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
    /// The names of the user's roles, sorted as [`RbacStore::list_roles`],
    /// at most `limit`.
    async fn user_role_names(&self, user_id: &str, limit: i64) -> Result<Vec<String>, StoreError>;
}
