//! What the browser tests share: Debian's Chromium, pinned npm packages, a
//! running server with a Management API token, and Node.js child processes
//! that are killed (by PID) when their guard drops, also when a test fails.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::common::*;

const CHROMIUM: &str = "/usr/bin/chromium";
pub const PLAYWRIGHT_CORE: &str = "playwright-core@1.65.1";
pub const ADMIN_ID: &str = "browser-admin";
pub const ADMIN_SECRET: &str = "browser-admin-secret-0123456789abcdefghijklmnop";
/// The browser tests run in parallel threads: one installs (apt, npm) at a
/// time, and the others then find what it installed.
static INSTALLING: Mutex<()> = Mutex::new(());

pub const EMAIL: &str = "grace.hopper@example.com";
pub const PASSWORD: &str = "Cobol-Compiler-1959-Harvard";

pub fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

pub fn must(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Debian's Chromium, installed with apt when it is missing (as root).
pub fn chromium() -> PathBuf {
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
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

/// `packages` (each `name@version`, pinned), installed with npm once per
/// target dir and list; the directory holding their `node_modules`.
pub fn node_modules(packages: &[&str]) -> PathBuf {
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    let key: Vec<String> = packages
        .iter()
        .map(|p| p.replace('@', "-").replace('/', "+"))
        .collect();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("node-{}", key.join("-")));
    let version_of = |package: &str| -> Option<String> {
        let text =
            std::fs::read_to_string(dir.join("node_modules").join(package).join("package.json"))
                .ok()?;
        let v: Value = serde_json::from_str(&text).ok()?;
        v["version"].as_str().map(str::to_owned)
    };
    let ready = || {
        packages.iter().all(|spec| {
            // `@scope/name@version`: the version follows the last `@`.
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
        ])
        .args(packages)
        .current_dir(&dir)
        // playwright-core never downloads a browser; say so anyway.
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1"));
    must(
        &format!("npm install {} (needs Node.js and npm)", packages.join(" ")),
        &out,
    );
    assert!(
        ready(),
        "npm installed, but the versions are not the pinned ones"
    );
    dir
}

/// Chromium and the packages, prepared off the async runtime.
pub async fn browser_and_modules(packages: &'static [&'static str]) -> (PathBuf, PathBuf) {
    let browser = tokio::task::spawn_blocking(chromium).await.unwrap();
    let modules = tokio::task::spawn_blocking(move || node_modules(packages))
        .await
        .unwrap();
    (browser, modules)
}

/// A script in `tests/browser/`.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/browser")
        .join(name)
}

pub fn random_value() -> String {
    URL_SAFE_NO_PAD.encode(tessera_core::ids::random_bytes::<16>().unwrap())
}

/// The claims of a JWT, unverified (the tests look at what was issued).
pub fn jwt_claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT has three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// A running `tessera serve` with a bootstrap admin, its Management API token
/// and one database user (`EMAIL`, `PASSWORD`, Grace Hopper).
pub struct Tenant {
    pub server: Server,
    pub admin: String,
    pub user: Value,
}

impl Tenant {
    pub async fn start(sb: &Sandbox) -> Tenant {
        let server = Server::start(
            sb,
            free_port(),
            &[
                ("TESSERA_BOOTSTRAP_CLIENT_ID", ADMIN_ID),
                ("TESSERA_BOOTSTRAP_CLIENT_SECRET", ADMIN_SECRET),
                // browser_upstream's upstream Tessera listens on 127.0.0.1.
                ("TESSERA_UPSTREAM_ALLOW_LOOPBACK_HTTP", "on"),
            ],
        )
        .await;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
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
        Tenant {
            server,
            admin,
            user,
        }
    }

    /// The issuer without its trailing slash, as Auth0's SDKs take a domain.
    pub fn origin(&self) -> String {
        self.server.base().trim_end_matches('/').to_owned()
    }

    /// `POST /api/v2/{path}` as the admin; the 201 answer.
    pub async fn create(&self, path: &str, body: Value) -> Value {
        post_json(
            &reqwest::Client::new(),
            &self.server.url(&format!("api/v2/{path}")),
            &self.admin,
            body,
        )
        .await
    }
}

/// A Node.js process (output to files in the sandbox), killed by PID when it
/// is dropped.
pub struct Node {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

/// How a Node.js script ended.
#[derive(Debug)]
pub struct NodeOutcome {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Node {
    /// Starts `node <script> <args>` with the packages in `modules` and
    /// Chromium at `browser` named in its environment.
    pub fn spawn(
        sb: &Sandbox,
        modules: &Path,
        browser: &Path,
        script_name: &str,
        args: &[String],
        env: &[(&str, String)],
    ) -> Node {
        let (stdout, stderr) = sb.log_files();
        let mut cmd = Command::new("node");
        cmd.arg(script(script_name))
            .args(args)
            .current_dir(sb.work())
            .stdin(Stdio::null())
            .stdout(File::create(&stdout).unwrap())
            .stderr(File::create(&stderr).unwrap())
            .env("TESSERA_NODE_MODULES", modules)
            .env("CHROMIUM_PATH", browser);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("node {script_name} (needs Node.js): {e}"));
        Node {
            child,
            stdout,
            stderr,
        }
    }

    pub fn stdout(&self) -> String {
        read(&self.stdout)
    }

    pub fn stderr(&self) -> String {
        read(&self.stderr)
    }

    /// Waits until the process prints a line starting with `prefix`; panics
    /// with its output if it exits first or `timeout` passes.
    pub async fn wait_for_line(&mut self, prefix: &str, timeout: Duration) {
        let started = Instant::now();
        while !self.stdout().lines().any(|l| l.starts_with(prefix)) {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "node exited ({status}) before printing {prefix:?}:\n{}\n{}",
                    self.stdout(),
                    self.stderr()
                );
            }
            assert!(
                started.elapsed() < timeout,
                "node printed no {prefix:?} within {timeout:?}:\n{}\n{}",
                self.stdout(),
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for the process to end; kills it and panics after `timeout`.
    pub async fn finish(mut self, timeout: Duration) -> NodeOutcome {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > timeout {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "node still running after {timeout:?}, killed:\n{}\n{}",
                    self.stdout(),
                    self.stderr()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        NodeOutcome {
            status,
            stdout: self.stdout(),
            stderr: self.stderr(),
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            // Child::kill sends SIGKILL to this PID only. The scripts start
            // Chromium themselves and close it in their own `finally`; a
            // killed script leaves Playwright's browser to die with its pipe.
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Runs the browser script `script_name` with its JSON `config` (signing in
/// as `EMAIL`) until it ends, at most `timeout`.
pub async fn browse(
    sb: &Sandbox,
    (browser, modules): (&Path, &Path),
    script_name: &str,
    config: &Value,
    timeout: Duration,
) -> NodeOutcome {
    Node::spawn(
        sb,
        modules,
        browser,
        script_name,
        &[config.to_string()],
        &[("LOGIN_PASSWORD", PASSWORD.to_owned())],
    )
    .finish(timeout)
    .await
}

impl NodeOutcome {
    /// The JSON of the script's last `report <JSON>` line.
    pub fn report(&self) -> Option<Value> {
        self.stdout
            .lines()
            .filter_map(|l| l.strip_prefix("report "))
            .next_back()
            .and_then(|l| serde_json::from_str(l).ok())
    }
}
