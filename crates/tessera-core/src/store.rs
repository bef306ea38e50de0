//! Narrow storage traits. Operations that carry an invariant are atomic in the
//! store (e.g. [`KeyStore::change_signing_keys`]); everything else is plain CRUD.

use async_trait::async_trait;

pub use crate::error::StoreError;
pub use crate::keys::KeyStore;
pub use crate::log_event::LogStore;
pub use crate::page::Page;
pub use crate::rbac_store::RbacStore;

mod actions;
pub use actions::{ActionDeleted, ActionFilter, ActionStore, ActionUpdated};

use crate::clock::UnixTime;
use crate::flow::{
    AuthCode, AuthorizeTx, CodeIssue, CodeRecorded, CodeUse, IssuedToken, OpaqueToken,
    RefreshFamily, RefreshUse, Session,
};
use crate::idp_vault::SealedIdpTokens;
use crate::jobs::{FailedRow, ImportUser, Job, JobSummary};
use crate::model::{
    AppType, Client, ClientCredential, ClientGrant, ClientSecret, Connection, ResourceServer, User,
};
use crate::passwordless::NewOtp;
use crate::ticket::{Ticket, TicketKind};
use crate::upstream::UpstreamLogin;

#[async_trait]
pub trait MetaStore: Send + Sync + 'static {
    async fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Stores `value` unless the key exists; returns the value now stored.
    async fn put_meta_if_absent(&self, key: &str, value: &str) -> Result<String, StoreError>;
    /// Stores `value`, replacing any previous one.
    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError>;
}

/// What the client-credentials grant needs, read in one round trip.
#[derive(Debug, Clone, Default)]
pub struct ClientCredentialsContext {
    pub client: Option<(Client, Option<ClientSecret>)>,
    pub resource_server: Option<ResourceServer>,
    pub grant: Option<ClientGrant>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrantFilter {
    pub audience: Option<String>,
    pub client_id: Option<String>,
}

/// Which clients a listing returns; empty or `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientFilter {
    /// Any of these app types.
    pub app_types: Vec<AppType>,
    pub is_first_party: Option<bool>,
}

/// Which connections a listing returns; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionFilter {
    /// Any of these strategies; empty means any.
    pub strategies: Vec<String>,
    pub name: Option<String>,
}

/// What an update does to a client's stored secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretChange<'a> {
    Keep,
    Set(&'a ClientSecret),
    /// The client became public.
    Remove,
}

#[async_trait]
pub trait TenantStore: Send + Sync + 'static {
    /// Conflict when the identifier exists.
    async fn create_resource_server(
        &self,
        rs: &ResourceServer,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    async fn get_resource_server(&self, id: &str) -> Result<Option<ResourceServer>, StoreError>;
    async fn list_resource_servers(
        &self,
        page: Page,
    ) -> Result<(Vec<ResourceServer>, i64), StoreError>;
    /// False when there is no such id. The identifier never changes. When the
    /// stored lifetime is longer than `rs`'s, in the same transaction, remembers
    /// until when tokens issued under it may live (see
    /// [`TenantStore::retired_token_expiry`]).
    async fn update_resource_server(
        &self,
        rs: &ResourceServer,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// Deletes it and its client grants; the deleted object, if any. In the same
    /// transaction, remembers until when its tokens may live.
    async fn delete_resource_server(
        &self,
        id: &str,
        now: UnixTime,
    ) -> Result<Option<ResourceServer>, StoreError>;

    /// Conflict when the client id exists. In the same transaction, when the
    /// tenant flag `enable_client_connections` is on (the default, see
    /// [`crate::manage::tenant_settings::client_connections_enabled`]), the new
    /// client is enabled on every connection, as Auth0 does.
    async fn create_client(
        &self,
        client: &Client,
        secret: Option<&ClientSecret>,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// Ordered by creation; the total counts every match.
    async fn list_clients(
        &self,
        filter: &ClientFilter,
        page: Page,
    ) -> Result<(Vec<(Client, Option<ClientSecret>)>, i64), StoreError>;
    /// Replaces the client and changes its secret as `secret` says. False when absent.
    async fn update_client(
        &self,
        client: &Client,
        secret: SecretChange<'_>,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// In one transaction: deletes it, its grants, and its id from every
    /// connection's `enabled_clients`. False when absent.
    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError>;

    /// Conflict on a second grant for the same client and audience, or an unknown
    /// client or audience.
    async fn create_client_grant(
        &self,
        grant: &ClientGrant,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    async fn get_client_grant_by_id(&self, id: &str) -> Result<Option<ClientGrant>, StoreError>;
    async fn list_client_grants(
        &self,
        filter: &GrantFilter,
        page: Page,
    ) -> Result<(Vec<ClientGrant>, i64), StoreError>;
    async fn update_client_grant(
        &self,
        id: &str,
        scope: &[String],
        now: UnixTime,
    ) -> Result<Option<ClientGrant>, StoreError>;
    async fn delete_client_grant(&self, id: &str) -> Result<Option<ClientGrant>, StoreError>;

    /// Conflict when the name exists.
    async fn create_connection(
        &self,
        connection: &Connection,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    async fn get_connection(&self, id: &str) -> Result<Option<Connection>, StoreError>;
    /// Ordered by creation; the total counts every match.
    async fn list_connections(
        &self,
        filter: &ConnectionFilter,
        page: Page,
    ) -> Result<(Vec<Connection>, i64), StoreError>;
    /// Replaces the document of the connection of that id and name (false
    /// when none), in one transaction with the row locked first. With
    /// `keep_clients` the stored `enabled_clients` are kept (not the
    /// caller's copy); otherwise the given list is stored minus the ids of
    /// clients that no longer exist.
    async fn update_connection(
        &self,
        connection: &Connection,
        keep_clients: bool,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// In one transaction: deletes it and every user of it (as Auth0 does); the
    /// deleted connection, if any.
    async fn delete_connection(&self, id: &str) -> Result<Option<Connection>, StoreError>;

    /// The client (with its secret), the API and the client's grant for it.
    async fn client_credentials_context(
        &self,
        client_id: &str,
        audience: &str,
    ) -> Result<ClientCredentialsContext, StoreError>;

    /// Inserts unless a resource server with the same identifier exists; true when inserted.
    async fn insert_resource_server_if_absent(
        &self,
        rs: &ResourceServer,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    async fn get_resource_server_by_identifier(
        &self,
        identifier: &str,
    ) -> Result<Option<ResourceServer>, StoreError>;
    /// The latest expiry a token issued under an earlier, longer lifetime of the
    /// API `identifier` (of any API with `None`) can have, when later than `now`:
    /// what lowering an API's `token_lifetime` or deleting it left behind
    /// ([`crate::manage::resource_servers::retired_until`]). Revocations last at
    /// least that long. Rows that have passed are deleted by
    /// [`RevocationStore::purge_revocations`].
    async fn retired_token_expiry(
        &self,
        identifier: Option<&str>,
        now: UnixTime,
    ) -> Result<Option<UnixTime>, StoreError>;
    /// Inserts unless a connection with the same name exists; true when inserted.
    async fn insert_connection_if_absent(
        &self,
        connection: &Connection,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    async fn get_connection_by_name(&self, name: &str) -> Result<Option<Connection>, StoreError>;
    async fn get_client(
        &self,
        client_id: &str,
    ) -> Result<Option<(Client, Option<ClientSecret>)>, StoreError>;
    /// Inserts or replaces a client and its secret.
    async fn put_client(
        &self,
        client: &Client,
        secret: Option<&ClientSecret>,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// Inserts or replaces the grant for (client_id, audience).
    async fn put_client_grant(&self, grant: &ClientGrant, now: UnixTime) -> Result<(), StoreError>;
    async fn get_client_grant(
        &self,
        client_id: &str,
        audience: &str,
    ) -> Result<Option<ClientGrant>, StoreError>;
}

/// A field users can be searched and sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserField {
    UserId,
    Email,
    Name,
    GivenName,
    FamilyName,
    Nickname,
    Username,
    PhoneNumber,
    Connection,
    CreatedAt,
    UpdatedAt,
    LastLogin,
    LoginsCount,
}

impl UserField {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "user_id" => Self::UserId,
            "email" => Self::Email,
            "name" => Self::Name,
            "given_name" => Self::GivenName,
            "family_name" => Self::FamilyName,
            "nickname" => Self::Nickname,
            "username" => Self::Username,
            "phone_number" => Self::PhoneNumber,
            "connection" | "identities.connection" => Self::Connection,
            "created_at" => Self::CreatedAt,
            "updated_at" => Self::UpdatedAt,
            "last_login" => Self::LastLogin,
            "logins_count" => Self::LoginsCount,
            _ => return None,
        })
    }
    pub fn column(self) -> &'static str {
        match self {
            Self::UserId => "user_id",
            Self::Email => "email",
            Self::Name => "name",
            Self::GivenName => "given_name",
            Self::FamilyName => "family_name",
            Self::Nickname => "nickname",
            Self::Username => "username",
            Self::PhoneNumber => "phone_number",
            Self::Connection => "connection",
            Self::CreatedAt => "created_at",
            Self::UpdatedAt => "updated_at",
            Self::LastLogin => "last_login",
            Self::LoginsCount => "logins_count",
        }
    }
    /// Text fields can be searched; all fields can sort.
    pub fn searchable(self) -> bool {
        !matches!(
            self,
            Self::CreatedAt | Self::UpdatedAt | Self::LastLogin | Self::LoginsCount
        )
    }
}

/// One search term: `field` matches `pattern` exactly, or as a prefix/suffix/
/// infix where `pattern` has `*` wildcards. Text is compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFilter {
    pub field: UserField,
    pub pattern: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserQuery {
    /// All must match (AND).
    pub filters: Vec<UserFilter>,
    /// Field and ascending?
    pub sort: Option<(UserField, bool)>,
}

#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    /// Conflict when the id is taken, or the connection already has a user
    /// with this email or username.
    async fn create_user(&self, user: &User, password_hash: Option<&str>)
    -> Result<(), StoreError>;
    async fn get_user(&self, user_id: &str) -> Result<Option<User>, StoreError>;
    /// The user of `connection` with `email` (lower-cased), and the password hash.
    async fn find_user_for_login(
        &self,
        connection: &str,
        email: &str,
    ) -> Result<Option<(User, Option<String>)>, StoreError>;
    async fn list_users(
        &self,
        query: &UserQuery,
        page: Page,
    ) -> Result<(Vec<User>, i64), StoreError>;
    async fn users_by_email(&self, email: &str) -> Result<Vec<User>, StoreError>;
    /// The user of `connection` with `username` (compared lower-cased).
    async fn find_user_by_username(
        &self,
        connection: &str,
        username: &str,
    ) -> Result<Option<User>, StoreError>;
    /// Replaces the user; `password_hash: Some` changes it. False when absent;
    /// Conflict when the new email or username is taken in the connection.
    async fn update_user(
        &self,
        user: &User,
        password_hash: Option<&str>,
    ) -> Result<bool, StoreError>;
    async fn delete_user(&self, user_id: &str) -> Result<bool, StoreError>;
    /// Applies Actions' metadata changes ([`crate::extensibility::apply_metadata`])
    /// to the user as stored, in one transaction with the row locked, so a
    /// concurrent write (a block, a PATCH) is neither lost nor undone. False
    /// when the user does not exist.
    async fn change_user_metadata(
        &self,
        user_id: &str,
        app: Option<&serde_json::Map<String, serde_json::Value>>,
        user: Option<&serde_json::Map<String, serde_json::Value>>,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
}

/// Why the store refused to link two users (Auth0's account linking).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    /// The primary user does not exist (or is itself linked: it is no user).
    PrimaryMissing,
    /// The secondary user does not exist.
    SecondaryMissing,
    /// The secondary is linked (to this primary or another) already.
    SecondaryIsLinked,
    /// The primary is a secondary of another user.
    PrimaryIsLinked,
    /// The secondary already has identities linked to it: it is a primary.
    SecondaryHasLinks,
    /// The primary already has an identity of the secondary's connection.
    SameConnection,
}

/// A user found through one of its identities (the record the identity's
/// login reads and updates), and the primary user it is linked to.
#[derive(Debug, Clone, PartialEq)]
pub struct LoginIdentity {
    pub identity: User,
    pub primary: Option<User>,
}

impl LoginIdentity {
    /// Who the login signs in as: the primary of a linked identity.
    pub fn user(&self) -> &User {
        self.primary.as_ref().unwrap_or(&self.identity)
    }

    /// [`LoginIdentity::user`], owned.
    pub fn into_user(self) -> User {
        self.primary.unwrap_or(self.identity)
    }
}

/// Account linking. A linked (secondary) user keeps its row as the record of
/// its identity; [`UserStore`]'s reads, lists and deletes skip such rows.
#[async_trait]
pub trait IdentityLinkStore: Send + Sync + 'static {
    /// Links `secondary` to `primary` (distinct ids), checking every rule
    /// under locks on both rows: of concurrent links touching a user,
    /// exactly one that conflicts wins.
    async fn link_user(
        &self,
        primary: &str,
        secondary: &str,
        now: UnixTime,
    ) -> Result<Result<(), LinkRefusal>, StoreError>;
    /// Makes `secondary` a user of its own again; false when it is not
    /// linked to `primary`. Its access tokens issued before `now` (before
    /// the link, refused while it was linked) stay refused:
    /// [`Self::tokens_valid_after`] becomes `now`.
    async fn unlink_user(
        &self,
        primary: &str,
        secondary: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// Access tokens of this user issued (`iat`) at or before this time are
    /// refused (the second before the user's creation, then an unlink's
    /// time); `None` when never set or no such user.
    async fn tokens_valid_after(&self, user_id: &str) -> Result<Option<UnixTime>, StoreError>;
    /// The users linked to `primary`, in linking order.
    async fn linked_users(&self, primary: &str) -> Result<Vec<User>, StoreError>;
    /// The user of the identity `user_id`, linked or not, and its primary,
    /// read in one statement (a concurrent unlink is seen whole or not at all).
    async fn find_login_identity(&self, user_id: &str)
    -> Result<Option<LoginIdentity>, StoreError>;
}

/// The IdP-token vault ([`crate::idp_vault`]): sealed upstream tokens per
/// identity (user id + connection name). A user's deletion removes them.
#[async_trait]
pub trait IdpTokenStore: Send + Sync + 'static {
    /// Stores the tokens of the identity, replacing any (every login does);
    /// a refresh token the new answer lacks keeps the stored one (providers
    /// send one only at the first consent).
    async fn put_idp_tokens(&self, tokens: &SealedIdpTokens) -> Result<(), StoreError>;
    async fn get_idp_tokens(
        &self,
        user_id: &str,
        connection: &str,
    ) -> Result<Option<SealedIdpTokens>, StoreError>;
    /// Every identity's tokens of the user, ordered by connection.
    async fn list_idp_tokens(&self, user_id: &str) -> Result<Vec<SealedIdpTokens>, StoreError>;
    /// Replaces the identity's tokens only if its stored refresh token is
    /// still the ciphertext `expected_refresh` (read before): of concurrent
    /// refreshes of one upstream token, exactly one replaces it. False when
    /// another write came first (or the row is gone).
    async fn replace_idp_tokens_if(
        &self,
        tokens: &SealedIdpTokens,
        expected_refresh: &[u8],
    ) -> Result<bool, StoreError>;
    /// Claims the upstream refresh of the identity's tokens until `until`
    /// (the Token Vault exchange's single flight): only while its stored
    /// refresh token is still the ciphertext `expected_refresh` and no lease
    /// is live at `now`. Of concurrent claimers exactly one gets true; a
    /// lease that ended (its node died) can be claimed again. A replace
    /// ([`Self::replace_idp_tokens_if`], [`Self::put_idp_tokens`]) clears it.
    async fn claim_idp_refresh(
        &self,
        user_id: &str,
        connection: &str,
        expected_refresh: &[u8],
        now: UnixTime,
        until: UnixTime,
    ) -> Result<bool, StoreError>;
    /// Ends a lease of [`Self::claim_idp_refresh`] without replacing the
    /// tokens (the provider could not be reached), and refuses further claims
    /// of the same refresh token before `retry_after` (a backoff: clients
    /// cannot make every request call the provider). A replace clears it.
    async fn release_idp_refresh(
        &self,
        user_id: &str,
        connection: &str,
        expected_refresh: &[u8],
        retry_after: UnixTime,
    ) -> Result<(), StoreError>;
    /// Deletes every identity's tokens of the connection (its provider or
    /// client moved: the old provider's tokens must not be served as the
    /// connection's, nor sent to the new token endpoint). How many went.
    async fn delete_connection_idp_tokens(&self, connection: &str) -> Result<u64, StoreError>;
    /// The identity's refresh lease and backoff (one SELECT, no write): what
    /// a waiting request reads instead of trying to claim.
    async fn idp_refresh_state(
        &self,
        user_id: &str,
        connection: &str,
    ) -> Result<Option<IdpRefreshState>, StoreError>;
}

/// The refresh lease of one identity's upstream tokens
/// ([`IdpTokenStore::idp_refresh_state`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IdpRefreshState {
    /// A claimed refresh runs until then.
    pub refreshing_until: Option<UnixTime>,
    /// The last refresh failed (provider unavailable): no claim before then.
    pub retry_after: Option<UnixTime>,
}

/// Logins sent to an upstream provider, under the SHA-256 of their `state`.
#[async_trait]
pub trait UpstreamLoginStore: Send + Sync + 'static {
    /// Stores the login (and drops expired ones).
    async fn put_upstream_login(
        &self,
        state_hash: &[u8],
        login: &UpstreamLogin,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// Takes the live login under `state_hash`: of concurrent callers,
    /// exactly one gets it; a second take finds nothing.
    async fn take_upstream_login(
        &self,
        state_hash: &[u8],
        now: UnixTime,
    ) -> Result<Option<UpstreamLogin>, StoreError>;
}

/// A revocation of access tokens before they expire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// One token, by `jti` (Auth0's token blacklist).
    Jti { jti: String, expires_at: UnixTime },
    /// Every token of a client (for one audience, or all) issued at or before
    /// `issued_before`: the secret was rotated, the grant or the client deleted.
    Client {
        client_id: String,
        audience: Option<String>,
        issued_before: UnixTime,
        expires_at: UnixTime,
    },
}

/// A token blacklisted by `jti` (Auth0's token blacklist), with the audience
/// given for it, when one was.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BlacklistedToken {
    pub aud: Option<String>,
    pub jti: String,
}

#[async_trait]
pub trait RevocationStore: Send + Sync + 'static {
    async fn add_revocation(&self, revocation: &Revocation) -> Result<(), StoreError>;
    /// Stores a [`Revocation::Jti`] that keeps the audience it was blacklisted
    /// for (`live_revocations` returns it like any other jti revocation).
    async fn add_blacklisted_token(
        &self,
        token: &BlacklistedToken,
        expires_at: UnixTime,
    ) -> Result<(), StoreError>;
    /// Every jti revocation that has not expired at `now` (blacklisted or revoked
    /// otherwise; `aud` is `None` when none was recorded), each (aud, jti) once,
    /// sorted; with `aud`, only those recorded for that audience.
    async fn list_blacklisted_tokens(
        &self,
        now: UnixTime,
        aud: Option<&str>,
    ) -> Result<Vec<BlacklistedToken>, StoreError>;
    /// Every revocation that has not expired at `now`.
    async fn live_revocations(&self, now: UnixTime) -> Result<Vec<Revocation>, StoreError>;
    /// Deletes expired ones, and the retired token lifetimes that have passed
    /// ([`TenantStore::retired_token_expiry`]); how many rows.
    async fn purge_revocations(&self, now: UnixTime) -> Result<u64, StoreError>;
    /// The revocations numbered after `after` that have not expired at `now`,
    /// in number order (`after = 0`: every live one). Numbers grow with every
    /// insert, but on PostgreSQL a row can become visible after a higher-numbered
    /// one (see `revocation::OVERLAP`).
    async fn revocations_after(
        &self,
        after: i64,
        now: UnixTime,
    ) -> Result<Vec<LoggedRevocation>, StoreError>;
}

/// A stored revocation and its number in the revocation log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRevocation {
    pub seq: i64,
    pub revocation: Revocation,
}

/// The answer to [`FlowStore::reserve_login_attempt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginAttempt {
    /// The check may run; `failures` counted for the key, this one included.
    Reserved { failures: i64 },
    /// The threshold is reached: no check may run until the window passes.
    Refused,
}

/// Passwordless one-time codes (`passwordless`): atomic, since their tries
/// and sends are security counters.
#[async_trait]
pub trait OtpStore: Send + Sync + 'static {
    /// Stores a passwordless code for `(otp.connection, otp.email)`, replacing
    /// any earlier one (its tries start again), unless `max_sends` codes were
    /// stored for that email within the last `window` seconds: then `false`
    /// and nothing changes. One conditional write (atomic across nodes).
    async fn put_otp(
        &self,
        otp: &NewOtp,
        now: UnixTime,
        window: i64,
        max_sends: i64,
    ) -> Result<bool, StoreError>;
    /// Reserves one try of the live code of `(connection, email)` before it is
    /// compared, in one conditional write: its keyed hash while fewer than
    /// `max_tries` were reserved and it has not expired or been used; `None`
    /// otherwise.
    async fn reserve_otp_try(
        &self,
        connection: &str,
        email: &str,
        now: UnixTime,
        max_tries: i64,
    ) -> Result<Option<Vec<u8>>, StoreError>;
    /// Uses the live code with `code_hash`: `true` for exactly one caller.
    async fn consume_otp(
        &self,
        connection: &str,
        email: &str,
        code_hash: &[u8],
        now: UnixTime,
    ) -> Result<bool, StoreError>;
}

/// The interactive flow's state. Operations that carry an invariant are atomic.
#[async_trait]
pub trait FlowStore: Send + Sync + 'static {
    async fn put_authorize_tx(&self, tx: &AuthorizeTx) -> Result<(), StoreError>;
    /// The pending request, if it exists and has not expired.
    async fn get_authorize_tx(
        &self,
        id: &str,
        now: UnixTime,
    ) -> Result<Option<AuthorizeTx>, StoreError>;
    async fn delete_authorize_tx(&self, id: &str) -> Result<(), StoreError>;

    async fn create_session(&self, session: &Session) -> Result<(), StoreError>;
    /// The live session whose cookie secret hashes to `secret_hash`.
    async fn get_session(
        &self,
        secret_hash: &[u8],
        now: UnixTime,
    ) -> Result<Option<Session>, StoreError>;
    async fn delete_session(&self, sid: &str) -> Result<(), StoreError>;
    /// Marks the session used at `now` (the tenant's idle session lifetime
    /// counts from there).
    async fn touch_session(&self, sid: &str, now: UnixTime) -> Result<(), StoreError>;
    /// Ends every session of a user; how many.
    async fn delete_user_sessions(&self, user_id: &str) -> Result<u64, StoreError>;
    /// Whether the session with this public id still lasts.
    async fn session_alive(&self, sid: &str, now: UnixTime) -> Result<bool, StoreError>;

    /// Stores a code under the SHA-256 of its value.
    async fn put_code(&self, code_hash: &[u8], code: &AuthCode) -> Result<(), StoreError>;
    /// Atomically marks the code used; a second use reports a replay.
    async fn consume_code(&self, code_hash: &[u8], now: UnixTime) -> Result<CodeUse, StoreError>;
    /// Remembers what the first redemption of a code issued (to revoke it on a
    /// replay), in one statement that also reports whether a replay has already
    /// been seen: each side writes, then reads what the other wrote.
    async fn record_code_issue(
        &self,
        code_hash: &[u8],
        issued: &CodeIssue,
    ) -> Result<CodeRecorded, StoreError>;

    async fn get_consent(
        &self,
        user_id: &str,
        client_id: &str,
        audience: &str,
    ) -> Result<Option<Vec<String>>, StoreError>;
    async fn put_consent(
        &self,
        user_id: &str,
        client_id: &str,
        audience: &str,
        scope: &[String],
        now: UnixTime,
    ) -> Result<(), StoreError>;

    async fn put_opaque_token(
        &self,
        token_hash: &[u8],
        token: &OpaqueToken,
        jti: &str,
    ) -> Result<(), StoreError>;
    /// The live opaque token with this hash.
    async fn get_opaque_token(
        &self,
        token_hash: &[u8],
        now: UnixTime,
    ) -> Result<Option<OpaqueToken>, StoreError>;
    /// The live opaque token with this hash and the `jti` it was issued under
    /// (revocation and introspection need both).
    async fn find_opaque_token(
        &self,
        token_hash: &[u8],
        now: UnixTime,
    ) -> Result<Option<(OpaqueToken, String)>, StoreError>;
    /// Deletes the opaque token issued under `jti` (a replayed code's).
    async fn delete_opaque_token_by_jti(&self, jti: &str) -> Result<(), StoreError>;

    /// Reserves one password check for `key` before it runs, counted as a
    /// failure until [`clear_login_failures`](Self::clear_login_failures) (a
    /// success) says otherwise. Atomic, in one conditional write, whatever runs
    /// concurrently on any node: `Reserved` at most `threshold` times while the
    /// failures live, then `Refused`. Failures live while each follows the
    /// previous within `window` seconds: the count restarts `window` seconds
    /// after the last reserved attempt.
    async fn reserve_login_attempt(
        &self,
        key: &str,
        now: UnixTime,
        window: i64,
        threshold: i64,
    ) -> Result<LoginAttempt, StoreError>;
    /// A successful login: the failures of `key` are forgotten.
    async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError>;

    /// `last_login = now`, `logins_count + 1`, without rewriting the user.
    async fn record_login(&self, user_id: &str, now: UnixTime) -> Result<(), StoreError>;

    /// Deletes expired rows of every flow table; how many.
    async fn sweep_flow(&self, now: UnixTime) -> Result<u64, StoreError>;
}

/// Refresh tokens: families of rotated tokens, stored only as hashes.
#[async_trait]
pub trait RefreshStore: Send + Sync + 'static {
    /// A new family and its first token (live until `idle_expires_at`).
    async fn create_refresh_family(
        &self,
        family: &RefreshFamily,
        token_hash: &[u8],
        idle_expires_at: UnixTime,
    ) -> Result<(), StoreError>;
    /// Presents a token of `client_id` (another client's token is `Invalid` and
    /// changes nothing), atomically: a live token of a live family is retired and
    /// `successor_hash` becomes live (or, with `rotate = false`, it stays live);
    /// a retired token within `leeway` seconds is a replay; later, reuse, which
    /// revokes the family. Whatever runs concurrently, one family never has two
    /// live successors.
    #[allow(clippy::too_many_arguments)]
    async fn use_refresh_token(
        &self,
        client_id: &str,
        token_hash: &[u8],
        successor_hash: &[u8],
        rotate: bool,
        leeway: i64,
        now: UnixTime,
        idle_expires_at: UnixTime,
    ) -> Result<RefreshUse, StoreError>;
    /// The family of a token that is live now (for introspection).
    async fn live_refresh_family(
        &self,
        token_hash: &[u8],
        now: UnixTime,
    ) -> Result<Option<RefreshFamily>, StoreError>;
    async fn get_refresh_family(&self, id: &str) -> Result<Option<RefreshFamily>, StoreError>;
    /// Revokes a family; the unexpired access tokens issued under it.
    async fn revoke_refresh_family(
        &self,
        id: &str,
        now: UnixTime,
    ) -> Result<Vec<IssuedToken>, StoreError>;
    /// Remembers an access token issued under a family (revoked with it).
    async fn record_family_token(
        &self,
        family_id: &str,
        jti: &str,
        expires_at: UnixTime,
    ) -> Result<(), StoreError>;
    /// Live families of a user (optionally of one client).
    async fn list_refresh_families(
        &self,
        user_id: &str,
        client_id: Option<&str>,
        now: UnixTime,
    ) -> Result<Vec<RefreshFamily>, StoreError>;
    /// Deletes expired and long-revoked families and idle tokens; how many rows.
    async fn sweep_refresh(&self, now: UnixTime) -> Result<u64, StoreError>;
}

/// Single-use tickets (password change, email verification), stored under
/// the SHA-256 of their value.
#[async_trait]
pub trait TicketStore: Send + Sync + 'static {
    /// Stores `ticket` under `hash` (Conflict if taken).
    async fn create_ticket(&self, hash: &[u8], ticket: &Ticket) -> Result<(), StoreError>;
    /// The live ticket of `kind` under `hash`, left in place.
    async fn get_ticket(
        &self,
        hash: &[u8],
        kind: TicketKind,
        now: UnixTime,
    ) -> Result<Option<Ticket>, StoreError>;
    /// Takes the live ticket of `kind` under `hash`: of concurrent callers,
    /// exactly one gets it.
    async fn consume_ticket(
        &self,
        hash: &[u8],
        kind: TicketKind,
        now: UnixTime,
    ) -> Result<Option<Ticket>, StoreError>;
    /// Sets the user's password hash to `new_hash` only while the current
    /// one's `ticket::password_fingerprint` is `replaces` (a password-change
    /// ticket's binding), in one conditional update; false otherwise.
    async fn replace_password(
        &self,
        user_id: &str,
        replaces: &str,
        new_hash: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// Drops expired tickets; how many.
    async fn sweep_tickets(&self, now: UnixTime) -> Result<u64, StoreError>;
}

/// Background jobs (user imports and exports, `jobs/`): the job rows, their
/// data as chunk rows (an import's file, an export's result), an import's
/// per-row errors. A job is run by whoever holds its lease: `claim_job` gives
/// it to one caller, and every write of progress is conditional on the lease,
/// in the same transaction as the users it writes, so a resumed job never
/// writes a row twice.
#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    async fn create_job(&self, job: &Job) -> Result<(), StoreError>;
    /// The job (its status as stored).
    async fn get_job(&self, id: &str) -> Result<Option<Job>, StoreError>;
    /// Stores chunk `seq` of the job's data (replacing one of that number).
    async fn put_job_chunk(&self, job_id: &str, seq: i64, data: &[u8]) -> Result<(), StoreError>;
    async fn get_job_chunk(&self, job_id: &str, seq: i64) -> Result<Option<Vec<u8>>, StoreError>;
    /// Drops the job's data.
    async fn clear_job_chunks(&self, job_id: &str) -> Result<(), StoreError>;
    /// Replaces the document and status of a job still `uploading` (its file
    /// is stored: `pending`; or `failed`). False when it is not uploading.
    async fn finish_upload(&self, job: &Job) -> Result<bool, StoreError>;
    /// Gives `owner`, until `lease_until`, the oldest pending job or a
    /// processing one whose lease ended before `now` (its node died): of
    /// concurrent callers, on any node, one gets each job.
    async fn claim_job(
        &self,
        owner: &str,
        now: UnixTime,
        lease_until: UnixTime,
    ) -> Result<Option<Job>, StoreError>;
    /// Extends `owner`'s lease; false when it was lost.
    async fn renew_job_lease(
        &self,
        job_id: &str,
        owner: &str,
        lease_until: UnixTime,
    ) -> Result<bool, StoreError>;
    /// One batch of an import, in one transaction, while `owner` holds the
    /// lease: each user inserted (or, with `upsert`, an existing user of that
    /// email updated; otherwise a `DUPLICATED_USER` error), the failed rows
    /// recorded, the counts added to the summary, `rows_done` set and the
    /// lease extended. `None` (nothing written) when the lease was lost.
    #[allow(clippy::too_many_arguments)]
    async fn import_batch(
        &self,
        job_id: &str,
        owner: &str,
        lease_until: UnixTime,
        rows: &[(i64, ImportUser)],
        failed: &[(i64, FailedRow)],
        rows_done: i64,
        now: UnixTime,
    ) -> Result<Option<JobSummary>, StoreError>;
    /// The import's failed rows, in file order (at most `limit`).
    async fn job_errors(&self, job_id: &str, limit: i64) -> Result<Vec<FailedRow>, StoreError>;
    /// Ends `owner`'s job with its final document (`completed` or `failed`);
    /// an export's download link is stored as the hash of its token. An
    /// import's file is dropped. False when the lease was lost.
    async fn finish_job(
        &self,
        job: &Job,
        owner: &str,
        download_hash: Option<&[u8]>,
    ) -> Result<bool, StoreError>;
    /// The completed export whose download token hashes to `hash`, while its
    /// link lives.
    async fn find_export(&self, hash: &[u8], now: UnixTime) -> Result<Option<Job>, StoreError>;
    /// Users of `connection` with ids after `after`, in id order (exports).
    async fn users_after(
        &self,
        connection: &str,
        after: &str,
        limit: i64,
    ) -> Result<Vec<User>, StoreError>;
    /// Drops the data of exports whose link expired, and jobs ended (or
    /// uploads abandoned) before `ended_before`; how many rows.
    async fn sweep_jobs(&self, now: UnixTime, ended_before: UnixTime) -> Result<u64, StoreError>;
}

/// The tenant's settings (`/api/v2/tenants/settings`): the document of what
/// was PATCHed ([`crate::manage::tenant_settings`]).
#[async_trait]
pub trait TenantSettingsStore: Send + Sync + 'static {
    /// The stored document; `{}` when nothing was ever PATCHed.
    async fn get_tenant_settings(&self) -> Result<serde_json::Value, StoreError>;
    /// Applies a checked PATCH ([`crate::manage::tenant_settings::apply_patch`])
    /// in one transaction; the document now stored.
    async fn patch_tenant_settings(
        &self,
        patch: &serde_json::Value,
        now: UnixTime,
    ) -> Result<serde_json::Value, StoreError>;
}

/// Which clients may use a connection (its `enabled_clients`).
#[async_trait]
pub trait ConnectionClientsStore: Send + Sync + 'static {
    /// Enables (`true`) or disables each client on the connection `id`, in one
    /// transaction; the connection after, `None` when it does not exist.
    async fn change_connection_clients(
        &self,
        id: &str,
        changes: &[(String, bool)],
        now: UnixTime,
    ) -> Result<Option<Connection>, StoreError>;
    /// Once per database (marked in `meta`, atomic): every connection whose
    /// `enabled_clients` is empty, which before issue 13 meant "every client",
    /// lists every client that exists. True when this call did it.
    async fn open_connections_upgrade(&self, now: UnixTime) -> Result<bool, StoreError>;
}

/// Client credentials (public keys for `private_key_jwt`) and the single use
/// of client assertions' `jti` (RFC 7523 §3).
#[async_trait]
pub trait CredentialStore: Send + Sync + 'static {
    /// Stores a new credential of an existing client unless it already holds
    /// `max` (then `false`, nothing written; counted and inserted under the
    /// client row's lock, so concurrent creations never exceed it); a `kid`
    /// the client already uses is a `Conflict`.
    async fn create_client_credential(
        &self,
        credential: &ClientCredential,
        max: usize,
    ) -> Result<bool, StoreError>;
    /// The client's credentials, oldest first.
    async fn list_client_credentials(
        &self,
        client_id: &str,
    ) -> Result<Vec<ClientCredential>, StoreError>;
    async fn get_client_credential(
        &self,
        client_id: &str,
        id: &str,
    ) -> Result<Option<ClientCredential>, StoreError>;
    /// Replaces a credential's changeable fields (`expires_at`, `updated_at`);
    /// `false` when it does not exist.
    async fn update_client_credential(
        &self,
        credential: &ClientCredential,
    ) -> Result<bool, StoreError>;
    /// Deletes a credential and, in the same transaction, drops it from the
    /// client's `client_authentication_methods` (the list may become empty:
    /// the client then authenticates with nothing until it is reconfigured,
    /// never silently with its secret again). `false` when it did not exist.
    async fn delete_client_credential(
        &self,
        client_id: &str,
        id: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// Records an assertion's `jti` for `client_id` until `expires_at`: `true`
    /// for exactly one caller while a live record exists (one conditional
    /// write, atomic across nodes).
    async fn record_assertion_jti(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// Deletes `jti` records that expired at or before `now`.
    async fn sweep_assertion_jtis(&self, now: UnixTime) -> Result<u64, StoreError>;
    /// Replaces the client (and its secret as `secret` says) only if its
    /// stored document is still `read`, the version the caller changed: a
    /// write by someone else in between (e.g. `client_authentication_methods`
    /// changed) is `Conflict` and nothing is written, so no update writes back
    /// what another removed. The row is locked while compared and written
    /// (atomic across nodes). `false` when the client does not exist.
    async fn update_client_if_unchanged(
        &self,
        read: &Client,
        client: &Client,
        secret: SecretChange<'_>,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
}

/// Everything the server needs from a database.
#[async_trait]
pub trait Store:
    KeyStore
    + MetaStore
    + TenantStore
    + UserStore
    + IdpTokenStore
    + IdentityLinkStore
    + UpstreamLoginStore
    + RevocationStore
    + FlowStore
    + RefreshStore
    + OtpStore
    + TicketStore
    + JobStore
    + TenantSettingsStore
    + ConnectionClientsStore
    + CredentialStore
    + LogStore
    + ActionStore
    + RbacStore
{
    /// Is the database reachable? (readiness)
    async fn ping(&self) -> Result<(), StoreError>;
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
}
