//! `tessera serve`.

use std::sync::Arc;
use std::time::Duration;

use tessera_core::bootstrap;
use tessera_core::keys::{KeyPolicy, Keys, MAX_TOKEN_LIFETIME};
use tessera_core::revocation::Revocations;
use tessera_core::{Clock, SystemClock};
use tessera_server::interactive::html::Branding;
use tessera_server::log_writer::{LogWriter, LogWriterConfig};
use tessera_server::metrics::Metrics;
use tessera_server::tls::{self, Certificates, TlsError, TlsFile};
use tessera_server::{AppState, ServerConfig, tasks};
use tokio::sync::watch;
use tracing_subscriber::EnvFilter;

use crate::settings::{LogFormat, Settings, setting_error};
use crate::startup::{self, Fail};

pub fn init_logging(settings: &Settings) {
    let filter = EnvFilter::try_new(&settings.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = match settings.log_format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

pub fn key_policy(settings: &Settings) -> KeyPolicy {
    KeyPolicy {
        jwks_max_age: settings.jwks_max_age as i64,
        reload_interval: settings.key_reload_interval as i64,
        max_token_lifetime: MAX_TOKEN_LIFETIME,
    }
}

/// The SMTP mailer when a mail server is configured; otherwise the log-only
/// one, with a warning.
fn mailer(
    settings: &Settings,
) -> Result<Arc<dyn tessera_server::email::Mailer>, tessera_server::email::smtp::SmtpError> {
    use tessera_server::email::{LogMailer, smtp};
    match &settings.smtp {
        Some((url, from)) => Ok(Arc::new(smtp::SmtpMailer::start(
            url,
            from.clone(),
            smtp::Delivery::default(),
        )?)),
        None => {
            tracing::warn!(
                "email is off: no TESSERA_SMTP_URL; password-reset, verification and passwordless emails are only logged (without their links or codes)"
            );
            Ok(Arc::new(LogMailer))
        }
    }
}

pub async fn run(settings: Settings) -> Result<(), Fail> {
    init_logging(&settings);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    // Bind first: a start that cannot listen must not create anything (or show
    // the one-time admin secret and then fail).
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|e| {
            Fail::Setting(setting_error(
                "TESSERA_LISTEN",
                format!("cannot listen on {}: {e}", settings.listen),
            ))
        })?;
    let local = listener
        .local_addr()
        .map_err(|e| Fail::Runtime(e.to_string()))?;
    // Before the database too: a bad certificate creates nothing.
    let certificates = match &settings.tls {
        Some(files) => Some(Certificates::load(files.clone()).map_err(tls_setting_error)?),
        None => None,
    };
    let acceptor = match &certificates {
        Some(certs) => Some(certs.acceptor().map_err(tls_setting_error)?),
        None => None,
    };
    let opened = startup::open(&settings, startup::Mode::Create).await?;
    startup::record_key_policy(&opened, &key_policy(&settings)).await?;
    let keys = Keys::open(
        opened.store.clone(),
        opened.master.clone(),
        settings.signing_alg,
        key_policy(&settings),
        clock.clone(),
    )
    .await
    .map_err(|e| Fail::Runtime(format!("signing keys: {e}")))?;
    let report = bootstrap::run(
        opened.store.as_ref(),
        &opened.master,
        &settings.issuer,
        settings.bootstrap.as_ref(),
        clock.now(),
    )
    .await
    .map_err(|e| Fail::Runtime(format!("bootstrap: {e}")))?;
    if let Some(admin) = &report.generated_admin {
        // Shown once, on stdout (never in a log line): it cannot be shown again.
        println!(
            "Created the admin machine-to-machine application. Store its secret now: it is shown only once.\n  client_id:     {}\n  client_secret: {}",
            admin.client_id,
            admin.client_secret.expose()
        );
    }
    let keys = Arc::new(keys);
    let revocations = Arc::new(
        Revocations::load(opened.store.clone(), clock.now())
            .await
            .map_err(|e| Fail::Runtime(format!("database: {e}")))?,
    );
    let metrics = Arc::new(Metrics::new());
    let (logs, log_drain) = LogWriter::start(
        opened.store.clone(),
        clock.clone(),
        metrics.clone(),
        LogWriterConfig {
            stdout: settings.audit_log_stdout,
            ..LogWriterConfig::default()
        },
    );
    let server_config = ServerConfig {
        jwks_max_age: settings.jwks_max_age,
        body_limit: settings.body_limit,
        request_timeout: Duration::from_secs(settings.request_timeout),
        branding: Branding {
            tenant_name: settings.tenant_name.clone(),
            logo_url: settings.tenant_logo_url.clone(),
        },
        session_lifetime: settings.session_lifetime as i64,
        brute_force_threshold: settings.brute_force_threshold as i64,
        brute_force_block: settings.brute_force_block as i64,
        rate_limit_per_minute: u32::try_from(settings.rate_limit).unwrap_or(u32::MAX),
        header_read_timeout: Duration::from_secs(settings.header_read_timeout),
        max_connections: usize::try_from(settings.max_connections).unwrap_or(usize::MAX),
        default_directory: settings.default_directory.clone(),
        upstream_allow_loopback_http: settings.upstream_allow_loopback_http,
        jobs: tessera_server::jobs::JobsConfig {
            import_limit: settings.import_limit,
            ..Default::default()
        },
        action_limits: tessera_actions::Limits {
            memory_bytes: usize::try_from(settings.action_memory_limit)
                .unwrap_or(32)
                .saturating_mul(1024 * 1024),
            time: Duration::from_millis(settings.action_time_limit),
            ..tessera_server::actions::default_limits()
        },
        ..ServerConfig::new(settings.issuer.clone())
    };
    let state = AppState {
        actions: Arc::new(tessera_server::actions::Actions::new(
            server_config.action_limits.clone(),
            server_config.tenant_settings_refresh,
        )),
        config: Arc::new(server_config),
        store: opened.store.clone(),
        keys: keys.clone(),
        master: opened.master.clone(),
        revocations: revocations.clone(),
        metrics,
        clock,
        mailer: mailer(&settings).map_err(|e| Fail::Runtime(format!("email: {e}")))?,
        tenant_settings: Default::default(),
        upstream: Arc::new(
            tessera_server::upstream::Upstream::new(settings.upstream_allow_loopback_http)
                .map_err(|e| Fail::Runtime(format!("the upstream HTTP client: {e}")))?,
        ),
        logs,
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let reloader = tasks::spawn_key_reloader(
        keys,
        Duration::from_secs(settings.key_reload_interval),
        stop_rx.clone(),
    );
    let refresher = tasks::spawn_revocation_refresher(
        revocations,
        state.clock.clone(),
        Duration::from_secs(settings.revocation_refresh),
        stop_rx.clone(),
    );
    let sweeper = tasks::spawn_flow_sweeper(
        opened.store.clone(),
        state.clock.clone(),
        Duration::from_secs(60),
        stop_rx.clone(),
    );
    let log_sweeper = tasks::spawn_log_sweeper(
        opened.store.clone(),
        state.clock.clone(),
        settings.log_retention_days,
        Duration::from_secs(3600),
        stop_rx.clone(),
    );
    let tls_reloader =
        certificates.map(|certs| tls::spawn_reloader(certs, tls::POLL_INTERVAL, stop_rx.clone()));
    if acceptor.is_some() && settings.issuer.as_str().starts_with("http://") {
        tracing::warn!(
            issuer = %settings.issuer,
            "TLS is on but TESSERA_ISSUER is an http URL: tokens and discovery name http endpoints"
        );
    }
    tracing::info!(
        listen = %local,
        tls = if acceptor.is_some() { "on (HTTP/1.1 and HTTP/2)" } else { "off" },
        issuer = %settings.issuer,
        database = opened.store.kind_name(),
        admin_client_id = %report.admin_client_id,
        "tessera is serving"
    );
    let mut on_signal = stop_rx.clone();
    let shutdown = async move {
        let _ = on_signal.changed().await;
    };
    let server = match acceptor {
        Some(acceptor) => tokio::spawn(tessera_server::serve_tls(
            listener, state, acceptor, shutdown,
        )),
        None => tokio::spawn(tessera_server::serve(listener, state, shutdown)),
    };
    wait_for_signal().await;
    tracing::info!(
        grace_seconds = settings.shutdown_grace,
        "shutting down: finishing in-flight requests"
    );
    let _ = stop_tx.send(true);
    let grace = Duration::from_secs(settings.shutdown_grace);
    match tokio::time::timeout(grace, server).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => return Err(Fail::Runtime(format!("server: {e}"))),
        Ok(Err(e)) => return Err(Fail::Runtime(format!("server task: {e}"))),
        Err(_) => tracing::warn!(
            "in-flight requests did not finish within the grace period; stopping anyway"
        ),
    }
    let _ = reloader.await;
    let _ = refresher.await;
    let _ = sweeper.await;
    let _ = log_sweeper.await;
    // The server's state (and with it every log writer) is gone: the log's
    // queue drains and its task ends.
    if tokio::time::timeout(Duration::from_secs(5), log_drain)
        .await
        .is_err()
    {
        tracing::warn!("the log queue did not drain in time; its last events are lost");
    }
    if let Some(tls_reloader) = tls_reloader {
        let _ = tls_reloader.await;
    }
    opened.store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// A certificate or key that cannot be served is a setting problem: one line
/// naming the setting, exit code 2.
fn tls_setting_error(e: TlsError) -> Fail {
    let setting = match e.file() {
        TlsFile::Certificate => "TESSERA_TLS_CERT_FILE",
        TlsFile::Key => "TESSERA_TLS_KEY_FILE",
    };
    Fail::Setting(setting_error(setting, e.to_string()))
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
