//! The Auth0 client properties Tessera stores and answers but does not act on
//! yet ("accepted, no effect yet" in docs/management-api.md), with Auth0's
//! types and defaults.
//!
//! The list is written once, in [`client_settings_list!`]: it declares
//! [`ClientSettings`] here and the same properties in the bodies of
//! `manage::clients` (`manage::settings_body!`, where `null` resets a property
//! to its default), so the model and the bodies cannot drift.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

use super::UnknownValue;

/// A JSON object whose inner properties Tessera keeps as sent.
pub type Object = serde_json::Map<String, serde_json::Value>;

/// Calls `$callback! { <its own tokens> ; <the settings> }`: every property as
/// `name: Type = default,` with its attributes.
macro_rules! client_settings_list {
    ($callback:ident ! { $($args:tt)* }) => {
        $callback! { $($args)* ;
            /// URL of the client's logo.
            #[serde(skip_serializing_if = "Option::is_none")]
            logo_uri: Option<String> = None,
            /// OIDC back-channel logout settings.
            #[serde(skip_serializing_if = "Option::is_none")]
            #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
            oidc_logout: Option<Object> = None,
            /// The former name of `oidc_logout`.
            #[serde(skip_serializing_if = "Option::is_none")]
            #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
            oidc_backchannel_logout: Option<Object> = None,
            /// Native to web SSO (session transfer) settings.
            #[serde(skip_serializing_if = "Option::is_none")]
            #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
            session_transfer: Option<Object> = None,
            /// Other names of the client (WS-Fed).
            client_aliases: Vec<String> = Vec::new(),
            /// Clients allowed to ask for delegation tokens for this one.
            allowed_clients: Vec<String> = Vec::new(),
            /// Encryption key for WS-Fed responses.
            #[serde(skip_serializing_if = "Option::is_none")]
            encryption_key: Option<EncryptionKey> = None,
            /// Use Auth0 SSO rather than the application's own session.
            sso: bool = false,
            /// Cross-origin authentication (embedded login).
            cross_origin_authentication: bool = false,
            /// The former name of `cross_origin_authentication`, kept equal to it.
            cross_origin_auth: bool = false,
            /// URL of the cross-origin verification page.
            #[serde(skip_serializing_if = "Option::is_none")]
            cross_origin_loc: Option<String> = None,
            /// Disables SSO for this client.
            sso_disabled: bool = false,
            /// Use the custom login page (`custom_login_page`).
            custom_login_page_on: bool = true,
            #[serde(skip_serializing_if = "Option::is_none")]
            custom_login_page: Option<String> = None,
            #[serde(skip_serializing_if = "Option::is_none")]
            custom_login_page_preview: Option<String> = None,
            /// WS-Fed form template.
            #[serde(skip_serializing_if = "Option::is_none")]
            form_template: Option<String> = None,
            /// Strict OIDC (true) or Auth0's legacy features (false). Tessera
            /// implements only the strict behaviour, hence its default true.
            oidc_conformant: bool = true,
            /// Add-on settings (SAML, WS-Fed, AWS, …).
            #[serde(skip_serializing_if = "Option::is_none")]
            #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
            addons: Option<Object> = None,
            /// String values (at most 255 characters), at most 10 properties
            /// whose names (at most 255 characters) are alphanumeric or one of
            /// ``:,-+=_*?"/\()<>@``, tab or space.
            client_metadata: BTreeMap<String, String> = BTreeMap::new(),
            /// Native mobile app settings.
            #[serde(skip_serializing_if = "Option::is_none")]
            mobile: Option<ClientMobile> = None,
            /// Initiate-login URI (https).
            #[serde(skip_serializing_if = "Option::is_none")]
            initiate_login_uri: Option<String> = None,
            /// Native social login settings.
            #[serde(skip_serializing_if = "Option::is_none")]
            native_social_login: Option<NativeSocialLogin> = None,
            /// FedCM login settings.
            #[serde(skip_serializing_if = "Option::is_none")]
            #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
            fedcm_login: Option<Object> = None,
            /// Default organization for the client-credentials flow.
            #[serde(skip_serializing_if = "Option::is_none")]
            default_organization: Option<DefaultOrganization> = None,
            #[serde(skip_serializing_if = "Option::is_none")]
            organization_usage: Option<OrganizationUsage> = None,
            #[serde(skip_serializing_if = "Option::is_none")]
            organization_require_behavior: Option<OrganizationRequireBehavior> = None,
            #[serde(skip_serializing_if = "Option::is_none")]
            organization_discovery_methods: Option<Vec<OrganizationDiscovery>> = None,
            require_pushed_authorization_requests: bool = false,
            require_proof_of_possession: bool = false,
            /// JWT-secured authorization request settings.
            #[serde(skip_serializing_if = "Option::is_none")]
            #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
            signed_request_object: Option<Object> = None,
            #[serde(skip_serializing_if = "Option::is_none")]
            #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
            token_vault_privileged_access: Option<Object> = None,
            #[serde(skip_serializing_if = "Option::is_none")]
            compliance_level: Option<ComplianceLevel> = None,
            #[serde(skip_serializing_if = "Option::is_none")]
            skip_non_verifiable_callback_uri_confirmation_prompt: Option<bool> = None,
            #[serde(skip_serializing_if = "Option::is_none")]
            #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
            token_exchange: Option<Object> = None,
            /// Lifetime of a pushed authorization request URI, in seconds.
            #[serde(skip_serializing_if = "Option::is_none")]
            par_request_expiry: Option<i64> = None,
            #[serde(skip_serializing_if = "Option::is_none")]
            #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
            token_quota: Option<Object> = None,
            #[serde(skip_serializing_if = "Option::is_none")]
            #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
            express_configuration: Option<Object> = None,
            #[serde(skip_serializing_if = "Option::is_none")]
            #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
            my_organization_configuration: Option<Object> = None,
            #[serde(skip_serializing_if = "Option::is_none")]
            async_approval_notification_channels: Option<Vec<String>> = None,
            #[serde(skip_serializing_if = "Option::is_none")]
            third_party_security_mode: Option<ThirdPartySecurityMode> = None,
            #[serde(skip_serializing_if = "Option::is_none")]
            redirection_policy: Option<RedirectionPolicy> = None,
        }
    };
}
pub(crate) use client_settings_list;

/// Declares a settings struct (`$name`) from a list of
/// [`client_settings_list!`]'s form, with its `Default`.
macro_rules! settings_model {
    ($(#[$sm:meta])* $name:ident ; $( $(#[$m:meta])* $f:ident : $t:ty = $d:expr, )*) => {
        $(#[$sm])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(default)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct $name {
            $( $(#[$m])* pub $f: $t, )*
        }

        impl Default for $name {
            fn default() -> Self {
                Self { $( $f: $d, )* }
            }
        }
    };
}
pub(crate) use settings_model;

client_settings_list!(settings_model! {
    /// Auth0's client properties that Tessera stores and answers but does
    /// not act on yet; a stored document lacking one has its default.
    ClientSettings
});

/// A property of a body sent at all: `null` is `Some(None)` (reset to the
/// default), absent is `None` (with `#[serde(default)]`).
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `encryption_key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EncryptionKey {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#pub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// `mobile`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientMobile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub android: Option<MobileAndroid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ios: Option<MobileIos>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MobileAndroid {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_package_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256_cert_fingerprints: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MobileIos {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_bundle_identifier: Option<String>,
}

/// `native_social_login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NativeSocialLogin {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apple: Option<NativeSocialLoginProvider>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facebook: Option<NativeSocialLoginProvider>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub google: Option<NativeSocialLoginProvider>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NativeSocialLoginProvider {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// `default_organization`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DefaultOrganization {
    pub organization_id: String,
    pub flows: Vec<DefaultOrganizationFlow>,
}

closed_set! {
    /// `default_organization.flows`.
    DefaultOrganizationFlow {
        ClientCredentials = "client_credentials",
    }
}

closed_set! {
    /// `organization_usage`.
    OrganizationUsage {
        Deny = "deny",
        Allow = "allow",
        Require = "require",
    }
}

closed_set! {
    /// `organization_require_behavior`.
    OrganizationRequireBehavior {
        NoPrompt = "no_prompt",
        PreLoginPrompt = "pre_login_prompt",
        PostLoginPrompt = "post_login_prompt",
    }
}

closed_set! {
    /// `organization_discovery_methods`.
    OrganizationDiscovery {
        Email = "email",
        OrganizationName = "organization_name",
    }
}

closed_set! {
    /// `compliance_level`.
    ComplianceLevel {
        None = "none",
        Fapi1AdvPkjPar = "fapi1_adv_pkj_par",
        Fapi1AdvMtlsPar = "fapi1_adv_mtls_par",
        Fapi2SpPkjMtls = "fapi2_sp_pkj_mtls",
        Fapi2SpMtlsMtls = "fapi2_sp_mtls_mtls",
    }
}

closed_set! {
    /// `third_party_security_mode`.
    ThirdPartySecurityMode {
        Strict = "strict",
        Permissive = "permissive",
    }
}

closed_set! {
    /// `redirection_policy`.
    RedirectionPolicy {
        AllowAlways = "allow_always",
        OpenRedirectProtection = "open_redirect_protection",
    }
}
