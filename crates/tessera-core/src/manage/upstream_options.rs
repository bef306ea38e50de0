//! Options of upstream identity-provider connections: `oidc` (any OpenID
//! Connect provider) and `oauth2` (plain OAuth 2.0 with a userinfo URL and
//! a declarative claim mapping). Every option Auth0 documents for them is
//! accepted with its type; docs/upstream-idps.md says which ones Tessera acts
//! on. `client_secret` is sealed under the master key before it is stored
//! ([`seal_client_secret`]) and never shown.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use zeroize::Zeroizing;

use super::Invalid;
use crate::envelope::{MasterKey, OpenError};
use crate::ids::RngError;

pub use crate::upstream::{OAUTH2_STRATEGY, OIDC_STRATEGY};
/// How a sealed `client_secret` starts in stored options.
const SEALED_PREFIX: &str = "sealed:v1:";
/// Longest URL accepted in options.
pub const MAX_URL_LEN: usize = 2048;

/// Is `strategy` an upstream provider's?
pub fn is_upstream(strategy: &str) -> bool {
    strategy == OIDC_STRATEGY || strategy == OAUTH2_STRATEGY
}

const ROOT_ATTRIBUTES: &[&str] = &["on_each_login", "on_first_login", "never_on_login"];

/// The type of each option; `None`: checked by its own rule below.
#[derive(Clone, Copy)]
enum Kind {
    Url,
    Text,
    Bool,
    Object,
    Strings,
    OneOf(&'static [&'static str]),
    Own,
}

const OIDC_OPTIONS: &[(&str, Kind)] = &[
    ("type", Kind::OneOf(&["back_channel", "front_channel"])),
    ("discovery_url", Kind::Url),
    ("issuer", Kind::Url),
    ("authorization_endpoint", Kind::Url),
    ("token_endpoint", Kind::Url),
    ("jwks_uri", Kind::Url),
    ("userinfo_endpoint", Kind::Url),
    ("end_session_endpoint", Kind::Url),
    ("client_id", Kind::Text),
    ("client_secret", Kind::Text),
    ("scope", Kind::Own),
    ("attribute_map", Kind::Own),
    ("set_user_root_attributes", Kind::OneOf(ROOT_ATTRIBUTES)),
    ("upstream_params", Kind::Object),
    ("domain_aliases", Kind::Strings),
    ("icon_url", Kind::Url),
    ("connection_settings", Kind::Own),
    ("tenant_domain", Kind::Text),
    ("oidc_metadata", Kind::Object),
    ("non_persistent_attrs", Kind::Strings),
    ("federated_connections_access_tokens", Kind::Object),
    (
        "token_endpoint_auth_method",
        Kind::OneOf(&[
            "client_secret_post",
            "client_secret_basic",
            "private_key_jwt",
        ]),
    ),
    ("token_endpoint_auth_signing_alg", Kind::Text),
    ("dpop_signing_alg", Kind::Text),
    ("send_back_channel_nonce", Kind::Bool),
    ("schema_version", Kind::Text),
];

const OAUTH2_OPTIONS: &[(&str, Kind)] = &[
    ("authorizationURL", Kind::Url),
    ("tokenURL", Kind::Url),
    ("client_id", Kind::Text),
    ("client_secret", Kind::Text),
    ("scope", Kind::Own),
    ("scripts", Kind::Object),
    ("pkce", Kind::Bool),
    ("pkce_enabled", Kind::Bool),
    ("customHeaders", Kind::Object),
    ("icon_url", Kind::Url),
    ("logoutUrl", Kind::Url),
    ("domain_aliases", Kind::Strings),
    ("set_user_root_attributes", Kind::OneOf(ROOT_ATTRIBUTES)),
    ("upstream_params", Kind::Object),
    ("non_persistent_attrs", Kind::Strings),
    ("federated_connections_access_tokens", Kind::Object),
    // Tessera's declarative profile: it runs no `scripts.fetchUserProfile`.
    ("userinfo_url", Kind::Url),
    ("attribute_map", Kind::Own),
];

/// Whether Tessera may connect to `ip` for an upstream provider: never to
/// loopback, `0.0.0.0/8`, RFC 1918, link-local, CGNAT `100.64/10`, ULA
/// `fc00::/7`, IPv4-mapped or -compatible IPv6, unspecified, multicast or
/// broadcast addresses; `allow_loopback` (the test servers'
/// `upstream_allow_loopback_http`) re-allows loopback only.
pub fn ip_allowed(ip: std::net::IpAddr, allow_loopback: bool) -> bool {
    use std::net::IpAddr;
    if ip.is_loopback() {
        return allow_loopback;
    }
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(a == 0
                || a == 10
                || a == 127
                || (a == 100 && (64..128).contains(&b))
                || (a == 169 && b == 254)
                || (a == 172 && (16..32).contains(&b))
                || (a == 192 && b == 168)
                || v4.is_multicast()
                || v4.is_broadcast()
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4
            // address: judged as that address.
            let embedded = |hi: u16, lo: u16| {
                let [a, b] = hi.to_be_bytes();
                let [c, d] = lo.to_be_bytes();
                IpAddr::V4(std::net::Ipv4Addr::new(a, b, c, d))
            };
            if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return ip_allowed(embedded(seg[6], seg[7]), false);
            }
            if seg[0] == 0x2002 {
                return ip_allowed(embedded(seg[1], seg[2]), false);
            }
            let mapped_or_compatible =
                seg[..5].iter().all(|s| *s == 0) && (seg[5] == 0xffff || seg[5] == 0);
            !(v6.is_unspecified()
                || mapped_or_compatible
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                || v6.is_multicast())
        }
    }
}

/// Whether `url` is acceptable for an upstream endpoint: https, to a domain
/// or a public IP address (see [`ip_allowed`]); with `allow_loopback_http`
/// (tests only) also http to a loopback host. The resolver of the server's
/// upstream client applies [`ip_allowed`] to every resolved address too.
pub fn check_url(
    property: &str,
    value: &str,
    allow_loopback_http: bool,
) -> Result<url::Url, Invalid> {
    let bad = |why: &str| Invalid::new(property, why.to_owned());
    if value.len() > MAX_URL_LEN {
        return Err(bad("must be a URL of at most 2048 characters"));
    }
    let url = url::Url::parse(value).map_err(|_| bad("must be an absolute URL"))?;
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must have no fragment and no credentials"));
    }
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => return Err(bad("must have a host")),
    };
    if loopback && !allow_loopback_http {
        return Err(bad("must not name a loopback host"));
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
        _ => None,
    };
    if let Some(ip) = ip
        && !ip_allowed(ip, allow_loopback_http)
    {
        return Err(bad(
            "must not name a private, link-local or reserved address",
        ));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(bad("must be an https URL")),
    }
}

/// Checks every URL option of an upstream connection's `options` with
/// [`check_url`] (the validation above lets loopback through; the server
/// calls this with its `upstream_allow_loopback_http`).
pub fn check_urls(
    strategy: &str,
    options: &Value,
    allow_loopback_http: bool,
) -> Result<(), Invalid> {
    let table = if strategy == OIDC_STRATEGY {
        OIDC_OPTIONS
    } else {
        OAUTH2_OPTIONS
    };
    for (key, kind) in table {
        if let (Kind::Url, Some(Value::String(s))) = (kind, options.get(*key)) {
            check_url(&format!("options.{key}"), s, allow_loopback_http)?;
        }
    }
    Ok(())
}

/// The scope as a list: a space-separated string or an array of strings.
pub fn scope_list(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(s) => Some(s.split_whitespace().map(str::to_owned).collect()),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}

fn check_attribute_map(value: &Value) -> Result<(), Invalid> {
    let Value::Object(map) = value else {
        return Err(Invalid::new("options.attribute_map", "must be an object"));
    };
    for (k, v) in map {
        match (k.as_str(), v) {
            ("mapping_mode", Value::String(m))
                if ["use_map", "bind_all", "basic_profile"].contains(&m.as_str()) => {}
            ("mapping_mode", _) => {
                return Err(Invalid::new(
                    "options.attribute_map.mapping_mode",
                    "must be one of use_map, bind_all, basic_profile",
                ));
            }
            ("userinfo_scope", Value::String(_)) => {}
            ("attributes", Value::Object(a)) if a.values().all(Value::is_string) => {}
            ("userinfo_scope" | "attributes", _) => {
                return Err(Invalid::new(
                    format!("options.attribute_map.{k}"),
                    "has the wrong type (a string; attributes: an object of strings)",
                ));
            }
            _ => {
                return Err(Invalid::new(
                    format!("options.attribute_map.{}", shown(k)),
                    "is not a supported option",
                ));
            }
        }
    }
    Ok(())
}

fn shown(key: &str) -> String {
    key.chars().take(64).collect()
}

fn check_kind(key: &str, kind: Kind, value: &Value) -> Result<(), Invalid> {
    let property = format!("options.{}", shown(key));
    if value.is_null() {
        return Ok(());
    }
    match kind {
        Kind::Url => {
            let s = value
                .as_str()
                .ok_or_else(|| Invalid::new(&property, "must be a URL"))?;
            check_url(&property, s, true).map(|_| ())
        }
        Kind::Text => match value.as_str() {
            Some(s) if !s.is_empty() && s.len() <= 4096 => Ok(()),
            _ => Err(Invalid::new(
                property,
                "must be a non-empty string of at most 4096 bytes",
            )),
        },
        Kind::Bool if value.is_boolean() => Ok(()),
        Kind::Bool => Err(Invalid::new(property, "must be true or false")),
        Kind::Object if value.is_object() => Ok(()),
        Kind::Object => Err(Invalid::new(property, "must be an object")),
        Kind::Strings
            if value
                .as_array()
                .is_some_and(|a| a.iter().all(Value::is_string)) =>
        {
            Ok(())
        }
        Kind::Strings => Err(Invalid::new(property, "must be an array of strings")),
        Kind::OneOf(allowed) if value.as_str().is_some_and(|s| allowed.contains(&s)) => Ok(()),
        Kind::OneOf(allowed) => Err(Invalid::new(
            property,
            format!("must be one of {}", allowed.join(", ")),
        )),
        Kind::Own => Ok(()),
    }
}

/// Checks an `oidc` or `oauth2` connection's options.
pub fn validate_upstream_options(strategy: &str, options: &Value) -> Result<(), Invalid> {
    let Value::Object(map) = options else {
        return Err(Invalid::new("options", "must be an object"));
    };
    let table = if strategy == OIDC_STRATEGY {
        OIDC_OPTIONS
    } else {
        OAUTH2_OPTIONS
    };
    for (key, value) in map {
        let Some((_, kind)) = table.iter().find(|(name, _)| name == key) else {
            return Err(Invalid::new(
                format!("options.{}", shown(key)),
                format!("is not a supported option of {strategy} connections"),
            ));
        };
        check_kind(key, *kind, value)?;
        match key.as_str() {
            "scope" => {
                let scopes = scope_list(value).ok_or_else(|| {
                    Invalid::new("options.scope", "must be a string or an array of strings")
                })?;
                if strategy == OIDC_STRATEGY && !scopes.iter().any(|s| s == "openid") {
                    return Err(Invalid::new("options.scope", "must include openid"));
                }
            }
            "type" if value.as_str() == Some("front_channel") => {
                return Err(Invalid::new(
                    "options.type",
                    "front_channel (implicit id_token) is not supported; use back_channel",
                ));
            }
            "attribute_map" => check_attribute_map(value)?,
            "connection_settings" => match value {
                Value::Object(cs) => {
                    for (k, v) in cs {
                        let ok = k == "pkce"
                            && v.as_str().is_some_and(|p| {
                                ["auto", "s256", "plain", "disabled"].contains(&p)
                            });
                        if !ok {
                            return Err(Invalid::new(
                                format!("options.connection_settings.{}", shown(k)),
                                "only pkce: auto, s256, plain or disabled",
                            ));
                        }
                    }
                }
                _ => {
                    return Err(Invalid::new(
                        "options.connection_settings",
                        "must be an object",
                    ));
                }
            },
            _ => {}
        }
    }
    Ok(())
}

/// The options that say where the stored client secret goes: changing any
/// of them (or removing it) needs a new `client_secret` in the same request.
pub const SECRET_BOUND_OPTIONS: &[&str] = &[
    "discovery_url",
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "userinfo_endpoint",
    "authorizationURL",
    "tokenURL",
    "userinfo_url",
    "client_id",
    "token_endpoint_auth_method",
];

/// The options that say which provider and client the stored upstream
/// tokens are of: a change of any of them makes those tokens another
/// provider's (the connection's `idp_tokens` are deleted).
pub const TOKEN_BOUND_OPTIONS: &[&str] = &[
    "discovery_url",
    "issuer",
    "token_endpoint",
    "tokenURL",
    "client_id",
];

/// Whether `new` options name another provider or client than `stored`
/// ([`TOKEN_BOUND_OPTIONS`]).
pub fn moves_provider(stored: &Value, new: &Value) -> bool {
    let norm = |v: Option<&Value>| v.filter(|v| !v.is_null()).cloned();
    TOKEN_BOUND_OPTIONS
        .iter()
        .any(|key| norm(stored.get(*key)) != norm(new.get(*key)))
}

/// Refuses new options that move the provider without a new client secret.
pub fn check_secret_follows(stored: &Value, new: &Value) -> Result<(), Invalid> {
    let given = new.get("client_secret").is_some_and(|v| !v.is_null());
    if given {
        return Ok(());
    }
    let norm = |v: Option<&Value>| v.filter(|v| !v.is_null()).cloned();
    for key in SECRET_BOUND_OPTIONS {
        if norm(stored.get(*key)) != norm(new.get(*key)) {
            return Err(Invalid::new(
                "options.client_secret",
                format!("is required when {key} changes (the provider's endpoints or client)"),
            ));
        }
    }
    Ok(())
}

/// What a new upstream connection must name (a PATCH keeps what it omits).
pub fn check_required(strategy: &str, options: &Value) -> Result<(), Invalid> {
    let has = |k: &str| options.get(k).is_some_and(|v| !v.is_null());
    let required: &[&str] = if strategy == OIDC_STRATEGY {
        &["client_id", "client_secret"]
    } else {
        &[
            "client_id",
            "client_secret",
            "authorizationURL",
            "tokenURL",
            "userinfo_url",
        ]
    };
    for key in required {
        if !has(key) {
            return Err(Invalid::new(format!("options.{key}"), "is required"));
        }
    }
    if strategy == OIDC_STRATEGY && !has("discovery_url") {
        for key in [
            "issuer",
            "authorization_endpoint",
            "token_endpoint",
            "jwks_uri",
        ] {
            if !has(key) {
                return Err(Invalid::new(
                    format!("options.{key}"),
                    "is required without discovery_url",
                ));
            }
        }
    }
    Ok(())
}

fn aad(connection_id: &str) -> String {
    format!("connection_client_secret:{connection_id}")
}

/// Replaces a plaintext `client_secret` in options just received from a
/// caller with its sealed form, bound to the connection id.
pub fn seal_client_secret(
    master: &MasterKey,
    connection_id: &str,
    options: &mut Value,
) -> Result<(), RngError> {
    if let Some(Value::String(secret)) = options.get_mut("client_secret") {
        let plain = Zeroizing::new(std::mem::take(secret));
        let sealed = master.seal(&aad(connection_id), plain.as_bytes())?;
        *secret = format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(sealed));
    }
    Ok(())
}

/// The stored `client_secret`, opened.
pub fn open_client_secret(
    master: &MasterKey,
    connection_id: &str,
    options: &Value,
) -> Result<Zeroizing<String>, OpenError> {
    let stored = options
        .get("client_secret")
        .and_then(Value::as_str)
        .and_then(|s| s.strip_prefix(SEALED_PREFIX))
        .ok_or(OpenError::Corrupt)?;
    let blob = URL_SAFE_NO_PAD
        .decode(stored)
        .map_err(|_| OpenError::Corrupt)?;
    let plain = master.open(&aad(connection_id), &blob)?;
    String::from_utf8(plain.to_vec())
        .map(Zeroizing::new)
        .map_err(|_| OpenError::Corrupt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bad(strategy: &str, options: Value) -> String {
        match validate_upstream_options(strategy, &options) {
            Err(e) => e.property,
            Ok(()) => panic!("expected Invalid for {options}"),
        }
    }

    #[test]
    fn upstream_urls_never_name_internal_addresses() {
        use std::net::IpAddr;
        for ip in [
            "127.0.0.1",
            "0.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "255.255.255.255",
            "224.0.0.1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(!ip_allowed(ip, false), "{ip}");
        }
        for ip in ["10.0.0.1", "169.254.169.254", "::ffff:127.0.0.1", "fd00::1"] {
            assert!(!ip_allowed(ip.parse().unwrap(), true), "{ip}");
        }
        assert!(ip_allowed("127.0.0.1".parse().unwrap(), true));
        assert!(ip_allowed("93.184.216.34".parse().unwrap(), false));
        assert!(ip_allowed("2606:4700::1111".parse().unwrap(), false));
        assert!(ip_allowed("64:ff9b::5db8:d822".parse().unwrap(), false));
        for url in [
            "http://127.0.0.1:15000/quitquitquit",
            "https://127.0.0.1/",
            "https://localhost/",
            "http://[::1]/",
            "https://10.1.2.3/token",
            "https://169.254.169.254/latest/meta-data",
            "https://[::ffff:7f00:1]/",
            "https://[fd00::1]/",
            "http://idp.example/",
        ] {
            assert!(check_url("u", url, false).is_err(), "{url}");
        }
        assert!(check_url("u", "http://127.0.0.1:9/", true).is_ok());
        assert!(check_url("u", "https://10.1.2.3/", true).is_err());
        assert!(check_url("u", "https://idp.example/", false).is_ok());
        assert_eq!(
            check_urls(
                "oauth2",
                &json!({"userinfo_url": "http://127.0.0.1:8080/admin"}),
                false
            )
            .unwrap_err()
            .property,
            "options.userinfo_url"
        );
    }

    #[test]
    fn oidc_options() {
        validate_upstream_options(
            "oidc",
            &json!({"type": "back_channel", "discovery_url": "https://idp.example/.well-known/openid-configuration",
                "client_id": "a", "client_secret": "b", "scope": "openid profile",
                "attribute_map": {"mapping_mode": "basic_profile"}, "set_user_root_attributes": "on_first_login",
                "upstream_params": {}, "domain_aliases": ["example.com"], "icon_url": "https://idp.example/i.png",
                "connection_settings": {"pkce": "auto"}}),
        )
        .unwrap();
        validate_upstream_options("oidc", &json!({"issuer": "http://127.0.0.1:9/"})).unwrap();
        assert_eq!(
            bad("oidc", json!({"issuer": "http://idp.example/"})),
            "options.issuer"
        );
        assert_eq!(
            bad("oidc", json!({"scope": "profile email"})),
            "options.scope"
        );
        assert_eq!(
            bad("oidc", json!({"type": "front_channel"})),
            "options.type"
        );
        assert_eq!(
            bad("oidc", json!({"tokenURL": "https://x/"})),
            "options.tokenURL"
        );
        assert_eq!(
            bad("oidc", json!({"connection_settings": {"pkce": "yes"}})),
            "options.connection_settings.pkce"
        );
        assert_eq!(bad("oauth2", json!({"scope": 3})), "options.scope");
        validate_upstream_options(
            "oauth2",
            &json!({"authorizationURL": "https://gh.example/authorize", "tokenURL": "https://gh.example/token",
                "scope": ["read:user"], "pkce_enabled": true, "userinfo_url": "https://api.gh.example/user",
                "attribute_map": {"attributes": {"user_id": "id", "nickname": "login"}}}),
        )
        .unwrap();
        assert_eq!(
            check_required("oidc", &json!({"client_id": "a", "client_secret": "b"}))
                .unwrap_err()
                .property,
            "options.issuer"
        );
    }

    #[test]
    fn client_secrets_are_sealed_and_bound_to_the_connection() {
        let master = MasterKey::from_bytes(&[7; 32]);
        let mut options = json!({"client_secret": "upstream-s3cret"});
        seal_client_secret(&master, "con_a", &mut options).unwrap();
        let stored = options["client_secret"].as_str().unwrap();
        assert!(stored.starts_with(SEALED_PREFIX) && !stored.contains("s3cret"));
        assert_eq!(
            open_client_secret(&master, "con_a", &options)
                .unwrap()
                .as_str(),
            "upstream-s3cret"
        );
        assert!(open_client_secret(&master, "con_b", &options).is_err());
        assert!(open_client_secret(&master, "con_a", &json!({"client_secret": "plain"})).is_err());
    }
}
