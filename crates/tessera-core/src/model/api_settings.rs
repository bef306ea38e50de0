//! The Auth0 resource-server (API) properties Tessera stores and answers (all
//! but `token_dialect` and `enforce_policies`, which `crate::rbac` acts on, are
//! "accepted, no effect yet" in docs/management-api.md),
//! with Auth0's types and defaults: one list ([`resource_server_settings_list!`])
//! declares [`ResourceServerSettings`] and the same properties in the bodies of
//! `manage::resource_servers`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[allow(unused_imports)] // `Object` is named by the OpenAPI attributes only
use super::client::{Object, UnknownValue, closed_set, settings_model};

/// Calls `$callback! { <its own tokens> ; <the settings> }` (see
/// `client_settings_list!`).
macro_rules! resource_server_settings_list {
    ($callback:ident ! { $($args:tt)* }) => {
        $callback! { $($args)* ;
            /// Secret for HS256 tokens (Tessera does not sign HS256). At least
            /// 16 characters.
            #[serde(skip_serializing_if = "Option::is_none")]
            signing_secret: Option<String> = None,
            #[serde(skip_serializing_if = "Option::is_none")]
            allow_online_access: Option<bool> = None,
            #[serde(skip_serializing_if = "Option::is_none")]
            allow_online_access_with_ephemeral_sessions: Option<bool> = None,
            /// The access tokens' profile: `access_token` (default),
            /// `access_token_authz` (with `permissions`), `rfc9068_profile`,
            /// `rfc9068_profile_authz`. Acted on (docs/rbac.md): the
            /// `*_authz` dialects add `permissions` when RBAC is enforced.
            token_dialect: TokenDialect = TokenDialect::AccessToken,
            /// RBAC: limit users' API scopes to their permissions (acted on,
            /// docs/rbac.md).
            enforce_policies: bool = false,
            #[serde(skip_serializing_if = "Option::is_none")]
            #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
            token_encryption: Option<Object> = None,
            #[serde(skip_serializing_if = "Option::is_none")]
            consent_policy: Option<ConsentPolicy> = None,
            #[serde(skip_serializing_if = "Option::is_none")]
            #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<Object>>))]
            authorization_details: Option<Vec<serde_json::Value>> = None,
            #[serde(skip_serializing_if = "Option::is_none")]
            #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
            proof_of_possession: Option<Object> = None,
            #[serde(skip_serializing_if = "Option::is_none")]
            #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
            subject_type_authorization: Option<Object> = None,
            #[serde(skip_serializing_if = "Option::is_none")]
            #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
            authorization_policy: Option<Object> = None,
        }
    };
}
pub(crate) use resource_server_settings_list;

resource_server_settings_list!(settings_model! {
    /// Auth0's resource-server properties that Tessera stores and answers but
    /// does not act on yet; a stored document lacking one has its default.
    ResourceServerSettings
});

closed_set! {
    /// `token_dialect`.
    TokenDialect {
        AccessToken = "access_token",
        AccessTokenAuthz = "access_token_authz",
        Rfc9068Profile = "rfc9068_profile",
        Rfc9068ProfileAuthz = "rfc9068_profile_authz",
    }
}

closed_set! {
    /// `consent_policy`.
    ConsentPolicy {
        TransactionalAuthorizationWithMfa = "transactional-authorization-with-mfa",
    }
}
