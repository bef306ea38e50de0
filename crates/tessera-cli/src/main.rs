//! `tessera`: the server and its operator commands.

mod keys_cmd;
mod serve;
mod settings;
mod startup;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::startup::Fail;

const SETTINGS_HELP: &str = "Settings come from TESSERA_* environment variables over an optional TOML file \
(--config; the environment wins). See README.md for the table.";

#[derive(Parser)]
#[command(name = "tessera", version, about = "Tessera: a self-hosted OAuth 2.0 / OpenID Connect token server", after_help = SETTINGS_HELP)]
struct Cli {
    /// A TOML settings file (keys as the TESSERA_* names without the prefix, lower case).
    #[arg(long, global = true, value_name = "FILE", env = "TESSERA_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (creates the database, keys and bootstrap objects on first start).
    Serve,
    /// Inspect and rotate signing keys (the running servers pick changes up within
    /// TESSERA_KEY_RELOAD_INTERVAL seconds).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// List every signing key with its state.
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Promote the next key to current; the current key becomes previous and a new
    /// next key is published. Refused until the next key has been published for
    /// the JWKS cache lifetime plus the reload interval.
    Rotate {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a previous or next key: it leaves the JWKS at once.
    Revoke {
        kid: String,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let env = |name: &str| std::env::var(name).ok();
    let settings = match settings::Settings::load(cli.config.as_deref(), &env) {
        Ok(s) => s,
        Err(e) => return Fail::Setting(e).exit(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return Fail::Runtime(format!("cannot start the async runtime: {e}")).exit(),
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve => serve::run(settings).await,
            Command::Keys { command } => match command {
                KeysCommand::List { json } => keys_cmd::list(settings, json).await,
                KeysCommand::Rotate { json } => keys_cmd::rotate(settings, json).await,
                KeysCommand::Revoke { kid, json } => keys_cmd::revoke(settings, &kid, json).await,
            },
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(fail) => fail.exit(),
    }
}
