//! Opening the database and the master key, shared by every command.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use tessera_core::envelope::MasterKey;
use tessera_core::keys::KeyPolicy;
use tessera_core::store::{MetaStore, StoreError};
use tessera_store::{OpenError, SqlStore};

use crate::settings::{MasterKeySource, SettingError, Settings, setting_error};

const META_MASTER_KEY_CHECK: &str = "master_key_check";
const META_MASTER_KEY_ID: &str = "master_key_id";

/// How a command fails: a bad setting (exit 2) or a runtime failure (exit 1).
#[derive(Debug)]
pub enum Fail {
    Setting(SettingError),
    Runtime(String),
}

impl Fail {
    pub fn exit(&self) -> ExitCode {
        match self {
            Fail::Setting(e) => {
                eprintln!("tessera: {e}");
                ExitCode::from(2)
            }
            Fail::Runtime(msg) => {
                eprintln!("tessera: {msg}");
                ExitCode::from(1)
            }
        }
    }
}

impl From<SettingError> for Fail {
    fn from(e: SettingError) -> Self {
        Fail::Setting(e)
    }
}

/// Whether a command may create a new installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `serve`: create the database and the master key file on first start.
    Create,
    /// Operator commands: refuse to create anything.
    Existing,
}

const META_KEY_POLICY: &str = "server_key_policy";

/// Records the server's key timing, so operator commands never rotate faster
/// than the running servers' caches allow.
pub async fn record_key_policy(opened: &Opened, policy: &KeyPolicy) -> Result<(), Fail> {
    let value = format!("{} {}", policy.jwks_max_age, policy.reload_interval);
    opened
        .store
        .set_meta(META_KEY_POLICY, &value)
        .await
        .map_err(|e| Fail::Runtime(format!("database: {e}")))
}

/// The stricter of `own` and the policy the server last recorded.
pub async fn effective_key_policy(opened: &Opened, own: KeyPolicy) -> Result<KeyPolicy, Fail> {
    let stored = opened
        .store
        .get_meta(META_KEY_POLICY)
        .await
        .map_err(|e| Fail::Runtime(format!("database: {e}")))?;
    let mut policy = own;
    if let Some((max_age, reload)) = stored.as_deref().and_then(|s| s.split_once(' ')) {
        policy.jwks_max_age = policy.jwks_max_age.max(max_age.parse().unwrap_or(0));
        policy.reload_interval = policy.reload_interval.max(reload.parse().unwrap_or(0));
    }
    Ok(policy)
}

pub struct Opened {
    pub store: Arc<SqlStore>,
    pub master: Arc<MasterKey>,
}

/// Opens the database (running migrations) and the master key, and checks that
/// the master key is the one this database was initialised with.
pub async fn open(settings: &Settings, mode: Mode) -> Result<Opened, Fail> {
    if mode == Mode::Existing
        && let Some(path) = tessera_store::sqlite_path(settings.database_url.expose())
        && !path.exists()
    {
        return Err(Fail::Setting(setting_error(
            "TESSERA_DATABASE_URL",
            format!(
                "there is no database at {}; `tessera serve` creates it on first start",
                path.display()
            ),
        )));
    }
    let store = SqlStore::open(settings.database_url.expose())
        .await
        .map_err(|e| {
            let problem = match e {
                OpenError::Migration { .. } => return Fail::Runtime(format!("database: {e}")),
                other => other.to_string(),
            };
            Fail::Setting(setting_error("TESSERA_DATABASE_URL", problem))
        })?;
    let db_err = |e: tessera_core::store::StoreError| Fail::Runtime(format!("database: {e}"));
    let check = store
        .get_meta(META_MASTER_KEY_CHECK)
        .await
        .map_err(db_err)?;
    let known_id = store.get_meta(META_MASTER_KEY_ID).await.map_err(db_err)?;
    let (master, setting) = match &settings.master_key {
        MasterKeySource::Given(value) => (
            MasterKey::parse(value.expose())
                .map_err(|e| setting_error("TESSERA_MASTER_KEY", e.to_string()))?,
            "TESSERA_MASTER_KEY".to_owned(),
        ),
        MasterKeySource::File { path, explicit } => {
            let name = if *explicit {
                "TESSERA_MASTER_KEY_FILE".to_owned()
            } else {
                format!("master key file {}", path.display())
            };
            let may_create = mode == Mode::Create && check.is_none();
            (load_or_create_key_file(path, may_create, &name)?, name)
        }
    };
    match check {
        Some(stored) if stored != master.check_value() => {
            return Err(Fail::Setting(setting_error(
                setting,
                format!(
                    "this database's private keys are encrypted under another master key (id {}), not this one (id {}); start with the original master key (Tessera will not generate new keys over the old ones)",
                    known_id.as_deref().unwrap_or("unknown"),
                    master.id_hex()
                ),
            )));
        }
        Some(_) => {}
        None => {
            store
                .put_meta_if_absent(META_MASTER_KEY_ID, &master.id_hex())
                .await
                .map_err(db_err)?;
            let stored = store
                .put_meta_if_absent(META_MASTER_KEY_CHECK, &master.check_value())
                .await
                .map_err(db_err)?;
            if stored != master.check_value() {
                return Err(Fail::Setting(setting_error(
                    setting,
                    "another node initialised this database with a different master key",
                )));
            }
        }
    }
    Ok(Opened {
        store: Arc::new(store),
        master: Arc::new(master),
    })
}

fn load_or_create_key_file(path: &Path, may_create: bool, name: &str) -> Result<MasterKey, Fail> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(path)
                    .map(|m| m.permissions().mode())
                    .unwrap_or(0);
                if mode & 0o077 != 0 {
                    return Err(Fail::Setting(setting_error(
                        name,
                        format!(
                            "{} is accessible by other users (mode {:o}); run: chmod 600 {}",
                            path.display(),
                            mode & 0o777,
                            path.display()
                        ),
                    )));
                }
            }
            MasterKey::parse(&text)
                .map_err(|e| Fail::Setting(setting_error(name, format!("{}: {e}", path.display()))))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !may_create {
                return Err(Fail::Setting(setting_error(
                    name,
                    format!(
                        "{} does not exist, and this database was initialised with a master key (or this command creates none); restore the key file or set TESSERA_MASTER_KEY",
                        path.display()
                    ),
                )));
            }
            let (key, encoded) = MasterKey::generate().map_err(|e| Fail::Runtime(e.to_string()))?;
            write_new_key_file(path, encoded.as_bytes()).map_err(|e| {
                Fail::Setting(setting_error(
                    name,
                    format!("cannot create {}: {e}", path.display()),
                ))
            })?;
            tracing::info!(path = %path.display(), key_id = %key.id_hex(), "created the master key file; back it up: without it the private keys cannot be decrypted");
            Ok(key)
        }
        Err(e) => Err(Fail::Setting(setting_error(
            name,
            format!("cannot read {}: {e}", path.display()),
        ))),
    }
}

fn write_new_key_file(path: &Path, encoded: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(encoded)?;
    file.write_all(b"\n")?;
    file.sync_all()
}

pub fn db(e: StoreError) -> Fail {
    Fail::Runtime(format!("database: {e}"))
}

/// Opens the installation, runs `action`, closes the database either way.
pub async fn with_store<T>(
    settings: &Settings,
    action: impl AsyncFnOnce(&Opened) -> Result<T, Fail>,
) -> Result<T, Fail> {
    crate::serve::init_logging(settings);
    let opened = open(settings, Mode::Existing).await?;
    let result = action(&opened).await;
    opened.store.close().await;
    result
}

/// A plain-text table: columns padded to their widest cell, the last one not.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (i, cell) in cells.enumerate() {
            out.push_str(cell);
            if i + 1 < widths.len() {
                let width = widths.get(i).copied().unwrap_or(0);
                out.push_str(&" ".repeat(width.saturating_sub(cell.chars().count()) + 2));
            }
        }
        println!("{}", out.trim_end());
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
}
