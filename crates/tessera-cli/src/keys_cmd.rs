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
    let opened = startup::open(&settings).await?;
    let records = opened
        .store
        .list_signing_keys()
        .await
        .map_err(|e| Fail::Runtime(format!("database: {e}")))?;
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

async fn open_keys(settings: &Settings) -> Result<Keys, Fail> {
    let opened = startup::open(settings).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    Keys::open(
        opened.store.clone(),
        opened.master.clone(),
        settings.signing_alg,
        key_policy(settings),
        clock,
    )
    .await
    .map_err(key_fail)
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
    let keys = open_keys(&settings).await?;
    let promoted = keys.rotate().await.map_err(key_fail)?;
    report(&promoted, json, "now signing with");
    Ok(())
}

pub async fn revoke(settings: Settings, kid: &str, json: bool) -> Result<(), Fail> {
    init_logging(&settings);
    let keys = open_keys(&settings).await?;
    let revoked = keys.revoke(kid).await.map_err(key_fail)?;
    report(&revoked, json, "revoked");
    Ok(())
}
