//! A real browser: headless Chromium (Debian's `chromium`, installed with apt
//! when missing) driven by Playwright (`playwright-core`, from npm, with the
//! system browser) opens the authorization URL of a running `tessera serve`,
//! checks the hosted login page with axe-core (WCAG 2 A/AA), takes its
//! screenshot, logs in through it and reaches the callback with a code, which
//! this test then redeems (PKCE S256).
//!
//! The screenshot lands in `CARGO_TARGET_TMPDIR`; with
//! `TESSERA_UPDATE_SCREENSHOT=1` it replaces `docs/login-page.png` instead.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::browser_kit::*;
use crate::common::*;

const AXE_CORE: &str = "axe-core@4.14.1";
const PACKAGES: &[&str] = &[PLAYWRIGHT_CORE, AXE_CORE];

#[tokio::test(flavor = "multi_thread")]
async fn chromium_logs_in_through_the_hosted_login_page() {
    let (browser, modules) = browser_and_modules(PACKAGES).await;
    let sb = Sandbox::new();
    let tenant = Tenant::start(&sb).await;
    let (server, user) = (&tenant.server, &tenant.user);
    let issuer = server.base();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();

    // The script serves the callback itself, on this port.
    let callback = format!("http://127.0.0.1:{}/callback", free_port());
    let app = tenant
        .create(
            "clients",
            json!({ "name": "Browser test SPA", "app_type": "spa", "callbacks": [callback] }),
        )
        .await;
    let client_id = app["client_id"].as_str().unwrap().to_owned();

    let (verifier, challenge) = pkce_pair();
    let state = random_value();
    let nonce = random_value();
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
    let args = [
        auth_url.clone(),
        callback.clone(),
        EMAIL.to_owned(),
        screenshot.display().to_string(),
    ];
    let out = Node::spawn(
        &sb,
        &modules,
        &browser,
        "login.mjs",
        &args,
        &[("LOGIN_PASSWORD", PASSWORD.to_owned())],
    )
    .finish(Duration::from_secs(120))
    .await;
    let (stdout, stderr) = (&out.stdout, &out.stderr);
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
    let claims = jwt_claims(tokens["id_token"].as_str().expect("an ID token"));
    assert_eq!(claims["iss"], issuer.as_str());
    assert_eq!(claims["aud"], client_id.as_str());
    assert_eq!(claims["sub"], user["user_id"]);
    assert_eq!(claims["nonce"], nonce.as_str());
    assert_eq!(claims["email"], EMAIL);

    tenant.server.stop().await;
}
