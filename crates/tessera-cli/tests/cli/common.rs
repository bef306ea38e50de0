//! The harness: sandboxes, running servers, scanners.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_tessera");
pub const KEY_FILE: &str = "tessera.master.key";
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(10);
pub const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A temp directory: `work/` is the working directory of every process run in
/// it (so `sqlite://./tessera.db` and the key file land there); the captured
/// output goes beside it, not into it.
pub struct Sandbox {
    pub tmp: TempDir,
    pub seq: AtomicU32,
}

/// What a finished process left.
#[derive(Debug)]
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Sandbox {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("work")).unwrap();
        Self {
            tmp,
            seq: AtomicU32::new(0),
        }
    }

    pub fn work(&self) -> PathBuf {
        self.tmp.path().join("work")
    }

    pub fn key_file(&self) -> PathBuf {
        self.work().join(KEY_FILE)
    }

    pub fn sqlite_url(&self) -> String {
        format!("sqlite://{}", self.work().join("tessera.db").display())
    }

    pub fn log_files(&self) -> (PathBuf, PathBuf) {
        let n = self.seq.fetch_add(1, Ordering::SeqCst);
        (
            self.tmp.path().join(format!("out-{n}.txt")),
            self.tmp.path().join(format!("err-{n}.txt")),
        )
    }

    /// The binary with no inherited TESSERA_* setting, quiet logs, `env` on top.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
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
    pub async fn run(&self, args: &[&str], env: &[(&str, &str)], timeout: Duration) -> Outcome {
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

    pub async fn keys(&self, args: &[&str], env: &[(&str, &str)]) -> Outcome {
        let mut all = vec!["keys"];
        all.extend_from_slice(args);
        self.run(&all, env, Duration::from_secs(30)).await
    }

    /// `keys list --json`, which must succeed: (kid, state, published) per key.
    pub async fn key_list(&self, env: &[(&str, &str)]) -> Vec<(String, String, bool)> {
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

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// A running `tessera serve`. Dropping it stops the process.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
    /// The issuer: `http://127.0.0.1:{port}/`, or https for a TLS server.
    pub base: String,
    /// What the readiness check asks with (one that trusts a TLS server).
    pub ready_client: reqwest::Client,
}

impl Server {
    /// Starts `tessera serve` on `port` and waits until GET /healthz answers 200.
    pub async fn start(sb: &Sandbox, port: u16, env: &[(&str, &str)]) -> Server {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let issuer = format!("http://127.0.0.1:{port}/");
        Self::start_as(sb, port, &issuer, client, env).await
    }

    /// Starts `tessera serve` on 127.0.0.1:`port` as `issuer`, and waits until
    /// `client` gets 200 from its `healthz`.
    pub async fn start_as(
        sb: &Sandbox,
        port: u16,
        issuer: &str,
        client: reqwest::Client,
        env: &[(&str, &str)],
    ) -> Server {
        let listen = format!("127.0.0.1:{port}");
        let mut all: Vec<(&str, &str)> =
            vec![("TESSERA_LISTEN", &listen), ("TESSERA_ISSUER", issuer)];
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
            base: issuer.to_owned(),
            ready_client: client,
        };
        server.wait_ready().await;
        server
    }

    pub fn base(&self) -> String {
        self.base.clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    /// The port the server listens on (from its base URL).
    pub fn port(&self) -> u16 {
        self.base
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a base URL with a port")
    }

    pub fn stdout(&self) -> String {
        read(&self.stdout)
    }

    pub fn stderr(&self) -> String {
        read(&self.stderr)
    }

    pub async fn wait_ready(&mut self) {
        let client = self.ready_client.clone();
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

    pub fn sigterm(&self) {
        self.signal("TERM");
    }

    /// `kill -NAME` to this server's process.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} failed");
    }

    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
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
    pub async fn stop(mut self) {
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

/// A client-credentials token for the Management API (`{issuer}api/v2/`).
pub async fn management_token(
    http: &reqwest::Client,
    server: &Server,
    client_id: &str,
    client_secret: &str,
) -> String {
    let res = http
        .post(server.url("oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("audience", &server.url("api/v2/")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// POSTs `body` with `token`, which must answer 201 with JSON.
pub async fn post_json(http: &reqwest::Client, url: &str, token: &str, body: Value) -> Value {
    let res = http
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, 201, "POST {url}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce_pair() -> (String, String) {
    let verifier = base64(&tessera_core::ids::random_bytes::<32>().unwrap(), true);
    let challenge = base64(&tessera_core::ids::sha256(verifier.as_bytes()), true);
    (verifier, challenge)
}

/// Percent-encodes a query or form value.
pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub async fn get_json(url: &str) -> Value {
    let res = reqwest::get(url)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(res.status(), 200, "GET {url}");
    res.json()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: not JSON: {e}"))
}

/// The JWKS's keys, after checking that each is a public signing JWK.
pub async fn jwks(server: &Server) -> Vec<Value> {
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

pub fn kids(keys: &[Value]) -> Vec<String> {
    keys.iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// Polls the JWKS until `want` holds (checked at least once more at the end).
pub async fn wait_for_jwks(
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
pub fn assert_setting_failure(case: &str, out: &Outcome, needle: &str) {
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

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && needle.len() <= haystack.len()
        && haystack.windows(needle.len()).any(|w| w == needle)
}

pub fn base64(bytes: &[u8], url_safe_no_pad: bool) -> String {
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

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Decodes standard base64 (as the key file holds it).
pub fn unbase64(text: &str) -> Vec<u8> {
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
pub fn raw_sqlite_bytes(sb: &Sandbox) -> Vec<u8> {
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
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The scan below is only as good as these encoders.
#[test]
pub fn scan_helpers_encode_correctly() {
    assert_eq!(base64(b"foob", false), "Zm9vYg==");
    assert_eq!(base64(b"fooba", false), "Zm9vYmE=");
    assert_eq!(base64(b"foobar", false), "Zm9vYmFy");
    assert_eq!(base64(&[0xfb, 0xff], true), "-_8");
    assert_eq!(base64(&[0xfb, 0xff], false), "+/8=");
    assert_eq!(unbase64("Zm9vYmE=\n"), b"fooba");
    assert_eq!(hex(&[0x00, 0xab]), "00ab");
    assert!(contains(b"xxabcxx", b"abc") && !contains(b"xxabxcx", b"abc"));
}
