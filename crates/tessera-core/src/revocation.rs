//! Revoked access tokens, as an in-memory view: checking a token costs no
//! database read. Each node refreshes the view from storage periodically (the
//! bound on how long another node's revocation takes to apply here), and applies
//! its own revocations at once.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

use crate::clock::UnixTime;
use crate::store::{Revocation, RevocationStore, StoreError};

#[derive(Debug, Default, Clone)]
struct View {
    jtis: HashSet<String>,
    /// client_id -> (audience or every audience, issued at or before).
    clients: HashMap<String, Vec<(Option<String>, UnixTime)>>,
}

impl View {
    fn apply(&mut self, r: &Revocation) {
        match r {
            Revocation::Jti { jti, .. } => {
                self.jtis.insert(jti.clone());
            }
            Revocation::Client {
                client_id,
                audience,
                issued_before,
                ..
            } => {
                self.clients
                    .entry(client_id.clone())
                    .or_default()
                    .push((audience.clone(), *issued_before));
            }
        }
    }
}

/// Local revocations are re-applied on top of every refresh for this long, so a
/// refresh whose read began before the revocation committed cannot drop it.
const LOCAL_OVERLAY: Duration = Duration::from_secs(120);

pub struct Revocations {
    store: Arc<dyn RevocationStore>,
    view: ArcSwap<View>,
    recent: Mutex<Vec<(Instant, Revocation)>>,
}

impl std::fmt::Debug for Revocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Revocations")
    }
}

impl Revocations {
    pub async fn load(store: Arc<dyn RevocationStore>, now: UnixTime) -> Result<Self, StoreError> {
        let this = Self {
            store,
            view: ArcSwap::from_pointee(View::default()),
            recent: Mutex::new(Vec::new()),
        };
        this.refresh(now).await?;
        Ok(this)
    }

    /// Re-reads every live revocation (the table only holds revocations whose
    /// tokens may still be valid, so it stays small).
    pub async fn refresh(&self, now: UnixTime) -> Result<(), StoreError> {
        let mut view = View::default();
        for r in self.store.live_revocations(now).await? {
            view.apply(&r);
        }
        for r in self.recent_local() {
            view.apply(&r);
        }
        self.view.store(Arc::new(view));
        Ok(())
    }

    /// Stores a revocation and applies it on this node at once.
    pub async fn revoke(&self, r: Revocation) -> Result<(), StoreError> {
        self.store.add_revocation(&r).await?;
        self.apply_local(r);
        Ok(())
    }

    /// Applies a revocation already stored (by the caller) on this node at once.
    pub fn apply_local(&self, r: Revocation) {
        if let Ok(mut recent) = self.recent.lock() {
            recent.retain(|(at, _)| at.elapsed() < LOCAL_OVERLAY);
            recent.push((Instant::now(), r.clone()));
        }
        self.view.rcu(|current| {
            let mut next = View::clone(current);
            next.apply(&r);
            next
        });
    }

    fn recent_local(&self) -> Vec<Revocation> {
        match self.recent.lock() {
            Ok(mut recent) => {
                recent.retain(|(at, _)| at.elapsed() < LOCAL_OVERLAY);
                recent.iter().map(|(_, r)| r.clone()).collect()
            }
            Err(_) => Vec::new(),
        }
    }

    /// Is a token with these claims revoked?
    pub fn is_revoked(
        &self,
        jti: &str,
        client_id: &str,
        audiences: &[String],
        iat: UnixTime,
    ) -> bool {
        let view = self.view.load();
        if view.jtis.contains(jti) {
            return true;
        }
        view.clients.get(client_id).is_some_and(|cuts| {
            cuts.iter().any(|(aud, before)| {
                iat <= *before
                    && aud
                        .as_ref()
                        .is_none_or(|a| audiences.iter().any(|x| x == a))
            })
        })
    }
}
