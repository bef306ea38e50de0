//! Background tasks: they stop when the shutdown signal fires.

use std::sync::Arc;
use std::time::Duration;

use tessera_core::keys::Keys;
use tokio::sync::watch;

/// Reloads the key set every `every`, so rotations done on other nodes (or by the
/// CLI) and expiring previous keys show in this node's JWKS and signer.
pub fn spawn_key_reloader(
    keys: Arc<Keys>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Err(e) = keys.reload().await {
                        tracing::warn!(error = %e, "reloading signing keys failed; keeping the previous key set");
                    }
                }
                _ = stop.changed() => break,
            }
        }
    })
}
