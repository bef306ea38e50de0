//! `tessera keys list|rotate|revoke`: operate on the same storage as the server.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use tessera_core::keys::{KeyError, KeyRecord, Keys};
use tessera_core::store::KeyStore;
use tessera_core::{Clock, SystemClock};

use crate::serve::{init_logging, key_policy};
use crate::settings::Settings;
use crate::startup::{self, Fail};

fn time(t: Option<i64>) -> String {
    match t {
        Some(secs) if secs >= 0 => {
            humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs as u64))
                .to_string()
        }
        _ => "-".into(),
    }
}

fn to_json(r: &KeyRecord, now: i64) -> serde_json::Value {
    serde_json::json!({
        "kid": r.kid,
        "alg": r.alg.as_str(),
        "state": r.state.as_str(),
        "published": r.is_published(now),
        "created_at": r.created_at,
        "activated_at": r.activated_at,
        "retired_at": r.retired_at,
        "publish_until": r.publish_until,
        "revoked_at": r.revoked_at,
    })
}

fn print_table(records: &[KeyRecord], now: i64) {
    println!(
        "{:<44} {:<6} {:<9} {:<9} {:<21} {:<21} {:<21}",
        "KID", "ALG", "STATE", "PUBLISHED", "CREATED", "ACTIVATED", "PUBLISHED UNTIL"
    );
    for r in records {
        println!(
            "{:<44} {:<6} {:<9} {:<9} {:<21} {:<21} {:<21}",
            r.kid,
            r.alg.as_str(),
            r.state.as_str(),
            if r.is_published(now) { "yes" } else { "no" },
            time(Some(r.created_at)),
            time(r.activated_at),
            time(r.publish_until),
        );
    }
}

pub async fn list(settings: Settings, json: bool) -> Result<(), Fail> {
    init_logging(&settings);
    let opened = startup::open(&settings, startup::Mode::Existing).await?;
    let records = opened
        .store
        .list_signing_keys()
        .await
        .map_err(|e| Fail::Runtime(format!("database: {e}")));
    opened.store.close().await;
    let records = records?;
    let now = SystemClock.now();
    if json {
        let all: Vec<_> = records.iter().map(|r| to_json(r, now)).collect();
        println!("{}", serde_json::Value::Array(all));
    } else if records.is_empty() {
        println!("no signing keys yet: `tessera serve` creates them on first start");
    } else {
        print_table(&records, now);
    }
    Ok(())
}

/// The key ring of an existing installation. Rotation timing is the stricter of
/// this command's settings and those the server last started with.
async fn with_keys<T>(
    settings: &Settings,
    action: impl AsyncFnOnce(&Keys) -> Result<T, KeyError>,
) -> Result<T, Fail> {
    let opened = startup::open(settings, startup::Mode::Existing).await?;
    let result = async {
        let existing = opened
            .store
            .list_signing_keys()
            .await
            .map_err(|e| Fail::Runtime(format!("database: {e}")))?;
        if existing.is_empty() {
            return Err(Fail::Runtime(
                "no signing keys yet: `tessera serve` creates them on first start".into(),
            ));
        }
        let policy = startup::effective_key_policy(&opened, key_policy(settings)).await?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let keys = Keys::open(
            opened.store.clone(),
            opened.master.clone(),
            settings.signing_alg,
            policy,
            clock,
        )
        .await
        .map_err(key_fail)?;
        action(&keys).await.map_err(key_fail)
    }
    .await;
    opened.store.close().await;
    result
}

fn key_fail(e: KeyError) -> Fail {
    Fail::Runtime(e.to_string())
}

fn report(record: &KeyRecord, json: bool, verb: &str) {
    let now = SystemClock.now();
    if json {
        println!("{}", to_json(record, now));
    } else {
        println!("{verb} {} ({})", record.kid, record.alg);
    }
}

pub async fn rotate(settings: Settings, json: bool) -> Result<(), Fail> {
    init_logging(&settings);
    let promoted = with_keys(&settings, async |keys: &Keys| keys.rotate().await).await?;
    report(&promoted, json, "now signing with");
    Ok(())
}

pub async fn revoke(settings: Settings, kid: &str, json: bool) -> Result<(), Fail> {
    init_logging(&settings);
    let revoked = with_keys(&settings, async |keys: &Keys| keys.revoke(kid).await).await?;
    report(&revoked, json, "revoked");
    Ok(())
}
