//! The SSO session cookie and the login-transaction cookies.
//!
//! Every value is 256 random bits chosen by the server; the server keeps only
//! their SHA-256. A value a browser sends is only ever compared with what the
//! server stored, never adopted or sent back: an unknown session value names no
//! session, and every `/authorize` that starts a login request mints a fresh
//! transaction value, whatever cookies the browser sent — so a value planted in a
//! browser (even one this server once issued, to whoever asked) is never bound
//! to a new request.
//!
//! The transaction cookie is one per pending request, its NAME specific to it:
//! `tessera_tx_<tag>`, the tag being the first 8 bytes (16 hex digits) of the
//! SHA-256 of the request id. Several tabs therefore keep their own bindings,
//! and the hosted pages read the cookie of the request named in `state`. A
//! finished request (code issued, or an error sent to the client) clears its
//! cookie; an abandoned one expires with the request (15 minutes).
//!
//! All are HttpOnly. The transaction cookies are SameSite=Lax: they only ever
//! travel with the top-level navigations of the hosted pages. The session
//! cookie must also reach `/authorize` in a hidden iframe of an application on
//! another site (silent authentication, `response_mode=web_message`): on an
//! https issuer it is `SameSite=None; Secure`, with a `SameSite=Lax` companion
//! of the same value (`tessera_session_legacy`, as Auth0's `_legacy` cookies)
//! for browsers that reject `None` — whichever arrives names the session. On a
//! plain-http (loopback) issuer, where browsers refuse `None` without
//! `Secure`, it stays `Lax` and alone.
//!
//! On an https issuer their names carry the
//! `__Host-` prefix, which makes browsers refuse them unless they are Secure,
//! have `Path=/` and no `Domain` — so neither a sibling subdomain nor a plain-http
//! page can plant or overwrite them. `__Host-` needs `Path=/`: an issuer with a
//! path (`https://id.example.com/tenant-a/`) therefore scopes its cookies to the
//! whole host, and adds a tag derived from its path to their names, so that
//! issuers sharing a host (one origin, one trust domain) do not overwrite each
//! other's cookies. Plain-http (loopback) issuers use the bare names, scoped to
//! the issuer's path.

use axum::http::{HeaderMap, HeaderValue, header};
use tessera_core::Issuer;

pub const SESSION: &str = "tessera_session";
/// The `SameSite=Lax` companion of [`SESSION`] on https issuers.
pub const SESSION_LEGACY: &str = "tessera_session_legacy";
/// The prefix of the transaction cookies' names (see [`transaction`]).
pub const TRANSACTION: &str = "tessera_tx";

/// The base name of the cookie binding pending request `tx_id` to a browser:
/// `tessera_tx_` and the first 8 bytes of the SHA-256 of the id, in hex (the id
/// is in URLs anyway; the tag only keeps the name short).
pub fn transaction(tx_id: &str) -> String {
    let digest = tessera_core::ids::sha256(tx_id.as_bytes());
    let tag: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{TRANSACTION}_{tag}")
}

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

/// The value of cookie `base` (named for `issuer`) in the request, if any (the
/// first, when the browser sent several).
pub fn read(issuer: &Issuer, headers: &HeaderMap, base: &str) -> Option<String> {
    read_all(issuer, headers, base).into_iter().next()
}

/// Every value of cookie `base` (named for `issuer`) in the request: a browser
/// sends several cookies of one name when they differ in path or domain, so a
/// check against a stored hash looks at each rather than at whichever came first.
/// At most 16, each at most 256 bytes.
pub fn read_all(issuer: &Issuer, headers: &HeaderMap, base: &str) -> Vec<String> {
    let name = name(issuer, base);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|all| all.split(';'))
        .filter_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name && !v.is_empty() && v.len() <= 256).then(|| v.to_owned())
        })
        .take(16)
        .collect()
}

/// The browser's session secret: the `SameSite=None` cookie, else its `Lax`
/// companion.
pub fn read_session(issuer: &Issuer, headers: &HeaderMap) -> Option<String> {
    read(issuer, headers, SESSION).or_else(|| {
        issuer
            .is_https()
            .then(|| read(issuer, headers, SESSION_LEGACY))
            .flatten()
    })
}

/// The browser's session secret as a top-level navigation or a same-site
/// request carries it: on https, only the `SameSite=Lax` companion. Logout
/// reads this one, so that a cross-site subresource or form post (which
/// carries only the `SameSite=None` cookie) cannot end a user's session
/// behind their back.
pub fn read_session_lax(issuer: &Issuer, headers: &HeaderMap) -> Option<String> {
    let name = if issuer.is_https() {
        SESSION_LEGACY
    } else {
        SESSION
    };
    read(issuer, headers, name)
}

/// The `Set-Cookie`s of the session cookie (and, on https, its companion),
/// living `max_age` seconds (0 deletes them).
pub fn set_session(issuer: &Issuer, value: &str, max_age: i64) -> Vec<HeaderValue> {
    if !issuer.is_https() {
        return set(issuer, SESSION, value, max_age).into_iter().collect();
    }
    [
        set_with(issuer, SESSION, value, max_age, "None"),
        set_with(issuer, SESSION_LEGACY, value, max_age, "Lax"),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The `Set-Cookie`s deleting the session cookie and its companion.
pub fn clear_session(issuer: &Issuer) -> Vec<HeaderValue> {
    set_session(issuer, "deleted", 0)
}

/// `Set-Cookie` for `base=value` (named for `issuer`), `SameSite=Lax`, living
/// `max_age` seconds (0 deletes it).
pub fn set(issuer: &Issuer, base: &str, value: &str, max_age: i64) -> Option<HeaderValue> {
    set_with(issuer, base, value, max_age, "Lax")
}

fn set_with(
    issuer: &Issuer,
    base: &str,
    value: &str,
    max_age: i64,
    same_site: &str,
) -> Option<HeaderValue> {
    let name = name(issuer, base);
    let scope = if issuer.is_https() {
        // What `__Host-` requires: Secure, Path=/, no Domain.
        "Path=/".to_owned()
    } else {
        format!("Path={}", issuer.path())
    };
    let secure = if issuer.is_https() { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; {scope}; Max-Age={max_age}; HttpOnly; SameSite={same_site}{secure}"
    ))
    .ok()
}

pub fn clear(issuer: &Issuer, base: &str) -> Option<HeaderValue> {
    set(issuer, base, "deleted", 0)
}

pub fn sha256(value: &str) -> Vec<u8> {
    tessera_core::ids::sha256(value.as_bytes())
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
    fn transaction_cookies_are_named_per_request() {
        let a = transaction("request-a");
        assert!(a.starts_with("tessera_tx_") && a.len() == "tessera_tx_".len() + 16);
        assert_ne!(a, transaction("request-b"));
        let local = Issuer::parse("http://127.0.0.1:8080/").unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("{a}=one; tessera_tx=x; {a}=two")).unwrap(),
        );
        assert_eq!(read_all(&local, &h, &a), vec!["one", "two"]);
        assert_eq!(read(&local, &h, &transaction("request-b")), None);
        assert!(
            tessera_core::token::opaque::new_secret_value()
                .unwrap()
                .len()
                >= 43
        );
    }
}
