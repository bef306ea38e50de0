//! Interop: Auth0's own Python SDK (auth0-python, from PyPI, in a virtual
//! environment this test creates) drives a running `tessera serve`: the
//! Management API, and a user's login by the password-realm grant
//! (`GetToken.login`), whose tokens it verifies.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

const AUTH0_PYTHON: &str = "auth0-python==6.8.0";

/// One test at a time makes the venv (two interop tests share it: on a fresh
/// machine both would create it at once).
static MAKING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A venv with auth0-python, made once per target dir.
pub(crate) fn venv() -> PathBuf {
    let _one_at_a_time = MAKING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("auth0-python-6.8.0");
    let python = dir.join("bin").join("python");
    let ready = || {
        Command::new(&python)
            .args(["-c", "import auth0.management, auth0.authentication"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if ready() {
        return python;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&dir)
        .status()
        .expect("python3 is needed for the auth0-python interop test");
    assert!(status.success(), "python3 -m venv failed");
    let out = Command::new(dir.join("bin").join("pip"))
        .args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            AUTH0_PYTHON,
        ])
        .output()
        .expect("pip");
    assert!(
        out.status.success(),
        "pip install {AUTH0_PYTHON} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(ready(), "auth0-python does not import after installing");
    python
}

#[tokio::test(flavor = "multi_thread")]
async fn auth0_python_sdk_drives_the_management_api() {
    let python = tokio::task::spawn_blocking(venv).await.unwrap();
    let sb = Sandbox::new();
    let port = free_port();
    let secret = "interop-admin-secret-0123456789abcdefghijklmnop";
    let server = Server::start(
        &sb,
        port,
        &[
            ("TESSERA_BOOTSTRAP_CLIENT_ID", "interop-admin"),
            ("TESSERA_BOOTSTRAP_CLIENT_SECRET", secret),
            // Every request logged, so the log check below means something.
            ("TESSERA_LOG", "debug"),
        ],
    )
    .await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/auth0_management.py");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .env("TESSERA_DOMAIN", format!("127.0.0.1:{port}"))
            .env("TESSERA_CLIENT_ID", "interop-admin")
            .env("TESSERA_CLIENT_SECRET", secret)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "auth0-python script failed:\n{stdout}\n{stderr}\nserver log:\n{}",
        server.stderr()
    );
    assert!(stdout.trim_end().ends_with("passed, 0 failed"), "{stdout}");
    // The server logged every request, but neither the secret, nor a token (every
    // JWT starts with "eyJ"), nor the user's password.
    let log = server.stderr();
    assert!(log.contains("response"), "requests were logged: {log}");
    assert!(
        !log.contains(secret),
        "the client secret reached a log line"
    );
    assert!(!log.contains("eyJ"), "a token reached a log line");
    for password in ["correct horse battery staple", "not the password"] {
        assert!(!log.contains(password), "a password reached a log line");
    }
    server.stop().await;
}
