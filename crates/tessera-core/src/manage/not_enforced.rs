//! Auth0 settings Tessera stores but does not act on yet, refused when they ask
//! for an enforcement (a hardening Tessera would silently skip): a caller who
//! believes a control is on must not get a tenant where it is off. The
//! non-enforcing values (absent, `null`, `false`, empty, Auth0's permissive
//! default) stay accepted. docs/security.md lists them ("Settings Tessera does
//! not enforce").

use serde_json::Value;

use crate::manage::Invalid;
use crate::model::{
    ClientSettings, ComplianceLevel, OrganizationUsage, RedirectionPolicy, ResourceServerSettings,
    ThirdPartySecurityMode,
};

/// `Tessera-Error-Reason` of a refused enforcing value.
pub const NOT_ENFORCED: &str = "setting_not_enforced";
/// `Tessera-Error-Reason` of a secret Tessera will not store.
pub const SECRET_REFUSED: &str = "secret_setting_refused";

fn refuse(property: &str, what: &str) -> Invalid {
    Invalid::new(
        property,
        format!("{what} is not supported yet (Tessera would not enforce it)"),
    )
    .with_reason(NOT_ENFORCED)
}

/// An object that is absent or empty.
fn empty(v: Option<&serde_json::Map<String, Value>>) -> bool {
    v.is_none_or(|m| m.is_empty())
}

/// `obj.key` is `true`.
fn requires(v: Option<&serde_json::Map<String, Value>>, key: &str) -> bool {
    v.and_then(|m| m.get(key)) == Some(&Value::Bool(true))
}

/// The client's stored-only settings, none asking for an enforcement.
pub fn client(s: &ClientSettings) -> Result<(), Invalid> {
    if s.sso_disabled {
        return Err(refuse("sso_disabled", "true"));
    }
    if !empty(s.addons.as_ref()) {
        return Err(Invalid::new(
            "addons",
            "must be empty: Tessera has no add-ons and does not store their secrets",
        )
        .with_reason(SECRET_REFUSED));
    }
    if s.require_pushed_authorization_requests {
        return Err(refuse("require_pushed_authorization_requests", "true"));
    }
    if s.require_proof_of_possession {
        return Err(refuse("require_proof_of_possession", "true"));
    }
    if requires(s.signed_request_object.as_ref(), "required") {
        return Err(refuse("signed_request_object.required", "true"));
    }
    if s.compliance_level
        .is_some_and(|c| c != ComplianceLevel::None)
    {
        return Err(refuse("compliance_level", "a value other than none"));
    }
    for (property, logout) in [
        ("oidc_logout", &s.oidc_logout),
        ("oidc_backchannel_logout", &s.oidc_backchannel_logout),
    ] {
        let urls = logout
            .as_ref()
            .and_then(|m| m.get("backchannel_logout_urls"));
        if urls.is_some_and(|u| u.as_array().is_none_or(|a| !a.is_empty())) {
            return Err(refuse(
                &format!("{property}.backchannel_logout_urls"),
                "back-channel logout",
            ));
        }
    }
    if s.organization_usage == Some(OrganizationUsage::Require) {
        return Err(refuse("organization_usage", "require"));
    }
    if s.third_party_security_mode == Some(ThirdPartySecurityMode::Strict) {
        return Err(refuse("third_party_security_mode", "strict"));
    }
    if s.redirection_policy == Some(RedirectionPolicy::OpenRedirectProtection) {
        return Err(refuse("redirection_policy", "open_redirect_protection"));
    }
    if !empty(s.token_quota.as_ref()) {
        return Err(refuse("token_quota", "a token quota"));
    }
    Ok(())
}

/// Tessera's behaviour as a `subject_type_authorization`: users may be
/// issued tokens without a grant, clients need a client grant.
fn tessera_subject_policy(m: &serde_json::Map<String, Value>) -> bool {
    m.iter().all(|(k, v)| {
        let wanted = match k.as_str() {
            "user" => "allow_all",
            "client" => "require_client_grant",
            _ => return false,
        };
        v.as_object().is_some_and(|o| {
            o.iter()
                .all(|(k, v)| k == "policy" && v.as_str() == Some(wanted))
        })
    })
}

/// The API's stored-only settings: none asking for an enforcement, no
/// `signing_secret` (Tessera signs no HS256 tokens and keeps no such secret).
pub fn resource_server(s: &ResourceServerSettings) -> Result<(), Invalid> {
    if s.signing_secret.is_some() {
        return Err(Invalid::new(
            "signing_secret",
            "is not accepted: Tessera signs no HS256 access tokens",
        )
        .with_reason(SECRET_REFUSED));
    }
    if !empty(s.token_encryption.as_ref()) {
        return Err(refuse("token_encryption", "access-token encryption"));
    }
    if s.consent_policy.is_some() {
        return Err(refuse("consent_policy", "a consent policy"));
    }
    if requires(s.proof_of_possession.as_ref(), "required") {
        return Err(refuse("proof_of_possession.required", "true"));
    }
    if !s
        .subject_type_authorization
        .as_ref()
        .is_none_or(tessera_subject_policy)
    {
        return Err(refuse(
            "subject_type_authorization",
            "a policy other than user allow_all, client require_client_grant",
        ));
    }
    if !empty(s.authorization_policy.as_ref()) {
        return Err(refuse("authorization_policy", "an authorization policy"));
    }
    Ok(())
}
