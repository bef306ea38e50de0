//! Black-box tests of the `tessera` binary: settings errors, first start,
//! restarts, master-key handling, key rotation through the CLI, private keys at
//! rest and graceful shutdown. Every server runs in its own temp directory on
//! its own port and is stopped (SIGTERM, then SIGKILL) when its guard drops.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;
use tessera_core::envelope::MasterKey;
use tessera_core::keys::{SigningAlg, SigningKey};
use tessera_core::store::KeyStore;

const BIN: &str = env!("CARGO_BIN_EXE_tessera");
const KEY_FILE: &str = "tessera.master.key";
const READY_TIMEOUT: Duration = Duration::from_secs(20);
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A temp directory: `work/` is the working directory of every process run in
/// it (so `sqlite://./tessera.db` and the key file land there); the captured
/// output goes beside it, not into it.
struct Sandbox {
    tmp: TempDir,
    seq: AtomicU32,
}

/// What a finished process left.
#[derive(Debug)]
struct Outcome {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Sandbox {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("work")).unwrap();
        Self {
            tmp,
            seq: AtomicU32::new(0),
        }
    }

    fn work(&self) -> PathBuf {
        self.tmp.path().join("work")
    }

    fn key_file(&self) -> PathBuf {
        self.work().join(KEY_FILE)
    }

    fn sqlite_url(&self) -> String {
        format!("sqlite://{}", self.work().join("tessera.db").display())
    }

    fn log_files(&self) -> (PathBuf, PathBuf) {
        let n = self.seq.fetch_add(1, Ordering::SeqCst);
        (
            self.tmp.path().join(format!("out-{n}.txt")),
            self.tmp.path().join(format!("err-{n}.txt")),
        )
    }

    /// The binary with no inherited TESSERA_* setting, quiet logs, `env` on top.
    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args).current_dir(self.work()).stdin(Stdio::null());
        for (name, _) in std::env::vars() {
            if name.starts_with("TESSERA_")
                && name != "TESSERA_TEST_POSTGRES_URL"
                && name != "TESSERA_REQUIRE_POSTGRES"
            {
                cmd.env_remove(name);
            }
        }
        cmd.env_remove("RUST_BACKTRACE");
        cmd.env("TESSERA_LOG", "warn");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs a command that must end on its own within `timeout`.
    async fn run(&self, args: &[&str], env: &[(&str, &str)], timeout: Duration) -> Outcome {
        let (out, err) = self.log_files();
        let mut child = self
            .command(args, env)
            .stdout(File::create(&out).unwrap())
            .stderr(File::create(&err).unwrap())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > timeout {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "tessera {args:?} with {env:?} still running after {timeout:?}; stderr: {}",
                    read(&err)
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        Outcome {
            status,
            stdout: read(&out),
            stderr: read(&err),
        }
    }

    async fn keys(&self, args: &[&str], env: &[(&str, &str)]) -> Outcome {
        let mut all = vec!["keys"];
        all.extend_from_slice(args);
        self.run(&all, env, Duration::from_secs(30)).await
    }

    /// `keys list --json`, which must succeed: (kid, state, published) per key.
    async fn key_list(&self, env: &[(&str, &str)]) -> Vec<(String, String, bool)> {
        let out = self.keys(&["list", "--json"], env).await;
        assert!(out.status.success(), "keys list failed: {out:?}");
        let v: Value = serde_json::from_str(out.stdout.trim())
            .unwrap_or_else(|e| panic!("keys list --json printed no JSON ({e}): {out:?}"));
        v.as_array()
            .expect("keys list --json prints an array")
            .iter()
            .map(|k| {
                (
                    k["kid"].as_str().unwrap().to_owned(),
                    k["state"].as_str().unwrap().to_owned(),
                    k["published"].as_bool().unwrap(),
                )
            })
            .collect()
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// A running `tessera serve`. Dropping it stops the process.
struct Server {
    child: Child,
    port: u16,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Server {
    /// Starts `tessera serve` on `port` and waits until GET /healthz answers 200.
    async fn start(sb: &Sandbox, port: u16, env: &[(&str, &str)]) -> Server {
        let listen = format!("127.0.0.1:{port}");
        let issuer = format!("http://127.0.0.1:{port}/");
        let mut all: Vec<(&str, &str)> =
            vec![("TESSERA_LISTEN", &listen), ("TESSERA_ISSUER", &issuer)];
        all.extend_from_slice(env);
        let (stdout, stderr) = sb.log_files();
        let child = sb
            .command(&["serve"], &all)
            .stdout(File::create(&stdout).unwrap())
            .stderr(File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let mut server = Server {
            child,
            port,
            stdout,
            stderr,
        };
        server.wait_ready().await;
        server
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    fn stdout(&self) -> String {
        read(&self.stdout)
    }

    fn stderr(&self) -> String {
        read(&self.stderr)
    }

    async fn wait_ready(&mut self) {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "tessera serve exited before it was ready ({status}); stderr: {}",
                    self.stderr()
                );
            }
            let answer = client.get(self.url("healthz")).send().await;
            if answer.is_ok_and(|res| res.status() == 200) {
                return;
            }
            assert!(
                started.elapsed() < READY_TIMEOUT,
                "tessera serve not ready within {READY_TIMEOUT:?}; stderr: {}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed");
    }

    async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if started.elapsed() > timeout {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGTERM; the server must exit with code 0 within EXIT_TIMEOUT.
    async fn stop(mut self) {
        self.sigterm();
        let status = self.wait_exit(EXIT_TIMEOUT).await;
        assert!(
            status.is_some(),
            "tessera serve did not exit within {EXIT_TIMEOUT:?} of SIGTERM; stderr: {}",
            self.stderr()
        );
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(0),
            "exit after SIGTERM; stderr: {}",
            self.stderr()
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(5) {
                if !matches!(self.child.try_wait(), Ok(None)) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

async fn get_json(url: &str) -> Value {
    let res = reqwest::get(url)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(res.status(), 200, "GET {url}");
    res.json()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: not JSON: {e}"))
}

/// The JWKS's keys, after checking that each is a public signing JWK.
async fn jwks(server: &Server) -> Vec<Value> {
    let doc = get_json(&server.url(".well-known/jwks.json")).await;
    let keys = doc["keys"]
        .as_array()
        .expect("JWKS has a keys array")
        .clone();
    for key in &keys {
        let obj = key.as_object().expect("JWK is an object");
        for member in ["kid", "kty", "alg"] {
            assert!(
                obj.get(member)
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty()),
                "JWK without {member}: {key}"
            );
        }
        assert_eq!(key["use"], "sig", "{key}");
        for private in PRIVATE_MEMBERS {
            assert!(
                !obj.contains_key(*private),
                "JWKS publishes private member {private}: {key}"
            );
        }
    }
    keys
}

fn kids(keys: &[Value]) -> Vec<String> {
    keys.iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// Polls the JWKS until `want` holds (checked at least once more at the end).
async fn wait_for_jwks(
    server: &Server,
    timeout: Duration,
    what: &str,
    want: impl Fn(&BTreeSet<String>) -> bool,
) -> BTreeSet<String> {
    let started = Instant::now();
    loop {
        let now: BTreeSet<String> = kids(&jwks(server).await).into_iter().collect();
        if want(&now) {
            return now;
        }
        assert!(
            started.elapsed() < timeout,
            "the running server's JWKS did not show {what} within {timeout:?}: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Exit code 2 and exactly one non-empty stderr line that contains `needle`,
/// without any panic or backtrace.
fn assert_setting_failure(case: &str, out: &Outcome, needle: &str) {
    assert_eq!(out.status.code(), Some(2), "{case}: {out:?}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{case}: want one stderr line: {out:?}");
    assert!(!lines[0].trim().is_empty(), "{case}: empty line: {out:?}");
    assert!(
        lines[0].contains(needle),
        "{case}: the line does not name {needle}: {out:?}"
    );
    for bad in ["panicked", "backtrace", "RUST_BACKTRACE", "stack backtrace"] {
        assert!(
            !out.stderr.contains(bad),
            "{case}: {bad} on stderr: {out:?}"
        );
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && needle.len() <= haystack.len()
        && haystack.windows(needle.len()).any(|w| w == needle)
}

fn base64(bytes: &[u8], url_safe_no_pad: bool) -> String {
    let alphabet: &[u8; 64] = if url_safe_no_pad {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(alphabet[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
        if !url_safe_no_pad {
            for _ in chunk.len()..3 {
                out.push('=');
            }
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Decodes standard base64 (as the key file holds it).
fn unbase64(text: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut nbits = 0;
    let mut out = Vec::new();
    for c in text.trim().bytes().filter(|&c| c != b'=') {
        let v = alphabet.iter().position(|&a| a == c).expect("base64") as u32;
        bits = (bits << 6) | v;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
        }
    }
    out
}

/// The database file plus its WAL and shared-memory files, as raw bytes.
fn raw_sqlite_bytes(sb: &Sandbox) -> Vec<u8> {
    let mut raw = Vec::new();
    for name in ["tessera.db", "tessera.db-wal", "tessera.db-shm"] {
        if let Ok(bytes) = std::fs::read(sb.work().join(name)) {
            raw.extend_from_slice(&bytes);
            raw.extend_from_slice(b"\n--file boundary--\n");
        }
    }
    assert!(raw.len() > 4096, "no database file was written");
    raw
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The scan below is only as good as these encoders.
#[test]
fn scan_helpers_encode_correctly() {
    assert_eq!(base64(b"foob", false), "Zm9vYg==");
    assert_eq!(base64(b"fooba", false), "Zm9vYmE=");
    assert_eq!(base64(b"foobar", false), "Zm9vYmFy");
    assert_eq!(base64(&[0xfb, 0xff], true), "-_8");
    assert_eq!(base64(&[0xfb, 0xff], false), "+/8=");
    assert_eq!(unbase64("Zm9vYmE=\n"), b"fooba");
    assert_eq!(hex(&[0x00, 0xab]), "00ab");
    assert!(contains(b"xxabcxx", b"abc") && !contains(b"xxabxcx", b"abc"));
}

// ---------------------------------------------------------------------------
// 1. Command line
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn help_version_and_unknown_subcommand() {
    let sb = Sandbox::new();
    let t = Duration::from_secs(30);

    let help = sb.run(&["--help"], &[], t).await;
    assert!(help.status.success(), "{help:?}");
    let commands: Vec<&str> = help
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(commands.contains(&"serve"), "{help:?}");
    assert!(commands.contains(&"keys"), "{help:?}");

    let keys_help = sb.run(&["keys", "--help"], &[], t).await;
    assert!(keys_help.status.success(), "{keys_help:?}");
    for sub in ["list", "rotate", "revoke"] {
        assert!(keys_help.stdout.contains(sub), "{keys_help:?}");
    }

    let version = sb.run(&["--version"], &[], t).await;
    assert!(version.status.success(), "{version:?}");
    assert_eq!(
        version.stdout.trim(),
        format!("tessera {}", env!("CARGO_PKG_VERSION"))
    );

    let unknown = sb.run(&["frobnicate"], &[], t).await;
    assert_eq!(unknown.status.code(), Some(2), "{unknown:?}");
    assert!(unknown.stdout.is_empty(), "{unknown:?}");
    assert!(unknown.stderr.contains("frobnicate"), "{unknown:?}");

    let nothing = sb.run(&[], &[], t).await;
    assert_eq!(nothing.status.code(), Some(2), "{nothing:?}");

    // None of that touched the working directory.
    assert_eq!(std::fs::read_dir(sb.work()).unwrap().count(), 0);
}

// ---------------------------------------------------------------------------
// 2. Bad settings
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn each_bad_setting_exits_2_with_one_line_naming_it() {
    // A parent that is a regular file: the database cannot be created under it.
    let holder = Sandbox::new();
    let afile = holder.work().join("afile");
    std::fs::write(&afile, b"not a directory").unwrap();
    let under_file = format!("sqlite://{}", afile.join("x.db").display());

    let env_cases: Vec<(&str, &str, &str)> = vec![
        ("TESSERA_SIGNING_ALG", "HS256", "TESSERA_SIGNING_ALG"),
        ("TESSERA_ISSUER", "not-a-url", "TESSERA_ISSUER"),
        ("TESSERA_ISSUER", "http://id.example.com/", "TESSERA_ISSUER"),
        (
            "TESSERA_DATABASE_URL",
            "postgres://tessera@127.0.0.1:1/nope",
            "TESSERA_DATABASE_URL",
        ),
        (
            "TESSERA_DATABASE_URL",
            "sqlite:///proc/forbidden/x.db",
            "TESSERA_DATABASE_URL",
        ),
        (
            "TESSERA_DATABASE_URL",
            under_file.as_str(),
            "TESSERA_DATABASE_URL",
        ),
        ("TESSERA_MASTER_KEY", "not-base64!!", "TESSERA_MASTER_KEY"),
    ];
    for (name, value, needle) in env_cases {
        let sb = Sandbox::new();
        let port = free_port().to_string();
        let listen = format!("127.0.0.1:{port}");
        let mut env = vec![("TESSERA_LISTEN", listen.as_str()), (name, value)];
        if name != "TESSERA_ISSUER" {
            env.push(("TESSERA_ISSUER", "http://127.0.0.1:9/"));
        }
        let out = sb.run(&["serve"], &env, Duration::from_secs(30)).await;
        let case = format!("{name}={value}");
        assert_setting_failure(&case, &out, needle);
        if name == "TESSERA_MASTER_KEY" {
            assert!(
                !out.stderr.contains(value) && !out.stderr.contains("not-base64"),
                "{case}: the secret value is echoed: {out:?}"
            );
        }
        // Rejected before anything was created.
        if name != "TESSERA_DATABASE_URL" {
            assert!(
                !sb.work().join("tessera.db").exists() && !sb.key_file().exists(),
                "{case}: files created despite the bad setting"
            );
        }
    }
    assert_eq!(std::fs::read(&afile).unwrap(), b"not a directory");

    // The TOML file: malformed, then an unknown key.
    let toml_cases: &[(&str, &str)] = &[
        ("issuer = \"https://unterminated\nlisten = ", "--config"),
        ("isuer = \"https://typo.example/\"\n", "isuer"),
    ];
    for (text, needle) in toml_cases {
        let sb = Sandbox::new();
        let file = sb.tmp.path().join("tessera.toml");
        std::fs::write(&file, text).unwrap();
        let path = file.to_string_lossy().to_string();
        let listen = format!("127.0.0.1:{}", free_port());
        let out = sb
            .run(
                &["--config", &path, "serve"],
                &[("TESSERA_LISTEN", &listen)],
                Duration::from_secs(30),
            )
            .await;
        assert_setting_failure(&format!("config {text:?}"), &out, needle);
    }
}

// ---------------------------------------------------------------------------
// 3. First start and restart on SQLite
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn first_start_creates_keys_and_prints_the_admin_secret_once() {
    let sb = Sandbox::new();
    let port = free_port();
    let server = Server::start(&sb, port, &[]).await;

    // The generated admin application, on stdout, once.
    let stdout = server.stdout();
    let field = |name: &str| -> Vec<String> {
        stdout
            .lines()
            .filter_map(|l| l.trim().strip_prefix(name))
            .map(|v| v.trim().to_owned())
            .collect()
    };
    let ids = field("client_id:");
    let secrets = field("client_secret:");
    assert_eq!(ids.len(), 1, "client_id once on stdout: {stdout:?}");
    assert_eq!(secrets.len(), 1, "client_secret once on stdout: {stdout:?}");
    let (client_id, secret) = (ids[0].clone(), secrets[0].clone());
    assert!(!client_id.is_empty(), "{stdout:?}");
    assert!(secret.len() >= 32, "a short generated secret: {stdout:?}");
    assert_eq!(stdout.matches(secret.as_str()).count(), 1, "{stdout:?}");
    assert!(!server.stderr().contains(&secret), "secret in the logs");

    // The master key file, owner-only; the database too.
    assert!(sb.key_file().exists(), "no {KEY_FILE} in the working dir");
    #[cfg(unix)]
    {
        assert_eq!(mode(&sb.key_file()), 0o600, "{KEY_FILE} mode");
        assert_eq!(
            mode(&sb.work().join("tessera.db")),
            0o600,
            "tessera.db mode"
        );
    }

    // Discovery and JWKS.
    let issuer = format!("http://127.0.0.1:{port}/");
    let discovery = get_json(&server.url(".well-known/openid-configuration")).await;
    assert_eq!(discovery["issuer"], issuer.as_str());
    let jwks_uri = discovery["jwks_uri"].as_str().expect("jwks_uri").to_owned();
    assert!(jwks_uri.starts_with(&issuer), "{jwks_uri}");
    let doc = get_json(&jwks_uri).await;
    let keys = jwks(&server).await;
    assert_eq!(doc["keys"].as_array().unwrap().len(), keys.len());
    assert_eq!(keys.len(), 2, "current + next: {keys:?}");
    for key in &keys {
        assert_eq!(key["kty"], "RSA", "{key}");
        assert_eq!(key["alg"], "RS256", "{key}");
    }
    let first: Vec<String> = kids(&keys);
    assert_ne!(first[0], first[1]);

    // Restart in the same directory.
    server.stop().await;
    let raw = raw_sqlite_bytes(&sb);
    assert!(
        !contains(&raw, secret.as_bytes()),
        "the admin client secret is stored in clear"
    );
    let server = Server::start(&sb, port, &[]).await;
    let again = kids(&jwks(&server).await);
    assert_eq!(
        first.iter().collect::<BTreeSet<_>>(),
        again.iter().collect::<BTreeSet<_>>(),
        "the kids changed across a restart"
    );
    let stdout2 = server.stdout();
    assert!(
        !stdout2.contains("client_secret") && !stdout2.contains(&secret),
        "the second start printed a secret: {stdout2:?}"
    );
    assert!(!server.stderr().contains(&secret));

    // `keys list` sees the same keys: the first one is current, the other next.
    let listed = sb.key_list(&[]).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let state_of = |kid: &str| {
        listed
            .iter()
            .find(|(k, _, _)| k == kid)
            .map(|(_, s, p)| (s.clone(), *p))
    };
    assert_eq!(
        state_of(&first[0]),
        Some(("current".into(), true)),
        "{listed:?}"
    );
    assert_eq!(
        state_of(&first[1]),
        Some(("next".into(), true)),
        "{listed:?}"
    );
    server.stop().await;
}

// ---------------------------------------------------------------------------
// 4. The master key
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn another_or_missing_master_key_is_refused_and_nothing_is_replaced() {
    let sb = Sandbox::new();
    let port = free_port();
    let server = Server::start(&sb, port, &[]).await;
    let original: BTreeSet<String> = kids(&jwks(&server).await).into_iter().collect();
    server.stop().await;
    let key_text = std::fs::read_to_string(sb.key_file()).unwrap();

    // A valid key, but not this database's.
    let (_, other) = MasterKey::generate().unwrap();
    let other: String = other.to_string();
    let listen = format!("127.0.0.1:{port}");
    let issuer = format!("http://127.0.0.1:{port}/");
    let base_env = [
        ("TESSERA_LISTEN", listen.as_str()),
        ("TESSERA_ISSUER", issuer.as_str()),
    ];
    let mut env = base_env.to_vec();
    env.push(("TESSERA_MASTER_KEY", &other));
    let out = sb.run(&["serve"], &env, Duration::from_secs(30)).await;
    assert_setting_failure("another master key", &out, "TESSERA_MASTER_KEY");
    assert!(out.stderr.contains("master key"), "{out:?}");
    assert!(!out.stderr.contains(&other), "the key is echoed: {out:?}");
    assert!(!out.stderr.contains(key_text.trim()), "the key is echoed");
    // `keys list` refuses it the same way.
    let out = sb
        .keys(&["list", "--json"], &[("TESSERA_MASTER_KEY", &other)])
        .await;
    assert_setting_failure("keys list, another master key", &out, "TESSERA_MASTER_KEY");

    // Nothing was replaced: the original key file still opens the original keys.
    assert_eq!(std::fs::read_to_string(sb.key_file()).unwrap(), key_text);
    let listed: BTreeSet<String> = sb.key_list(&[]).await.into_iter().map(|k| k.0).collect();
    assert_eq!(listed, original);

    // The key file is gone: refused, naming the file, and no new one is made.
    std::fs::remove_file(sb.key_file()).unwrap();
    let out = sb.run(&["serve"], &base_env, Duration::from_secs(30)).await;
    assert_setting_failure("missing key file", &out, KEY_FILE);
    assert!(out.stderr.contains("master key"), "{out:?}");
    assert!(
        !sb.key_file().exists(),
        "a new master key file was created over an initialised database"
    );
    let out = sb.keys(&["list"], &[]).await;
    assert_setting_failure("keys list, missing key file", &out, KEY_FILE);
    assert!(!sb.key_file().exists());

    // Restored, everything is as it was.
    std::fs::write(sb.key_file(), &key_text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(sb.key_file(), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let server = Server::start(&sb, port, &[]).await;
    let after: BTreeSet<String> = kids(&jwks(&server).await).into_iter().collect();
    assert_eq!(after, original);
    server.stop().await;
}

// ---------------------------------------------------------------------------
// 5. PostgreSQL
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn restart_keeps_the_keys_on_postgres() {
    let Some(url) = tessera_store::testing::fresh_postgres_database().await else {
        return;
    };
    let sb = Sandbox::new();
    let port = free_port();
    let env = [("TESSERA_DATABASE_URL", url.as_str())];
    let server = Server::start(&sb, port, &env).await;
    let issuer = format!("http://127.0.0.1:{port}/");
    let discovery = get_json(&server.url(".well-known/openid-configuration")).await;
    assert_eq!(discovery["issuer"], issuer.as_str());
    let first = kids(&jwks(&server).await);
    assert_eq!(first.len(), 2, "current + next: {first:?}");
    assert!(
        server.stdout().contains("client_secret"),
        "first start on an empty PostgreSQL database generates the admin client"
    );
    server.stop().await;
    assert!(
        sb.key_file().exists(),
        "the key file goes to the working dir"
    );
    assert!(
        !sb.work().join("tessera.db").exists(),
        "a SQLite file appeared"
    );
    #[cfg(unix)]
    assert_eq!(mode(&sb.key_file()), 0o600);

    let server = Server::start(&sb, port, &env).await;
    let again = kids(&jwks(&server).await);
    assert_eq!(
        first.iter().collect::<BTreeSet<_>>(),
        again.iter().collect::<BTreeSet<_>>()
    );
    assert!(!server.stdout().contains("client_secret"));
    let listed = sb.key_list(&env).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(
        listed.contains(&(first[0].clone(), "current".into(), true)),
        "{listed:?}"
    );
    assert!(
        listed.contains(&(first[1].clone(), "next".into(), true)),
        "{listed:?}"
    );
    server.stop().await;
}

// ---------------------------------------------------------------------------
// 6. Private keys at rest
// ---------------------------------------------------------------------------

async fn private_keys_are_sealed_at_rest(alg: &str) {
    let sb = Sandbox::new();
    let server = Server::start(&sb, free_port(), &[("TESSERA_SIGNING_ALG", alg)]).await;
    let published = jwks(&server).await;
    assert_eq!(published.len(), 2);
    for key in &published {
        assert_eq!(key["alg"], alg, "{key}");
    }
    server.stop().await;

    // Copy the bytes while nothing has the database open.
    let raw = raw_sqlite_bytes(&sb);
    let key_text = std::fs::read_to_string(sb.key_file()).unwrap();
    let master = MasterKey::parse(&key_text).unwrap();

    let store = tessera_store::SqlStore::open(&sb.sqlite_url())
        .await
        .unwrap();
    let records = store.list_signing_keys().await.unwrap();
    store.close().await;
    assert_eq!(records.len(), 2, "{records:?}");
    let signing_alg: SigningAlg = alg.parse().unwrap();

    for record in &records {
        let kid = &record.kid;
        let der = master
            .open(&format!("signing_key:{kid}"), &record.sealed_private_key)
            .unwrap_or_else(|e| panic!("{alg} {kid}: cannot open the sealed key: {e}"));
        // It really is this key's private half.
        let parsed = SigningKey::from_pkcs8(signing_alg, &der).unwrap();
        assert_eq!(parsed.kid(), kid.as_str());

        let mut needles: Vec<(String, Vec<u8>)> = vec![
            ("the PKCS#8 DER".into(), der.to_vec()),
            ("base64 DER".into(), base64(&der, false).into_bytes()),
            ("base64url DER".into(), base64(&der, true).into_bytes()),
            ("hex DER".into(), hex(&der).into_bytes()),
            ("HEX DER".into(), hex(&der).to_uppercase().into_bytes()),
            ("PEM label".into(), b"PRIVATE KEY".to_vec()),
        ];
        // Windows over the private part (for the short EC/Ed25519 encodings the
        // scalar or seed starts at offset 16 or 36; RSA's private members follow
        // the modulus well after offset 40).
        let mut offset = 16;
        while offset + 24 <= der.len() {
            needles.push((
                format!("DER bytes {offset}..{}", offset + 24),
                der[offset..offset + 24].to_vec(),
            ));
            offset += 24;
        }
        for (what, needle) in &needles {
            assert!(
                !contains(&raw, needle),
                "{alg} {kid}: {what} is in the database files in clear"
            );
        }
        // Control: the scan does find what is stored in clear (the public JWK).
        let jwk = published
            .iter()
            .find(|k| k["kid"] == kid.as_str())
            .unwrap_or_else(|| panic!("{kid} not in the JWKS"));
        let public = jwk["n"].as_str().or(jwk["x"].as_str()).expect("n or x");
        assert!(
            contains(&raw, public.as_bytes()),
            "control: the public key of {kid} was not found in the database bytes"
        );
    }

    // The master key itself is not in the database either.
    let master_raw = unbase64(&key_text);
    assert_eq!(master_raw.len(), 32);
    assert!(
        !contains(&raw, &master_raw),
        "raw master key in the database"
    );
    assert!(
        !contains(&raw, key_text.trim().as_bytes()),
        "encoded master key in the database"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rs256_private_keys_are_sealed_at_rest() {
    private_keys_are_sealed_at_rest("RS256").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn es256_private_keys_are_sealed_at_rest() {
    private_keys_are_sealed_at_rest("ES256").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn eddsa_private_keys_are_sealed_at_rest() {
    private_keys_are_sealed_at_rest("EdDSA").await;
}

// ---------------------------------------------------------------------------
// 7. Rotation and revocation through the CLI, seen by a running server
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn cli_rotation_and_revocation_reach_the_running_server() {
    let sb = Sandbox::new();
    let fast = [
        ("TESSERA_JWKS_MAX_AGE", "0"),
        ("TESSERA_KEY_RELOAD_INTERVAL", "1"),
    ];
    let server = Server::start(&sb, free_port(), &fast).await;
    let before = sb.key_list(&[]).await;
    let find = |list: &[(String, String, bool)], state: &str| -> String {
        let found: Vec<&String> = list
            .iter()
            .filter(|(_, s, _)| s == state)
            .map(|(k, _, _)| k)
            .collect();
        assert_eq!(found.len(), 1, "one {state} key: {list:?}");
        found[0].clone()
    };
    let old_current = find(&before, "current");
    let old_next = find(&before, "next");

    // With the default policy the next key is too new to sign.
    let refused = sb.keys(&["rotate"], &[]).await;
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(
        refused.stderr.contains(&old_next) || refused.stderr.contains("published"),
        "{refused:?}"
    );
    assert_eq!(
        sb.key_list(&[]).await,
        before,
        "a refused rotation changed keys"
    );

    // With a zero JWKS max-age and a 1 s reload interval it may after 1 s.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let rotated = sb.keys(&["rotate", "--json"], &fast).await;
    assert!(rotated.status.success(), "{rotated:?}");
    let promoted: Value = serde_json::from_str(rotated.stdout.trim()).unwrap();
    assert_eq!(promoted["kid"], old_next.as_str(), "{rotated:?}");
    assert_eq!(promoted["state"], "current", "{rotated:?}");

    let after = sb.key_list(&fast).await;
    assert_eq!(after.len(), 3, "{after:?}");
    assert_eq!(find(&after, "current"), old_next);
    assert_eq!(find(&after, "previous"), old_current);
    let new_next = find(&after, "next");
    assert!(new_next != old_current && new_next != old_next);
    assert!(
        after.iter().all(|(_, _, published)| *published),
        "{after:?}"
    );

    let want: BTreeSet<String> = [&old_current, &old_next, &new_next]
        .into_iter()
        .cloned()
        .collect();
    wait_for_jwks(&server, Duration::from_secs(3), "the rotated set", |k| {
        *k == want
    })
    .await;

    // Revoking the previous key takes it out of the JWKS.
    let revoked = sb.keys(&["revoke", &old_current, "--json"], &fast).await;
    assert!(revoked.status.success(), "{revoked:?}");
    let record: Value = serde_json::from_str(revoked.stdout.trim()).unwrap();
    assert_eq!(record["state"], "revoked", "{revoked:?}");
    let want: BTreeSet<String> = [&old_next, &new_next].into_iter().cloned().collect();
    wait_for_jwks(&server, Duration::from_secs(3), "the revocation", |k| {
        *k == want
    })
    .await;

    // The current key cannot be revoked.
    let refused = sb.keys(&["revoke", &old_next], &fast).await;
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(refused.stderr.contains(&old_next), "{refused:?}");
    // An unknown kid neither.
    let unknown = sb.keys(&["revoke", "no-such-kid"], &fast).await;
    assert_eq!(unknown.status.code(), Some(1), "{unknown:?}");

    let last = sb.key_list(&fast).await;
    assert_eq!(find(&last, "current"), old_next);
    assert_eq!(find(&last, "revoked"), old_current);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let now: BTreeSet<String> = kids(&jwks(&server).await).into_iter().collect();
    assert_eq!(now, want, "the refused revocation changed the JWKS");
    server.stop().await;
}

// ---------------------------------------------------------------------------
// 8. Graceful shutdown
// ---------------------------------------------------------------------------

#[derive(Debug)]
enum Reply {
    Complete { started: Instant },
    Status { status: u16 },
    Truncated { error: String },
    NoConnection { ended: Instant, error: String },
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_requests_and_exits_0() {
    let sb = Sandbox::new();
    let mut server = Server::start(&sb, free_port(), &[]).await;
    let url = server.url(".well-known/jwks.json");
    let stop = Arc::new(AtomicBool::new(false));

    let mut workers = Vec::new();
    for i in 0..4 {
        // Half keep connections alive, half open one per request.
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(10));
        if i % 2 == 1 {
            builder = builder.pool_max_idle_per_host(0);
        }
        let client = builder.build().unwrap();
        let url = url.clone();
        let stop = stop.clone();
        workers.push(tokio::spawn(async move {
            let mut results = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let started = Instant::now();
                let result = match client.get(&url).send().await {
                    Err(e) => Reply::NoConnection {
                        ended: Instant::now(),
                        error: format!("{e:?}"),
                    },
                    Ok(res) if res.status() != 200 => Reply::Status {
                        status: res.status().as_u16(),
                    },
                    Ok(res) => match res.bytes().await {
                        Err(e) => Reply::Truncated {
                            error: format!("{e:?}"),
                        },
                        Ok(body) => match serde_json::from_slice::<Value>(&body) {
                            Ok(v) if v["keys"].as_array().is_some_and(|k| k.len() == 2) => {
                                Reply::Complete { started }
                            }
                            _ => Reply::Truncated {
                                error: format!("bad body: {}", String::from_utf8_lossy(&body)),
                            },
                        },
                    },
                };
                let failed = matches!(result, Reply::NoConnection { .. });
                results.push(result);
                if failed {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            results
        }));
    }

    tokio::time::sleep(Duration::from_millis(700)).await;
    let signalled = Instant::now();
    server.sigterm();
    let status = server.wait_exit(EXIT_TIMEOUT).await;
    let exited = Instant::now();
    // Keep sending a little after the exit.
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    let mut results = Vec::new();
    for w in workers {
        results.extend(w.await.unwrap());
    }

    assert!(
        status.is_some(),
        "no exit within {EXIT_TIMEOUT:?} of SIGTERM; stderr: {}",
        server.stderr()
    );
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "stderr: {}",
        server.stderr()
    );
    assert!(
        exited - signalled < Duration::from_secs(5),
        "took {:?} to stop",
        exited - signalled
    );

    let before = results
        .iter()
        .filter(|r| matches!(r, Reply::Complete { started } if *started < signalled))
        .count();
    assert!(before >= 20, "too few requests before the signal: {before}");
    let refused_after = results
        .iter()
        .filter(|r| matches!(r, Reply::NoConnection { ended, .. } if *ended > exited))
        .count();
    assert!(refused_after > 0, "no request was sent after the exit");
    for r in &results {
        match r {
            Reply::Complete { .. } => {}
            Reply::NoConnection { ended, error } => assert!(
                *ended > signalled,
                "a request failed before the stop was asked: {error}"
            ),
            Reply::Status { status } => panic!("HTTP {status} around shutdown"),
            Reply::Truncated { error } => panic!("an incomplete response around shutdown: {error}"),
        }
    }
}

// ---------------------------------------------------------------------------
// 9. A given admin client
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn given_bootstrap_client_prints_no_secret() {
    let sb = Sandbox::new();
    let secret = "given-bootstrap-secret-0123456789-abcdefghij";
    let env = [
        ("TESSERA_BOOTSTRAP_CLIENT_ID", "ops-admin"),
        ("TESSERA_BOOTSTRAP_CLIENT_SECRET", secret),
    ];

    // Too short a secret is a setting error that does not echo it.
    let short = "short-secret";
    let listen = format!("127.0.0.1:{}", free_port());
    let out = sb
        .run(
            &["serve"],
            &[
                ("TESSERA_LISTEN", &listen),
                ("TESSERA_BOOTSTRAP_CLIENT_ID", "ops-admin"),
                ("TESSERA_BOOTSTRAP_CLIENT_SECRET", short),
            ],
            Duration::from_secs(30),
        )
        .await;
    assert_setting_failure("short secret", &out, "TESSERA_BOOTSTRAP_CLIENT_SECRET");
    assert!(!out.stderr.contains(short), "{out:?}");

    let port = free_port();
    let server = Server::start(&sb, port, &env).await;
    let stdout = server.stdout();
    assert!(
        !stdout.contains("client_secret") && !stdout.contains(secret),
        "a secret was printed although one was given: {stdout:?}"
    );
    assert!(!server.stderr().contains(secret));
    assert_eq!(jwks(&server).await.len(), 2);
    server.stop().await;
    let raw = raw_sqlite_bytes(&sb);
    assert!(
        !contains(&raw, secret.as_bytes()),
        "the given client secret is stored in clear"
    );

    let server = Server::start(&sb, port, &env).await;
    assert!(!server.stdout().contains("client_secret"));
    server.stop().await;
}

/// Operator commands never create an installation, and a start that cannot
/// listen creates nothing (so the one-time admin secret is never shown in vain).
#[tokio::test(flavor = "multi_thread")]
async fn commands_that_fail_create_nothing() {
    let sb = Sandbox::new();
    for args in [&["list"][..], &["rotate"][..], &["revoke", "some-kid"][..]] {
        let out = sb.keys(args, &[]).await;
        assert_eq!(out.status.code(), Some(2), "keys {args:?}: {out:?}");
        assert!(out.stderr.contains("TESSERA_DATABASE_URL"), "{out:?}");
    }
    let occupied = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = occupied.local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let issuer = format!("http://127.0.0.1:{port}/");
    let out = sb
        .run(
            &["serve"],
            &[("TESSERA_LISTEN", &listen), ("TESSERA_ISSUER", &issuer)],
            EXIT_TIMEOUT,
        )
        .await;
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stderr.contains("TESSERA_LISTEN"), "{out:?}");
    assert!(!out.stdout.contains("client_secret"), "{out:?}");
    let left: Vec<_> = std::fs::read_dir(sb.work())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "nothing may be created: {left:?}");
}
