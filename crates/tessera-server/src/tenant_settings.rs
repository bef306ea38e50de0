//! The tenant settings this node acts on: the stored document
//! (`/api/v2/tenants/settings`) over the settings the server started with,
//! read again once the snapshot is older than `ServerConfig::tenant_settings_refresh`
//! (so a PATCH on one node reaches the others within that time; the node that
//! took the PATCH uses it at once).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use tessera_core::manage::tenant_settings::{Effective, Seed, effective};
use tessera_core::store::Store;

use crate::interactive::html::Branding;
use crate::state::ServerConfig;

/// A node's snapshot of the stored settings document.
#[derive(Debug, Default)]
pub struct TenantSettingsCache {
    snapshot: RwLock<Option<(Instant, Arc<Value>)>>,
    /// A background read is under way ([`TenantSettingsCache::current`]).
    refreshing: AtomicBool,
}

impl TenantSettingsCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The stored document, read again when the snapshot is older than
    /// `refresh`. A failed read keeps the last snapshot (or none: `{}`), so
    /// a database hiccup never stops the pages that show a tenant name.
    pub async fn stored(&self, store: &dyn Store, refresh: Duration) -> Arc<Value> {
        let current = self.snapshot.read().ok().and_then(|s| s.clone());
        if let Some((at, doc)) = &current
            && at.elapsed() < refresh
        {
            return doc.clone();
        }
        match store.get_tenant_settings().await {
            Ok(doc) => {
                let doc = Arc::new(doc);
                self.replace_arc(doc.clone());
                doc
            }
            Err(e) => {
                tracing::warn!(error = %e, "tenant settings could not be read; using the last known");
                current
                    .map(|(_, d)| d)
                    .unwrap_or_else(|| Arc::new(Value::Object(Default::default())))
            }
        }
    }

    /// The snapshot as it is, without waiting (`{}` before the first read);
    /// when it is stale, a background task reads it again. For code that
    /// cannot wait (page rendering): it sees a change one request later.
    pub fn current(self: &Arc<Self>, store: &Arc<dyn Store>, refresh: Duration) -> Arc<Value> {
        let current = self.snapshot.read().ok().and_then(|s| s.clone());
        let stale = current
            .as_ref()
            .is_none_or(|(at, _)| at.elapsed() >= refresh);
        if stale
            && !self.refreshing.swap(true, Ordering::AcqRel)
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let (cache, store) = (self.clone(), store.clone());
            runtime.spawn(async move {
                cache.stored(store.as_ref(), Duration::ZERO).await;
                cache.refreshing.store(false, Ordering::Release);
            });
        }
        current
            .map(|(_, d)| d)
            .unwrap_or_else(|| Arc::new(Value::Object(Default::default())))
    }

    /// The document just written by this node.
    pub fn replace(&self, doc: Value) {
        self.replace_arc(Arc::new(doc));
    }

    fn replace_arc(&self, doc: Arc<Value>) {
        if let Ok(mut s) = self.snapshot.write() {
            *s = Some((Instant::now(), doc));
        }
    }
}

/// The settings the server started with.
pub fn seed(config: &ServerConfig) -> Seed {
    Seed {
        friendly_name: config.branding.tenant_name.clone(),
        picture_url: config.branding.logo_url.clone(),
        session_lifetime: config.session_lifetime,
        default_directory: config.default_directory.clone(),
    }
}

impl crate::state::AppState {
    /// The tenant settings in effect now.
    pub async fn settings(&self) -> Effective {
        let stored = self
            .tenant_settings
            .stored(self.store.as_ref(), self.config.tenant_settings_refresh)
            .await;
        effective(&seed(&self.config), &stored)
    }

    /// The name and logo on hosted pages and emails (from this node's
    /// snapshot, without waiting; see [`TenantSettingsCache::current`]).
    pub fn branding(&self) -> Branding {
        let stored = self
            .tenant_settings
            .current(&self.store, self.config.tenant_settings_refresh);
        let settings = effective(&seed(&self.config), &stored);
        Branding {
            tenant_name: settings.friendly_name,
            logo_url: settings.picture_url,
        }
    }
}
