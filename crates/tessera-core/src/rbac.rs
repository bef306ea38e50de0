//! Role-based access control, Auth0's "API Authorization Core": what roles
//! and permissions ([`crate::rbac_store`]) mean for a user's access tokens
//! ([`enforce`]), and the user's role names for Actions
//! ([`user_role_names`]). docs/rbac.md describes the rules.
//!
//! A permission is a scope an API defines, named by the API's identifier and
//! the scope's value. Deleting a role, a user or an API removes what refers to
//! it; removing a scope from an API removes the permissions naming it (in the
//! same transaction as the API's update).

use crate::model::{ResourceServer, TokenDialect};
use crate::store::{Store, StoreError};

pub use crate::rbac_store::{
    MAX_PERMISSION_SOURCES, MAX_ROLE_NAMES, MAX_TOKEN_PERMISSIONS, Permission, PermissionSource,
    RbacStore, Role, UserPermission,
};

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
