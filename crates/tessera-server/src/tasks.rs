//! Background tasks: they stop when the shutdown signal fires.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tessera_core::Clock;
use tessera_core::keys::Keys;
use tessera_core::revocation::Revocations;
use tessera_core::store::Store;
use tokio::sync::watch;

/// Runs `work` every `every` until `stop` changes; a failure is logged as `what`
/// and the previous state kept.
fn spawn_periodic<F, Fut, E>(
    what: &'static str,
    every: Duration,
    mut stop: watch::Receiver<bool>,
    mut work: F,
) -> tokio::task::JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send,
    E: std::fmt::Display,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Err(e) = work().await {
                        tracing::warn!(error = %e, "{what} failed; keeping the previous state");
                    }
                }
                _ = stop.changed() => break,
            }
        }
    })
}

/// Reloads the key set every `every`, so rotations done on other nodes (or by the
/// CLI) and expiring previous keys show in this node's JWKS and signer.
pub fn spawn_key_reloader(
    keys: Arc<Keys>,
    every: Duration,
    stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    spawn_periodic("reloading signing keys", every, stop, move || {
        let keys = keys.clone();
        async move { keys.reload().await }
    })
}

/// Refreshes the token-revocation view every `every`: the bound on how long a
/// revocation made on another node takes to apply here. Each refresh reads only
/// the revocations recorded lately (a full read now and then) and drops expired
/// entries from the view.
pub fn spawn_revocation_refresher(
    revocations: Arc<Revocations>,
    clock: Arc<dyn Clock>,
    every: Duration,
    stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    spawn_periodic("refreshing token revocations", every, stop, move || {
        let revocations = revocations.clone();
        let now = clock.now();
        async move {
            let done = revocations.refresh(now).await?;
            if done.full || done.read > 0 {
                tracing::debug!(
                    full = done.full,
                    read = done.read,
                    live = done.live,
                    "refreshed token revocations"
                );
            }
            Ok::<(), tessera_core::store::StoreError>(())
        }
    })
}

/// Deletes expired rows of the interactive flow (pending requests, sessions,
/// codes, opaque tokens, old failed-login records), of refresh tokens
/// (expired or long-revoked families, idle tokens) and revocations whose tokens
/// have all expired, every `every`.
pub fn spawn_flow_sweeper(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    every: Duration,
    stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    spawn_periodic("sweeping expired login state", every, stop, move || {
        let store = store.clone();
        let now = clock.now();
        async move {
            let deleted = store.sweep_flow(now).await?
                + store.sweep_refresh(now).await?
                + store.purge_revocations(now).await?
                + store.sweep_tickets(now).await?
                + store
                    .sweep_jobs(now, now - crate::jobs::KEEP_ENDED_JOBS)
                    .await?;
            if deleted > 0 {
                tracing::debug!(deleted, "swept expired login state");
            }
            Ok::<(), tessera_core::store::StoreError>(())
        }
    })
}

/// Deletes the log events older than `retention_days` (Auth0's log
/// retention), every `every`.
pub fn spawn_log_sweeper(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    retention_days: u64,
    every: Duration,
    stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let retention = i64::try_from(retention_days.saturating_mul(86_400)).unwrap_or(i64::MAX);
    spawn_periodic("sweeping old log events", every, stop, move || {
        let store = store.clone();
        let before = clock.now().saturating_sub(retention);
        async move {
            let deleted = store.sweep_log_events(before).await?;
            if deleted > 0 {
                tracing::debug!(deleted, "swept old log events");
            }
            Ok::<(), tessera_core::store::StoreError>(())
        }
    })
}
