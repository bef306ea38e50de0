//! Interop: auth0-python's `Database.change_password` against `tessera serve`
//! mailing through SMTP (`TESSERA_SMTP_URL`) to a loopback sink; the emailed
//! link is followed with an HTTP client, and `GetToken.login` (password-realm)
//! then accepts the new password and refuses the old one. The debug log holds
//! neither password nor the ticket.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use tessera_server::testing::SmtpSink;

use crate::common::*;
use crate::interop::venv;

const OLD: &str = "correct horse battery staple";
const NEW: &str = "a fresh passphrase for interop 7";
const EMAIL: &str = "reset-interop@example.com";

fn input_value(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no {name} in {html}"));
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].replace("&amp;", "&")
}

async fn api(
    c: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Value,
) -> Value {
    let res = c
        .request(method, url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    res.json().await.unwrap()
}

fn run_script(python: &Path, phase: &str, env: &[(&str, &str)]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/auth0_reset.py");
    let out = Command::new(python)
        .arg(script)
        .arg(phase)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.trim_end().ends_with("passed, 0 failed"),
        "{phase}:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn auth0_python_change_password_resets_through_the_emailed_link() {
    let python = tokio::task::spawn_blocking(venv).await.unwrap();
    let sink = SmtpSink::start().await;
    let sb = Sandbox::new();
    let port = free_port();
    let secret = "reset-admin-secret-0123456789abcdefghijklmnopq";
    let smtp = sink.url();
    let server = Server::start(
        &sb,
        port,
        &[
            ("TESSERA_BOOTSTRAP_CLIENT_ID", "reset-admin"),
            ("TESSERA_BOOTSTRAP_CLIENT_SECRET", secret),
            ("TESSERA_SMTP_URL", &smtp),
            ("TESSERA_EMAIL_FROM", "Tessera <no-reply@tessera.test>"),
            ("TESSERA_LOG", "debug"),
        ],
    )
    .await;
    let base = format!("http://127.0.0.1:{port}/");
    let c = reqwest::Client::new();
    let token: Value = c
        .post(format!("{base}oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "reset-admin"),
            ("client_secret", secret),
            ("audience", &format!("{base}api/v2/")),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin = token["access_token"].as_str().unwrap().to_owned();
    use reqwest::Method;
    // The user signs up through auth0-python's Database.signup (the script's
    // first phase), not the Management API.
    let app = api(
        &c,
        Method::POST,
        format!("{base}api/v2/clients"),
        &admin,
        json!({
            "name": "reset interop", "app_type": "regular_web",
            "grant_types": ["http://auth0.com/oauth/grant-type/password-realm"],
        }),
    )
    .await;
    let app_id = app["client_id"].as_str().unwrap().to_owned();
    let app_secret = app["client_secret"].as_str().unwrap().to_owned();
    let connections = api(
        &c,
        Method::GET,
        format!("{base}api/v2/connections"),
        &admin,
        Value::Null,
    )
    .await;
    let db = connections
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Username-Password-Authentication")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    api(
        &c,
        Method::PATCH,
        format!("{base}api/v2/connections/{db}"),
        &admin,
        json!({"enabled_clients": [app_id]}),
    )
    .await;

    let domain = format!("127.0.0.1:{port}");
    let env = [
        ("TESSERA_DOMAIN", domain.as_str()),
        ("TESSERA_APP_ID", &app_id),
        ("TESSERA_APP_SECRET", &app_secret),
        ("TESSERA_EMAIL", EMAIL),
        ("TESSERA_OLD_PASSWORD", OLD),
        ("TESSERA_NEW_PASSWORD", NEW),
    ];
    let (p, e) = (python.clone(), env.map(|(k, v)| (k, v.to_owned())));
    let owned = move |e: &[(&'static str, String)]| {
        e.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>()
    };
    let request_env = owned(&e);
    tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = request_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run_script(&p, "request", &env)
    })
    .await
    .unwrap();

    let mail = sink.wait_for(EMAIL).await;
    let link = mail
        .link(&format!("{base}u/reset-password?ticket="))
        .expect("the reset link");
    let ticket = link.rsplit('=').next().unwrap().to_owned();
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let html = browser
        .get(&link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let res = browser
        .post(format!("{base}u/reset-password"))
        .form(&[
            ("ticket", input_value(&html, "ticket").as_str()),
            ("csrf", &input_value(&html, "csrf")),
            ("password", NEW),
            ("password_confirm", NEW),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Your password has been changed")
    );

    let login_env = owned(&e);
    tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = login_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run_script(&python, "login", &env)
    })
    .await
    .unwrap();
    assert!(
        sink.messages_to(&format!("nobody-{EMAIL}")).is_empty(),
        "no mail to an unknown email"
    );

    let log = server.stderr();
    assert!(log.contains("password reset ticket emailed"), "{log}");
    for (what, value) in [
        ("old password", OLD),
        ("new password", NEW),
        ("ticket", ticket.as_str()),
        ("admin secret", secret),
    ] {
        let lines: Vec<String> = log
            .lines()
            .filter(|l| l.contains(value))
            .map(|l| l.replace(value, "<redacted>"))
            .collect();
        assert!(lines.is_empty(), "the {what} reached the log: {lines:#?}");
    }
    assert!(!log.contains("eyJ"), "a token reached the log");
    server.stop().await;
}
