//! Outgoing calls to upstream identity providers: each one bounded in time
//! (the caller's deadline) and in size ([`MAX_BODY`]), no redirects followed,
//! https only (http only to loopback hosts, checked on every URL used). The
//! provider's metadata is cached per URL for [`METADATA_TTL`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use tessera_core::manage::upstream_options::{OIDC_STRATEGY, check_url};
use tessera_core::model::Connection;

/// Largest upstream answer read (metadata, JWKS, token, userinfo).
pub const MAX_BODY: usize = 256 * 1024;
/// How long fetched metadata is reused.
pub const METADATA_TTL: Duration = Duration::from_secs(300);

/// Why an upstream call failed; never carries a token or secret.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// Not reachable, timed out, or a 5xx.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    /// An answer that fails a check.
    #[error("the identity provider's answer is invalid: {0}")]
    Invalid(String),
}

/// The HTTP client and the metadata cache of one node.
pub struct Upstream {
    http: reqwest::Client,
    metadata: Mutex<HashMap<String, (Instant, Value)>>,
}

impl Default for Upstream {
    fn default() -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .user_agent("Tessera")
            .build()
            .unwrap_or_default();
        Self {
            http,
            metadata: Mutex::new(HashMap::new()),
        }
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
}

fn opt_str<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn url_of(v: &Value, key: &str) -> Result<Option<url::Url>, UpstreamError> {
    match opt_str(v, key) {
        None => Ok(None),
        Some(s) => check_url(key, s)
            .map(Some)
            .map_err(|e| UpstreamError::Invalid(format!("{}: {}", e.property, e.problem))),
    }
}

fn required(v: &Value, key: &str) -> Result<url::Url, UpstreamError> {
    url_of(v, key)?.ok_or_else(|| UpstreamError::Invalid(format!("no {key}")))
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

    async fn metadata(&self, url: &url::Url, timeout: Duration) -> Result<Value, UpstreamError> {
        let key = url.as_str().to_owned();
        if let Ok(cache) = self.metadata.lock()
            && let Some((at, v)) = cache.get(&key)
            && at.elapsed() < METADATA_TTL
        {
            return Ok(v.clone());
        }
        let v = self.get_json(url, None, timeout).await?;
        if !v.is_object() {
            return Err(UpstreamError::Invalid("metadata is not an object".into()));
        }
        if let Ok(mut cache) = self.metadata.lock() {
            if cache.len() > 1000 {
                cache.clear();
            }
            cache.insert(key, (Instant::now(), v.clone()));
        }
        Ok(v)
    }

    /// The connection's endpoints: from its discovery document (whose
    /// `issuer` must equal the configured one, when one is) or its options.
    pub async fn endpoints(
        &self,
        connection: &Connection,
        timeout: Duration,
    ) -> Result<Endpoints, UpstreamError> {
        let o = &connection.options;
        if connection.strategy != OIDC_STRATEGY {
            return Ok(Endpoints {
                issuer: None,
                authorization: required(o, "authorizationURL")?,
                token: required(o, "tokenURL")?,
                jwks_uri: None,
                userinfo: Some(required(o, "userinfo_url")?),
                // Auth0's oauth2 strategy sends the credentials in the body.
                auth_method: "client_secret_post",
            });
        }
        let meta = match url_of(o, "discovery_url")? {
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
            authorization: required(src, "authorization_endpoint")?,
            token: required(src, "token_endpoint")?,
            jwks_uri: Some(required(src, "jwks_uri")?),
            userinfo: url_of(src, "userinfo_endpoint")?,
            auth_method: auth_method(o, meta.as_ref()),
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
