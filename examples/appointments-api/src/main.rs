//! `appointments-api`: the example API as a server.
//!
//! Environment:
//! - `ISSUER`: the Tessera issuer, e.g. `https://tessera.example/` (its
//!   discovery document gives the JWKS);
//! - `AUDIENCE`: this API's identifier, e.g. `https://appointments.example/`;
//! - `LISTEN`: the address to listen on (default `127.0.0.1:3001`).

use std::process::ExitCode;

use tessera_verify::AccessTokenVerifier;

fn env(name: &str) -> Result<String, String> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(format!("{name} must be set")),
    }
}

async fn run() -> Result<(), String> {
    let issuer = env("ISSUER")?;
    let audience = env("AUDIENCE")?;
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:3001".to_owned());
    let verifier = AccessTokenVerifier::from_issuer(&issuer, vec![audience.clone()])
        .await
        .map_err(|e| format!("cannot set up token verification with {issuer}: {e}"))?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    println!("appointments-api: listening on http://{listen}/ for {audience} (issuer {issuer})");
    axum::serve(listener, appointments_api::app(verifier))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| format!("server error: {e}"))
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("appointments-api: {e}");
            ExitCode::FAILURE
        }
    }
}
