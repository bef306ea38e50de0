//! A real browser: headless Chromium (Debian's `chromium`, installed with apt
//! when missing) driven by Playwright (`playwright-core`, from npm, with the
//! system browser) opens the authorization URL of a running `tessera serve`,
//! checks the hosted login page with axe-core (WCAG 2 A/AA), takes its
//! screenshot, logs in through it and reaches the callback with a code, which
//! this test then redeems (PKCE S256).
//!
//! The screenshot lands in `CARGO_TARGET_TMPDIR`; with
//! `TESSERA_UPDATE_SCREENSHOT=1` it replaces `docs/login-page.png` instead.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::common::*;

const CHROMIUM: &str = "/usr/bin/chromium";
const PLAYWRIGHT_CORE: &str = "playwright-core@1.65.1";
const AXE_CORE: &str = "axe-core@4.14.1";
const ADMIN_ID: &str = "browser-admin";
const ADMIN_SECRET: &str = "browser-admin-secret-0123456789abcdefghijklmnop";
const EMAIL: &str = "grace.hopper@example.com";
const PASSWORD: &str = "Cobol-Compiler-1959-Harvard";

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

fn must(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Debian's Chromium, installed with apt when it is missing (as root).
fn chromium() -> PathBuf {
    let path = PathBuf::from(CHROMIUM);
    if path.exists() {
        return path;
    }
    eprintln!("installing Debian's chromium for the browser test");
    let apt = |args: &[&str]| {
        let mut cmd = Command::new("apt-get");
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut cmd)
    };
    must("apt-get update", &apt(&["update", "-qq"]));
    must(
        "apt-get install chromium (the browser test needs root or a machine with /usr/bin/chromium)",
        &apt(&["install", "-y", "-qq", "chromium"]),
    );
    assert!(
        path.exists(),
        "apt installed chromium but {CHROMIUM} is missing"
    );
    path
}

/// playwright-core and axe-core, installed once per target dir with npm.
fn node_modules() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "browser-{}-{}",
        PLAYWRIGHT_CORE.replace('@', "-"),
        AXE_CORE.replace('@', "-")
    ));
    let version_of = |package: &str| -> Option<String> {
        let text =
            std::fs::read_to_string(dir.join("node_modules").join(package).join("package.json"))
                .ok()?;
        let v: Value = serde_json::from_str(&text).ok()?;
        v["version"].as_str().map(str::to_owned)
    };
    let ready = || {
        [PLAYWRIGHT_CORE, AXE_CORE].iter().all(|spec| {
            let (name, version) = spec.rsplit_once('@').unwrap();
            version_of(name).as_deref() == Some(version)
        })
    };
    if ready() {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("package.json"),
        "{\"name\":\"tessera-browser-test\",\"private\":true}\n",
    )
    .unwrap();
    let out = run(Command::new("npm")
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--no-save",
            "--loglevel=error",
            PLAYWRIGHT_CORE,
            AXE_CORE,
        ])
        .current_dir(&dir)
        // playwright-core never downloads a browser; say so anyway.
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1"));
    must(
        &format!("npm install {PLAYWRIGHT_CORE} {AXE_CORE} (needs Node.js and npm)"),
        &out,
    );
    assert!(
        ready(),
        "npm installed, but the versions are not the pinned ones"
    );
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn chromium_logs_in_through_the_hosted_login_page() {
    let browser = tokio::task::spawn_blocking(chromium).await.unwrap();
    let modules = tokio::task::spawn_blocking(node_modules).await.unwrap();

    let sb = Sandbox::new();
    let port = free_port();
    let server = Server::start(
        &sb,
        port,
        &[
            ("TESSERA_BOOTSTRAP_CLIENT_ID", ADMIN_ID),
            ("TESSERA_BOOTSTRAP_CLIENT_SECRET", ADMIN_SECRET),
        ],
    )
    .await;
    let issuer = server.base();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();

    // A Management API token, a user and a single-page application.
    let admin = management_token(&http, &server, ADMIN_ID, ADMIN_SECRET).await;
    let user = post_json(
        &http,
        &server.url("api/v2/users"),
        &admin,
        json!({
            "connection": "Username-Password-Authentication",
            "email": EMAIL,
            "password": PASSWORD,
            "given_name": "Grace",
            "family_name": "Hopper",
            "name": "Grace Hopper",
        }),
    )
    .await;
    // The script serves the callback itself, on this port.
    let callback = format!("http://127.0.0.1:{}/callback", free_port());
    let app = post_json(
        &http,
        &server.url("api/v2/clients"),
        &admin,
        json!({ "name": "Browser test SPA", "app_type": "spa", "callbacks": [callback] }),
    )
    .await;
    let client_id = app["client_id"].as_str().unwrap().to_owned();

    let (verifier, challenge) = pkce_pair();
    let state = URL_SAFE_NO_PAD.encode(tessera_core::ids::random_bytes::<16>().unwrap());
    let nonce = URL_SAFE_NO_PAD.encode(tessera_core::ids::random_bytes::<16>().unwrap());
    let auth_url = format!(
        "{issuer}authorize?response_type=code&client_id={}&redirect_uri={}&scope={}&state={state}&nonce={nonce}&code_challenge={challenge}&code_challenge_method=S256",
        enc(&client_id),
        enc(&callback),
        enc("openid profile email"),
    );

    let update = std::env::var("TESSERA_UPDATE_SCREENSHOT").is_ok_and(|v| v == "1");
    let screenshot = if update {
        // crates/tessera-cli -> the repository root.
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .nth(2)
            .unwrap();
        root.join("docs").join("login-page.png")
    } else {
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("login-page.png")
    };
    let _ = std::fs::remove_file(&screenshot);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/login.mjs");
    let args = [
        script.display().to_string(),
        auth_url.clone(),
        callback.clone(),
        EMAIL.to_owned(),
        screenshot.display().to_string(),
    ];
    let out = tokio::task::spawn_blocking(move || {
        run(Command::new("node")
            .args(args)
            .env("LOGIN_PASSWORD", PASSWORD)
            .env("TESSERA_NODE_MODULES", &modules)
            .env("CHROMIUM_PATH", &browser))
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    println!("{stdout}");
    assert!(
        out.status.success(),
        "the browser script failed ({}):\n{stdout}\n{stderr}\nserver log:\n{}",
        out.status,
        server.stderr()
    );
    assert!(
        stdout.contains(", 0 violations,"),
        "axe ran and found nothing: {stdout}"
    );
    assert!(
        std::fs::metadata(&screenshot).is_ok_and(|m| m.len() > 1000),
        "no screenshot at {}",
        screenshot.display()
    );
    assert!(
        std::fs::read(&screenshot)
            .unwrap()
            .starts_with(b"\x89PNG\r\n\x1a\n"),
        "the screenshot is a PNG"
    );

    // The browser reached the callback with a code, our state and the issuer.
    let final_url = stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("final-url "))
        .unwrap_or_else(|| panic!("the script printed no final URL: {stdout}"));
    let final_url = url::Url::parse(final_url.trim()).unwrap();
    assert!(
        final_url.as_str().starts_with(&format!("{callback}?")),
        "{final_url}"
    );
    let param = |name: &str| {
        final_url
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(param("error"), None, "{final_url}");
    assert_eq!(
        param("state").as_deref(),
        Some(state.as_str()),
        "{final_url}"
    );
    assert_eq!(
        param("iss").as_deref(),
        Some(issuer.as_str()),
        "{final_url}"
    );
    let code = param("code").unwrap_or_else(|| panic!("no code: {final_url}"));

    // The code is real: redeemed with the PKCE verifier, for this user.
    let res = http
        .post(server.url("oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("code", &code),
            ("redirect_uri", &callback),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    let status = res.status();
    let tokens: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer", "{tokens}");
    assert!(tokens["access_token"].is_string(), "{tokens}");
    let id_token = tokens["id_token"].as_str().expect("an ID token");
    let payload = id_token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["iss"], issuer.as_str());
    assert_eq!(claims["aud"], client_id.as_str());
    assert_eq!(claims["sub"], user["user_id"]);
    assert_eq!(claims["nonce"], nonce.as_str());
    assert_eq!(claims["email"], EMAIL);

    server.stop().await;
}
