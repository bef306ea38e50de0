//! Client secrets on update: what a change does to the stored secret, and which
//! changes touch a credential. Auth0's rules (Management API, "Update a client"):
//! `client_secret` can only be set with `update:client_keys`, and a secret is
//! shown only to `read:client_keys`.
//!
//! - Changing `token_endpoint_auth_method` never removes, replaces or reveals a
//!   secret. A client switched to `none` keeps its (now unusable) secret, so
//!   switching back restores the very same one: nobody learns anything new.
//! - A client that never had a secret (created public) and is switched to a
//!   secret method needs one made: that creates a credential, so it takes
//!   `update:client_keys`, like setting `client_secret` explicitly.

use super::Invalid;
use crate::model::Client;
use crate::types::Secret;

/// The scope that creates, replaces or removes a client credential.
pub const UPDATE_CLIENT_KEYS: &str = "update:client_keys";
/// The scope that reveals a stored client secret.
pub const READ_CLIENT_KEYS: &str = "read:client_keys";
/// Bounds of a secret a caller chooses (`client_secret` on update). 32
/// characters is the floor the bootstrap secret has too.
pub const MIN_SECRET_LEN: usize = 32;
pub const MAX_SECRET_LEN: usize = 256;

/// What an update does to the stored secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretPlan {
    /// The stored secret (or its absence) stays as it is.
    Keep,
    /// The client is confidential and has no secret: make one.
    Generate,
    /// The caller set `client_secret`.
    Set(Secret<String>),
}

impl SecretPlan {
    /// Does the plan create or replace a credential (and so need
    /// [`UPDATE_CLIENT_KEYS`])?
    pub fn touches_credentials(&self) -> bool {
        !matches!(self, Self::Keep)
    }
}

/// The plan for `client` as it is after the change, given whether a secret is
/// stored and the `client_secret` the caller sent, if any.
pub fn secret_plan(
    client: &Client,
    has_secret: bool,
    requested: Option<Secret<String>>,
) -> Result<SecretPlan, Invalid> {
    if let Some(secret) = requested {
        validate_secret(secret.expose())?;
        return Ok(SecretPlan::Set(secret));
    }
    if client.is_confidential() && !has_secret {
        Ok(SecretPlan::Generate)
    } else {
        Ok(SecretPlan::Keep)
    }
}

/// A secret a caller chooses: 32 to 256 characters, no white space or control
/// characters. The value is never part of the message.
pub fn validate_secret(secret: &str) -> Result<(), Invalid> {
    let len = secret.chars().count();
    if !(MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&len) {
        return Err(Invalid::new(
            "client_secret",
            format!("must be {MIN_SECRET_LEN} to {MAX_SECRET_LEN} characters"),
        ));
    }
    if secret.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Invalid::new(
            "client_secret",
            "must not contain white space or control characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manage::clients::{NewClient, build};
    use crate::model::TokenEndpointAuthMethod;

    fn client(app_type: &str) -> Client {
        build(
            "id".into(),
            NewClient {
                name: Some("app".into()),
                app_type: Some(app_type.into()),
                ..Default::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn the_auth_method_alone_never_removes_or_replaces_a_secret() {
        let mut web = client("regular_web");
        assert_eq!(secret_plan(&web, true, None), Ok(SecretPlan::Keep));
        web.token_endpoint_auth_method = TokenEndpointAuthMethod::None;
        // Public now, secret kept.
        assert_eq!(secret_plan(&web, true, None), Ok(SecretPlan::Keep));
        web.token_endpoint_auth_method = TokenEndpointAuthMethod::ClientSecretBasic;
        assert_eq!(secret_plan(&web, true, None), Ok(SecretPlan::Keep));
        assert!(!SecretPlan::Keep.touches_credentials());
    }

    #[test]
    fn a_first_secret_or_a_chosen_one_touches_credentials() {
        let mut spa = client("spa");
        assert_eq!(secret_plan(&spa, false, None), Ok(SecretPlan::Keep));
        spa.token_endpoint_auth_method = TokenEndpointAuthMethod::ClientSecretPost;
        let plan = secret_plan(&spa, false, None).unwrap();
        assert_eq!(plan, SecretPlan::Generate);
        assert!(plan.touches_credentials());
        let chosen = "c".repeat(40);
        let plan = secret_plan(&spa, true, Some(Secret::new(chosen.clone()))).unwrap();
        assert_eq!(plan, SecretPlan::Set(Secret::new(chosen)));
        assert!(plan.touches_credentials());
    }

    #[test]
    fn a_chosen_secret_is_checked_and_never_echoed() {
        let web = client("regular_web");
        for bad in [
            "short".to_owned(),
            "x".repeat(257),
            format!("{} {}", "a".repeat(20), "b".repeat(20)),
            format!("{}\n", "a".repeat(40)),
        ] {
            let e = secret_plan(&web, true, Some(Secret::new(bad.clone()))).unwrap_err();
            assert_eq!(e.property, "client_secret");
            assert!(!e.problem.contains(bad.trim()), "{e}");
        }
        assert!(validate_secret(&"a".repeat(32)).is_ok());
        assert!(validate_secret(&"a".repeat(256)).is_ok());
    }
}
