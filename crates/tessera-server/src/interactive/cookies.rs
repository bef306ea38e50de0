//! The SSO session cookie and the login-transaction cookie.
//!
//! Both hold 256-bit random secrets chosen by the server; the server keeps only
//! their SHA-256. A value a browser sends is only ever compared with what the
//! server stored or signed, never adopted: an unknown session value names no
//! session, and a `tessera_tx` value the server did not issue (one without the
//! server's keyed MAC) is replaced by a fresh one rather than bound to a new
//! login request, so a planted cookie cannot fix the CSRF binding.
//!
//! Both are HttpOnly and SameSite=Lax. On an https issuer their names carry the
//! `__Host-` prefix, which makes browsers refuse them unless they are Secure,
//! have `Path=/` and no `Domain` — so neither a sibling subdomain nor a plain-http
//! page can plant or overwrite them. `__Host-` needs `Path=/`: an issuer with a
//! path (`https://id.example.com/tenant-a/`) therefore scopes its cookies to the
//! whole host, and adds a tag derived from its path to their names, so that
//! issuers sharing a host (one origin, one trust domain) do not overwrite each
//! other's cookies. Plain-http (loopback) issuers use the bare names, scoped to
//! the issuer's path.

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tessera_core::Issuer;
use tessera_core::envelope::MasterKey;

pub const SESSION: &str = "tessera_session";
pub const TRANSACTION: &str = "tessera_tx";

/// The keyed-hash purpose of the `tessera_tx` value's MAC.
const TX_MAC_PURPOSE: &str = "tessera_tx cookie";

/// The cookie name of `base` for `issuer`: `__Host-{base}` on https (with a tag
/// of the issuer's path when it has one), `base` on plain http.
pub fn name(issuer: &Issuer, base: &str) -> String {
    if !issuer.is_https() {
        return base.to_owned();
    }
    match issuer.path() {
        "/" => format!("__Host-{base}"),
        path => {
            let digest = tessera_core::ids::sha256(path.as_bytes());
            let tag: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
            format!("__Host-{base}-{tag}")
        }
    }
}

/// The value of cookie `base` (named for `issuer`) in the request, if any.
pub fn read(issuer: &Issuer, headers: &HeaderMap, base: &str) -> Option<String> {
    let name = name(issuer, base);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|all| {
            all.split(';').find_map(|pair| {
                let (k, v) = pair.trim().split_once('=')?;
                (k == name && !v.is_empty() && v.len() <= 256).then(|| v.to_owned())
            })
        })
}

/// `Set-Cookie` for `base=value` (named for `issuer`), living `max_age` seconds
/// (0 deletes it).
pub fn set(issuer: &Issuer, base: &str, value: &str, max_age: i64) -> Option<HeaderValue> {
    let name = name(issuer, base);
    let scope = if issuer.is_https() {
        // What `__Host-` requires: Secure, Path=/, no Domain.
        "Path=/".to_owned()
    } else {
        format!("Path={}", issuer.path())
    };
    let secure = if issuer.is_https() { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; {scope}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    ))
    .ok()
}

pub fn clear(issuer: &Issuer, base: &str) -> Option<HeaderValue> {
    set(issuer, base, "deleted", 0)
}

pub fn sha256(value: &str) -> Vec<u8> {
    tessera_core::ids::sha256(value.as_bytes())
}

/// A new `tessera_tx` value: 256 random bits and the server's MAC of them, so
/// that a later request can tell a value this server issued from a planted one.
pub fn new_transaction_value(master: &MasterKey) -> Option<String> {
    let random = tessera_core::grant::authorization_code::new_secret_value().ok()?;
    let mac = master.keyed_hash(TX_MAC_PURPOSE, random.as_bytes());
    Some(format!("{random}.{}", URL_SAFE_NO_PAD.encode(mac)))
}

/// Did this server issue `value` (is its MAC ours)? Constant-time.
pub fn is_issued_transaction_value(master: &MasterKey, value: &str) -> bool {
    let Some((random, mac)) = value.split_once('.') else {
        return false;
    };
    let Ok(mac) = URL_SAFE_NO_PAD.decode(mac) else {
        return false;
    };
    master.verify_keyed_hash(TX_MAC_PURPOSE, random.as_bytes(), &mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_cookie_among_many() {
        let local = Issuer::parse("http://127.0.0.1:8080/").unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; tessera_session=abc; b=2"),
        );
        assert_eq!(read(&local, &h, SESSION).as_deref(), Some("abc"));
        assert_eq!(read(&local, &h, TRANSACTION), None);
        let https = Issuer::parse("https://id.example.com/").unwrap();
        assert_eq!(read(&https, &h, SESSION), None, "not the __Host- name");
    }

    #[test]
    fn https_issuers_use_host_prefixed_cookies() {
        let issuer = Issuer::parse("https://id.example.com/").unwrap();
        let c = set(&issuer, SESSION, "v", 60).unwrap();
        assert_eq!(
            c.to_str().unwrap(),
            "__Host-tessera_session=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
        let a = Issuer::parse("https://id.example.com/t").unwrap();
        let b = Issuer::parse("https://id.example.com/u").unwrap();
        let c = set(&a, TRANSACTION, "v", 60).unwrap();
        let c = c.to_str().unwrap();
        assert!(c.starts_with("__Host-tessera_tx-"), "{c}");
        assert!(c.contains("; Path=/;") && c.ends_with("; Secure"), "{c}");
        assert_ne!(name(&a, TRANSACTION), name(&b, TRANSACTION));
        let local = Issuer::parse("http://localhost:8080/t").unwrap();
        assert_eq!(
            set(&local, SESSION, "v", 0).unwrap().to_str().unwrap(),
            "tessera_session=v; Path=/t/; Max-Age=0; HttpOnly; SameSite=Lax"
        );
    }

    #[test]
    fn only_issued_transaction_values_verify() {
        let (master, _) = MasterKey::generate().unwrap();
        let (other, _) = MasterKey::generate().unwrap();
        let v = new_transaction_value(&master).unwrap();
        assert!(v.len() <= 256);
        assert!(is_issued_transaction_value(&master, &v));
        assert!(!is_issued_transaction_value(&other, &v));
        assert!(!is_issued_transaction_value(&master, "planted"));
        assert!(!is_issued_transaction_value(&master, "planted.value"));
        let (random, _) = v.split_once('.').unwrap();
        assert!(!is_issued_transaction_value(
            &master,
            &format!("{random}x.{}", v.split_once('.').unwrap().1)
        ));
    }
}
