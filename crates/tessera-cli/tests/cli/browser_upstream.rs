//! Headless Chromium logs in to one `tessera serve` through another (issue
//! 14): the downstream has an `oidc` connection to the upstream by discovery
//! URL; its hosted login page shows the upstream's button, the browser signs
//! in on the upstream's page and the relying party gets a code whose ID
//! token's `sub` is `oidc|Upstream|{upstream user id}`. The downstream's own
//! database user with the same email stays a separate user (no automatic
//! account linking).

use std::time::Duration;

use serde_json::json;

use crate::browser_kit::*;
use crate::common::*;

const PACKAGES: &[&str] = &[PLAYWRIGHT_CORE];

#[tokio::test(flavor = "multi_thread")]
async fn chromium_logs_in_through_an_upstream_tessera() {
    let (browser, modules) = browser_and_modules(PACKAGES).await;
    let (sb_up, sb_down) = (Sandbox::new(), Sandbox::new());
    let up = Tenant::start(&sb_up).await;
    let down = Tenant::start(&sb_down).await;
    let up_app = up
        .create(
            "clients",
            json!({"name": "Downstream", "app_type": "regular_web",
                "callbacks": [down.server.url("login/callback")]}),
        )
        .await;
    let callback = format!("http://127.0.0.1:{}/callback", free_port());
    let app = down
        .create(
            "clients",
            json!({"name": "Browser SPA", "app_type": "spa", "callbacks": [callback]}),
        )
        .await;
    let client_id = app["client_id"].as_str().unwrap().to_owned();
    down.create(
        "connections",
        json!({"name": "Upstream", "strategy": "oidc", "display_name": "Upstream Tessera",
            "enabled_clients": [client_id], "options": {
            "type": "back_channel",
            "discovery_url": up.server.url(".well-known/openid-configuration"),
            "issuer": up.server.base(),
            "client_id": up_app["client_id"], "client_secret": up_app["client_secret"],
            "scope": "openid profile email"}}),
    )
    .await;

    let (verifier, challenge) = pkce_pair();
    let issuer = down.server.base();
    let auth_url = format!(
        "{issuer}authorize?response_type=code&client_id={}&redirect_uri={}&scope={}&state=st&nonce=n1&code_challenge={challenge}&code_challenge_method=S256",
        enc(&client_id),
        enc(&callback),
        enc("openid profile email"),
    );
    let args = [
        auth_url,
        callback.clone(),
        EMAIL.to_owned(),
        "Upstream Tessera".to_owned(),
    ];
    let out = Node::spawn(
        &sb_down,
        &modules,
        &browser,
        "upstream-login.mjs",
        &args,
        &[("LOGIN_PASSWORD", PASSWORD.to_owned())],
    )
    .finish(Duration::from_secs(120))
    .await;
    assert!(
        out.status.success(),
        "the browser script failed ({}):\n{}\n{}\ndownstream log:\n{}\nupstream log:\n{}",
        out.status,
        out.stdout,
        out.stderr,
        down.server.stderr(),
        up.server.stderr()
    );
    let final_url = out
        .stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("final-url "))
        .unwrap_or_else(|| panic!("no final URL: {}", out.stdout));
    let final_url = url::Url::parse(final_url.trim()).unwrap();
    let param = |name: &str| {
        final_url
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(param("state").as_deref(), Some("st"), "{final_url}");
    let code = param("code").unwrap_or_else(|| panic!("no code: {final_url}"));
    let res = reqwest::Client::new()
        .post(down.server.url("oauth/token"))
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
    let tokens: serde_json::Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{tokens}");
    let claims = jwt_claims(tokens["id_token"].as_str().unwrap());
    let up_user = up.user["user_id"].as_str().unwrap();
    assert_eq!(claims["sub"], format!("oidc|Upstream|{up_user}"));
    assert_ne!(claims["sub"], down.user["user_id"], "no account linking");
    assert_eq!(claims["email"], EMAIL);
    assert_eq!(claims["nonce"], "n1");

    down.server.stop().await;
    up.server.stop().await;
}
