//! Redirect, logout and origin URLs: absolute, without a fragment or
//! credentials; `https`, or `http` on a loopback host; `native` clients may
//! also use private-use schemes (RFC 8252 §7.1) such as `com.example.app:/cb`.

use url::Url;

use super::{MAX_URL_LEN, MAX_URLS};
use crate::manage::Invalid;

/// Schemes never accepted, even for native applications.
const FORBIDDEN_SCHEMES: &[&str] = &[
    "javascript",
    "data",
    "vbscript",
    "file",
    "blob",
    "about",
    "filesystem",
];

/// Checks each URL of `property`; `origin_only` for `web_origins` and
/// `allowed_origins`.
pub(super) fn validate_urls(
    property: &str,
    urls: &[String],
    native: bool,
    origin_only: bool,
) -> Result<(), Invalid> {
    if urls.len() > MAX_URLS {
        return Err(Invalid::new(
            property,
            format!("at most {MAX_URLS} entries"),
        ));
    }
    for raw in urls {
        check_url(raw, native, origin_only).map_err(|problem| {
            let shown: String = raw.chars().take(100).collect();
            Invalid::new(property, format!("{shown:?} {problem}"))
        })?;
    }
    Ok(())
}

fn check_url(raw: &str, native: bool, origin_only: bool) -> Result<(), String> {
    if raw.is_empty() || raw.len() > MAX_URL_LEN {
        return Err(format!("must be 1 to {MAX_URL_LEN} characters"));
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain white space".into());
    }
    let url = Url::parse(raw).map_err(|_| "is not an absolute URL".to_owned())?;
    if raw.contains('#') || url.fragment().is_some() {
        return Err("must not contain a fragment".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain a user name or password".into());
    }
    match url.scheme() {
        "https" => {
            if url.host().is_none() {
                return Err("must name a host".into());
            }
        }
        "http" => {
            if !is_loopback(&url) {
                return Err(
                    "must use https (http is allowed only on loopback hosts such as localhost or 127.0.0.1)"
                        .into(),
                );
            }
        }
        scheme if native && !FORBIDDEN_SCHEMES.contains(&scheme) => {}
        _ => {
            return Err(if native {
                "must use https, http on a loopback host, or an app's own scheme".into()
            } else {
                "must use https (http is allowed only on loopback hosts such as localhost or 127.0.0.1)"
                    .into()
            });
        }
    }
    if origin_only && (url.query().is_some() || !matches!(url.path(), "" | "/")) {
        return Err("must be an origin (scheme://host[:port]) without a path or query".into());
    }
    Ok(())
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}
