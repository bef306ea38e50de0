//! The issuer's keys: discovery, fetching and parsing the JWKS, and the cache.
//!
//! The verifying path reads an `ArcSwap` snapshot and takes no lock. A fetch
//! happens (a) in the background when the snapshot's lifetime
//! (`Cache-Control: max-age`, else `default_ttl`, at least `refetch_interval`)
//! has run out, the stale keys serving meanwhile; (b) when a token names a `kid`
//! the snapshot lacks, at most once per `refetch_interval`: the requests that miss
//! queue on one async mutex, and whoever gets it after a fetch sees the fresh
//! attempt time and does not fetch again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ED25519, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256,
    RSA_PSS_2048_8192_SHA256, RsaPublicKeyComponents,
};
use serde::Deserialize;
use serde_json::Value;

use crate::jws::{self, Alg, HeaderInfo, Key};
use crate::{Claims, Options, SetupError, VerifyError};

const MAX_JWKS_BYTES: usize = 1 << 20;
const MAX_TTL: Duration = Duration::from_secs(86_400);
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Keys by `kid`: a short list scanned in order (JWKS hold a few keys, and a
/// scan of a few short strings beats hashing), a hash map past that.
pub(crate) enum KeyMap {
    Few(Vec<(String, Key)>),
    Many(HashMap<String, Key>),
}

const FEW: usize = 16;

impl KeyMap {
    fn new(keys: HashMap<String, Key>) -> Self {
        if keys.len() <= FEW {
            Self::Few(keys.into_iter().collect())
        } else {
            Self::Many(keys)
        }
    }

    #[inline]
    pub(crate) fn get(&self, kid: &str) -> Option<&Key> {
        match self {
            Self::Few(v) => v.iter().find(|(k, _)| k == kid).map(|(_, key)| key),
            Self::Many(m) => m.get(kid),
        }
    }

    fn contains_key(&self, kid: &str) -> bool {
        self.get(kid).is_some()
    }
}

pub(crate) struct KeySet {
    keys: Arc<KeyMap>,
    /// A fetch has succeeded at least once (or the keys are fixed).
    loaded: bool,
    /// When the last fetch was tried, successful or not.
    attempted: Option<Instant>,
    /// When to refresh in the background; `None`: fixed keys.
    fresh_until: Option<Instant>,
    error: Option<String>,
}

enum Source {
    Fixed,
    Remote { url: String, http: reqwest::Client },
}

pub(crate) struct KeyCache {
    source: Source,
    options: Options,
    keys: ArcSwap<KeySet>,
    lock: Arc<tokio::sync::Mutex<()>>,
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

impl KeyCache {
    pub(crate) fn remote(url: &str, options: Options) -> Self {
        Self {
            source: Source::Remote {
                url: url.to_owned(),
                http: http_client(),
            },
            options,
            keys: ArcSwap::from_pointee(KeySet {
                keys: Arc::new(KeyMap::Few(Vec::new())),
                loaded: false,
                attempted: None,
                fresh_until: None,
                error: None,
            }),
            lock: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    pub(crate) fn fixed(jwks: &[u8]) -> Result<Self, SetupError> {
        let keys = parse_jwks(jwks).map_err(SetupError::Jwks)?;
        Ok(Self {
            source: Source::Fixed,
            options: Options::default(),
            keys: ArcSwap::from_pointee(KeySet {
                keys: Arc::new(KeyMap::new(keys)),
                loaded: true,
                attempted: None,
                fresh_until: None,
                error: None,
            }),
            lock: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    /// The same source and the keys loaded so far, with other options.
    pub(crate) fn with_options(&self, options: Options) -> Self {
        let source = match &self.source {
            Source::Fixed => Source::Fixed,
            Source::Remote { url, http } => Source::Remote {
                url: url.clone(),
                http: http.clone(),
            },
        };
        let cur = self.keys.load();
        Self {
            source,
            options,
            keys: ArcSwap::from_pointee(KeySet {
                keys: cur.keys.clone(),
                loaded: cur.loaded,
                attempted: cur.attempted,
                fresh_until: cur.fresh_until,
                error: cur.error.clone(),
            }),
            lock: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// Fetches now; an error when no keys could be had.
    pub(crate) async fn initial_load(&self) -> Result<(), SetupError> {
        if let Source::Remote { url, http } = &self.source {
            let _g = self.lock.lock().await;
            self.fetch_now(url, http).await;
            let set = self.keys.load();
            if !set.loaded {
                return Err(SetupError::Jwks(set.error.clone().unwrap_or_default()));
            }
        }
        Ok(())
    }

    /// Header checks, key by `kid` (fetching on a miss, within the refetch
    /// policy), algorithm match, signature; then the parsed claims.
    pub(crate) async fn verify_signature(
        self: &Arc<Self>,
        token: &str,
        options: &Options,
    ) -> Result<(HeaderInfo, Claims), VerifyError> {
        let (parts, header) = jws::header_json(token, options.max_token_bytes())?;
        let parsed = jws::parse(token, parts, &header)?;
        {
            let set = self.keys.load();
            self.refresh_if_stale(&set);
            if let Some(key) = set.keys.get(&parsed.kid) {
                return parsed.finish(key);
            }
        }
        self.refetch_for(&parsed.kid).await;
        let set = self.keys.load();
        match set.keys.get(&parsed.kid) {
            Some(key) => parsed.finish(key),
            None if !set.loaded => Err(VerifyError::JwksUnavailable(
                set.error.clone().unwrap_or_else(|| "no keys loaded".into()),
            )),
            None => Err(VerifyError::UnknownKid(parsed.kid.into_owned())),
        }
    }

    /// Starts a background refresh when the snapshot has outlived its lifetime
    /// and no fetch is under way. Never waits.
    fn refresh_if_stale(self: &Arc<Self>, set: &KeySet) {
        let Some(until) = set.fresh_until else {
            return;
        };
        if Instant::now() < until {
            return;
        }
        let Ok(guard) = self.lock.clone().try_lock_owned() else {
            return;
        };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let me = self.clone();
        rt.spawn(async move {
            let _guard = guard;
            let stale = me
                .keys
                .load()
                .fresh_until
                .is_some_and(|t| Instant::now() >= t);
            if stale && let Source::Remote { url, http } = &me.source {
                me.fetch_now(url, http).await;
            }
        });
    }

    /// Whether a fetch for `kid` is allowed now: the key is still missing and
    /// the last attempt is at least `refetch_interval` old.
    fn may_fetch(&self, kid: &str) -> bool {
        let set = self.keys.load();
        !set.keys.contains_key(kid)
            && set
                .attempted
                .is_none_or(|t| t.elapsed() >= self.options.refetch_interval())
    }

    async fn refetch_for(&self, kid: &str) {
        let Source::Remote { url, http } = &self.source else {
            return;
        };
        if !self.may_fetch(kid) {
            return;
        }
        let _g = self.lock.lock().await;
        // Whoever held the lock may just have fetched.
        if !self.may_fetch(kid) {
            return;
        }
        self.fetch_now(url, http).await;
    }

    /// One fetch; the new snapshot replaces the old one. On failure the old
    /// keys stay, and the next try waits `refetch_interval`.
    async fn fetch_now(&self, url: &str, http: &reqwest::Client) {
        let now = Instant::now();
        let old = self.keys.load_full();
        let next = match fetch_jwks(http, url, &self.options).await {
            Ok((keys, ttl)) => {
                tracing::debug!(
                    url,
                    keys = keys.len(),
                    ttl_s = ttl.as_secs(),
                    "JWKS fetched"
                );
                KeySet {
                    keys: Arc::new(KeyMap::new(keys)),
                    loaded: true,
                    attempted: Some(now),
                    fresh_until: Some(now + ttl),
                    error: None,
                }
            }
            Err(e) => {
                tracing::warn!(url, error = %e, "JWKS fetch failed");
                KeySet {
                    keys: old.keys.clone(),
                    loaded: old.loaded,
                    attempted: Some(now),
                    fresh_until: Some(now + self.options.refetch_interval()),
                    error: Some(e),
                }
            }
        };
        self.keys.store(Arc::new(next));
    }
}

/// The cache lifetime: `max-age` (`no-store`/`no-cache`: none), else
/// `default_ttl`; kept within [`refetch_interval`, one day].
fn cache_ttl(headers: &reqwest::header::HeaderMap, options: &Options) -> Duration {
    let mut ttl = options.default_ttl();
    if let Some(cc) = headers
        .get(reqwest::header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
    {
        for directive in cc.split(',').map(str::trim) {
            let lower = directive.to_ascii_lowercase();
            if lower == "no-store" || lower == "no-cache" {
                ttl = Duration::ZERO;
                break;
            }
            if let Some(v) = lower.strip_prefix("max-age=")
                && let Ok(secs) = v.trim_matches('"').parse::<u64>()
            {
                ttl = Duration::from_secs(secs);
            }
        }
    }
    ttl.clamp(options.refetch_interval().min(MAX_TTL), MAX_TTL)
}

async fn fetch_jwks(
    http: &reqwest::Client,
    url: &str,
    options: &Options,
) -> Result<(HashMap<String, Key>, Duration), String> {
    let res = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if !res.status().is_success() {
        return Err(format!("{url} answered {}", res.status()));
    }
    let ttl = cache_ttl(res.headers(), options);
    if res
        .content_length()
        .is_some_and(|l| l > MAX_JWKS_BYTES as u64)
    {
        return Err(format!("{url}: the JWKS is larger than 1 MiB"));
    }
    let body = res.bytes().await.map_err(|e| format!("{url}: {e}"))?;
    if body.len() > MAX_JWKS_BYTES {
        return Err(format!("{url}: the JWKS is larger than 1 MiB"));
    }
    Ok((parse_jwks(&body).map_err(|e| format!("{url}: {e}"))?, ttl))
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Value>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    alg: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

/// The usable signature keys of a JWKS by `kid`. Keys this library cannot use
/// (symmetric, encryption, other curves, no `kid`) are skipped; the first of
/// two keys with one `kid` wins.
pub(crate) fn parse_jwks(body: &[u8]) -> Result<HashMap<String, Key>, String> {
    let set: JwkSet =
        serde_json::from_slice(body).map_err(|e| format!("not a JWKS document: {e}"))?;
    let mut out = HashMap::with_capacity(set.keys.len());
    for value in set.keys {
        let jwk: Jwk = match serde_json::from_value(value) {
            Ok(j) => j,
            Err(e) => {
                tracing::debug!(error = %e, "JWKS entry skipped");
                continue;
            }
        };
        let Some(kid) = jwk.kid.clone() else {
            continue;
        };
        match to_key(&jwk) {
            Ok(key) => {
                if let std::collections::hash_map::Entry::Vacant(slot) = out.entry(kid) {
                    slot.insert(key);
                } else {
                    tracing::warn!("JWKS has two keys with one kid: the first is used");
                }
            }
            Err(why) => tracing::debug!(kid, why, "JWKS entry skipped"),
        }
    }
    Ok(out)
}

fn b64(v: &Option<String>, what: &str) -> Result<Vec<u8>, String> {
    let v = v.as_deref().ok_or_else(|| format!("no {what}"))?;
    jws::b64(v, what).map_err(|e| e.to_string())
}

/// The key and its one algorithm, from `kty`/`crv`/`alg` of the JWK.
fn to_key(jwk: &Jwk) -> Result<Key, String> {
    if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
        return Err("not a signature key".into());
    }
    if jwk
        .key_ops
        .as_ref()
        .is_some_and(|ops| !ops.iter().any(|o| o == "verify"))
    {
        return Err("key_ops does not allow verify".into());
    }
    let alg = jwk.alg.as_deref();
    let rejected = |e: aws_lc_rs::error::KeyRejected| e.to_string();
    match jwk.kty.as_str() {
        "RSA" => {
            let (alg, params) = match alg {
                None | Some("RS256") => (Alg::RS256, &RSA_PKCS1_2048_8192_SHA256),
                Some("PS256") => (Alg::PS256, &RSA_PSS_2048_8192_SHA256),
                Some(other) => return Err(format!("RSA key for {other}")),
            };
            let n = b64(&jwk.n, "n")?;
            let e = b64(&jwk.e, "e")?;
            let public = RsaPublicKeyComponents { n: &n, e: &e }
                .to_parsed_public_key(params)
                .map_err(rejected)?;
            Ok(Key { alg, public })
        }
        "EC" => {
            if jwk.crv.as_deref() != Some("P-256") || !matches!(alg, None | Some("ES256")) {
                return Err("EC key not P-256/ES256".into());
            }
            let x = b64(&jwk.x, "x")?;
            let y = b64(&jwk.y, "y")?;
            if x.len() != 32 || y.len() != 32 {
                return Err("P-256 coordinates must be 32 bytes".into());
            }
            let mut point = Vec::with_capacity(65);
            point.push(4u8);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            let public = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).map_err(rejected)?;
            Ok(Key {
                alg: Alg::ES256,
                public,
            })
        }
        "OKP" => {
            if jwk.crv.as_deref() != Some("Ed25519")
                || !matches!(alg, None | Some("EdDSA") | Some("Ed25519"))
            {
                return Err("OKP key not Ed25519/EdDSA".into());
            }
            let x = b64(&jwk.x, "x")?;
            let public = ParsedPublicKey::new(&ED25519, x).map_err(rejected)?;
            Ok(Key {
                alg: Alg::EdDSA,
                public,
            })
        }
        other => Err(format!("key type {other} is not used for signatures here")),
    }
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

/// OpenID discovery: the issuer's exact identifier (as its document states it,
/// which must be `issuer`, give or take a final slash) and its `jwks_uri`.
pub(crate) async fn discover(issuer: &str) -> Result<(String, String), SetupError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let res = http_client()
        .get(&url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| SetupError::Discovery(format!("{url}: {e}")))?;
    if !res.status().is_success() {
        return Err(SetupError::Discovery(format!(
            "{url} answered {}",
            res.status()
        )));
    }
    let doc: Discovery = res
        .json()
        .await
        .map_err(|e| SetupError::Discovery(format!("{url}: not a discovery document: {e}")))?;
    if doc.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
        return Err(SetupError::Discovery(format!(
            "{url} names issuer {}, not {issuer}",
            doc.issuer
        )));
    }
    Ok((doc.issuer, doc.jwks_uri))
}
