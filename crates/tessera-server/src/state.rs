use std::sync::Arc;
use std::time::Duration;

use tessera_core::envelope::MasterKey;
use tessera_core::keys::Keys;
use tessera_core::revocation::Revocations;
use tessera_core::store::Store;
use tessera_core::{Clock, Issuer};

use crate::metrics::Metrics;

/// Settings the HTTP layer needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub issuer: Issuer,
    /// `Cache-Control: max-age` of the JWKS and the discovery documents.
    pub jwks_max_age: u64,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// A request taking longer is answered 408 (or 503 for a busy database).
    pub request_timeout: Duration,
}

/// What every handler gets: cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<ServerConfig>,
    pub store: Arc<dyn Store>,
    pub keys: Arc<Keys>,
    pub master: Arc<MasterKey>,
    pub revocations: Arc<Revocations>,
    pub metrics: Arc<Metrics>,
    pub clock: Arc<dyn Clock>,
}
