//! Verifying Tessera (and Auth0-compatible) tokens where they are used.
//!
//! - An API checks the access tokens it is sent with [`AccessTokenVerifier`]:
//!   signature with a key from the issuer's JWKS (algorithm taken from the key,
//!   never from the token alone), `typ: at+jwt`, exact `iss`, `aud` naming the
//!   API, `exp`/`nbf`/`iat` with leeway, no unknown `crit`, a size cap. An ID token
//!   sent to an API is refused with [`VerifyError::IdToken`].
//! - An application checks its ID tokens with [`IdTokenVerifier`].
//! - Leeway, the JWKS refetch policy, the size cap and the [`Clock`] the time
//!   checks read are set with [`Options::builder`] and `with_options`.
//! - `axum_support` (cargo feature `axum`, on by default) has an extractor, a
//!   layer and RFC 6750 error answers; `default-features = false` builds
//!   without axum and tower.
//!
//! The crate depends on no part of the Tessera server: only JOSE and HTTP crates.
//! See docs/verify.md for the checks and the JWKS refetch policy.

#[cfg(feature = "axum")]
pub mod axum_support;
mod claims;
mod clock;
pub mod dangerous;
mod jwks;
mod jws;
mod options;

use std::sync::Arc;

pub use claims::Claims;
pub use clock::{Clock, FixedClock, SystemClock};
use jwks::KeyCache;
pub use options::{Options, OptionsBuilder, OptionsError};

/// Why a token was refused: one variant per check. `Display` explains it in plain
/// words, for logs and for `error_description`.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    #[error("the token is larger than the size limit")]
    TooLarge,
    #[error("the token is not a well-formed JWT: {0}")]
    Malformed(String),
    #[error(
        "algorithm {0:?} is not accepted: only RS256, PS256, ES256 and EdDSA signatures, never \"none\" or HMAC"
    )]
    UnsupportedAlgorithm(String),
    #[error("unknown kid {0:?}: the issuer's JWKS has no key with this id")]
    UnknownKid(String),
    #[error("the token header has no kid, so no key of the issuer can be chosen")]
    MissingKid,
    #[error("algorithm does not match the key: the header says {header}, the key is for {key}")]
    AlgorithmMismatch { header: String, key: String },
    #[error("the signature does not verify with the issuer's key")]
    BadSignature,
    #[error("unknown critical header parameter(s): {}", .0.join(", "))]
    UnknownCritical(Vec<String>),
    #[error("token type (typ) is {}, not at+jwt: this is not an access token", typ_words(.0))]
    WrongType(Option<String>),
    #[error("this is an ID token for client {client_id}; an API must not accept ID tokens")]
    IdToken { client_id: String },
    #[error("issuer is {actual}, not {expected}")]
    WrongIssuer { expected: String, actual: String },
    #[error("audience is {}, not {}", list_words(actual), list_words(expected))]
    WrongAudience {
        expected: Vec<String>,
        actual: Vec<String>,
    },
    #[error("expired {} ago", duration_words(*seconds_ago))]
    Expired { seconds_ago: i64 },
    #[error("not valid yet: valid in {}", duration_words(*seconds_until))]
    NotYetValid { seconds_until: i64 },
    #[error("issued in the future (iat is later than now, beyond the allowed clock skew)")]
    IssuedInFuture,
    #[error("required claim {0} is missing")]
    MissingClaim(&'static str),
    #[error("nonce does not match the one this application sent")]
    NonceMismatch,
    #[error("the user signed in longer ago than max_age allows (auth_time)")]
    AuthTooOld,
    #[error("authorized party (azp) is not this client")]
    AzpMismatch,
    #[error("the issuer's keys (JWKS) could not be fetched: {0}")]
    JwksUnavailable(String),
}

fn typ_words(t: &Option<String>) -> String {
    match t {
        Some(t) => format!("{t:?}"),
        None => "missing".into(),
    }
}

fn list_words(l: &[String]) -> String {
    match l {
        [] => "empty".into(),
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}

/// "14 minutes", "2 hours", "5 seconds", "3 days".
fn duration_words(s: i64) -> String {
    let s = s.max(0);
    let (n, unit) = if s < 120 {
        (s, "second")
    } else if s < 2 * 3600 {
        (s / 60, "minute")
    } else if s < 2 * 86400 {
        (s / 3600, "hour")
    } else {
        (s / 86400, "day")
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// A verifier could not be set up.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SetupError {
    #[error("OpenID discovery failed: {0}")]
    Discovery(String),
    #[error("the JWKS could not be loaded: {0}")]
    Jwks(String),
}

/// Verifies access tokens for one API (one or more audience identifiers).
/// Cheap to clone: everything is behind an `Arc`.
#[derive(Clone)]
pub struct AccessTokenVerifier {
    inner: Arc<Config>,
}

struct Config {
    issuer: String,
    audiences: Vec<String>,
    options: Options,
    keys: Arc<KeyCache>,
}

impl std::fmt::Debug for AccessTokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokenVerifier")
            .field("issuer", &self.inner.issuer)
            .field("audiences", &self.inner.audiences)
            .finish_non_exhaustive()
    }
}

impl AccessTokenVerifier {
    /// OpenID discovery at `issuer`, then the JWKS it names (loaded now, so a
    /// wrong issuer fails at start-up, not on the first request).
    pub async fn from_issuer(issuer: &str, audiences: Vec<String>) -> Result<Self, SetupError> {
        let (issuer, jwks_uri) = jwks::discover(issuer).await?;
        let v = Self::new(&jwks_uri, &issuer, audiences);
        v.inner.keys.initial_load().await?;
        Ok(v)
    }

    /// Keys from `jwks_url`, fetched on first use.
    pub fn new(jwks_url: &str, issuer: &str, audiences: Vec<String>) -> Self {
        Self::build(
            KeyCache::remote(jwks_url, Options::default()),
            issuer,
            audiences,
        )
    }

    /// Fixed keys from a JWKS document, never fetched again (tests, benches,
    /// air-gapped deployments).
    pub fn from_jwks(
        jwks: &[u8],
        issuer: &str,
        audiences: Vec<String>,
    ) -> Result<Self, SetupError> {
        Ok(Self::build(KeyCache::fixed(jwks)?, issuer, audiences))
    }

    fn build(keys: KeyCache, issuer: &str, audiences: Vec<String>) -> Self {
        Self {
            inner: Arc::new(Config {
                issuer: issuer.to_owned(),
                audiences,
                options: Options::default(),
                keys: Arc::new(keys),
            }),
        }
    }

    /// The same issuer, audience and keys (those loaded so far are kept), with
    /// `options` (leeway, accepted `typ`s, refetch policy, size cap, clock).
    pub fn with_options(self, options: Options) -> Self {
        let c = &self.inner;
        Self {
            inner: Arc::new(Config {
                issuer: c.issuer.clone(),
                audiences: c.audiences.clone(),
                keys: Arc::new(c.keys.with_options(options.clone())),
                options,
            }),
        }
    }

    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    pub fn audiences(&self) -> &[String] {
        &self.inner.audiences
    }

    /// Every check of an access token; the claims when all pass.
    pub async fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        let c = &*self.inner;
        let (header, claims) = c.keys.verify_signature(token, &c.options).await?;
        let now = c.options.now();
        let leeway = c.options.leeway_secs();
        if claims.iss != c.issuer {
            return Err(VerifyError::WrongIssuer {
                expected: c.issuer.clone(),
                actual: claims.iss,
            });
        }
        let ours = claims.aud.iter().any(|a| c.audiences.contains(a));
        let at_jwt = matches!(header.typ, jws::Typ::AtJwt);
        let plain_jwt = header.typ.is_plain_jwt();
        let id_shaped = claims.extra.contains_key("nonce") || claims.extra.contains_key("at_hash");
        if !ours && (plain_jwt || matches!(header.typ, jws::Typ::Missing) || id_shaped) {
            return Err(VerifyError::IdToken {
                client_id: claims.aud.join(" "),
            });
        }
        if !(at_jwt || (plain_jwt && c.options.accept_plain_jwt_typ())) {
            return Err(VerifyError::WrongType(header.typ.into_option()));
        }
        if !ours {
            return Err(VerifyError::WrongAudience {
                expected: c.audiences.clone(),
                actual: claims.aud,
            });
        }
        check_times(&claims, now, leeway)?;
        Ok(claims)
    }
}

/// `sub` present, `exp` not passed, `nbf` reached, `iat` not in the future.
fn check_times(claims: &Claims, now: i64, leeway: i64) -> Result<(), VerifyError> {
    if claims.sub.is_empty() {
        return Err(VerifyError::MissingClaim("sub"));
    }
    if now >= claims.exp.saturating_add(leeway) {
        return Err(VerifyError::Expired {
            seconds_ago: now - claims.exp,
        });
    }
    if let Some(nbf) = claims.nbf
        && nbf > now.saturating_add(leeway)
    {
        return Err(VerifyError::NotYetValid {
            seconds_until: nbf - now,
        });
    }
    if let Some(iat) = claims.iat
        && iat > now.saturating_add(leeway)
    {
        return Err(VerifyError::IssuedInFuture);
    }
    Ok(())
}

/// What an application expects of the ID token it asked for.
#[derive(Default, Clone, Debug)]
pub struct IdTokenExpectations {
    /// The `nonce` sent in the authorization request; the token must carry it.
    pub nonce: Option<String>,
    /// The `max_age` sent (seconds); the token's `auth_time` must be recent enough.
    pub max_age: Option<i64>,
}

/// Verifies ID tokens for one application (its client ID).
#[derive(Clone)]
pub struct IdTokenVerifier {
    inner: Arc<IdConfig>,
}

struct IdConfig {
    issuer: String,
    client_id: String,
    options: Options,
    keys: Arc<KeyCache>,
}

impl std::fmt::Debug for IdTokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdTokenVerifier")
            .field("issuer", &self.inner.issuer)
            .field("client_id", &self.inner.client_id)
            .finish_non_exhaustive()
    }
}

impl IdTokenVerifier {
    pub async fn from_issuer(issuer: &str, client_id: &str) -> Result<Self, SetupError> {
        let (issuer, jwks_uri) = jwks::discover(issuer).await?;
        let v = Self::new(&jwks_uri, &issuer, client_id);
        v.inner.keys.initial_load().await?;
        Ok(v)
    }

    pub fn new(jwks_url: &str, issuer: &str, client_id: &str) -> Self {
        Self::build(
            KeyCache::remote(jwks_url, Options::default()),
            issuer,
            client_id,
        )
    }

    /// Fixed keys from a JWKS document, never fetched again.
    pub fn from_jwks(jwks: &[u8], issuer: &str, client_id: &str) -> Result<Self, SetupError> {
        Ok(Self::build(KeyCache::fixed(jwks)?, issuer, client_id))
    }

    fn build(keys: KeyCache, issuer: &str, client_id: &str) -> Self {
        Self {
            inner: Arc::new(IdConfig {
                issuer: issuer.to_owned(),
                client_id: client_id.to_owned(),
                options: Options::default(),
                keys: Arc::new(keys),
            }),
        }
    }

    /// The same issuer, client ID and keys (those loaded so far are kept), with
    /// `options` (leeway, refetch policy, size cap, clock).
    pub fn with_options(self, options: Options) -> Self {
        let c = &self.inner;
        Self {
            inner: Arc::new(IdConfig {
                issuer: c.issuer.clone(),
                client_id: c.client_id.clone(),
                keys: Arc::new(c.keys.with_options(options.clone())),
                options,
            }),
        }
    }

    /// Every check of an ID token (OIDC Core §3.1.3.7); the claims when all pass.
    pub async fn verify(
        &self,
        token: &str,
        expectations: &IdTokenExpectations,
    ) -> Result<Claims, VerifyError> {
        let c = &*self.inner;
        let (header, claims) = c.keys.verify_signature(token, &c.options).await?;
        let now = c.options.now();
        let leeway = c.options.leeway_secs();
        if claims.iss != c.issuer {
            return Err(VerifyError::WrongIssuer {
                expected: c.issuer.clone(),
                actual: claims.iss,
            });
        }
        if !matches!(header.typ, jws::Typ::Missing) && !header.typ.is_plain_jwt() {
            return Err(VerifyError::WrongType(header.typ.into_option()));
        }
        if !claims.aud.contains(&c.client_id) {
            return Err(VerifyError::WrongAudience {
                expected: vec![c.client_id.clone()],
                actual: claims.aud,
            });
        }
        match claims.azp.as_deref() {
            Some(azp) if azp != c.client_id => return Err(VerifyError::AzpMismatch),
            None if claims.aud.len() > 1 => return Err(VerifyError::AzpMismatch),
            _ => {}
        }
        if claims.iat.is_none() {
            return Err(VerifyError::MissingClaim("iat"));
        }
        check_times(&claims, now, leeway)?;
        if let Some(expected) = &expectations.nonce
            && claims.extra.get("nonce").and_then(|n| n.as_str()) != Some(expected.as_str())
        {
            return Err(VerifyError::NonceMismatch);
        }
        if let Some(max_age) = expectations.max_age {
            let auth_time = claims
                .extra
                .get("auth_time")
                .and_then(|t| t.as_i64().or_else(|| t.as_f64().map(|f| f as i64)))
                .ok_or(VerifyError::MissingClaim("auth_time"))?;
            if now > auth_time.saturating_add(max_age).saturating_add(leeway) {
                return Err(VerifyError::AuthTooOld);
            }
        }
        Ok(claims)
    }
}
