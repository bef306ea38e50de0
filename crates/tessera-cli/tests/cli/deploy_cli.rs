//! Interop (issue 13): auth0-deploy-cli (npm, pinned) against `tessera serve`
//! over HTTPS on loopback (a generated certificate trusted through
//! `NODE_EXTRA_CA_CERTS`), limited with `AUTH0_INCLUDED_ONLY` to what Tessera
//! serves. `export` writes a YAML directory; `tests/interop/deploy_cli_edit.js`
//! adds a client, an API with scopes, a client grant, a connection's enabled
//! client and a tenant setting; `import` applies them; a second `export` shows
//! them; importing that unchanged export again changes nothing.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::browser_kit::{must, node_modules, run};
use crate::common::*;
use crate::tls::{ADMIN_ID, ADMIN_SECRET, Pair, https_client, start};

const DEPLOY_CLI: &str = "auth0-deploy-cli@8.44.0";
const INCLUDED: &[&str] = &[
    "tenant",
    "clients",
    "resourceServers",
    "clientGrants",
    "databases",
];

fn a0deploy(modules: &Path, ca: &Path, config: &Path, args: &[&str]) -> std::process::Output {
    run(Command::new("node")
        .arg(modules.join("node_modules/auth0-deploy-cli/lib/index.js"))
        .args(args)
        .arg("--config_file")
        .arg(config)
        .env("NODE_EXTRA_CA_CERTS", ca)
        .env("NODE_OPTIONS", "--dns-result-order=ipv4first"))
}

/// What the Management API shows of everything deploy-cli manages here.
async fn snapshot(http: &reqwest::Client, server: &Server, token: &str) -> Value {
    let mut out = serde_json::Map::new();
    for path in [
        "clients",
        "resource-servers",
        "client-grants",
        "connections",
        "tenants/settings",
    ] {
        let res = http
            .get(server.url(&format!("api/v2/{path}")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        out.insert(path.into(), res.json().await.unwrap());
    }
    Value::Object(out)
}

fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn auth0_deploy_cli_exports_imports_and_reimports_idempotently() {
    let modules = tokio::task::spawn_blocking(|| node_modules(&[DEPLOY_CLI]))
        .await
        .unwrap();
    let sb = Sandbox::new();
    let pair = Pair::new("deploy-cli");
    let server = start(&sb, &pair, &[]).await;
    let port = server.port();
    let http = https_client(port, &[&pair]).build().unwrap();
    let admin = management_token(&http, &server, ADMIN_ID, ADMIN_SECRET).await;
    let ca = sb.tmp.path().join("ca.pem");
    std::fs::write(&ca, &pair.ca_pem).unwrap();
    let config = sb.tmp.path().join("config.json");
    std::fs::write(
        &config,
        json!({
            "AUTH0_DOMAIN": format!("localhost:{port}"),
            "AUTH0_CLIENT_ID": ADMIN_ID,
            "AUTH0_CLIENT_SECRET": ADMIN_SECRET,
            "AUTH0_INCLUDED_ONLY": INCLUDED,
            "AUTH0_ALLOW_DELETE": false,
        })
        .to_string(),
    )
    .unwrap();
    let first = sb.tmp.path().join("first");
    let second = sb.tmp.path().join("second");
    let step = |args: Vec<String>, what: &'static str| {
        let (modules, ca, config) = (modules.clone(), ca.clone(), config.clone());
        async move {
            let out = tokio::task::spawn_blocking(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                a0deploy(&modules, &ca, &config, &args)
            })
            .await
            .unwrap();
            must(what, &out);
        }
    };
    let export = |dir: &Path| {
        vec![
            "export".to_owned(),
            "--format".into(),
            "yaml".into(),
            "--output_folder".into(),
            dir.display().to_string(),
        ]
    };
    let import = |dir: &Path| {
        vec![
            "import".to_owned(),
            "--input_file".into(),
            dir.join("tenant.yaml").display().to_string(),
        ]
    };
    step(export(&first), "a0deploy export").await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/deploy_cli_edit.js");
    let (m, dir) = (modules.clone(), first.clone());
    let out = tokio::task::spawn_blocking(move || {
        run(Command::new("node")
            .arg(script)
            .arg(dir)
            .env("TESSERA_NODE_MODULES", m))
    })
    .await
    .unwrap();
    must("node tests/interop/deploy_cli_edit.js", &out);
    step(import(&first), "a0deploy import (edited)").await;

    // The changes, through the Management API.
    let after = snapshot(&http, &server, &admin).await;
    let spa = named(&after["clients"], "Deployed SPA");
    assert_eq!(spa["app_type"], "spa", "{spa}");
    let m2m = named(&after["clients"], "Deployed M2M");
    let api = named(&after["resource-servers"], "Orders API");
    assert_eq!(api["scopes"][0]["value"], "read:orders", "{api}");
    assert!(
        after["client-grants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["client_id"] == m2m["client_id"]
                && g["audience"] == "https://orders.example/"),
        "{}",
        after["client-grants"]
    );
    let db = named(&after["connections"], "Username-Password-Authentication");
    assert!(
        db["enabled_clients"]
            .as_array()
            .unwrap()
            .contains(&spa["client_id"]),
        "{db}"
    );
    assert_eq!(
        after["tenants/settings"]["friendly_name"],
        "Deployed Tenant"
    );

    // A second export shows them; importing it unchanged changes nothing.
    step(export(&second), "a0deploy export (second)").await;
    let exported = std::fs::read_to_string(second.join("tenant.yaml")).unwrap();
    for shown in [
        "Deployed SPA",
        "Deployed M2M",
        "Orders API",
        "read:orders",
        "Deployed Tenant",
    ] {
        assert!(exported.contains(shown), "{shown}: {exported}");
    }
    step(import(&second), "a0deploy import (unchanged)").await;
    let again = snapshot(&http, &server, &admin).await;
    assert_eq!(
        again, after,
        "a re-import of the unchanged export changed the tenant"
    );
    server.stop().await;
}
