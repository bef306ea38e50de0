//! Refresh-token settings: merging a caller's changes, and Auth0's bounds.

use super::payload::RefreshTokenChanges;
use crate::manage::Invalid;
use crate::model::{ExpirationType, MAX_REFRESH_TOKEN_LIFETIME, RefreshTokenConfig};

/// Longest reuse interval of a rotated refresh token.
pub const MAX_REFRESH_TOKEN_LEEWAY: i64 = 86_400;

/// Merges `changes` into `config`, field by field; a rotation or expiration
/// type outside its set is refused.
pub(super) fn merge(
    config: &mut RefreshTokenConfig,
    changes: RefreshTokenChanges,
) -> Result<(), Invalid> {
    if let Some(v) = changes.rotation_type {
        config.rotation_type = v.parse().map_err(|_| {
            Invalid::new(
                "refresh_token.rotation_type",
                "must be rotating or non-rotating",
            )
        })?;
    }
    if let Some(v) = changes.expiration_type {
        config.expiration_type = v.parse().map_err(|_| {
            Invalid::new(
                "refresh_token.expiration_type",
                "must be expiring or non-expiring",
            )
        })?;
    }
    if let Some(v) = changes.leeway {
        config.leeway = v;
    }
    if let Some(v) = changes.token_lifetime {
        config.token_lifetime = v;
    }
    if let Some(v) = changes.infinite_token_lifetime {
        config.infinite_token_lifetime = v;
    }
    if let Some(v) = changes.idle_token_lifetime {
        config.idle_token_lifetime = v;
    }
    if let Some(v) = changes.infinite_idle_token_lifetime {
        config.infinite_idle_token_lifetime = v;
    }
    Ok(())
}

/// Rotating tokens expire; the reuse interval and the lifetimes are in bounds.
pub fn validate(config: &RefreshTokenConfig) -> Result<(), Invalid> {
    if config.rotates() && config.expiration_type != ExpirationType::Expiring {
        return Err(Invalid::new(
            "refresh_token.expiration_type",
            "rotating refresh tokens must be expiring",
        ));
    }
    if !(0..=MAX_REFRESH_TOKEN_LEEWAY).contains(&config.leeway) {
        return Err(Invalid::new(
            "refresh_token.leeway",
            format!("must be between 0 and {MAX_REFRESH_TOKEN_LEEWAY}"),
        ));
    }
    if !(1..=MAX_REFRESH_TOKEN_LIFETIME).contains(&config.token_lifetime) {
        return Err(Invalid::new(
            "refresh_token.token_lifetime",
            format!("must be between 1 and {MAX_REFRESH_TOKEN_LIFETIME}"),
        ));
    }
    if !(1..=MAX_REFRESH_TOKEN_LIFETIME).contains(&config.idle_token_lifetime) {
        return Err(Invalid::new(
            "refresh_token.idle_token_lifetime",
            format!("must be between 1 and {MAX_REFRESH_TOKEN_LIFETIME}"),
        ));
    }
    Ok(())
}
