use std::sync::Arc;
use std::time::Duration;

use tessera_core::envelope::MasterKey;
use tessera_core::keys::Keys;
use tessera_core::revocation::Revocations;
use tessera_core::store::Store;
use tessera_core::{Clock, Issuer};

use crate::metrics::Metrics;

/// Settings the HTTP layer needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub issuer: Issuer,
    /// `Cache-Control: max-age` of the JWKS and the discovery documents.
    pub jwks_max_age: u64,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// A request taking longer is answered 408 (or 503 for a busy database).
    pub request_timeout: Duration,
    /// Name and logo on the hosted pages.
    pub branding: crate::interactive::html::Branding,
    /// How long a login session lasts, seconds.
    pub session_lifetime: i64,
    /// Failed logins for one account from one address before that pair is blocked.
    pub brute_force_threshold: i64,
    /// How long such a pair stays blocked, seconds.
    pub brute_force_block: i64,
    /// Requests per minute one address may make to `u/login` (with `u/signup`),
    /// `oauth/token`, `oauth/revoke` and `oauth/introspect` (each apart).
    pub rate_limit_per_minute: u32,
    /// How long a client may take to send a request's headers, counted from
    /// the connection opening or the previous response (so also the idle limit
    /// of a kept-alive connection); then its connection is closed.
    pub header_read_timeout: Duration,
    /// Connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// The bound on concurrent argon2 work (one worker per CPU by default).
    /// Clones of this config share it: one gate per server process.
    pub password_gate: crate::interactive::gate::PasswordGate,
    /// How old the per-node snapshot of every client's origins, which answers
    /// CORS preflights, may grow before it is read again (see `cors`).
    pub cors_origins_refresh: Duration,
    /// The database connection `grant_type=password` checks passwords in
    /// (Auth0's tenant setting `default_directory`).
    pub default_directory: String,
    /// User import and export jobs: limits, lease, the worker.
    pub jobs: crate::jobs::JobsConfig,
    /// How old a node's snapshot of the tenant settings may grow before it is
    /// read again (see `tenant_settings`).
    pub tenant_settings_refresh: Duration,
    /// The deadline of all upstream identity-provider calls of one login.
    pub upstream_timeout: Duration,
    /// Lets upstream connections use `http` to loopback hosts (and the
    /// resolver answer loopback). Off; only `tessera_server::testing` sets it
    /// (its providers run on 127.0.0.1).
    pub upstream_allow_loopback_http: bool,
    /// The actions sandbox's limits (memory, time, stack, workers).
    pub action_limits: tessera_actions::Limits,
}

impl ServerConfig {
    /// Defaults for everything but the issuer.
    pub fn new(issuer: Issuer) -> Self {
        Self {
            issuer,
            jwks_max_age: 300,
            body_limit: 65_536,
            request_timeout: Duration::from_secs(30),
            branding: crate::interactive::html::Branding {
                tenant_name: "Tessera".into(),
                logo_url: None,
            },
            session_lifetime: 7 * 86400,
            brute_force_threshold: 10,
            brute_force_block: 900,
            rate_limit_per_minute: 600,
            header_read_timeout: Duration::from_secs(10),
            max_connections: 512,
            password_gate: crate::interactive::gate::PasswordGate::for_this_machine(),
            cors_origins_refresh: Duration::from_secs(30),
            default_directory: crate::interactive::DEFAULT_CONNECTION.into(),
            jobs: crate::jobs::JobsConfig::default(),
            tenant_settings_refresh: Duration::from_secs(5),
            upstream_timeout: Duration::from_secs(10),
            upstream_allow_loopback_http: false,
            action_limits: crate::actions::default_limits(),
        }
    }
}

/// What every handler gets: cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<ServerConfig>,
    pub store: Arc<dyn Store>,
    pub keys: Arc<Keys>,
    pub master: Arc<MasterKey>,
    pub revocations: Arc<Revocations>,
    pub metrics: Arc<Metrics>,
    pub clock: Arc<dyn Clock>,
    /// Outgoing email (reset links, verification links, one-time codes).
    pub mailer: Arc<dyn crate::email::Mailer>,
    /// This node's snapshot of the tenant settings (one per node).
    pub tenant_settings: Arc<crate::tenant_settings::TenantSettingsCache>,
    /// The tenant's log (`GET /api/v2/logs`): recording never waits.
    pub logs: crate::log_writer::LogWriter,
    /// Calls to upstream identity providers and their cached metadata.
    pub upstream: Arc<crate::upstream::Upstream>,
    /// The actions sandbox and this node's snapshot of the bound actions.
    pub actions: Arc<crate::actions::Actions>,
}

impl AppState {
    /// What the grants (and revocation) need, at the instant `now`: built here
    /// only.
    pub fn grant_ctx(&self, now: tessera_core::clock::UnixTime) -> tessera_core::grant::Ctx<'_> {
        tessera_core::grant::Ctx {
            store: self.store.as_ref(),
            keys: &self.keys,
            master: &self.master,
            issuer: &self.config.issuer,
            revocations: &self.revocations,
            now,
            passwords: self,
            default_directory: &self.config.default_directory,
            default_audience: None,
            origin: tessera_core::grant::Origin::default(),
            upstream: self,
            actions: self,
            request: &tessera_core::extensibility::NO_REQUEST,
        }
    }

    /// Ends every SSO session and refresh-token family (with its access
    /// tokens) of a user: after a password change (Management API, reset page)
    /// or a block. How many of each.
    pub async fn end_user_sessions(
        &self,
        user_id: &str,
    ) -> Result<(u64, usize), tessera_core::store::StoreError> {
        let sessions = self.store.delete_user_sessions(user_id).await?;
        let now = self.clock.now();
        let families = self.store.list_refresh_families(user_id, None, now).await?;
        for family in &families {
            tessera_core::revocation::revoke_family(
                self.store.as_ref(),
                &self.revocations,
                &family.id,
                now,
            )
            .await?;
        }
        Ok((sessions, families.len()))
    }
}
