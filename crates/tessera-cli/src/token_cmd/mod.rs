//! `tessera token inspect`: decode a token, say what kind it is, verify it with
//! `tessera-verify` against the issuer's JWKS, and explain in plain words every
//! reason an API or an application must reject it.
//!
//! - `report`: what was asked and what was found (kind, reasons), claim helpers;
//! - `inspect`: decode, classify, verify with the library;
//! - `local_checks`: the checks that need no key, so several reasons are listed;
//! - `explain`: a library error in plain words;
//! - `render`: the human and the JSON output.

mod explain;
mod inspect;
mod local_checks;
mod render;
mod report;

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use clap::Subcommand;

use inspect::inspect;
use render::{render, to_json};
use report::Ask;

/// The largest token read from standard input.
const MAX_STDIN_BYTES: u64 = 1 << 20;

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Decode a token, say which kind it is and, with --issuer, verify it against
    /// the issuer's JWKS; lists every reason an API or an app must reject it.
    /// Exit 0: valid for what was asked; 1: not valid; 2: usage error.
    Inspect {
        /// The token (a JWT or an opaque token); `-` reads it from standard input.
        #[arg(value_name = "TOKEN")]
        token: String,
        /// The issuer (e.g. https://tessera.example/): verify the signature with
        /// the keys its discovery document points to, and check `iss`.
        #[arg(long, value_name = "URL")]
        issuer: Option<String>,
        /// Check the token as the API with this identifier would (an access token
        /// whose `aud` contains ID).
        #[arg(long, value_name = "ID", conflicts_with = "client_id")]
        audience: Option<String>,
        /// Check the token as the application with this client ID would (an ID
        /// token whose `aud` contains ID).
        #[arg(long, value_name = "ID")]
        client_id: Option<String>,
        /// Machine-readable output: {kind, header, claims, valid, reasons}.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `token inspect` (after the arguments were parsed).
pub fn run(command: TokenCommand) -> ExitCode {
    let TokenCommand::Inspect {
        token,
        issuer,
        audience,
        client_id,
        json,
    } = command;
    let path = ["token", "inspect"];
    let token = if token == "-" {
        match read_stdin() {
            Ok(t) => t,
            Err(problem) => crate::usage_error(path, "TOKEN", &problem),
        }
    } else {
        token
    };
    let token = clean(&token);
    if token.is_empty() {
        crate::usage_error(path, "TOKEN", "must not be empty");
    }
    if token.chars().any(char::is_whitespace) {
        crate::usage_error(path, "TOKEN", "must not contain white space");
    }
    if let Some(issuer) = &issuer {
        match url::Url::parse(issuer) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => crate::usage_error(path, "--issuer", "must be an http(s) URL"),
        }
    }
    for (flag, value) in [("--audience", &audience), ("--client-id", &client_id)] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            crate::usage_error(path, flag, "must not be empty");
        }
    }
    let ask = match (audience, client_id) {
        (Some(aud), _) => Ask::Api(aud),
        (None, Some(client)) => Ask::App(client),
        (None, None) => Ask::Any,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tessera: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let report = runtime.block_on(inspect(&token, issuer, ask));
    if json {
        println!("{}", to_json(&report));
    } else {
        print!("{}", render(&report, std::io::stdout().is_terminal()));
    }
    if report.valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn read_stdin() -> Result<String, String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(MAX_STDIN_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read standard input: {e}"))?;
    if bytes.len() as u64 > MAX_STDIN_BYTES {
        return Err(format!(
            "standard input holds more than {MAX_STDIN_BYTES} bytes"
        ));
    }
    String::from_utf8(bytes).map_err(|_| "standard input is not UTF-8 text".to_owned())
}

/// The token without surrounding white space or an `Authorization` scheme.
fn clean(raw: &str) -> String {
    let t = raw.trim();
    let t = t
        .strip_prefix("Bearer ")
        .or_else(|| t.strip_prefix("bearer "))
        .unwrap_or(t);
    t.trim().to_owned()
}
