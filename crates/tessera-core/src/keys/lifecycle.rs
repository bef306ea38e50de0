//! The signing-key lifecycle: `next` (published, not yet signing) -> `current`
//! (signing) -> `previous` (published until every token it signed has expired)
//! and `revoked` (gone from the JWKS at once).
//!
//! Two invariants hold across every change: the JWKS is never empty and always holds
//! the key that signs; and a key is published for at least the JWKS cache lifetime
//! (plus the time other nodes take to reload) before it signs. A change that would
//! break either is refused.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{Jwk, KeyMaterialError, SigningAlg};
use crate::clock::UnixTime;
use crate::envelope::OpenError;
use crate::ids::RngError;
use async_trait::async_trait;

use crate::error::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    Next,
    Current,
    Previous,
    Revoked,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Current => "current",
            Self::Previous => "previous",
            Self::Revoked => "revoked",
        }
    }
}

impl fmt::Display for KeyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "next" => Ok(Self::Next),
            "current" => Ok(Self::Current),
            "previous" => Ok(Self::Previous),
            "revoked" => Ok(Self::Revoked),
            other => Err(format!("unknown key state {other:?}")),
        }
    }
}

/// A signing key as stored: the public JWK in clear, the private key sealed
/// under the master key (AAD: the kid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub kid: String,
    pub alg: SigningAlg,
    pub state: KeyState,
    pub public_jwk: Jwk,
    pub sealed_private_key: Vec<u8>,
    pub created_at: UnixTime,
    pub activated_at: Option<UnixTime>,
    pub retired_at: Option<UnixTime>,
    /// For `previous` keys: published until then.
    pub publish_until: Option<UnixTime>,
    pub revoked_at: Option<UnixTime>,
}

impl KeyRecord {
    pub fn is_published(&self, now: UnixTime) -> bool {
        match self.state {
            KeyState::Next | KeyState::Current => true,
            KeyState::Previous => self.publish_until.is_some_and(|t| now < t),
            KeyState::Revoked => false,
        }
    }
}

/// One atomic change: the row `kid` must still be in `expect` (optimistic check
/// against concurrent rotations on other nodes) and becomes `record`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyChange {
    pub expect: KeyState,
    pub record: KeyRecord,
}

/// Timing policy for the lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPolicy {
    /// `Cache-Control: max-age` of the JWKS.
    pub jwks_max_age: i64,
    /// How often every node reloads the key set from the database.
    pub reload_interval: i64,
    /// The longest lifetime of any token a key signs.
    pub max_token_lifetime: i64,
}

impl KeyPolicy {
    /// A next key may start signing once every cached JWKS anywhere holds it:
    /// nodes learn of it within one reload, caches keep a JWKS for `max-age`.
    pub fn eligible_at(&self, next: &KeyRecord) -> UnixTime {
        next.created_at + self.jwks_max_age + self.reload_interval
    }

    /// A retired key stays published until every token it may have signed has
    /// expired, counting nodes that go on signing with it until they reload.
    pub fn publish_until(&self, retired_at: UnixTime) -> UnixTime {
        retired_at + self.reload_interval + self.max_token_lifetime
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RotationRefused {
    #[error(
        "the next key {kid} has been published only since {}; it may sign from {} (the JWKS cache lifetime plus the reload interval), so rotating now could leave caches without the signing key", rfc3339(*created_at), rfc3339(*eligible_at)
    )]
    NextNotPublishedLongEnough {
        kid: String,
        created_at: UnixTime,
        eligible_at: UnixTime,
    },
    #[error("there is no next key to promote")]
    NoNextKey,
    #[error("there is no current key")]
    NoCurrentKey,
    #[error("key {0} is the current signing key: rotate first, then revoke it as the previous key")]
    RevokeCurrent(String),
    #[error("key {0} is already revoked")]
    AlreadyRevoked(String),
    #[error("no signing key has kid {0}")]
    UnknownKid(String),
}

impl RotationRefused {
    /// A stable name for the refusal (the Management API sends it in
    /// `Tessera-Error-Reason`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::NextNotPublishedLongEnough { .. } => "next_key_too_new",
            Self::NoNextKey => "no_next_key",
            Self::NoCurrentKey => "no_current_key",
            Self::RevokeCurrent(_) => "revoke_current_key",
            Self::AlreadyRevoked(_) => "key_already_revoked",
            Self::UnknownKid(_) => "unknown_kid",
        }
    }
}

fn rfc3339(t: UnixTime) -> String {
    humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(t.max(0) as u64),
    )
    .to_string()
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("refused: {0}")]
    Refused(#[from] RotationRefused),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("key {kid}: {source}")]
    Open { kid: String, source: OpenError },
    #[error("key material: {0}")]
    Material(#[from] KeyMaterialError),
    #[error(transparent)]
    Rng(#[from] RngError),
    #[error("another node changed the signing keys at the same time; try again")]
    Conflict,
}

/// No token Tessera signs lives longer than this (Auth0's cap on access-token
/// lifetimes, 30 days): a retired key stays published at least this long.
pub const MAX_TOKEN_LIFETIME: i64 = 2_592_000;

/// Where signing keys are kept (implemented by the storage backends).
#[async_trait]
pub trait KeyStore: Send + Sync + 'static {
    async fn list_signing_keys(&self) -> Result<Vec<KeyRecord>, StoreError>;
    /// In one transaction: apply every change (each row must still be in its
    /// expected state) and insert every new key. Any failed expectation or
    /// uniqueness rule (one current key, one next key) -> `Conflict`, nothing written.
    async fn change_signing_keys(
        &self,
        changes: &[KeyChange],
        insert: &[KeyRecord],
    ) -> Result<(), StoreError>;
}
