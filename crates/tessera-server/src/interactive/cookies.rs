//! The SSO session cookie and the login-transaction cookie.
//!
//! Both hold 256-bit random secrets; the server keeps only their SHA-256. Both
//! are HttpOnly, SameSite=Lax, scoped to the issuer's path, and Secure when the
//! issuer is https.

use axum::http::{HeaderMap, HeaderValue, header};
use tessera_core::Issuer;

pub const SESSION: &str = "tessera_session";
pub const TRANSACTION: &str = "tessera_tx";

/// The value of cookie `name` in the request, if any.
pub fn read(headers: &HeaderMap, name: &str) -> Option<String> {
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

/// `Set-Cookie` for `name=value`, living `max_age` seconds (0 deletes it).
pub fn set(issuer: &Issuer, name: &str, value: &str, max_age: i64) -> Option<HeaderValue> {
    let secure = if issuer.is_https() { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
        issuer.path()
    ))
    .ok()
}

pub fn clear(issuer: &Issuer, name: &str) -> Option<HeaderValue> {
    set(issuer, name, "deleted", 0)
}

pub fn sha256(value: &str) -> Vec<u8> {
    tessera_core::ids::sha256(value.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_cookie_among_many() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; tessera_session=abc; b=2"),
        );
        assert_eq!(read(&h, SESSION).as_deref(), Some("abc"));
        assert_eq!(read(&h, TRANSACTION), None);
        let issuer = Issuer::parse("https://id.example.com/t").unwrap();
        let c = set(&issuer, SESSION, "v", 60).unwrap();
        assert_eq!(
            c.to_str().unwrap(),
            "tessera_session=v; Path=/t/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
    }
}
