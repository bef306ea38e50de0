//! Revoked access tokens, as an in-memory view: checking a token costs no
//! database read. Each node refreshes the view from storage periodically (the
//! bound on how long another node's revocation takes to apply here), and applies
//! its own revocations at once.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

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

pub struct Revocations {
    store: Arc<dyn RevocationStore>,
    view: ArcSwap<View>,
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
        self.view.store(Arc::new(view));
        Ok(())
    }

    /// Stores a revocation and applies it on this node at once.
    pub async fn revoke(&self, r: Revocation) -> Result<(), StoreError> {
        self.store.add_revocation(&r).await?;
        self.view.rcu(|current| {
            let mut next = View::clone(current);
            next.apply(&r);
            next
        });
        Ok(())
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
