//! Test support (feature `testing`): a real server on a socket, on a throwaway
//! SQLite database (or a given one), bootstrapped with a known admin client, and
//! request helpers. Used by this crate's tests, the verification library's and
//! the example API's.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use crate::log_writer::LogWriter;
use crate::metrics::Metrics;
use crate::{AppState, ServerConfig};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tessera_core::bootstrap::{self, AdminClient};
use tessera_core::clock::SystemClock;
use tessera_core::envelope::MasterKey;
use tessera_core::keys::{KeyPolicy, Keys, SigningAlg};
use tessera_core::model::{
    AppType, Client, ClientGrant, GrantType, JwtConfiguration, RefreshTokenConfig,
    TokenEndpointAuthMethod,
};
use tessera_core::revocation::Revocations;
use tessera_core::store::TenantStore;
use tessera_core::{Clock, Issuer, Secret};
use tessera_store::{SqlStore, testing};
use tokio::sync::oneshot;

pub mod smtp_sink;
pub use smtp_sink::{SinkMessage, SmtpSink};

/// The sender of the test servers' mail.
pub const EMAIL_FROM: &str = "Tessera <no-reply@tessera.test>";

pub const ADMIN_ID: &str = "admin-client";
pub const ADMIN_SECRET: &str = "admin-secret-0123456789-abcdefghijklmnopqrstuvwxyz";

pub struct TestServer {
    pub base: String,
    pub state: AppState,
    pub store: Arc<SqlStore>,
    pub master: Arc<MasterKey>,
    /// The undrained log queue of `Options::stalled_log_queue`.
    pub stalled_logs: Option<tokio::sync::mpsc::Receiver<tessera_core::log_event::LogEvent>>,
    stop: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The typed reason of an OAuth error answer (`Tessera-Error-Reason`).
    pub fn reason(&self) -> Option<tessera_core::error::Reason> {
        reason_of(&self.headers)
    }
}

/// The typed reason an OAuth error answer names in `Tessera-Error-Reason`.
pub fn reason_of(headers: &HeaderMap) -> Option<tessera_core::error::Reason> {
    headers
        .get(crate::error::REASON_HEADER)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.reason() {
            Some(reason) => write!(f, "{} {} ({reason})", self.status, self.body),
            None => write!(f, "{} {}", self.status, self.body),
        }
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

pub async fn reply(res: reqwest::Response) -> Reply {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// How to start a test server.
pub struct Options {
    pub alg: SigningAlg,
    /// The issuer's path, e.g. "/" or "/tenant-a".
    pub issuer_path: &'static str,
    pub body_limit: usize,
    pub clock: Arc<dyn Clock>,
    /// Last changes to the server's settings (brute-force threshold, rate
    /// limit, branding, ...).
    pub configure: fn(&mut ServerConfig),
    /// The database (e.g. a fresh PostgreSQL one); `None`: SQLite in a temp dir.
    pub database_url: Option<String>,
    /// Where the server sends mail (`SmtpSink::url()`); `None`: the log-only
    /// mailer.
    pub smtp_url: Option<String>,
    /// The log writer's settings.
    pub logs: crate::log_writer::LogWriterConfig,
    /// `Some(n)`: a log queue of `n` events that nothing drains (to see what
    /// a full queue does); `None`: the log is written.
    pub stalled_log_queue: Option<usize>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            alg: SigningAlg::RS256,
            issuer_path: "/",
            body_limit: 65_536,
            clock: Arc::new(SystemClock),
            configure: |_| {},
            database_url: None,
            smtp_url: None,
            logs: Default::default(),
            stalled_log_queue: None,
        }
    }
}

/// A server on SQLite in a temp dir, bootstrapped with the admin client
/// `ADMIN_ID` / `ADMIN_SECRET` (every Management API scope).
pub async fn start() -> TestServer {
    start_opts(Options::default()).await
}

pub async fn start_with(alg: SigningAlg) -> TestServer {
    start_opts(Options {
        alg,
        ..Options::default()
    })
    .await
}

pub async fn start_opts(o: Options) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqlStore::open(
            &o.database_url
                .clone()
                .unwrap_or_else(|| testing::sqlite_url(dir.path())),
        )
        .await
        .unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let issuer = Issuer::parse(&format!("http://127.0.0.1:{port}{}", o.issuer_path)).unwrap();
    let master = Arc::new(MasterKey::generate().unwrap().0);
    let clock = o.clock;
    let policy = KeyPolicy {
        jwks_max_age: 60,
        reload_interval: 5,
        max_token_lifetime: 86400,
    };
    let keys = Arc::new(
        Keys::open(store.clone(), master.clone(), o.alg, policy, clock.clone())
            .await
            .unwrap(),
    );
    let admin = AdminClient {
        client_id: ADMIN_ID.into(),
        client_secret: Secret::new(ADMIN_SECRET.into()),
    };
    bootstrap::run(store.as_ref(), &master, &issuer, Some(&admin), clock.now())
        .await
        .unwrap();
    let mut config = ServerConfig {
        jwks_max_age: 60,
        body_limit: o.body_limit,
        request_timeout: Duration::from_secs(20),
        // The tests' upstream providers listen on 127.0.0.1.
        upstream_allow_loopback_http: true,
        ..ServerConfig::new(issuer.clone())
    };
    (o.configure)(&mut config);
    let mailer: Arc<dyn crate::email::Mailer> = match &o.smtp_url {
        Some(url) => Arc::new(
            crate::email::smtp::SmtpMailer::start(
                &crate::email::smtp::SmtpUrl::parse(url).unwrap(),
                crate::email::smtp::parse_from(EMAIL_FROM).unwrap(),
                crate::email::smtp::Delivery {
                    first_backoff: Duration::from_millis(100),
                    ..Default::default()
                },
            )
            .unwrap(),
        ),
        None => Arc::new(crate::email::LogMailer),
    };
    let metrics = Arc::new(Metrics::new());
    let (logs, stalled_logs) = match o.stalled_log_queue {
        Some(capacity) => {
            let (writer, rx) = LogWriter::undrained(clock.clone(), metrics.clone(), capacity);
            (writer, Some(rx))
        }
        None => (
            LogWriter::start(store.clone(), clock.clone(), metrics.clone(), o.logs).0,
            None,
        ),
    };
    let upstream =
        Arc::new(crate::upstream::Upstream::new(config.upstream_allow_loopback_http).unwrap());
    let actions = Arc::new(crate::actions::Actions::new(
        config.action_limits.clone(),
        config.tenant_settings_refresh,
    ));
    let state = AppState {
        config: Arc::new(config),
        actions,
        store: store.clone(),
        keys,
        master: master.clone(),
        revocations: Arc::new(Revocations::load(store.clone(), clock.now()).await.unwrap()),
        metrics,
        clock,
        mailer,
        tenant_settings: Default::default(),
        upstream,
        logs,
    };
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(crate::serve(listener, state.clone(), async move {
        let _ = rx.await;
    }));
    TestServer {
        base: issuer.as_str().to_owned(),
        state,
        store,
        master,
        stalled_logs,
        stop: Some(tx),
        _dir: dir,
    }
}

impl TestServer {
    /// The directory of the server's SQLite database (and key files).
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Another node of the same deployment: same database, master key and issuer,
    /// its own in-memory key ring and revocation view, refreshed every `refresh`.
    pub async fn second_node(&self, refresh: Duration) -> TestServer {
        self.second_node_with(refresh, |_| {}).await
    }

    /// [`Self::second_node`] with its own last changes to the settings (e.g.
    /// running the job worker that the first node does not run).
    pub async fn second_node_with(
        &self,
        refresh: Duration,
        configure: fn(&mut ServerConfig),
    ) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let clock = self.state.clock.clone();
        let keys = Arc::new(
            Keys::open(
                self.store.clone(),
                self.master.clone(),
                SigningAlg::RS256,
                self.state.keys.policy(),
                clock.clone(),
            )
            .await
            .unwrap(),
        );
        let revocations = Arc::new(
            Revocations::load(self.store.clone(), clock.now())
                .await
                .unwrap(),
        );
        let mut config = (*self.state.config).clone();
        configure(&mut config);
        let upstream =
            Arc::new(crate::upstream::Upstream::new(config.upstream_allow_loopback_http).unwrap());
        // Each node keeps its own snapshot of the bound actions.
        let actions = Arc::new(crate::actions::Actions::new(
            config.action_limits.clone(),
            config.tenant_settings_refresh,
        ));
        let state = AppState {
            config: Arc::new(config),
            actions,
            keys,
            revocations: revocations.clone(),
            metrics: Arc::new(Metrics::new()),
            // Each node keeps its own snapshot of the tenant settings.
            tenant_settings: Default::default(),
            upstream,
            ..self.state.clone()
        };
        let (tx, rx) = oneshot::channel::<()>();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        crate::tasks::spawn_revocation_refresher(revocations, clock, refresh, stop_rx);
        tokio::spawn(crate::serve(listener, state.clone(), async move {
            let _ = rx.await;
            let _ = stop_tx.send(true);
        }));
        TestServer {
            // Requests go to this node; tokens still name the shared issuer.
            base: format!("http://{addr}/"),
            state,
            store: self.store.clone(),
            master: self.master.clone(),
            stalled_logs: None,
            stop: Some(tx),
            _dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path.trim_start_matches('/'))
    }

    pub fn management_audience(&self) -> String {
        format!("{}api/v2/", self.base)
    }

    /// POST oauth/token with a form body.
    pub async fn token_request(&self, form: &[(&str, &str)]) -> Reply {
        reply(
            http()
                .post(self.url("oauth/token"))
                .form(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// POST `path` with a JSON body (the Authentication API's endpoints).
    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        reply(http().post(self.url(path)).json(body).send().await.unwrap()).await
    }

    /// A Management API token for the admin client (every scope).
    pub async fn admin_token(&self) -> String {
        let aud = self.management_audience();
        let r = self
            .token_request(&[
                ("grant_type", "client_credentials"),
                ("client_id", ADMIN_ID),
                ("client_secret", ADMIN_SECRET),
                ("audience", &aud),
            ])
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        r.body["access_token"].as_str().unwrap().to_owned()
    }

    /// Creates a machine-to-machine client (directly in the store) granted
    /// `scopes` on `audience`; returns (client_id, secret).
    pub async fn m2m_client(&self, audience: &str, scopes: &[&str]) -> (String, String) {
        let id = tessera_core::ids::client_id().unwrap();
        let secret = tessera_core::ids::client_secret().unwrap();
        let client = Client {
            client_id: id.clone(),
            name: format!("m2m {id}"),
            app_type: AppType::NonInteractive,
            token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretPost,
            grant_types: vec![GrantType::ClientCredentials],
            callbacks: vec![],
            allowed_logout_urls: vec![],
            web_origins: vec![],
            allowed_origins: vec![],
            is_first_party: true,
            refresh_token: RefreshTokenConfig::defaults(AppType::NonInteractive),
            jwt_configuration: JwtConfiguration::default(),
            settings: Default::default(),
            description: String::new(),
            is_token_endpoint_ip_header_trusted: false,
            client_authentication_methods: None,
        };
        let sealed = bootstrap::seal_client_secret(&self.master, &id, &secret).unwrap();
        let now = SystemClock.now();
        self.store
            .create_client(&client, Some(&sealed), now)
            .await
            .unwrap();
        let grant = ClientGrant {
            id: tessera_core::ids::prefixed("cgr").unwrap(),
            client_id: id.clone(),
            audience: audience.into(),
            scope: scopes.iter().map(|s| s.to_string()).collect(),
        };
        self.store.create_client_grant(&grant, now).await.unwrap();
        (id, secret)
    }

    /// A Management API token carrying exactly `scopes`.
    pub async fn token_with_scopes(&self, scopes: &[&str]) -> String {
        let aud = self.management_audience();
        let (id, secret) = self.m2m_client(&aud, scopes).await;
        let r = self
            .token_request(&[
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("client_secret", &secret),
                ("audience", &aud),
            ])
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        r.body["access_token"].as_str().unwrap().to_owned()
    }

    /// A Management API call with a bearer token and an optional JSON body.
    pub async fn api(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Reply {
        let mut req = http().request(method, self.url(path)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        reply(req.send().await.unwrap()).await
    }
}

/// Asserts an Auth0-shaped Management API error.
pub fn assert_mgmt_error(r: &Reply, status: u16, error_code: &str) {
    assert_eq!(r.status, status, "{r:?}");
    assert_eq!(r.body["statusCode"], json!(status), "{r:?}");
    assert_eq!(r.body["errorCode"], json!(error_code), "{r:?}");
    assert!(
        r.body["error"].is_string() && r.body["message"].is_string(),
        "{r:?}"
    );
}
