//! Auth0's Token Vault exchange
//! (`grant_type=urn:auth0:params:oauth:grant-type:token-exchange:federated-connection-access-token`,
//! on RFC 8693): a confidential client presents a Tessera refresh or access
//! token of a user (`subject_token`) and gets that user's upstream access
//! token for `connection`, from the IdP-token vault.
//!
//! The subject token only names the user: a refresh token is looked up, never
//! rotated or consumed (so rotation stays on, unlike Auth0's); an access token
//! is verified as introspection does. The identity is looked up by that user
//! only, so a subject token can never yield another user's upstream token.
//!
//! An expired upstream token is refreshed upstream **once** across every node:
//! a conditional update claims the refresh (a lease, only while the stored
//! refresh-token ciphertext is the one read and no live lease exists); the
//! winner calls the provider and stores the new pair (clearing the lease);
//! the others poll the row until it changes and answer with the new token. A
//! lease whose node died ends and is claimed again.

use async_trait::async_trait;

use super::common::authenticate_client;
use super::{Ctx, GrantError, Issued, TokenResponse};
use crate::clock::UnixTime;
use crate::error::{OAuthError, Reason};
use crate::flow::RefreshFamily;
use crate::idp_vault::{IdpTokens, SealedIdpTokens};
use crate::manage::upstream_options::is_upstream;
use crate::model::{Client, Connection, GrantType, User};
use crate::params::Params;
use crate::token::opaque::token_hash;
use crate::token::verify::{VerifyError, verify_access_token_any_audience};
use crate::types::Secret;

pub const GRANT_TYPE: &str =
    "urn:auth0:params:oauth:grant-type:token-exchange:federated-connection-access-token";
/// `requested_token_type` and `issued_token_type` (Auth0).
pub const FEDERATED_TOKEN_TYPE: &str =
    "http://auth0.com/oauth/token-type/federated-connection-access-token";
/// RFC 8693 §3 token type identifiers of the subject token.
pub const REFRESH_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:refresh_token";
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// An upstream token this close to its expiry is refreshed first: the client
/// must have time to use it.
pub const EXPIRY_MARGIN: i64 = 10;
/// The lifetime assumed for an upstream access token whose provider named
/// none (no `expires_in`), when an upstream refresh token is held: the token
/// is refreshed once it was stored this long ago, never served forever.
pub const UNKNOWN_LIFETIME_SECONDS: i64 = 3600;
/// After a failed upstream refresh (provider unreachable, 5xx, 429,
/// `invalid_client`), no request calls the provider again with the same
/// refresh token for this long; they answer `upstream_unavailable` at once.
pub const REFRESH_BACKOFF_SECONDS: i64 = 5;
/// How many times the winner tries its store write again after an error.
const STORE_RETRIES: u32 = 3;
/// How long a claimed refresh is reserved beyond the upstream call's
/// deadline ([`UpstreamRefresh::deadline_seconds`]): a lease never ends
/// while its winner may still be talking to the provider (a second refresh
/// with the same upstream refresh token could look like a replay there).
/// After it another node may claim it again.
pub const LEASE_SLACK_SECONDS: i64 = 10;
/// How often and how many times a request that lost the claim reads the row
/// again (at most 10 s in all) before answering `temporarily_unavailable`.
pub const POLL_MILLIS: u64 = 100;
pub const MAX_POLLS: u32 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectTokenType {
    RefreshToken,
    AccessToken,
}

pub struct Request {
    pub subject_token: Secret<String>,
    pub subject_token_type: SubjectTokenType,
    pub connection: String,
    pub login_hint: Option<String>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("subject_token", &self.subject_token)
            .field("subject_token_type", &self.subject_token_type)
            .field("connection", &self.connection)
            .finish_non_exhaustive()
    }
}

fn required<'a>(params: &'a Params, name: &str) -> Result<&'a str, OAuthError> {
    params
        .get(name)
        .ok_or_else(|| OAuthError::new(Reason::ParameterMissing, format!("{name} is required")))
}

impl Request {
    pub fn parse(params: &Params) -> Result<Self, OAuthError> {
        let subject_token = required(params, "subject_token")?;
        let subject_token_type = match required(params, "subject_token_type")? {
            REFRESH_TOKEN_TYPE => SubjectTokenType::RefreshToken,
            ACCESS_TOKEN_TYPE => SubjectTokenType::AccessToken,
            _ => {
                return Err(OAuthError::new(
                    Reason::SubjectTokenTypeUnsupported,
                    "subject_token_type must be urn:ietf:params:oauth:token-type:refresh_token or urn:ietf:params:oauth:token-type:access_token",
                ));
            }
        };
        if required(params, "requested_token_type")? != FEDERATED_TOKEN_TYPE {
            return Err(OAuthError::new(
                Reason::RequestedTokenTypeUnsupported,
                "requested_token_type must be http://auth0.com/oauth/token-type/federated-connection-access-token",
            ));
        }
        Ok(Self {
            subject_token: Secret::new(subject_token.to_owned()),
            subject_token_type,
            connection: required(params, "connection")?.to_owned(),
            login_hint: params.get("login_hint").map(str::to_owned),
        })
    }
}

/// The provider's answer to a refresh (RFC 6749 §6), tokens as secrets.
#[derive(Debug)]
pub struct Refreshed {
    pub access_token: Secret<String>,
    /// A rotated upstream refresh token; `None`: the provider keeps the old.
    pub refresh_token: Option<Secret<String>>,
    pub id_token: Option<Secret<String>>,
    pub expires_in: Option<i64>,
    pub scope: Option<String>,
}

/// Why an upstream refresh failed (never carries a token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshFailure {
    /// The provider refused the refresh token (`invalid_grant`).
    Refused,
    /// Unreachable, silent past the deadline, 5xx, an unusable answer, or
    /// another refusal (e.g. `invalid_client`: the connection's credentials,
    /// not the user's token, are wrong; the token is kept).
    Unavailable,
    /// The connection's client secret does not open.
    Misconfigured,
}

/// The server's side of the exchange: the provider's token endpoint, and the
/// time and pauses of the single flight (the core reads no clock and sleeps
/// on no runtime of its own).
#[async_trait]
pub trait UpstreamRefresh: Send + Sync {
    /// Refreshes at the connection's token endpoint with its client
    /// credentials, within a bounded deadline and answer size.
    async fn refresh_upstream(
        &self,
        connection: &Connection,
        refresh_token: &Secret<String>,
    ) -> Result<Refreshed, RefreshFailure>;
    /// The bound of [`Self::refresh_upstream`], in whole seconds.
    fn deadline_seconds(&self) -> i64;
    /// Waits [`POLL_MILLIS`].
    async fn pause(&self);
    /// The time now (polls outlive the request's `now`).
    fn now(&self) -> UnixTime;
    /// Runs the claim, and for its winner the provider call and store write
    /// ([`claim_and_run`]), in a task of its own, awaited here, so a request
    /// dropped meanwhile (the client went away) can neither leave a claimed
    /// lease unused nor lose a rotated upstream refresh token. `None`: no
    /// runtime to spawn on; the caller runs it inline.
    async fn refresh_detached(&self, _job: &WinnerJob) -> Option<ClaimOutcome> {
        None
    }
}

/// What the winner of a claimed refresh needs, owned (it may outlive the
/// request).
#[derive(Debug, Clone)]
pub struct WinnerJob {
    pub connection: Connection,
    pub sealed: SealedIdpTokens,
    /// The refresh-token ciphertext the claim is made with.
    pub expected: Vec<u8>,
    pub upstream_refresh: Secret<String>,
    /// When the claim is made, and the end of its lease.
    pub now: UnixTime,
    pub lease_until: UnixTime,
}

/// A claim's outcome: `Ok(None)` when another request holds the refresh (wait
/// for it), else the winner's result.
pub type ClaimOutcome = Result<Option<(IdpTokens, Option<String>)>, GrantError>;

/// Claims the identity's refresh and, when this call wins, runs it
/// ([`run_winner`]). Takes no request context, so the server can run it in a
/// task of its own ([`UpstreamRefresh::refresh_detached`]).
pub async fn claim_and_run(
    store: &dyn crate::store::Store,
    master: &crate::envelope::MasterKey,
    upstream: &dyn UpstreamRefresh,
    job: &WinnerJob,
) -> ClaimOutcome {
    let won = store
        .claim_idp_refresh(
            &job.sealed.user_id,
            &job.connection.name,
            &job.expected,
            job.now,
            job.lease_until,
        )
        .await?;
    if !won {
        return Ok(None);
    }
    run_winner(store, master, upstream, job).await.map(Some)
}

fn refused(reason: Reason, description: &'static str) -> GrantError {
    OAuthError::new(reason, description).into()
}

fn unavailable() -> GrantError {
    refused(
        Reason::UpstreamUnavailable,
        "the identity provider could not be reached",
    )
}

fn subject_invalid() -> GrantError {
    refused(
        Reason::SubjectTokenInvalid,
        "the subject token is invalid, expired or revoked",
    )
}

pub async fn exchange(
    ctx: &Ctx<'_>,
    presented: &crate::client_auth::Presented,
    req: Request,
) -> Result<Issued, GrantError> {
    let found = ctx.store.get_client(presented.client_id()).await?;
    let client = authenticate_client(ctx, presented, found.as_ref()).await?;
    if client.is_public() {
        return Err(refused(
            Reason::TokenVaultPublicClient,
            "the Token Vault exchange is for confidential clients",
        ));
    }
    if !client.is_first_party {
        return Err(refused(
            Reason::TokenVaultThirdParty,
            "the Token Vault exchange is for first-party clients",
        ));
    }
    if !client.allows(GrantType::TokenVault) {
        return Err(refused(
            Reason::GrantTypeNotAllowed,
            "Grant type 'urn:auth0:params:oauth:grant-type:token-exchange:federated-connection-access-token' not allowed for the client.",
        ));
    }
    let connection = ctx
        .store
        .get_connection_by_name(&req.connection)
        .await?
        .filter(|c| is_upstream(&c.strategy) && c.usable_by(&client.client_id))
        .ok_or_else(|| {
            refused(
                Reason::ConnectionNotEnabled,
                "the connection does not exist, is not an upstream connection or is not enabled for the client",
            )
        })?;
    let user = subject_user(ctx, &client, &req).await?;
    let no_identity = || {
        refused(
            Reason::FederatedIdentityMissing,
            "the user has no identity for this connection",
        )
    };
    // Auth0: `login_hint` names the identity at the provider; only this
    // user's identities are ever looked at.
    // The identity of this connection: the user's own, or one linked to it
    // (whose tokens stay sealed under the linked record's id).
    let (record_id, identity_id) = match user
        .identities
        .iter()
        .find(|i| i.connection == connection.name)
    {
        Some(own) => (user.user_id.clone(), own.user_id.clone()),
        None => {
            let linked = ctx.store.linked_users(&user.user_id).await?;
            let record = linked
                .into_iter()
                .find(|u| u.connection == connection.name)
                .ok_or_else(no_identity)?;
            // A login through a blocked identity is refused; so is its
            // upstream token (the primary's block is checked above).
            if record.blocked {
                return Err(refused(
                    Reason::UserBlocked,
                    "the user's identity for this connection is blocked",
                ));
            }
            let identity_id = record
                .identities
                .iter()
                .find(|i| i.connection == connection.name)
                .map(|i| i.user_id.clone())
                .ok_or_else(no_identity)?;
            (record.user_id, identity_id)
        }
    };
    if let Some(hint) = &req.login_hint {
        let sub = identity_id
            .strip_prefix(&format!("{}|", connection.name))
            .unwrap_or(&identity_id);
        if hint != &identity_id && hint != sub && hint != &user.user_id && hint != &record_id {
            return Err(no_identity());
        }
    }
    let sealed = ctx
        .store
        .get_idp_tokens(&record_id, &connection.name)
        .await?
        .ok_or_else(no_identity)?;
    let (tokens, scope) = fresh_tokens(ctx, &connection, sealed).await?;
    let now = ctx.upstream.now();
    Ok(Issued {
        response: TokenResponse {
            access_token: tokens.access_token.expose().clone(),
            token_type: "Bearer",
            expires_in: tokens.expires_at.map_or(0, |e| (e - now).max(0)),
            scope,
            id_token: None,
            refresh_token: None,
            issued_token_type: Some(FEDERATED_TOKEN_TYPE),
        },
        kinds: Vec::new(),
        user_id: Some(user.user_id),
        audience: None,
    })
}

/// The user the subject token was issued to, for this client; anything else
/// (unknown, expired, revoked, rotated, another client's, an ID token, a
/// machine token, garbage) is `invalid_grant`. Nothing is rotated or consumed.
async fn subject_user(ctx: &Ctx<'_>, client: &Client, req: &Request) -> Result<User, GrantError> {
    let token = req.subject_token.expose();
    let (user_id, issued_at) = match req.subject_token_type {
        SubjectTokenType::RefreshToken => {
            let family: Option<RefreshFamily> = ctx
                .store
                .live_refresh_family(&token_hash(token), ctx.now)
                .await?;
            match family {
                Some(f) if f.revoked_at.is_none() && f.client_id == client.client_id => {
                    (f.user_id, None)
                }
                Some(f) if f.client_id != client.client_id => {
                    return Err(refused(
                        Reason::SubjectTokenClientMismatch,
                        "the subject token was issued to another client",
                    ));
                }
                _ => return Err(subject_invalid()),
            }
        }
        SubjectTokenType::AccessToken if token.split('.').count() == 3 => {
            let claims = verify_access_token_any_audience(
                &ctx.keys.current(),
                token,
                ctx.issuer.as_str(),
                ctx.now,
                0,
            )
            .map_err(|e| match e {
                VerifyError::IdToken => refused(
                    Reason::SubjectTokenInvalid,
                    "an ID token is not an access token",
                ),
                _ => subject_invalid(),
            })?;
            if claims.gty.as_deref() == Some("client-credentials") {
                return Err(refused(
                    Reason::SubjectTokenInvalid,
                    "a client-credentials token names no user",
                ));
            }
            if claims.client_id != client.client_id {
                return Err(refused(
                    Reason::SubjectTokenClientMismatch,
                    "the subject token was issued to another client",
                ));
            }
            let audiences = claims.aud.to_vec();
            if ctx
                .revocations
                .is_revoked(&claims.jti, &claims.client_id, &audiences, claims.iat)
            {
                return Err(subject_invalid());
            }
            (claims.sub, Some(claims.iat))
        }
        SubjectTokenType::AccessToken => {
            let Some((found, jti)) = ctx
                .store
                .find_opaque_token(&token_hash(token), ctx.now)
                .await?
            else {
                return Err(subject_invalid());
            };
            if found.client_id != client.client_id {
                return Err(refused(
                    Reason::SubjectTokenClientMismatch,
                    "the subject token was issued to another client",
                ));
            }
            if ctx
                .revocations
                .is_revoked(&jti, &found.client_id, &[], found.issued_at)
            {
                return Err(subject_invalid());
            }
            (found.user_id, Some(found.issued_at))
        }
    };
    let user = match ctx.store.get_user(&user_id).await? {
        Some(u) if !u.blocked => u,
        _ => return Err(subject_invalid()),
    };
    // An access token from before an unlink (the identity's own, from before
    // its link) stays dead.
    if let Some(iat) = issued_at
        && crate::revocation::issued_before_cutoff(ctx.store, &user.user_id, iat).await?
    {
        return Err(subject_invalid());
    }
    // As the refresh and code grants: the user's own connection must still be
    // enabled for the client (an app cut off a connection gets nothing
    // through tokens it holds from before).
    super::common::check_user_connection(ctx, &user, &client.client_id).await?;
    Ok(user)
}

/// Whether the stored access token can be served as it is. An unknown
/// lifetime with an upstream refresh token counts as
/// [`UNKNOWN_LIFETIME_SECONDS`] from when the tokens were stored; without a
/// refresh token there is nothing better to serve.
fn is_fresh(tokens: &IdpTokens, stored_at: UnixTime, now: UnixTime) -> bool {
    match tokens.expires_at {
        Some(e) => e > now + EXPIRY_MARGIN,
        None => {
            tokens.refresh_token.is_none()
                || stored_at.saturating_add(UNKNOWN_LIFETIME_SECONDS) > now + EXPIRY_MARGIN
        }
    }
}

fn open(ctx: &Ctx<'_>, sealed: &SealedIdpTokens) -> Result<IdpTokens, GrantError> {
    sealed.open(ctx.master).map_err(|_| {
        refused(
            Reason::UpstreamMisconfigured,
            "the stored upstream tokens cannot be opened",
        )
    })
}

/// The identity's upstream tokens, fresh: as stored, or refreshed upstream
/// by exactly one of the requests that found them expired (module docs).
async fn fresh_tokens(
    ctx: &Ctx<'_>,
    connection: &Connection,
    mut sealed: SealedIdpTokens,
) -> Result<(IdpTokens, Option<String>), GrantError> {
    let first_read = sealed.refresh_token.clone();
    for _ in 0..=MAX_POLLS {
        let now = ctx.upstream.now();
        let tokens = open(ctx, &sealed)?;
        // Another request's refresh landed meanwhile: its token is taken even
        // when the provider's lifetimes are shorter than the margin, or every
        // waiting request would refresh again in turn.
        let refreshed_meanwhile = sealed.refresh_token.is_some()
            && sealed.refresh_token != first_read
            && tokens.expires_at.is_none_or(|e| e > now);
        if is_fresh(&tokens, sealed.updated_at, now) || refreshed_meanwhile {
            return Ok((tokens, None));
        }
        let (Some(expected), Some(upstream_refresh)) =
            (sealed.refresh_token.clone(), tokens.refresh_token.as_ref())
        else {
            return Err(refused(
                Reason::UpstreamTokenExpired,
                "the upstream access token has expired and there is no upstream refresh token; the user must log in through the connection again",
            ));
        };
        // Read the lease first (a SELECT): only a free lease is worth the
        // conditional UPDATE, so waiters never write while they poll.
        let state = ctx
            .store
            .idp_refresh_state(&sealed.user_id, &connection.name)
            .await?
            .unwrap_or_default();
        if state.retry_after.is_some_and(|t| t > now) {
            // The provider failed moments ago: no new call until the backoff
            // ends.
            return Err(unavailable());
        }
        if state.refreshing_until.is_none_or(|t| t <= now) {
            let job = WinnerJob {
                connection: connection.clone(),
                sealed: sealed.clone(),
                expected,
                upstream_refresh: Secret::new(upstream_refresh.expose().clone()),
                now,
                lease_until: now + ctx.upstream.deadline_seconds() + LEASE_SLACK_SECONDS,
            };
            let outcome = match ctx.upstream.refresh_detached(&job).await {
                Some(outcome) => outcome,
                None => claim_and_run(ctx.store, ctx.master, ctx.upstream, &job).await,
            };
            if let Some(done) = outcome? {
                return Ok(done);
            }
        }
        // Another request (of any node) refreshes: wait for its result.
        ctx.upstream.pause().await;
        sealed = ctx
            .store
            .get_idp_tokens(&sealed.user_id, &connection.name)
            .await?
            .ok_or_else(|| {
                refused(
                    Reason::FederatedIdentityMissing,
                    "the user has no identity for this connection",
                )
            })?;
    }
    Err(refused(
        Reason::UpstreamUnavailable,
        "the upstream token is being refreshed; try again",
    ))
}

/// The winner of a claimed refresh: calls the provider and stores the
/// result (or marks the tokens dead, or releases the lease with a backoff).
pub async fn run_winner(
    store: &dyn crate::store::Store,
    master: &crate::envelope::MasterKey,
    upstream: &dyn UpstreamRefresh,
    job: &WinnerJob,
) -> Result<(IdpTokens, Option<String>), GrantError> {
    let WinnerJob {
        connection,
        sealed,
        expected,
        upstream_refresh,
        ..
    } = job;
    let expected = expected.as_slice();
    let user_id = &sealed.user_id;
    let open = |sealed: &SealedIdpTokens| {
        sealed.open(master).map_err(|_| {
            refused(
                Reason::UpstreamMisconfigured,
                "the stored upstream tokens cannot be opened",
            )
        })
    };
    match upstream
        .refresh_upstream(connection, upstream_refresh)
        .await
    {
        Ok(new) => {
            let now = upstream.now();
            let tokens = IdpTokens {
                access_token: new.access_token,
                // RFC 6749 §6: a provider that issues no new refresh token
                // keeps the old one valid.
                refresh_token: Some(
                    new.refresh_token
                        .unwrap_or_else(|| Secret::new(upstream_refresh.expose().clone())),
                ),
                id_token: new.id_token,
                expires_at: new.expires_in.map(|s| now.saturating_add(s)),
            };
            let next = tokens.seal(master, user_id, &connection.name, now)?;
            // Clears the lease. False only if a login replaced the tokens
            // meanwhile; the fresh token is still this user's and valid.
            // A transient store error must not lose a rotated upstream
            // refresh token: the write is tried again (the lease still
            // holds others off).
            let mut tries = 0;
            loop {
                match store.replace_idp_tokens_if(&next, expected).await {
                    Ok(_) => break,
                    Err(e) if tries < STORE_RETRIES => {
                        tries += 1;
                        tracing::warn!(connection = %connection.name, tries, "storing refreshed upstream tokens failed; trying again");
                        upstream.pause().await;
                        drop(e);
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Ok((tokens, new.scope))
        }
        Err(RefreshFailure::Refused) => {
            // The stale tokens are marked dead: the refresh token is dropped
            // (the expired access token kept), so later exchanges answer
            // `upstream_token_expired` at once, until a new login.
            let tokens = open(sealed)?;
            let marked = IdpTokens {
                refresh_token: None,
                ..tokens
            };
            let now = upstream.now();
            let dead = marked.seal(master, user_id, &connection.name, now)?;
            store.replace_idp_tokens_if(&dead, expected).await?;
            Err(refused(
                Reason::UpstreamRefreshRefused,
                "the identity provider refused to refresh the upstream token; the user must log in through the connection again",
            ))
        }
        Err(failure) => {
            // The lease ends with a backoff: for REFRESH_BACKOFF_SECONDS
            // nobody calls the provider with this refresh token again.
            let retry_after = upstream.now().saturating_add(REFRESH_BACKOFF_SECONDS);
            store
                .release_idp_refresh(user_id, &connection.name, expected, retry_after)
                .await?;
            Err(match failure {
                RefreshFailure::Misconfigured => refused(
                    Reason::UpstreamMisconfigured,
                    "the connection's client secret cannot be used",
                ),
                _ => unavailable(),
            })
        }
    }
}

/// No upstream provider to call (benchmarks, tools): every refresh is
/// unavailable; the time is fixed.
pub struct NoUpstream {
    pub now: UnixTime,
}

#[async_trait]
impl UpstreamRefresh for NoUpstream {
    async fn refresh_upstream(
        &self,
        _connection: &Connection,
        _refresh_token: &Secret<String>,
    ) -> Result<Refreshed, RefreshFailure> {
        Err(RefreshFailure::Unavailable)
    }

    fn deadline_seconds(&self) -> i64 {
        0
    }

    async fn pause(&self) {}

    fn now(&self) -> UnixTime {
        self.now
    }
}
