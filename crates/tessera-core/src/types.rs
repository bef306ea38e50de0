//! Newtypes shared by every crate.

use std::fmt;

use url::Url;

/// A value that must never be printed: `Debug` and `Display` are redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }
    /// The secret itself; the name makes every use easy to find.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A secret in a request body: a string. Anything else is refused with "must be
/// a string", never with serde's message, which would quote the value.
impl<'de> serde::Deserialize<'de> for Secret<String> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(s) => Ok(Self(s)),
            _ => Err(serde::de::Error::custom("must be a string")),
        }
    }
}

/// The issuer: an absolute `https` URL (or `http` on a loopback host), no query or
/// fragment, always ending with `/`. Every endpoint path is relative to it.
///
/// An issuer given without the trailing `/` is normalised by appending one:
/// `https://id.example.com/tenant` and `https://id.example.com/tenant/` are the
/// same issuer, and tokens always carry the form with the slash (as Auth0's do).
#[derive(Clone, PartialEq, Eq)]
pub struct Issuer {
    url: Url,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IssuerError {
    #[error("is not an absolute URL ({0})")]
    NotAUrl(String),
    #[error(
        "must use https (plain http is allowed only for loopback hosts such as 127.0.0.1 or localhost)"
    )]
    InsecureScheme,
    #[error("must use the https scheme, not {0:?}")]
    BadScheme(String),
    #[error("must not contain a query or a fragment")]
    QueryOrFragment,
    #[error("must not contain a user name or password")]
    Credentials,
    #[error("must name a host")]
    NoHost,
}

impl Issuer {
    pub fn parse(input: &str) -> Result<Self, IssuerError> {
        let mut url = Url::parse(input.trim()).map_err(|e| IssuerError::NotAUrl(e.to_string()))?;
        match url.scheme() {
            "https" => {}
            "http" => {
                if !is_loopback(&url) {
                    return Err(IssuerError::InsecureScheme);
                }
            }
            other => return Err(IssuerError::BadScheme(other.to_owned())),
        }
        if url.host().is_none() {
            return Err(IssuerError::NoHost);
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(IssuerError::QueryOrFragment);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(IssuerError::Credentials);
        }
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        Ok(Self { url })
    }

    /// The issuer string, with its trailing `/`.
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// An endpoint URL: `relative` must not start with `/`.
    pub fn join(&self, relative: &str) -> String {
        format!("{}{}", self.url.as_str(), relative)
    }

    /// The path part, always starting and ending with `/`.
    pub fn path(&self) -> &str {
        self.url.path()
    }

    pub fn is_https(&self) -> bool {
        self.url.scheme() == "https"
    }

    /// The Management API's identifier, `{issuer}api/v2/`.
    pub fn management_audience(&self) -> String {
        self.join("api/v2/")
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

impl fmt::Display for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Issuer({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_slash_is_added() {
        let i = Issuer::parse("https://id.example.com/tenant").unwrap();
        assert_eq!(i.as_str(), "https://id.example.com/tenant/");
        assert_eq!(i.path(), "/tenant/");
        assert_eq!(
            i.join("oauth/token"),
            "https://id.example.com/tenant/oauth/token"
        );
        let root = Issuer::parse("https://id.example.com").unwrap();
        assert_eq!(root.as_str(), "https://id.example.com/");
        assert_eq!(root.management_audience(), "https://id.example.com/api/v2/");
    }

    #[test]
    fn rejects_bad_issuers() {
        assert_eq!(
            Issuer::parse("http://id.example.com/"),
            Err(IssuerError::InsecureScheme)
        );
        assert!(Issuer::parse("http://127.0.0.1:8080/").is_ok());
        assert!(Issuer::parse("http://localhost:8080").is_ok());
        assert!(Issuer::parse("http://[::1]:8080/").is_ok());
        assert!(matches!(
            Issuer::parse("not a url"),
            Err(IssuerError::NotAUrl(_))
        ));
        assert!(matches!(
            Issuer::parse("ftp://x.example/"),
            Err(IssuerError::BadScheme(_))
        ));
        assert_eq!(
            Issuer::parse("https://x.example/?a=b"),
            Err(IssuerError::QueryOrFragment)
        );
        assert_eq!(
            Issuer::parse("https://x.example/#f"),
            Err(IssuerError::QueryOrFragment)
        );
        assert_eq!(
            Issuer::parse("https://u:p@x.example/"),
            Err(IssuerError::Credentials)
        );
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("hunter2".to_string());
        assert_eq!(format!("{s:?} {s}"), "Secret([redacted]) [redacted]");
        assert_eq!(s.expose(), "hunter2");
    }
}
