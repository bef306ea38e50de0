//! Test support: fresh databases on SQLite and PostgreSQL.
//!
//! PostgreSQL comes from `TESSERA_TEST_POSTGRES_URL` when set; otherwise a throwaway
//! cluster is started once per test process from the system's `initdb`/`pg_ctl`
//! (Debian's versioned `/usr/lib/postgresql/N/bin`), in a temp dir, on a free port,
//! run as the `postgres` user when we are root (initdb refuses root). A watchdog
//! stops the cluster and removes its directory when the test process exits.
//! Without PostgreSQL, tests print a loud SKIPPED line, unless
//! `TESSERA_REQUIRE_POSTGRES=1`, which makes that a failure.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{Connection, Executor};

static CLUSTER: OnceLock<Result<String, String>> = OnceLock::new();
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh SQLite database URL in `dir`.
pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("tessera.db").display())
}

/// A URL to a new, empty PostgreSQL database, or `None` (after a loud message)
/// when no PostgreSQL can be had and it is not required.
pub async fn fresh_postgres_database() -> Option<String> {
    let base = match std::env::var("TESSERA_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Ok(url),
        _ => CLUSTER.get_or_init(start_cluster).clone(),
    };
    let base = match base {
        Ok(b) => b,
        Err(why) => {
            if std::env::var("TESSERA_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!(
                    "PostgreSQL is required (TESSERA_REQUIRE_POSTGRES=1) but unavailable: {why}"
                );
            }
            eprintln!("\n*** SKIPPED: PostgreSQL tests did not run: {why} ***\n");
            return None;
        }
    };
    let name = format!(
        "tessera_t{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    let mut conn = match sqlx::PgConnection::connect(&base).await {
        Ok(c) => c,
        Err(e) => panic!("cannot connect to test PostgreSQL: {e}"),
    };
    if let Err(e) = conn
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
    {
        panic!("cannot create test database: {e}");
    }
    let _ = conn.close().await;
    let mut url = match url::Url::parse(&base) {
        Ok(u) => u,
        Err(e) => panic!("bad TESSERA_TEST_POSTGRES_URL: {e}"),
    };
    url.set_path(&format!("/{name}"));
    Some(url.to_string())
}

fn pg_bindir() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists() && p.join("pg_ctl").exists())
        .collect();
    // Highest major version first.
    candidates.sort_by_key(|p| {
        std::cmp::Reverse(
            p.parent()
                .and_then(|v| v.file_name())
                .and_then(|v| v.to_str())
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0),
        )
    });
    candidates.into_iter().next()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn run_pg(bindir: &Path, as_postgres: bool, program: &str, args: &[&str]) -> Result<(), String> {
    let exe = bindir.join(program);
    let mut cmd = if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    let out = cmd
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn start_cluster() -> Result<String, String> {
    let bindir = pg_bindir().ok_or("no initdb/pg_ctl under /usr/lib/postgresql/*/bin")?;
    let root = is_root();
    let dir = tempfile::Builder::new()
        .prefix("tessera-pg-")
        .tempdir()
        .map_err(|e| e.to_string())?
        .keep();
    if root {
        let status = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&dir)
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err("cannot chown the cluster directory to postgres".into());
        }
    }
    let data = dir.join("data");
    let data_s = data.to_string_lossy().to_string();
    let dir_s = dir.to_string_lossy().to_string();
    run_pg(
        &bindir,
        root,
        "initdb",
        &[
            "-D",
            &data_s,
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        ],
    )?;
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    // Throwaway cluster: durability off for speed. Production settings are the
    // operator's; the bench states which commit setting it ran with.
    let opts = format!(
        "-p {port} -k {dir_s} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
    );
    let log = dir.join("log").to_string_lossy().to_string();
    run_pg(
        &bindir,
        root,
        "pg_ctl",
        &[
            "-D", &data_s, "-l", &log, "-o", &opts, "-w", "-t", "60", "start",
        ],
    )?;
    // Watchdog: stop the cluster and remove it when this process is gone.
    let pg_ctl = bindir.join("pg_ctl").to_string_lossy().to_string();
    let stop = if root {
        format!("runuser -u postgres -- {pg_ctl} -D {data_s} -m immediate stop")
    } else {
        format!("{pg_ctl} -D {data_s} -m immediate stop")
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf {dir_s}",
        pid = std::process::id()
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    Ok(format!("postgres://postgres@127.0.0.1:{port}/postgres"))
}
