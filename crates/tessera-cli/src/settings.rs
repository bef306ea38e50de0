//! Settings: `TESSERA_*` environment variables over an optional TOML file
//! (`--config`); the environment wins. Every problem is one line naming the
//! setting; values of secret settings are never echoed.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tessera_core::bootstrap::AdminClient;
use tessera_core::envelope::MasterKey;
use tessera_core::keys::SigningAlg;
use tessera_core::{Issuer, Secret};
use tessera_server::email::smtp::{self, Mailbox, SmtpUrl};
use tessera_server::tls::TlsFiles;

/// One setting: its environment variable and its key in the TOML file.
struct Spec {
    env: &'static str,
    key: &'static str,
}

const SPECS: &[Spec] = &[
    Spec {
        env: "TESSERA_ISSUER",
        key: "issuer",
    },
    Spec {
        env: "TESSERA_LISTEN",
        key: "listen",
    },
    Spec {
        env: "TESSERA_DATABASE_URL",
        key: "database_url",
    },
    Spec {
        env: "TESSERA_MASTER_KEY",
        key: "master_key",
    },
    Spec {
        env: "TESSERA_MASTER_KEY_FILE",
        key: "master_key_file",
    },
    Spec {
        env: "TESSERA_SIGNING_ALG",
        key: "signing_alg",
    },
    Spec {
        env: "TESSERA_BOOTSTRAP_CLIENT_ID",
        key: "bootstrap_client_id",
    },
    Spec {
        env: "TESSERA_BOOTSTRAP_CLIENT_SECRET",
        key: "bootstrap_client_secret",
    },
    Spec {
        env: "TESSERA_JWKS_MAX_AGE",
        key: "jwks_max_age",
    },
    Spec {
        env: "TESSERA_KEY_RELOAD_INTERVAL",
        key: "key_reload_interval",
    },
    Spec {
        env: "TESSERA_REVOCATION_REFRESH",
        key: "revocation_refresh",
    },
    Spec {
        env: "TESSERA_LOG",
        key: "log",
    },
    Spec {
        env: "TESSERA_LOG_FORMAT",
        key: "log_format",
    },
    Spec {
        env: "TESSERA_BODY_LIMIT",
        key: "body_limit",
    },
    Spec {
        env: "TESSERA_IMPORT_LIMIT",
        key: "import_limit",
    },
    Spec {
        env: "TESSERA_ACTION_MEMORY_LIMIT",
        key: "action_memory_limit",
    },
    Spec {
        env: "TESSERA_ACTION_TIME_LIMIT",
        key: "action_time_limit",
    },
    Spec {
        env: "TESSERA_REQUEST_TIMEOUT",
        key: "request_timeout",
    },
    Spec {
        env: "TESSERA_SHUTDOWN_GRACE",
        key: "shutdown_grace",
    },
    Spec {
        env: "TESSERA_TENANT_NAME",
        key: "tenant_name",
    },
    Spec {
        env: "TESSERA_TENANT_LOGO_URL",
        key: "tenant_logo_url",
    },
    Spec {
        env: "TESSERA_SESSION_LIFETIME",
        key: "session_lifetime",
    },
    Spec {
        env: "TESSERA_DEFAULT_DIRECTORY",
        key: "default_directory",
    },
    Spec {
        env: "TESSERA_BRUTE_FORCE_THRESHOLD",
        key: "brute_force_threshold",
    },
    Spec {
        env: "TESSERA_BRUTE_FORCE_BLOCK",
        key: "brute_force_block",
    },
    Spec {
        env: "TESSERA_RATE_LIMIT",
        key: "rate_limit",
    },
    Spec {
        env: "TESSERA_LOG_RETENTION_DAYS",
        key: "log_retention_days",
    },
    Spec {
        env: "TESSERA_AUDIT_LOG",
        key: "audit_log",
    },
    Spec {
        env: "TESSERA_UPSTREAM_ALLOW_LOOPBACK_HTTP",
        key: "upstream_allow_loopback_http",
    },
    Spec {
        env: "TESSERA_HEADER_READ_TIMEOUT",
        key: "header_read_timeout",
    },
    Spec {
        env: "TESSERA_MAX_CONNECTIONS",
        key: "max_connections",
    },
    Spec {
        env: "TESSERA_TLS_CERT_FILE",
        key: "tls_cert_file",
    },
    Spec {
        env: "TESSERA_TLS_KEY_FILE",
        key: "tls_key_file",
    },
    Spec {
        env: "TESSERA_SMTP_URL",
        key: "smtp_url",
    },
    Spec {
        env: "TESSERA_EMAIL_FROM",
        key: "email_from",
    },
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    pub setting: String,
    pub problem: String,
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid setting {}: {}", self.setting, self.problem)
    }
}

impl std::error::Error for SettingError {}

pub fn setting_error(setting: impl Into<String>, problem: impl Into<String>) -> SettingError {
    SettingError {
        setting: setting.into(),
        problem: problem.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

pub enum MasterKeySource {
    /// Validated when the settings load; parsed again where it is used.
    Given(Secret<String>),
    /// A file (created with mode 0600 on first start when missing).
    File { path: PathBuf, explicit: bool },
}

pub struct Settings {
    pub issuer: Issuer,
    pub listen: SocketAddr,
    pub database_url: Secret<String>,
    pub master_key: MasterKeySource,
    pub signing_alg: SigningAlg,
    pub bootstrap: Option<AdminClient>,
    pub jwks_max_age: u64,
    pub key_reload_interval: u64,
    /// How often each node re-reads token revocations made on other nodes.
    pub revocation_refresh: u64,
    pub log: String,
    pub log_format: LogFormat,
    pub body_limit: usize,
    /// The largest user import file, bytes.
    pub import_limit: usize,
    /// An action run's memory cap, MiB.
    pub action_memory_limit: u64,
    /// An action's CPU-time cap, milliseconds.
    pub action_time_limit: u64,
    pub request_timeout: u64,
    pub shutdown_grace: u64,
    /// Shown on the hosted pages.
    pub tenant_name: String,
    /// An https URL of the logo shown on the hosted pages.
    pub tenant_logo_url: Option<String>,
    /// How long a login session lasts, seconds.
    pub session_lifetime: u64,
    /// The database connection of `grant_type=password`.
    pub default_directory: String,
    /// Failed logins for one account from one address before that pair is blocked.
    pub brute_force_threshold: u64,
    /// The window of those failures and how long the block lasts, seconds.
    pub brute_force_block: u64,
    /// Requests per minute one address may make to the hosted pages' forms and
    /// to the token, revocation and introspection endpoints (0: no limit).
    pub rate_limit: u64,
    /// Days the tenant's log events are kept.
    pub log_retention_days: u64,
    /// `TESSERA_AUDIT_LOG=stdout`: each log event also as a JSON line in the
    /// log output.
    pub audit_log_stdout: bool,
    /// `TESSERA_UPSTREAM_ALLOW_LOOPBACK_HTTP=on`: upstream connections may
    /// use `http` to loopback hosts (local development and the CLI's tests
    /// only: it lets an upstream reach this host's loopback services).
    pub upstream_allow_loopback_http: bool,
    /// Seconds a client may take to send a request's headers (also the idle
    /// limit of a kept-alive connection).
    pub header_read_timeout: u64,
    /// Connections served at once; further ones wait in the listen backlog.
    pub max_connections: u64,
    /// Serve HTTPS with this certificate chain and key (both PEM files).
    pub tls: Option<TlsFiles>,
    /// The mail server and sender; `None`: email is only logged.
    pub smtp: Option<(SmtpUrl, Mailbox)>,
}

/// Raw values with where each came from, for messages.
struct Raw {
    values: BTreeMap<&'static str, (String, String)>,
}

impl Raw {
    fn get(&self, env: &str) -> Option<&str> {
        self.values.get(env).map(|(v, _)| v.as_str())
    }
    fn name(&self, env: &'static str) -> String {
        match self.values.get(env) {
            Some((_, origin)) if !origin.is_empty() => format!("{env} ({origin})"),
            _ => env.to_owned(),
        }
    }
    fn number(
        &self,
        env: &'static str,
        default: u64,
        min: u64,
        max: u64,
    ) -> Result<u64, SettingError> {
        let Some(v) = self.get(env) else {
            return Ok(default);
        };
        let n: u64 = v.trim().parse().map_err(|_| {
            setting_error(self.name(env), format!("must be a whole number, got {v:?}"))
        })?;
        if n < min || n > max {
            return Err(setting_error(
                self.name(env),
                format!("must be between {min} and {max}, got {n}"),
            ));
        }
        Ok(n)
    }
}

fn read_file(path: &Path) -> Result<BTreeMap<&'static str, (String, String)>, SettingError> {
    let origin = format!("in {}", path.display());
    let text = std::fs::read_to_string(path)
        .map_err(|e| setting_error("--config", format!("cannot read {}: {e}", path.display())))?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        setting_error(
            "--config",
            format!("{} is not valid TOML: {}", path.display(), e.message()),
        )
    })?;
    let mut out = BTreeMap::new();
    for (key, value) in table {
        let spec = SPECS
            .iter()
            .find(|s| s.key == key)
            .ok_or_else(|| setting_error(format!("{key} ({origin})"), "unknown setting"))?;
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                return Err(setting_error(
                    format!("{key} ({origin})"),
                    format!("must be a string or a number, not a {}", other.type_str()),
                ));
            }
        };
        out.insert(spec.env, (text, origin.clone()));
    }
    Ok(out)
}

impl Settings {
    /// Loads from `env` (the process environment in production) over `file`.
    pub fn load(
        file: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingError> {
        let mut values = match file {
            Some(path) => read_file(path)?,
            None => BTreeMap::new(),
        };
        for spec in SPECS {
            if let Some(v) = env(spec.env) {
                values.insert(spec.env, (v, String::new()));
            }
        }
        let raw = Raw { values };
        Self::validate(&raw)
    }

    fn validate(raw: &Raw) -> Result<Self, SettingError> {
        let issuer_text = raw
            .get("TESSERA_ISSUER")
            .unwrap_or("http://127.0.0.1:8080/");
        let issuer = Issuer::parse(issuer_text).map_err(|e| {
            setting_error(
                raw.name("TESSERA_ISSUER"),
                format!("{e} (got {issuer_text:?})"),
            )
        })?;

        let listen_text = raw.get("TESSERA_LISTEN").unwrap_or("127.0.0.1:8080");
        let listen: SocketAddr = listen_text.trim().parse().map_err(|_| {
            setting_error(
                raw.name("TESSERA_LISTEN"),
                format!("must be a socket address such as 127.0.0.1:8080, got {listen_text:?}"),
            )
        })?;

        let database_url = raw
            .get("TESSERA_DATABASE_URL")
            .unwrap_or("sqlite://./tessera.db")
            .trim()
            .to_owned();
        tessera_store::backend_of(&database_url)
            .map_err(|e| setting_error(raw.name("TESSERA_DATABASE_URL"), e.to_string()))?;

        let master_key = match (
            raw.get("TESSERA_MASTER_KEY"),
            raw.get("TESSERA_MASTER_KEY_FILE"),
        ) {
            (Some(_), Some(_)) => {
                return Err(setting_error(
                    raw.name("TESSERA_MASTER_KEY"),
                    "set either TESSERA_MASTER_KEY or TESSERA_MASTER_KEY_FILE, not both",
                ));
            }
            (Some(value), None) => {
                MasterKey::parse(value)
                    .map_err(|e| setting_error(raw.name("TESSERA_MASTER_KEY"), e.to_string()))?;
                MasterKeySource::Given(Secret::new(value.to_owned()))
            }
            (None, Some(path)) => MasterKeySource::File {
                path: PathBuf::from(path),
                explicit: true,
            },
            (None, None) => MasterKeySource::File {
                path: default_key_file(&database_url),
                explicit: false,
            },
        };

        let alg_text = raw.get("TESSERA_SIGNING_ALG").unwrap_or("RS256");
        let signing_alg: SigningAlg =
            alg_text
                .trim()
                .parse()
                .map_err(|e: tessera_core::keys::UnknownAlg| {
                    setting_error(raw.name("TESSERA_SIGNING_ALG"), e.to_string())
                })?;

        let bootstrap = match (
            raw.get("TESSERA_BOOTSTRAP_CLIENT_ID"),
            raw.get("TESSERA_BOOTSTRAP_CLIENT_SECRET"),
        ) {
            (None, None) => None,
            (Some(_), None) => {
                return Err(setting_error(
                    "TESSERA_BOOTSTRAP_CLIENT_SECRET",
                    "must be set when TESSERA_BOOTSTRAP_CLIENT_ID is",
                ));
            }
            (None, Some(_)) => {
                return Err(setting_error(
                    "TESSERA_BOOTSTRAP_CLIENT_ID",
                    "must be set when TESSERA_BOOTSTRAP_CLIENT_SECRET is",
                ));
            }
            (Some(id), Some(secret)) => {
                let id = id.trim();
                if id.is_empty()
                    || id.len() > 128
                    || !id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
                {
                    return Err(setting_error(
                        raw.name("TESSERA_BOOTSTRAP_CLIENT_ID"),
                        "must be 1 to 128 characters from A-Z a-z 0-9 - _ .",
                    ));
                }
                if secret.chars().count() < 32 {
                    return Err(setting_error(
                        raw.name("TESSERA_BOOTSTRAP_CLIENT_SECRET"),
                        "must be at least 32 characters (use a random value of 256 bits or more)",
                    ));
                }
                Some(AdminClient {
                    client_id: id.to_owned(),
                    client_secret: Secret::new(secret.to_owned()),
                })
            }
        };

        let log_format = match raw
            .get("TESSERA_LOG_FORMAT")
            .map(str::trim)
            .unwrap_or("text")
        {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(setting_error(
                    raw.name("TESSERA_LOG_FORMAT"),
                    format!("must be text or json, got {other:?}"),
                ));
            }
        };
        let audit_log_stdout = match raw.get("TESSERA_AUDIT_LOG").map(str::trim) {
            None | Some("" | "off") => false,
            Some("stdout") => true,
            Some(other) => {
                return Err(setting_error(
                    raw.name("TESSERA_AUDIT_LOG"),
                    format!("must be stdout or off, got {other:?}"),
                ));
            }
        };
        let upstream_allow_loopback_http = match raw
            .get("TESSERA_UPSTREAM_ALLOW_LOOPBACK_HTTP")
            .map(str::trim)
        {
            None | Some("" | "off") => false,
            Some("on") => true,
            Some(other) => {
                return Err(setting_error(
                    raw.name("TESSERA_UPSTREAM_ALLOW_LOOPBACK_HTTP"),
                    format!("must be on or off, got {other:?}"),
                ));
            }
        };
        let log = raw
            .get("TESSERA_LOG")
            .unwrap_or("info,sqlx=warn")
            .to_owned();
        if tracing_subscriber::EnvFilter::try_new(&log).is_err() {
            return Err(setting_error(
                raw.name("TESSERA_LOG"),
                format!("is not a valid log filter: {log:?}"),
            ));
        }

        let tenant_name = raw
            .get("TESSERA_TENANT_NAME")
            .unwrap_or("Tessera")
            .trim()
            .to_owned();
        if tenant_name.is_empty()
            || tenant_name.chars().count() > 100
            || tenant_name.chars().any(char::is_control)
        {
            return Err(setting_error(
                raw.name("TESSERA_TENANT_NAME"),
                "must be 1 to 100 characters without control characters",
            ));
        }
        let default_directory = raw
            .get("TESSERA_DEFAULT_DIRECTORY")
            .unwrap_or("Username-Password-Authentication")
            .trim()
            .to_owned();
        if default_directory.is_empty()
            || default_directory.chars().count() > 128
            || default_directory.chars().any(char::is_control)
        {
            return Err(setting_error(
                raw.name("TESSERA_DEFAULT_DIRECTORY"),
                "must be a connection name of 1 to 128 characters",
            ));
        }
        let tenant_logo_url = match raw.get("TESSERA_TENANT_LOGO_URL").map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(logo_url(text).map_err(|problem| {
                setting_error(
                    raw.name("TESSERA_TENANT_LOGO_URL"),
                    format!("{problem}, got {text:?}"),
                )
            })?),
        };

        let tls = tls_files(raw)?;
        let smtp = smtp_settings(raw)?;

        Ok(Self {
            issuer,
            listen,
            database_url: Secret::new(database_url),
            master_key,
            signing_alg,
            bootstrap,
            jwks_max_age: raw.number("TESSERA_JWKS_MAX_AGE", 300, 0, 604_800)?,
            key_reload_interval: raw.number("TESSERA_KEY_RELOAD_INTERVAL", 10, 1, 3600)?,
            revocation_refresh: raw.number("TESSERA_REVOCATION_REFRESH", 2, 1, 60)?,
            log,
            log_format,
            body_limit: raw.number("TESSERA_BODY_LIMIT", 65_536, 1024, 10 * 1024 * 1024)? as usize,
            import_limit: raw.number(
                "TESSERA_IMPORT_LIMIT",
                100 * 1024 * 1024,
                1024,
                4 * 1024 * 1024 * 1024,
            )? as usize,
            action_memory_limit: raw.number("TESSERA_ACTION_MEMORY_LIMIT", 32, 4, 1024)?,
            action_time_limit: raw.number("TESSERA_ACTION_TIME_LIMIT", 100, 5, 10_000)?,
            request_timeout: raw.number("TESSERA_REQUEST_TIMEOUT", 30, 1, 600)?,
            shutdown_grace: raw.number("TESSERA_SHUTDOWN_GRACE", 30, 0, 3600)?,
            tenant_name,
            tenant_logo_url,
            session_lifetime: raw.number("TESSERA_SESSION_LIFETIME", 604_800, 300, 31_536_000)?,
            default_directory,
            brute_force_threshold: raw.number("TESSERA_BRUTE_FORCE_THRESHOLD", 10, 1, 1000)?,
            // Failed-login records are swept after a day: no longer window.
            brute_force_block: raw.number("TESSERA_BRUTE_FORCE_BLOCK", 900, 1, 86_400)?,
            rate_limit: raw.number("TESSERA_RATE_LIMIT", 600, 0, 1_000_000)?,
            log_retention_days: raw.number("TESSERA_LOG_RETENTION_DAYS", 30, 1, 3650)?,
            audit_log_stdout,
            upstream_allow_loopback_http,
            header_read_timeout: raw.number("TESSERA_HEADER_READ_TIMEOUT", 10, 1, 300)?,
            max_connections: raw.number("TESSERA_MAX_CONNECTIONS", 512, 1, 1_000_000)?,
            tls,
            smtp,
        })
    }
}

/// `TESSERA_SMTP_URL` (a secret: its value is never echoed) with the
/// `TESSERA_EMAIL_FROM` it needs; both unset (or empty): no SMTP.
fn smtp_settings(raw: &Raw) -> Result<Option<(SmtpUrl, Mailbox)>, SettingError> {
    let value = |env| raw.get(env).map(str::trim).filter(|v| !v.is_empty());
    let Some(url) = value("TESSERA_SMTP_URL") else {
        return Ok(None);
    };
    let url = SmtpUrl::parse(url)
        .map_err(|e| setting_error(raw.name("TESSERA_SMTP_URL"), e.to_string()))?;
    let Some(from) = value("TESSERA_EMAIL_FROM") else {
        return Err(setting_error(
            "TESSERA_EMAIL_FROM",
            "must be set when TESSERA_SMTP_URL is",
        ));
    };
    let from = smtp::parse_from(from)
        .map_err(|problem| setting_error(raw.name("TESSERA_EMAIL_FROM"), problem))?;
    Ok(Some((url, from)))
}

/// Both files or neither (an empty value counts as unset). Their content is
/// checked when `serve` starts.
fn tls_files(raw: &Raw) -> Result<Option<TlsFiles>, SettingError> {
    let path = |env| raw.get(env).map(str::trim).filter(|p| !p.is_empty());
    match (path("TESSERA_TLS_CERT_FILE"), path("TESSERA_TLS_KEY_FILE")) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => Ok(Some(TlsFiles {
            cert: PathBuf::from(cert),
            key: PathBuf::from(key),
        })),
        (Some(_), None) => Err(setting_error(
            "TESSERA_TLS_KEY_FILE",
            "must be set when TESSERA_TLS_CERT_FILE is",
        )),
        (None, Some(_)) => Err(setting_error(
            "TESSERA_TLS_CERT_FILE",
            "must be set when TESSERA_TLS_KEY_FILE is",
        )),
    }
}

/// An absolute https URL (the hosted pages' CSP allows https images only).
fn logo_url(text: &str) -> Result<String, &'static str> {
    if text.len() > 2048 {
        return Err("must be at most 2048 characters");
    }
    let url = url::Url::parse(text).map_err(|_| "must be an absolute https URL")?;
    if url.scheme() != "https" || !url.has_host() {
        return Err("must be an absolute https URL");
    }
    Ok(url.to_string())
}

/// Beside the SQLite database (`tessera.db` -> `tessera.master.key`); for
/// PostgreSQL, in the working directory. Every node of a cluster must share the
/// same master key: set TESSERA_MASTER_KEY there.
fn default_key_file(database_url: &str) -> PathBuf {
    match tessera_store::sqlite_path(database_url) {
        Some(db) => {
            let stem = db
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_else(|| "tessera".into());
            db.with_file_name(format!("{stem}.master.key"))
        }
        None => PathBuf::from("tessera.master.key"),
    }
}

#[cfg(test)]
mod tests;
