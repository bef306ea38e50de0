//! The bodies of the client operations, shared by `/api/v2/clients` and
//! `tessera clients`: one type per operation. Unknown properties are refused
//! (answered as Auth0 does: `Additional properties not allowed: …`). Every
//! property is optional; `null` is its default (see [`ClientChanges`]).
//!
//! The closed sets (`app_type`, `token_endpoint_auth_method`, `grant_types`,
//! `refresh_token.rotation_type` and `expiration_type`) are carried as sent and
//! parsed into the model's types when the client is checked as a whole, so a
//! value outside them is refused in its turn, with the message every earlier
//! Tessera gave ([`super::validate`]).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::manage::settings_body;
#[allow(unused_imports)] // `Object` is named by the OpenAPI attributes only
use crate::model::{
    ClientAuthenticationMethods, ClientMobile, ClientSettings, ComplianceLevel,
    DefaultOrganization, EncryptionKey, JwtConfiguration, NativeSocialLogin, Object,
    OrganizationDiscovery, OrganizationRequireBehavior, OrganizationUsage, RedirectionPolicy,
    ThirdPartySecurityMode, client_settings_list,
};
use crate::types::Secret;

client_settings_list!(settings_body! {
    ClientSettings;
    /// A new client; only `name` is required. Defaults follow `app_type`.
    /// `null` is the default of a property.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CreateClient))]
    pub struct NewClient {
        /// Required.
        #[serde(default)]
        pub name: Option<String>,
        #[serde(default, deserialize_with = "crate::manage::or_default")]
        pub description: Option<String>,
        /// Default `regular_web`.
        #[serde(default)]
        pub app_type: Option<String>,
        /// Default `none` for `spa` and `native`, else `client_secret_post`.
        #[serde(default)]
        pub token_endpoint_auth_method: Option<String>,
        #[serde(default)]
        pub grant_types: Option<Vec<String>>,
        #[serde(default, deserialize_with = "crate::manage::or_default")]
        pub callbacks: Option<Vec<String>>,
        #[serde(default, deserialize_with = "crate::manage::or_default")]
        pub allowed_logout_urls: Option<Vec<String>>,
        #[serde(default, deserialize_with = "crate::manage::or_default")]
        pub web_origins: Option<Vec<String>>,
        /// Auth0's "Allowed Origins (CORS)": origins (like `web_origins`) that may
        /// call the token, revocation and userinfo endpoints from a browser.
        #[serde(default, deserialize_with = "crate::manage::or_default")]
        pub allowed_origins: Option<Vec<String>>,
        /// Default true.
        #[serde(default, deserialize_with = "crate::manage::not_null")]
        pub is_first_party: Option<bool>,
        #[serde(default)]
        pub refresh_token: Option<RefreshTokenChanges>,
        #[serde(default)]
        pub jwt_configuration: Option<JwtConfigurationChanges>,
        /// Auth0's setting: take the end user's address from this confidential
        /// client's `auth0-forwarded-for` header at the token endpoint. Default
        /// false.
        #[serde(default, deserialize_with = "crate::manage::or_default")]
        pub is_token_endpoint_ip_header_trusted: Option<bool>,
        /// Auth0's `client_authentication_methods` at creation (inline
        /// credential definitions): refused, see docs/private-key-jwt.md —
        /// create the client, then its credentials, then enable them.
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
        pub client_authentication_methods: Option<serde_json::Value>,
    }
});

client_settings_list!(settings_body! {
    ClientSettings;
    /// Changes to a client; omitted fields keep their value, nested objects merge.
    /// Defaults are never re-applied: a changed `app_type` keeps the other settings
    /// as they are. `null` resets a property to its default (`description` to
    /// empty, the URL lists and `client_aliases`/`allowed_clients` to none,
    /// a setting to its default), except `is_first_party` (refused: its default
    /// would widen a third-party client) and `name`,
    /// `app_type`, `token_endpoint_auth_method`, `grant_types`, `refresh_token`,
    /// `jwt_configuration` and `client_secret`, which it leaves as they are.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = UpdateClient))]
    pub struct ClientChanges {
        #[serde(default)]
        pub name: Option<String>,
        #[serde(default, deserialize_with = "crate::manage::or_default")]
        pub description: Option<String>,
        #[serde(default)]
        pub app_type: Option<String>,
        #[serde(default)]
        pub token_endpoint_auth_method: Option<String>,
        #[serde(default)]
        pub grant_types: Option<Vec<String>>,
        #[serde(default, deserialize_with = "crate::manage::or_default")]
        pub callbacks: Option<Vec<String>>,
        #[serde(default, deserialize_with = "crate::manage::or_default")]
        pub allowed_logout_urls: Option<Vec<String>>,
        #[serde(default, deserialize_with = "crate::manage::or_default")]
        pub web_origins: Option<Vec<String>>,
        /// Auth0's "Allowed Origins (CORS)": origins (like `web_origins`) that may
        /// call the token, revocation and userinfo endpoints from a browser.
        #[serde(default, deserialize_with = "crate::manage::or_default")]
        pub allowed_origins: Option<Vec<String>>,
        #[serde(default, deserialize_with = "crate::manage::not_null")]
        pub is_first_party: Option<bool>,
        /// Merged into the current settings, field by field.
        #[serde(default)]
        pub refresh_token: Option<RefreshTokenChanges>,
        /// Merged into the current settings, field by field.
        #[serde(default)]
        pub jwt_configuration: Option<JwtConfigurationChanges>,
        #[serde(default, deserialize_with = "crate::manage::or_default")]
        pub is_token_endpoint_ip_header_trusted: Option<bool>,
        /// A new secret, 32 to 256 characters; needs `update:client_keys`. The old
        /// secret stops working and the client's tokens are revoked, as on rotation.
        // Not applied by `apply_changes`: the caller plans it (`secret_plan`).
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Password))]
        pub client_secret: Option<Secret<String>>,
        /// Auth0's `client_authentication_methods`: `{"private_key_jwt":
        /// {"credentials": [{"id": "cred_…"}]}}` enables those credentials (and
        /// refuses the secret from then on); `null` turns it off. Needs
        /// `update:client_credentials`; not together with
        /// `token_endpoint_auth_method`.
        #[serde(default, deserialize_with = "present")]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<ClientAuthenticationMethods>))]
        pub client_authentication_methods: Option<Option<ClientAuthenticationMethods>>,
    }
});

/// `null` as `Some(None)`, absent (the field's default) as `None`.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `cross_origin_auth` is Auth0's former name of `cross_origin_authentication`:
/// sending either sets both; sending both with different values is refused.
pub(super) fn same_cross_origin(
    current: &mut Option<Option<bool>>,
    former: &mut Option<Option<bool>>,
) -> Result<(), crate::manage::Invalid> {
    let disagree = matches!((*current, *former),
        (Some(a), Some(b)) if a.unwrap_or_default() != b.unwrap_or_default());
    if disagree {
        return Err(crate::manage::Invalid::new(
            "cross_origin_auth",
            "must equal cross_origin_authentication (its former name) when both are sent",
        )
        .with_reason("properties_disagree"));
    }
    if former.is_none() {
        *former = *current;
    }
    if current.is_none() {
        *current = *former;
    }
    Ok(())
}

/// Refresh-token settings to change; omitted fields keep their value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = RefreshTokenInput))]
pub struct RefreshTokenChanges {
    /// `rotating` or `non-rotating`.
    #[serde(default)]
    pub rotation_type: Option<String>,
    /// `expiring` or `non-expiring` (rotating tokens must expire).
    #[serde(default)]
    pub expiration_type: Option<String>,
    /// Seconds a rotated refresh token may still be used, 0 to 86400.
    #[serde(default)]
    pub leeway: Option<i64>,
    #[serde(default)]
    pub token_lifetime: Option<i64>,
    #[serde(default)]
    pub infinite_token_lifetime: Option<bool>,
    #[serde(default)]
    pub idle_token_lifetime: Option<i64>,
    #[serde(default)]
    pub infinite_idle_token_lifetime: Option<bool>,
}

/// ID-token settings to change; omitted fields keep their value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(as = JwtConfigurationInput)
)]
pub struct JwtConfigurationChanges {
    #[serde(default)]
    pub lifetime_in_seconds: Option<i64>,
    #[serde(default)]
    pub alg: Option<String>,
    /// Auth0's; stored, no effect yet.
    #[serde(default)]
    pub secret_encoded: Option<bool>,
    /// Auth0's delegation scopes; stored, no effect yet.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub scopes: Option<Object>,
}

impl JwtConfigurationChanges {
    /// Merges into `jwt`, field by field (checked with the whole client).
    pub(super) fn merge_into(self, jwt: &mut JwtConfiguration) {
        if let Some(v) = self.lifetime_in_seconds {
            jwt.lifetime_in_seconds = v;
        }
        if let Some(v) = self.alg {
            jwt.alg = v;
        }
        if let Some(v) = self.secret_encoded {
            jwt.secret_encoded = v;
        }
        if let Some(v) = self.scopes {
            jwt.scopes = Some(v);
        }
    }
}
