//! Cross-origin requests (CORS), as Auth0 answers them.
//!
//! - `POST oauth/token`, `POST oauth/revoke` and `GET/POST userinfo` are open to
//!   the origins of one client: its `web_origins` and `allowed_origins`
//!   ([`per_client`]). The handler names the client the request is for
//!   ([`for_client`]); an actual request's `Origin` is echoed (with `Vary:
//!   Origin`) only when it is exactly one of that client's origins, read from
//!   the store as it is now. A preflight names no client, so it is answered for
//!   an origin of any client, from a per-node snapshot of every client's
//!   origins at most `ServerConfig::cors_origins_refresh` (30 s) old, read
//!   again at most once a second when an origin it lacks asks ([`Origins`]),
//!   before and outside the per-address rate limit.
//! - The JWKS and the discovery documents are open to every origin: `*`, GET
//!   only, no credentials ([`public`]).
//! - Every other route (the Management API, the hosted pages, `/authorize`)
//!   has no CORS at all: no header, and OPTIONS is not answered for CORS.
//!
//! Origins compare as serialized origins (`scheme://host[:port]`, RFC 6454
//! §6.1): a configured origin is serialized (lower-case host, default port
//! dropped, no trailing slash) and the `Origin` header, which browsers send
//! serialized, must equal it byte for byte. `null` never matches, and there are
//! no wildcards. No `Access-Control-Allow-Credentials`: none of these endpoints
//! reads a cookie. No `Access-Control-Expose-Headers`: the SDKs read only the
//! body (auth0-spa-js reads `DPoP-Nonce`, which Tessera never sends).

use std::collections::HashSet;

use arc_swap::ArcSwap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tessera_core::authorize::request::{origin_listed, origin_of};
use tessera_core::model::Client;
use tessera_core::store::{ClientFilter, Page, Store};

/// How long a browser may cache a preflight answer, seconds.
pub const MAX_AGE: &str = "600";
/// The request headers auth0-spa-js sends cross-origin.
const SDK_HEADERS: &str = "content-type, auth0-client, dpop";
/// The same and a bearer token, for userinfo.
const SDK_HEADERS_WITH_AUTHORIZATION: &str = "authorization, content-type, auth0-client, dpop";
/// How old a snapshot may be before an origin it lacks makes it read again.
const MISS_RESCAN: Duration = Duration::from_secs(1);
/// Most distinct origins a snapshot holds; the clients beyond are not read
/// (their origins get no preflight answer, which a warning says).
pub const MAX_SNAPSHOT_ORIGINS: usize = 100_000;

/// The client a request to a per-client route is for, named by its handler as
/// a response extension.
#[derive(Debug, Clone)]
pub struct CorsClient(pub String);

/// Names the client `res` answers for (see [`per_client`]).
pub fn for_client(mut res: Response, client_id: &str) -> Response {
    res.extensions_mut()
        .insert(CorsClient(client_id.to_owned()));
    res
}

/// Whether `origin` (an `Origin` header) is one of `client`'s origins.
pub fn client_allows(client: &Client, origin: &str) -> bool {
    origin != "null"
        && origin_listed(
            client.web_origins.iter().chain(&client.allowed_origins),
            origin,
        )
}

/// Every client's origins, as one node last read them. The reads run in a
/// task of their own, one at a time and at most once a second whatever asks
/// (a request that goes away does not cancel one and start the next), so
/// preflights — which anyone may send, unauthenticated and not rate-limited —
/// cost at most one read of the clients per second per node.
pub struct Origins {
    store: Arc<dyn Store>,
    refresh: Duration,
    snapshot: ArcSwap<Snapshot>,
    /// When the last read started, and whether one is running.
    reading: std::sync::Mutex<Reading>,
    /// Bumped when a read ends (its result in `snapshot`).
    done: tokio::sync::watch::Sender<u64>,
}

#[derive(Default)]
struct Reading {
    started: Option<Instant>,
    running: bool,
}

#[derive(Default)]
struct Snapshot {
    /// When it was read (`None`: never).
    taken: Option<Instant>,
    origins: HashSet<String>,
}

/// How long a preflight from an origin the snapshot lacks waits for the read
/// it started (or found running).
const MISS_WAIT: Duration = Duration::from_secs(2);

impl Origins {
    pub fn new(store: Arc<dyn Store>, refresh: Duration) -> Self {
        Self {
            store,
            refresh,
            snapshot: ArcSwap::from_pointee(Snapshot::default()),
            reading: std::sync::Mutex::new(Reading::default()),
            done: tokio::sync::watch::channel(0).0,
        }
    }

    /// Whether some client allows `origin`: a fresh snapshot that has it
    /// answers at once; otherwise (a stale snapshot, or an origin it lacks) the
    /// answer waits, up to [`MISS_WAIT`], for a read started now or already
    /// running — none starts within a second of the last.
    pub async fn any_client_allows(self: &Arc<Self>, origin: &str) -> bool {
        if origin == "null" {
            return false;
        }
        let snapshot = self.snapshot.load_full();
        let fresh = snapshot.taken.is_some_and(|t| t.elapsed() < self.refresh);
        if fresh && snapshot.origins.contains(origin) {
            return true;
        }
        let mut done = self.done.subscribe();
        let started = self.start_read();
        let running = self.lock_reading().running;
        if started || running {
            let _ = tokio::time::timeout(MISS_WAIT, done.changed()).await;
        }
        self.snapshot.load().origins.contains(origin)
    }

    fn lock_reading(&self) -> std::sync::MutexGuard<'_, Reading> {
        self.reading
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts a read of every client's origins unless one is running or one
    /// started less than [`MISS_RESCAN`] (or the refresh interval, if shorter)
    /// ago; whether it started one.
    fn start_read(self: &Arc<Self>) -> bool {
        {
            let mut reading = self.lock_reading();
            let gap = MISS_RESCAN.min(self.refresh);
            let recent = reading.started.is_some_and(|t| t.elapsed() < gap);
            if reading.running || recent {
                return false;
            }
            reading.running = true;
            reading.started = Some(Instant::now());
        }
        let this = self.clone();
        tokio::spawn(async move {
            match this.read_all().await {
                Ok(origins) => this.snapshot.store(Arc::new(Snapshot {
                    taken: Some(Instant::now()),
                    origins,
                })),
                // What was read before stays (none: nothing allowed); the
                // next read may start a second later.
                Err(e) => tracing::warn!(error = %e, "reading the clients' origins failed"),
            }
            this.lock_reading().running = false;
            this.done.send_modify(|n| *n = n.wrapping_add(1));
        });
        true
    }

    async fn read_all(&self) -> Result<HashSet<String>, tessera_core::store::StoreError> {
        let filter = ClientFilter::default();
        let mut page = Page {
            page: 0,
            per_page: Page::MAX_PER_PAGE,
        };
        let mut origins = HashSet::new();
        loop {
            let (clients, _) = self.store.list_clients(&filter, page).await?;
            let last = (clients.len() as i64) < page.per_page;
            for (client, _) in &clients {
                for o in client.web_origins.iter().chain(&client.allowed_origins) {
                    if origins.len() >= MAX_SNAPSHOT_ORIGINS {
                        tracing::warn!(
                            max = MAX_SNAPSHOT_ORIGINS,
                            "too many client origins: preflights from the rest are not answered"
                        );
                        return Ok(origins);
                    }
                    if let Some(s) = origin_of(o) {
                        origins.insert(s);
                    }
                }
            }
            if last || page.page >= Page::MAX_PAGE {
                return Ok(origins);
            }
            page.page += 1;
        }
    }
}

/// What [`per_client`] needs for one route.
#[derive(Clone)]
pub struct PerClient {
    pub origins: Arc<Origins>,
    pub store: Arc<dyn Store>,
    /// `Access-Control-Allow-Methods`.
    pub methods: &'static [Method],
    /// Whether the route takes `Authorization` (a bearer token) from browsers.
    pub authorization: bool,
}

impl PerClient {
    fn allow_methods(&self) -> String {
        self.methods
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The `Origin` header, when it is text.
fn origin_header(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn is_preflight(req: &Request) -> bool {
    req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

fn vary_origin(res: &mut Response) {
    res.headers_mut()
        .append(header::VARY, HeaderValue::from_static("Origin"));
}

fn allow_origin(res: &mut Response, origin: &str) {
    if let Ok(v) = HeaderValue::from_str(origin) {
        res.headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
}

/// The middleware of the per-client routes. A preflight is answered here
/// (before any rate limit: it costs a lookup in memory) with 204; the CORS
/// headers only when the origin is one of some client's and the method one of
/// the route's. Any other request runs as it would without CORS, and the
/// answer gets `Vary: Origin`, plus the origin when the client the handler
/// named allows it.
pub async fn per_client(State(route): State<PerClient>, req: Request, next: Next) -> Response {
    let origin = origin_header(req.headers());
    if is_preflight(&req) {
        return preflight(&route, req.headers(), origin.as_deref()).await;
    }
    let mut res = next.run(req).await;
    vary_origin(&mut res);
    let named = res.extensions_mut().remove::<CorsClient>();
    if let (Some(origin), Some(CorsClient(client_id))) = (origin, named)
        && origin != "null"
    {
        match route.store.get_client(&client_id).await {
            Ok(Some((client, _))) if client_allows(&client, &origin) => {
                allow_origin(&mut res, &origin);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reading the client's origins failed"),
        }
    }
    res
}

async fn preflight(route: &PerClient, headers: &HeaderMap, origin: Option<&str>) -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    vary_origin(&mut res);
    let method_allowed = headers
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|m| route.methods.iter().any(|allowed| allowed.as_str() == m));
    let Some(origin) = origin else {
        return res;
    };
    if !method_allowed || !route.origins.any_client_allows(origin).await {
        return res;
    }
    allow_origin(&mut res, origin);
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&route.allow_methods()) {
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v);
    }
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(if route.authorization {
            SDK_HEADERS_WITH_AUTHORIZATION
        } else {
            SDK_HEADERS
        }),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(MAX_AGE),
    );
    res
}

/// The middleware of the public documents (JWKS, discovery): `*` on every
/// answer, and a preflight for GET answered with it.
pub async fn public(req: Request, next: Next) -> Response {
    if is_preflight(&req) {
        let get = req
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .is_some_and(|m| m.as_bytes() == b"GET");
        let mut res = StatusCode::NO_CONTENT.into_response();
        if get {
            let h = res.headers_mut();
            h.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET"),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static(MAX_AGE),
            );
        }
        return res;
    }
    let mut res = next.run(req).await;
    res.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(origins: &[&str]) -> Client {
        serde_json::from_value(serde_json::json!({
            "client_id": "c", "name": "n", "app_type": "spa",
            "token_endpoint_auth_method": "none",
            "allowed_origins": origins,
        }))
        .unwrap()
    }

    #[test]
    fn origins_match_as_serialized_origins() {
        let c = client(&[
            "https://App.Example:443/",
            "http://localhost:3000",
            "com.example.app:/cb",
        ]);
        assert!(client_allows(&c, "https://app.example"));
        assert!(client_allows(&c, "http://localhost:3000"));
        for refused in [
            "https://app.example/",
            "https://App.Example",
            "https://app.example:443",
            "http://localhost:3001",
            "com.example.app:",
            "null",
            "",
        ] {
            assert!(!client_allows(&c, refused), "{refused}");
        }
        assert!(!client_allows(&client(&["null"]), "null"));
    }
}
