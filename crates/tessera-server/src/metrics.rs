//! Prometheus metrics: requests and latency per route, tokens issued per kind,
//! password checks and hashes (and requests the password gate shed), log
//! events dropped.
//! No global registry: each server owns one (tests run several in a process).

use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

pub use tessera_core::token::TokenKind;

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
    tokens: Family<KindLabels, Counter>,
    password_checks: Counter,
    password_hashes: Counter,
    password_shed: Counter,
    log_events_dropped: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~16 s
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("tessera");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        let tokens = Family::<KindLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by method and route",
            latency.clone(),
        );
        registry.register("tokens_issued", "Tokens issued by kind", tokens.clone());
        for kind in TokenKind::ALL {
            // Every kind shows, at zero until issued.
            let _ = tokens.get_or_create(&KindLabels {
                kind: kind.as_str().into(),
            });
        }
        let password_checks = Counter::default();
        let password_hashes = Counter::default();
        let password_shed = Counter::default();
        registry.register(
            "password_checks",
            "Password verifications run (argon2id), including the dummy check for unknown emails",
            password_checks.clone(),
        );
        registry.register(
            "password_hashes",
            "Passwords hashed (argon2id): sign-ups, user creation, password changes",
            password_hashes.clone(),
        );
        registry.register(
            "password_gate_shed",
            "Requests refused (503) because the password gate was full",
            password_shed.clone(),
        );
        let log_events_dropped = Counter::default();
        registry.register(
            "log_events_dropped",
            "Log events dropped because the log queue was full",
            log_events_dropped.clone(),
        );
        Self {
            registry: Mutex::new(registry),
            requests,
            latency,
            tokens,
            password_checks,
            password_hashes,
            password_shed,
            log_events_dropped,
        }
    }

    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.into(),
                route: route.into(),
                status: status.to_string(),
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.into(),
                route: route.into(),
            })
            .observe(seconds);
    }

    pub fn token_issued(&self, kind: TokenKind) {
        self.tokens
            .get_or_create(&KindLabels {
                kind: kind.as_str().into(),
            })
            .inc();
    }

    /// A password verification is about to run.
    pub fn password_checked(&self) {
        self.password_checks.inc();
    }

    /// A password hash is about to be computed.
    pub fn password_hashed(&self) {
        self.password_hashes.inc();
    }

    /// A request was shed by the password gate.
    pub fn password_gate_shed(&self) {
        self.password_shed.inc();
    }

    /// A log event was dropped (the log queue was full).
    pub fn log_event_dropped(&self) {
        self.log_events_dropped.inc();
    }

    /// The Prometheus / OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = match self.registry.lock() {
            Ok(r) => r,
            Err(poisoned) => poisoned.into_inner(),
        };
        if encode(&mut out, &registry).is_err() {
            out.clear();
        }
        out
    }
}
