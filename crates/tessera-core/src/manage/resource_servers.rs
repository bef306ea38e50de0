//! Resource servers (APIs): validation, defaults and creation, shared by
//! `/api/v2/resource-servers` and `tessera apis`.

use serde::Deserialize;

use super::Invalid;
use super::settings_body;
use crate::clock::UnixTime;
use crate::ids::{self, RngError};
use crate::keys::{MAX_TOKEN_LIFETIME, SigningAlg};
#[allow(unused_imports)] // `Object` is named by the OpenAPI attributes only
use crate::model::{
    ConsentPolicy, Object, ResourceServer, ResourceServerScope, ResourceServerSettings,
    TokenDialect, resource_server_settings_list,
};
use crate::token::access::issued_lifetime;

/// The signing algorithm of a new API when none is given.
pub const DEFAULT_SIGNING_ALG: &str = "RS256";
/// The access-token lifetime of a new API when none is given, in seconds.
pub const DEFAULT_TOKEN_LIFETIME: i64 = 86400;
/// The longest identifier accepted.
pub const MAX_IDENTIFIER_LEN: usize = 600;
/// The longest scope value accepted.
pub const MAX_SCOPE_LEN: usize = 280;

resource_server_settings_list!(settings_body! {
    ResourceServerSettings;
    /// A new API, the body of `POST /api/v2/resource-servers` and what `tessera
    /// apis create` asks for; `None` (or `null`) takes the default. Unknown
    /// properties are refused (Auth0's `Additional properties not allowed`).
    #[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[cfg_attr(
        feature = "openapi",
        derive(utoipa::ToSchema),
        schema(as = CreateResourceServer)
    )]
    pub struct NewResourceServer {
        pub identifier: String,
        /// Defaults to the identifier.
        #[serde(default)]
        pub name: Option<String>,
        #[serde(default)]
        pub scopes: Option<Vec<ResourceServerScope>>,
        /// Defaults to `RS256`.
        #[serde(default)]
        pub signing_alg: Option<String>,
        /// Defaults to 86400 seconds.
        #[serde(default)]
        pub token_lifetime: Option<i64>,
        #[serde(default)]
        pub allow_offline_access: Option<bool>,
        #[serde(default)]
        pub skip_consent_for_verifiable_first_party_clients: Option<bool>,
    }
});

resource_server_settings_list!(settings_body! {
    ResourceServerSettings;
    /// Changes to an existing API, the body of `PATCH /api/v2/resource-servers/{id}`;
    /// `None` keeps the stored value. The identifier never changes. `null`
    /// resets a property to its default (`scopes` to none, the flags to false,
    /// a setting to its default), except `name`, `signing_alg` and
    /// `token_lifetime`, which it leaves as they are.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[cfg_attr(
        feature = "openapi",
        derive(utoipa::ToSchema),
        schema(as = UpdateResourceServer)
    )]
    pub struct ResourceServerChanges {
        #[serde(default)]
        pub name: Option<String>,
        #[serde(default, deserialize_with = "crate::manage::or_default")]
        pub scopes: Option<Vec<ResourceServerScope>>,
        #[serde(default)]
        pub signing_alg: Option<String>,
        #[serde(default)]
        pub token_lifetime: Option<i64>,
        #[serde(default, deserialize_with = "crate::manage::or_default")]
        pub allow_offline_access: Option<bool>,
        #[serde(default, deserialize_with = "crate::manage::or_default")]
        pub skip_consent_for_verifiable_first_party_clients: Option<bool>,
    }
});

/// Why an API could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Rng(#[from] RngError),
}

/// 1 to 600 characters without white space (a URI is recommended, not required).
pub fn validate_identifier(identifier: &str) -> Result<(), Invalid> {
    if identifier.is_empty()
        || identifier.len() > MAX_IDENTIFIER_LEN
        || identifier.chars().any(char::is_whitespace)
    {
        return Err(Invalid::new(
            "identifier",
            "must be 1 to 600 characters without white space (a URI is recommended)",
        ));
    }
    Ok(())
}

/// One scope value: 1 to 280 characters, no white space, quotes or backslashes.
pub fn validate_scope_value(value: &str) -> Result<(), Invalid> {
    if value.is_empty()
        || value.len() > MAX_SCOPE_LEN
        || value
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '\\')
    {
        return Err(Invalid::new(
            "scopes",
            "a scope value must be 1 to 280 characters, no spaces or quotes",
        ));
    }
    Ok(())
}

/// Every scope valid, none listed twice.
pub fn validate_scopes(scopes: &[ResourceServerScope]) -> Result<(), Invalid> {
    for (i, s) in scopes.iter().enumerate() {
        validate_scope_value(&s.value)?;
        if scopes[..i].iter().any(|o| o.value == s.value) {
            return Err(Invalid::new(
                "scopes",
                format!("scope {} is listed twice", s.value),
            ));
        }
    }
    Ok(())
}

/// One of the algorithms Tessera signs with.
pub fn validate_signing_alg(alg: &str) -> Result<(), Invalid> {
    alg.parse::<SigningAlg>()
        .map(|_| ())
        .map_err(|_| Invalid::new("signing_alg", "must be one of RS256, PS256, ES256, EdDSA"))
}

/// 1 second to [`MAX_TOKEN_LIFETIME`].
pub fn validate_token_lifetime(lifetime: i64) -> Result<(), Invalid> {
    if !(1..=MAX_TOKEN_LIFETIME).contains(&lifetime) {
        return Err(Invalid::new(
            "token_lifetime",
            format!("must be between 1 and {MAX_TOKEN_LIFETIME}"),
        ));
    }
    Ok(())
}

/// The stored-only settings: each within its bound, none asking for an
/// enforcement Tessera does not do (no `signing_secret` at all).
pub fn validate_settings(settings: &ResourceServerSettings) -> Result<(), Invalid> {
    super::settings_limits::check(settings)?;
    super::not_enforced::resource_server(settings)
}

/// `Tessera-Error-Reason` of a name only the Management API may have.
pub const RESERVED_NAME: &str = "reserved_name";

/// Only the Management API itself ([`crate::bootstrap::MANAGEMENT_API_NAME`])
/// is named "Auth0 Management API" (in any case, around any white space), so
/// no tool or consent screen mistakes another API for it.
pub fn validate_name(name: &str, is_system: bool) -> Result<(), Invalid> {
    if !is_system
        && name
            .trim()
            .eq_ignore_ascii_case(crate::bootstrap::MANAGEMENT_API_NAME)
    {
        return Err(
            Invalid::new("name", "is reserved for the Management API").with_reason(RESERVED_NAME)
        );
    }
    Ok(())
}

/// Checks a new API without building it: identifier, name, scopes, algorithm,
/// lifetime and the stored-only settings, in that order (the first problem is
/// reported).
pub fn check_new(input: &NewResourceServer) -> Result<(), Invalid> {
    validate_identifier(&input.identifier)?;
    if let Some(name) = &input.name {
        validate_name(name, false)?;
    }
    validate_scopes(input.scopes.as_deref().unwrap_or_default())?;
    validate_signing_alg(input.signing_alg.as_deref().unwrap_or(DEFAULT_SIGNING_ALG))?;
    validate_token_lifetime(input.token_lifetime.unwrap_or(DEFAULT_TOKEN_LIFETIME))?;
    validate_settings(&input.clone().into_settings())?;
    Ok(())
}

impl NewResourceServer {
    /// The settings this body gives, over the defaults.
    fn into_settings(mut self) -> ResourceServerSettings {
        let mut settings = ResourceServerSettings::default();
        self.take_settings(&mut settings);
        settings
    }
}

/// A new API with a fresh id and every default applied. Never a system API.
pub fn create(mut input: NewResourceServer) -> Result<ResourceServer, CreateError> {
    check_new(&input)?;
    let mut settings = ResourceServerSettings::default();
    input.take_settings(&mut settings);
    Ok(ResourceServer {
        id: ids::alphanumeric(24)?,
        name: input.name.unwrap_or_else(|| input.identifier.clone()),
        identifier: input.identifier,
        scopes: input.scopes.unwrap_or_default(),
        signing_alg: input
            .signing_alg
            .unwrap_or_else(|| DEFAULT_SIGNING_ALG.into()),
        token_lifetime: input.token_lifetime.unwrap_or(DEFAULT_TOKEN_LIFETIME),
        allow_offline_access: input.allow_offline_access.unwrap_or(false),
        skip_consent_for_verifiable_first_party_clients: input
            .skip_consent_for_verifiable_first_party_clients
            .unwrap_or(false),
        settings,
        is_system: false,
    })
}

/// Applies `changes` to `rs`, or leaves it untouched and names the first bad
/// property. Whether `rs` may change at all (system APIs) is the caller's rule.
pub fn apply_changes(
    rs: &mut ResourceServer,
    mut changes: ResourceServerChanges,
) -> Result<(), Invalid> {
    let mut settings = rs.settings.clone();
    changes.take_settings(&mut settings);
    if let Some(name) = &changes.name {
        validate_name(name, rs.is_system)?;
    }
    validate_settings(&settings)?;
    if let Some(scopes) = &changes.scopes {
        validate_scopes(scopes)?;
    }
    if let Some(alg) = &changes.signing_alg {
        validate_signing_alg(alg)?;
    }
    if let Some(lifetime) = changes.token_lifetime {
        validate_token_lifetime(lifetime)?;
    }
    if let Some(name) = changes.name {
        rs.name = name;
    }
    if let Some(scopes) = changes.scopes {
        rs.scopes = scopes;
    }
    if let Some(alg) = changes.signing_alg {
        rs.signing_alg = alg;
    }
    if let Some(lifetime) = changes.token_lifetime {
        rs.token_lifetime = lifetime;
    }
    if let Some(v) = changes.allow_offline_access {
        rs.allow_offline_access = v;
    }
    if let Some(v) = changes.skip_consent_for_verifiable_first_party_clients {
        rs.skip_consent_for_verifiable_first_party_clients = v;
    }
    rs.settings = settings;
    Ok(())
}

/// When `old` is replaced at `now` by `new` (`None`: deleted), until when a
/// token issued under `old`'s lifetime may still be valid, if `new`'s lifetime
/// does not already cover it. Lowering a lifetime does not shorten tokens
/// already issued, so revocations must keep refusing them that long; storage
/// remembers this per identifier ([`crate::store::TenantStore::retired_token_expiry`]).
pub fn retired_until(
    old: &ResourceServer,
    new: Option<&ResourceServer>,
    now: UnixTime,
) -> Option<UnixTime> {
    let old_lifetime = issued_lifetime(old);
    match new {
        Some(new) if issued_lifetime(new) >= old_lifetime => None,
        _ => Some(now.saturating_add(old_lifetime)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(v: &str) -> ResourceServerScope {
        ResourceServerScope {
            value: v.into(),
            description: String::new(),
        }
    }

    #[test]
    fn defaults_apply() {
        let rs = create(NewResourceServer {
            identifier: "https://api.example".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(rs.name, "https://api.example");
        assert_eq!(rs.signing_alg, "RS256");
        assert_eq!(rs.token_lifetime, 86400);
        assert!(!rs.allow_offline_access && !rs.is_system);
        assert_eq!(rs.id.len(), 24);
    }

    #[test]
    fn each_property_is_named() {
        let bad = |input: NewResourceServer| match create(input) {
            Err(CreateError::Invalid(e)) => e.property,
            other => panic!("expected Invalid, got {other:?}"),
        };
        let ok = NewResourceServer {
            identifier: "urn:api".into(),
            ..Default::default()
        };
        assert_eq!(
            bad(NewResourceServer {
                identifier: "has space".into(),
                ..ok.clone()
            }),
            "identifier"
        );
        assert_eq!(
            bad(NewResourceServer {
                identifier: "x".repeat(601),
                ..ok.clone()
            }),
            "identifier"
        );
        assert_eq!(
            bad(NewResourceServer {
                scopes: Some(vec![scope("a"), scope("a")]),
                ..ok.clone()
            }),
            "scopes"
        );
        assert_eq!(
            bad(NewResourceServer {
                scopes: Some(vec![scope("has\"quote")]),
                ..ok.clone()
            }),
            "scopes"
        );
        assert_eq!(
            bad(NewResourceServer {
                signing_alg: Some("HS256".into()),
                ..ok.clone()
            }),
            "signing_alg"
        );
        assert_eq!(
            bad(NewResourceServer {
                token_lifetime: Some(0),
                ..ok.clone()
            }),
            "token_lifetime"
        );
        assert_eq!(
            bad(NewResourceServer {
                token_lifetime: Some(MAX_TOKEN_LIFETIME + 1),
                ..ok
            }),
            "token_lifetime"
        );
    }

    #[test]
    fn a_lower_lifetime_or_a_deletion_retires_the_old_one() {
        let old = create(NewResourceServer {
            identifier: "urn:api".into(),
            token_lifetime: Some(1000),
            ..Default::default()
        })
        .unwrap();
        let with = |lifetime| ResourceServer {
            token_lifetime: lifetime,
            ..old.clone()
        };
        assert_eq!(retired_until(&old, Some(&with(10)), 50), Some(1050));
        assert_eq!(retired_until(&old, Some(&with(1000)), 50), None);
        assert_eq!(retired_until(&old, Some(&with(5000)), 50), None);
        assert_eq!(retired_until(&old, None, 50), Some(1050));
        // Stored out of range: what the grants issued (clamped) counts.
        let huge = with(i64::MAX);
        assert_eq!(
            retired_until(&huge, None, 50),
            Some(50 + MAX_TOKEN_LIFETIME)
        );
    }

    #[test]
    fn a_bad_change_changes_nothing() {
        let mut rs = create(NewResourceServer {
            identifier: "urn:api".into(),
            ..Default::default()
        })
        .unwrap();
        let before = rs.clone();
        let err = apply_changes(
            &mut rs,
            ResourceServerChanges {
                name: Some("renamed".into()),
                token_lifetime: Some(-1),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(err.property, "token_lifetime");
        assert_eq!(rs, before);
        apply_changes(
            &mut rs,
            ResourceServerChanges {
                name: Some("renamed".into()),
                scopes: Some(vec![scope("read:x")]),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(rs.name, "renamed");
        assert_eq!(rs.scopes, vec![scope("read:x")]);
        assert_eq!(rs.identifier, "urn:api");
    }
}
