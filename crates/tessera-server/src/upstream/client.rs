//! Outgoing calls to upstream identity providers: each one bounded in time
//! (the caller's deadline) and in size ([`MAX_BODY`]), no redirects followed,
//! https only to public addresses: every URL used (also those of a discovery
//! document) is checked with [`check_url`], and the resolver refuses names
//! that resolve to loopback, private, link-local or reserved addresses
//! ([`ip_allowed`]); only `ServerConfig::upstream_allow_loopback_http` (tests)
//! re-allows http to loopback. The provider's metadata is cached per URL for
//! [`METADATA_TTL`], a failure to fetch it for [`METADATA_FAILURE_TTL`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use tessera_core::manage::upstream_options::{OIDC_STRATEGY, check_url, ip_allowed};
use tessera_core::model::Connection;

/// Largest upstream answer read (metadata, JWKS, token, userinfo).
pub const MAX_BODY: usize = 256 * 1024;
/// How long fetched metadata is reused.
pub const METADATA_TTL: Duration = Duration::from_secs(300);
/// How long a failure to fetch metadata is answered without a new fetch.
pub const METADATA_FAILURE_TTL: Duration = Duration::from_secs(5);

/// Why an upstream call failed; never carries a token or secret.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// Not reachable, timed out, or a 5xx.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    /// An answer that fails a check.
    #[error("the identity provider's answer is invalid: {0}")]
    Invalid(String),
}

/// A metadata fetch: when, and what it gave.
type Cached = (Instant, Result<Value, UpstreamError>);

/// The HTTP client and the metadata cache of one node.
pub struct Upstream {
    http: reqwest::Client,
    allow_loopback_http: bool,
    metadata: Mutex<HashMap<String, Cached>>,
}

/// Resolves names only to addresses [`ip_allowed`] accepts (reqwest does not
/// resolve IP-literal hosts: [`check_url`] checks those).
struct PublicOnly {
    allow_loopback: bool,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_loopback = self.allow_loopback;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let allowed: Vec<std::net::SocketAddr> = found
                .filter(|a| ip_allowed(a.ip(), allow_loopback))
                .collect();
            if allowed.is_empty() {
                return Err("the name resolves to no public address".into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

impl Upstream {
    /// The client of a node; `allow_loopback_http` only for tests. Fails
    /// (at startup) rather than fall back to a client without its limits.
    pub fn new(allow_loopback_http: bool) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .user_agent("Tessera")
            .no_proxy()
            .dns_resolver(std::sync::Arc::new(PublicOnly {
                allow_loopback: allow_loopback_http,
            }))
            .build()?;
        Ok(Self {
            http,
            allow_loopback_http,
            metadata: Mutex::new(HashMap::new()),
        })
    }
}

/// The endpoints of a connection, resolved (and checked).
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// The issuer ID tokens must carry (`oidc`).
    pub issuer: Option<String>,
    pub authorization: url::Url,
    pub token: url::Url,
    pub jwks_uri: Option<url::Url>,
    pub userinfo: Option<url::Url>,
    /// `client_secret_basic` or `client_secret_post`.
    pub auth_method: &'static str,
    /// The metadata's `authorization_response_iss_parameter_supported`
    /// (RFC 9207): the answer must then carry `iss`.
    pub iss_parameter_supported: bool,
}

fn opt_str<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn url_of(v: &Value, key: &str, loopback: bool) -> Result<Option<url::Url>, UpstreamError> {
    match opt_str(v, key) {
        None => Ok(None),
        Some(s) => check_url(key, s, loopback)
            .map(Some)
            .map_err(|e| UpstreamError::Invalid(format!("{}: {}", e.property, e.problem))),
    }
}

fn required(v: &Value, key: &str, loopback: bool) -> Result<url::Url, UpstreamError> {
    url_of(v, key, loopback)?.ok_or_else(|| UpstreamError::Invalid(format!("no {key}")))
}

impl Upstream {
    /// Reads at most [`MAX_BODY`] bytes of `res` as JSON.
    async fn json(mut res: reqwest::Response) -> Result<(u16, Value), UpstreamError> {
        let status = res.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = res
            .chunk()
            .await
            .map_err(|e| UpstreamError::Unavailable(e.without_url().to_string()))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(UpstreamError::Invalid("the answer is too large".into()));
            }
            body.extend_from_slice(&chunk);
        }
        if status >= 500 {
            return Err(UpstreamError::Unavailable(format!("status {status}")));
        }
        let value = serde_json::from_slice(&body)
            .map_err(|_| UpstreamError::Invalid(format!("status {status}, not JSON")))?;
        Ok((status, value))
    }

    async fn send(req: reqwest::RequestBuilder) -> Result<(u16, Value), UpstreamError> {
        let res = req
            .send()
            .await
            .map_err(|e| UpstreamError::Unavailable(e.without_url().to_string()))?;
        Self::json(res).await
    }

    /// A GET answered 200 with JSON (bearer `token` when given).
    pub async fn get_json(
        &self,
        url: &url::Url,
        token: Option<&str>,
        timeout: Duration,
    ) -> Result<Value, UpstreamError> {
        let mut req = self
            .http
            .get(url.clone())
            .timeout(timeout)
            .header("accept", "application/json");
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        match Self::send(req).await? {
            (200, v) => Ok(v),
            (status, _) => Err(UpstreamError::Invalid(format!("status {status}"))),
        }
    }

    /// A form POST (the token endpoint): any status, with its JSON.
    pub async fn post_form(
        &self,
        url: &url::Url,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
        timeout: Duration,
    ) -> Result<(u16, Value), UpstreamError> {
        let mut req = self
            .http
            .post(url.clone())
            .timeout(timeout)
            .header("accept", "application/json")
            .form(form);
        if let Some((user, password)) = basic {
            // RFC 6749 §2.3.1: each part form-urlencoded first.
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            req = req.basic_auth(enc(user), Some(enc(password)));
        }
        Self::send(req).await
    }

    /// A grant at the provider's token endpoint, authenticated as the
    /// connection's client (`client_secret_post` in the body, else HTTP
    /// Basic): the JSON answer of a 200, or the status and the provider's
    /// `error` code (printable ASCII, at most 64 characters; never a token).
    pub async fn token_grant(
        &self,
        endpoints: &Endpoints,
        client_id: &str,
        secret: &str,
        mut form: Vec<(&str, &str)>,
        timeout: Duration,
    ) -> Result<Result<Value, (u16, String)>, UpstreamError> {
        let basic = if endpoints.auth_method == "client_secret_post" {
            form.push(("client_id", client_id));
            form.push(("client_secret", secret));
            None
        } else {
            Some((client_id, secret))
        };
        let (status, body) = self
            .post_form(&endpoints.token, &form, basic, timeout)
            .await?;
        if status == 200 {
            return Ok(Ok(body));
        }
        let error = body
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .chars()
            .filter(char::is_ascii_graphic)
            .take(64)
            .collect();
        Ok(Err((status, error)))
    }

    async fn metadata(&self, url: &url::Url, timeout: Duration) -> Result<Value, UpstreamError> {
        let key = url.as_str().to_owned();
        if let Ok(cache) = self.metadata.lock()
            && let Some((at, v)) = cache.get(&key)
            && at.elapsed()
                < if v.is_ok() {
                    METADATA_TTL
                } else {
                    METADATA_FAILURE_TTL
                }
        {
            return v.clone();
        }
        let fetched = match self.get_json(url, None, timeout).await {
            Ok(v) if v.is_object() => Ok(v),
            Ok(_) => Err(UpstreamError::Invalid("metadata is not an object".into())),
            Err(e) => Err(e),
        };
        self.remember(key, fetched.clone());
        fetched
    }

    fn remember(&self, key: String, v: Result<Value, UpstreamError>) {
        if let Ok(mut cache) = self.metadata.lock() {
            if cache.len() > 1000 {
                cache.clear();
            }
            cache.insert(key, (Instant::now(), v));
        }
    }

    /// The connection's endpoints: from its discovery document (whose
    /// `issuer` must equal the configured one, when one is) or its options.
    pub async fn endpoints(
        &self,
        connection: &Connection,
        timeout: Duration,
    ) -> Result<Endpoints, UpstreamError> {
        let o = &connection.options;
        let lo = self.allow_loopback_http;
        if connection.strategy != OIDC_STRATEGY {
            return Ok(Endpoints {
                issuer: None,
                authorization: required(o, "authorizationURL", lo)?,
                token: required(o, "tokenURL", lo)?,
                jwks_uri: None,
                userinfo: Some(required(o, "userinfo_url", lo)?),
                // Auth0's oauth2 strategy sends the credentials in the body.
                auth_method: "client_secret_post",
                iss_parameter_supported: false,
            });
        }
        let meta = match url_of(o, "discovery_url", lo)? {
            Some(url) => Some(self.metadata(&url, timeout).await?),
            None => None,
        };
        let src = meta.as_ref().unwrap_or(o);
        let issuer = opt_str(src, "issuer")
            .ok_or_else(|| UpstreamError::Invalid("no issuer".into()))?
            .to_owned();
        if let (Some(_), Some(configured)) = (&meta, opt_str(o, "issuer"))
            && configured != issuer
        {
            return Err(UpstreamError::Invalid(
                "the metadata's issuer is not the configured one".into(),
            ));
        }
        Ok(Endpoints {
            authorization: required(src, "authorization_endpoint", lo)?,
            token: required(src, "token_endpoint", lo)?,
            jwks_uri: Some(required(src, "jwks_uri", lo)?),
            userinfo: url_of(src, "userinfo_endpoint", lo)?,
            auth_method: auth_method(o, meta.as_ref()),
            iss_parameter_supported: src
                .get("authorization_response_iss_parameter_supported")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            issuer: Some(issuer),
        })
    }
}

/// The connection's `token_endpoint_auth_method`, else what the metadata
/// lists (basic first: RFC 8414's default), else basic.
fn auth_method(options: &Value, meta: Option<&Value>) -> &'static str {
    let named = |m: &str| match m {
        "client_secret_post" => Some("client_secret_post"),
        "client_secret_basic" => Some("client_secret_basic"),
        _ => None,
    };
    if let Some(m) = opt_str(options, "token_endpoint_auth_method").and_then(named) {
        return m;
    }
    let listed: Vec<&str> = meta
        .and_then(|m| m.get("token_endpoint_auth_methods_supported"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if listed.is_empty() || listed.contains(&"client_secret_basic") {
        "client_secret_basic"
    } else if listed.contains(&"client_secret_post") {
        "client_secret_post"
    } else {
        "client_secret_basic"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn oidc(discovery: &str) -> Connection {
        Connection {
            strategy: OIDC_STRATEGY.into(),
            options: json!({"discovery_url": discovery, "client_id": "a"}),
            ..Default::default()
        }
    }

    /// A third party's discovery document naming an internal token endpoint
    /// (or JWKS) is refused unless the test flag allows loopback.
    #[tokio::test]
    async fn discovery_naming_loopback_or_private_endpoints_is_refused() {
        let url = "https://idp.example/.well-known/openid-configuration";
        let meta = |token: &str, jwks: &str| {
            json!({"issuer": "https://idp.example/", "authorization_endpoint": "https://idp.example/a",
                "token_endpoint": token, "jwks_uri": jwks})
        };
        let up = Upstream::new(false).unwrap();
        for (token, jwks) in [
            (
                "http://127.0.0.1:15000/quitquitquit",
                "https://idp.example/jwks",
            ),
            ("https://idp.example/t", "https://169.254.169.254/latest/"),
            ("https://[::ffff:127.0.0.1]/t", "https://idp.example/jwks"),
            ("https://localhost/t", "https://idp.example/jwks"),
        ] {
            up.remember(url.into(), Ok(meta(token, jwks)));
            let e = up.endpoints(&oidc(url), Duration::from_secs(1)).await;
            assert!(
                matches!(e, Err(UpstreamError::Invalid(_))),
                "{token} {jwks}"
            );
        }
        up.remember(
            url.into(),
            Ok(meta("https://idp.example/t", "https://idp.example/j")),
        );
        up.endpoints(&oidc(url), Duration::from_secs(1))
            .await
            .unwrap();
        // A stored discovery URL on loopback is refused before any fetch.
        let e = up
            .endpoints(&oidc("http://127.0.0.1:9/x"), Duration::from_secs(1))
            .await;
        assert!(matches!(e, Err(UpstreamError::Invalid(_))));
        // With the test flag, loopback http only.
        let test = Upstream::new(true).unwrap();
        test.remember(
            url.into(),
            Ok(meta("http://127.0.0.1:9/t", "https://10.0.0.1/j")),
        );
        assert!(
            test.endpoints(&oidc(url), Duration::from_secs(1))
                .await
                .is_err()
        );
        test.remember(
            url.into(),
            Ok(meta("http://127.0.0.1:9/t", "http://127.0.0.1:9/j")),
        );
        test.endpoints(&oidc(url), Duration::from_secs(1))
            .await
            .unwrap();
    }

    /// The resolver refuses names of loopback (the check an https URL to a
    /// DNS name cannot make by itself).
    #[tokio::test]
    async fn the_resolver_refuses_names_of_internal_addresses() {
        let up = Upstream::new(false).unwrap();
        let url = url::Url::parse("https://localhost.:1/x").unwrap();
        let e = up.get_json(&url, None, Duration::from_secs(2)).await;
        assert!(matches!(e, Err(UpstreamError::Unavailable(_))), "{e:?}");
        use reqwest::dns::Resolve;
        let refused = PublicOnly {
            allow_loopback: false,
        }
        .resolve("localhost".parse().unwrap())
        .await;
        assert!(refused.is_err());
        let allowed = PublicOnly {
            allow_loopback: true,
        }
        .resolve("localhost".parse().unwrap())
        .await
        .unwrap();
        assert!(allowed.into_iter().all(|a| a.ip().is_loopback()));
    }

    /// A failed discovery fetch is answered from the cache for a few seconds.
    #[tokio::test]
    async fn discovery_failures_are_cached_briefly() {
        let up = Upstream::new(true).unwrap();
        let url = "http://127.0.0.1:9/.well-known/openid-configuration";
        up.remember(url.into(), Err(UpstreamError::Unavailable("down".into())));
        let e = up.endpoints(&oidc(url), Duration::from_secs(1)).await;
        assert!(matches!(e, Err(UpstreamError::Unavailable(m)) if m == "down"));
    }
}
