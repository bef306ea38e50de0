//! Tenant settings (`/api/v2/tenants/settings`): Auth0's schema, the checks of
//! a PATCH body, and how a PATCH changes the stored document.
//!
//! The store keeps only what was PATCHed (a JSON document); what the API
//! answers and what the server acts on is that document laid over the
//! settings the server started with ([`Seed`]: `TESSERA_TENANT_NAME`, the
//! logo, `TESSERA_SESSION_LIFETIME`, `TESSERA_DEFAULT_DIRECTORY`), so an
//! environment value is the initial value and a PATCHed one wins from then
//! on; PATCHing `null` goes back to the initial value. A PATCH is an RFC 7396
//! merge patch: objects (`flags`, `error_page`, …) merge property by property,
//! arrays and other values replace.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Invalid;

/// Longest plain string (names, URLs, emails).
pub const MAX_TEXT: usize = 2048;
/// Longest HTML page (`error_page.html`, `change_password.html`, …).
pub const MAX_HTML: usize = 102_400;
/// Most `allowed_logout_urls`, `enabled_locales` and `acr_values_supported`.
pub const MAX_LIST: usize = 100;
/// Session lifetimes in hours: at most a year.
pub const MAX_HOURS: f64 = 8760.0;

/// Auth0's tenant flags. Every flag is stored and returned; the one Tessera
/// acts on is `enable_client_connections` (a new application is enabled on
/// every connection, default true).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantFlags {
    pub change_pwd_flow_v1: Option<bool>,
    pub enable_apis_section: Option<bool>,
    pub disable_impersonation: Option<bool>,
    pub enable_client_connections: Option<bool>,
    pub enable_pipeline2: Option<bool>,
    pub allow_legacy_delegation_grant_types: Option<bool>,
    pub allow_legacy_ro_grant_types: Option<bool>,
    pub allow_legacy_tokeninfo_endpoint: Option<bool>,
    pub enable_legacy_profile: Option<bool>,
    pub enable_idtoken_api2: Option<bool>,
    pub enable_public_signup_user_exists_error: Option<bool>,
    pub enable_sso: Option<bool>,
    pub allow_changing_enable_sso: Option<bool>,
    pub disable_clickjack_protection_headers: Option<bool>,
    pub no_disclose_enterprise_connections: Option<bool>,
    pub enforce_client_authentication_on_passwordless_start: Option<bool>,
    pub enable_adfs_waad_email_verification: Option<bool>,
    pub revoke_refresh_token_grant: Option<bool>,
    pub dashboard_log_streams_next: Option<bool>,
    pub dashboard_insights_view: Option<bool>,
    pub disable_fields_map_fix: Option<bool>,
    pub mfa_show_factor_list_on_enrollment: Option<bool>,
    pub remove_alg_from_jwks: Option<bool>,
    pub improved_signup_bot_detection_in_classic: Option<bool>,
    pub genai_trial: Option<bool>,
    pub enable_dynamic_client_registration: Option<bool>,
    pub disable_management_api_sms_obfuscation: Option<bool>,
    pub trust_azure_adfs_email_verified_connection_property: Option<bool>,
    pub custom_domains_provisioning: Option<bool>,
}

/// `error_page`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorPage {
    pub html: Option<String>,
    pub show_log_link: Option<bool>,
    pub url: Option<String>,
}

/// `change_password` and `guardian_mfa_page`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomPage {
    pub enabled: Option<bool>,
    pub html: Option<String>,
}

/// `device_flow`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceFlow {
    /// `base20` or `digits`.
    pub charset: Option<String>,
    pub mask: Option<String>,
}

/// `session_cookie`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionCookie {
    /// `persistent` or `non-persistent`.
    pub mode: Option<String>,
}

/// `sessions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sessions {
    pub oidc_logout_prompt_enabled: Option<bool>,
}

/// `oidc_logout`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OidcLogout {
    pub rp_logout_end_session_endpoint_discovery: Option<bool>,
}

/// `mtls`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Mtls {
    pub enable_endpoint_aliases: Option<bool>,
}

/// The body of `PATCH /api/v2/tenants/settings` (every property optional,
/// `null` returns it to its initial value) and the shape of the answer.
/// Session lifetimes are in hours (`*_in_minutes`: minutes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantSettings {
    pub friendly_name: Option<String>,
    pub picture_url: Option<String>,
    pub support_email: Option<String>,
    pub support_url: Option<String>,
    pub allowed_logout_urls: Option<Vec<String>>,
    pub session_lifetime: Option<f64>,
    pub session_lifetime_in_minutes: Option<i64>,
    pub idle_session_lifetime: Option<f64>,
    pub idle_session_lifetime_in_minutes: Option<i64>,
    pub ephemeral_session_lifetime: Option<f64>,
    pub ephemeral_session_lifetime_in_minutes: Option<i64>,
    pub idle_ephemeral_session_lifetime: Option<f64>,
    pub idle_ephemeral_session_lifetime_in_minutes: Option<i64>,
    pub sandbox_version: Option<String>,
    pub legacy_sandbox_version: Option<String>,
    pub default_audience: Option<String>,
    pub default_directory: Option<String>,
    pub default_redirection_uri: Option<String>,
    pub enabled_locales: Option<Vec<String>>,
    pub flags: Option<TenantFlags>,
    pub error_page: Option<ErrorPage>,
    pub change_password: Option<CustomPage>,
    pub guardian_mfa_page: Option<CustomPage>,
    pub device_flow: Option<DeviceFlow>,
    pub session_cookie: Option<SessionCookie>,
    pub sessions: Option<Sessions>,
    pub oidc_logout: Option<OidcLogout>,
    pub mtls: Option<Mtls>,
    /// `{colors: {primary, page_background}}` (the classic login page).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub universal_login: Option<Map<String, Value>>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub security_headers: Option<Map<String, Value>>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub default_token_quota: Option<Map<String, Value>>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub country_codes: Option<Map<String, Value>>,
    pub customize_mfa_in_postlogin_action: Option<bool>,
    pub allow_organization_name_in_authentication_api: Option<bool>,
    pub acr_values_supported: Option<Vec<String>>,
    pub pushed_authorization_requests_supported: Option<bool>,
    pub authorization_response_iss_parameter_supported: Option<bool>,
    pub skip_non_verifiable_callback_uri_confirmation_prompt: Option<bool>,
    /// `audience` or `compatibility`.
    pub resource_parameter_profile: Option<String>,
    pub client_id_metadata_document_supported: Option<bool>,
    pub enable_ai_guide: Option<bool>,
    pub phone_consolidated_experience: Option<bool>,
    pub include_session_metadata_in_tenant_logs: Option<bool>,
    pub dynamic_client_registration_security_mode: Option<String>,
}

/// The settings the server started with (its environment).
#[derive(Debug, Clone, PartialEq)]
pub struct Seed {
    pub friendly_name: String,
    pub picture_url: Option<String>,
    /// Seconds.
    pub session_lifetime: i64,
    pub default_directory: String,
}

/// What the server acts on, from [`effective`].
#[derive(Debug, Clone, PartialEq)]
pub struct Effective {
    pub friendly_name: String,
    pub picture_url: Option<String>,
    /// Seconds an SSO session lasts at most.
    pub session_lifetime: i64,
    /// Seconds an SSO session lasts unused, when set.
    pub idle_session_lifetime: Option<i64>,
    /// The connection `grant_type=password` checks passwords in.
    pub default_directory: String,
    /// The API of a login that names none, when set.
    pub default_audience: Option<String>,
    /// Whether a new application is enabled on every connection.
    pub enable_client_connections: bool,
}

/// Pairs of which one PATCHed drops the other from the stored document (a
/// minutes value wins over an hours value when both are stored).
const LIFETIME_PAIRS: &[(&str, &str)] = &[
    ("session_lifetime", "session_lifetime_in_minutes"),
    ("idle_session_lifetime", "idle_session_lifetime_in_minutes"),
    (
        "ephemeral_session_lifetime",
        "ephemeral_session_lifetime_in_minutes",
    ),
    (
        "idle_ephemeral_session_lifetime",
        "idle_ephemeral_session_lifetime_in_minutes",
    ),
];

fn text(property: &str, value: Option<&String>, max: usize) -> Result<(), Invalid> {
    match value {
        Some(v) if v.chars().count() > max || v.chars().any(char::is_control) => Err(Invalid::new(
            property,
            format!("must be at most {max} characters, no control characters"),
        )),
        _ => Ok(()),
    }
}

fn url(property: &str, value: Option<&String>) -> Result<(), Invalid> {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return Ok(());
    };
    text(property, Some(v), MAX_TEXT)?;
    match url::Url::parse(v) {
        Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => Ok(()),
        _ => Err(Invalid::new(property, "must be an absolute http(s) URL")),
    }
}

/// The logo is shown on pages whose CSP allows `img-src https:` only.
fn https_url(property: &str, value: Option<&String>) -> Result<(), Invalid> {
    url(property, value)?;
    match value {
        Some(v) if !v.is_empty() && !v.starts_with("https://") => {
            Err(Invalid::new(property, "must be an https URL"))
        }
        _ => Ok(()),
    }
}

fn one_of(property: &str, value: Option<&String>, allowed: &[&str]) -> Result<(), Invalid> {
    match value {
        Some(v) if !allowed.contains(&v.as_str()) => Err(Invalid::new(
            property,
            format!("must be one of {}", allowed.join(", ")),
        )),
        _ => Ok(()),
    }
}

fn hours(property: &str, value: Option<f64>) -> Result<(), Invalid> {
    match value {
        Some(h) if !(h.is_finite() && h * 60.0 >= 1.0 && h <= MAX_HOURS) => Err(Invalid::new(
            property,
            format!("must be a number of hours from 1 minute to {MAX_HOURS}"),
        )),
        _ => Ok(()),
    }
}

fn minutes(property: &str, value: Option<i64>) -> Result<(), Invalid> {
    let max = (MAX_HOURS as i64) * 60;
    match value {
        Some(m) if !(1..=max).contains(&m) => Err(Invalid::new(
            property,
            format!("must be a number of minutes from 1 to {max}"),
        )),
        _ => Ok(()),
    }
}

fn list(
    property: &str,
    value: Option<&Vec<String>>,
    each: fn(&str, &String) -> Result<(), Invalid>,
) -> Result<(), Invalid> {
    let Some(items) = value else { return Ok(()) };
    if items.len() > MAX_LIST {
        return Err(Invalid::new(property, format!("at most {MAX_LIST} items")));
    }
    items.iter().try_for_each(|item| each(property, item))
}

#[allow(clippy::ptr_arg)] // passed where a `fn(&str, &String)` is expected
fn logout_url(property: &str, item: &String) -> Result<(), Invalid> {
    // Auth0 allows a `*` wildcard in the host; check the rest as a URL.
    url(property, Some(&item.replacen("*.", "x.", 1)))
}

#[allow(clippy::ptr_arg)] // passed where a `fn(&str, &String)` is expected
fn locale(property: &str, item: &String) -> Result<(), Invalid> {
    if (2..=10).contains(&item.len()) && item.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-')
    {
        Ok(())
    } else {
        Err(Invalid::new(
            property,
            "must hold language tags such as en or pt-BR",
        ))
    }
}

fn plain(property: &str, item: &String) -> Result<(), Invalid> {
    text(property, Some(item), MAX_TEXT)
}

/// Checks the values of a PATCH body (types and unknown properties are the
/// deserialiser's); names the first bad property.
pub fn validate(s: &TenantSettings) -> Result<(), Invalid> {
    text("friendly_name", s.friendly_name.as_ref(), 255)?;
    https_url("picture_url", s.picture_url.as_ref())?;
    text("support_email", s.support_email.as_ref(), 255)?;
    if let Some(email) = s.support_email.as_ref().filter(|e| !e.is_empty())
        && !email.contains('@')
    {
        return Err(Invalid::new("support_email", "must be an email address"));
    }
    url("support_url", s.support_url.as_ref())?;
    list(
        "allowed_logout_urls",
        s.allowed_logout_urls.as_ref(),
        logout_url,
    )?;
    hours("session_lifetime", s.session_lifetime)?;
    hours("idle_session_lifetime", s.idle_session_lifetime)?;
    hours("ephemeral_session_lifetime", s.ephemeral_session_lifetime)?;
    hours(
        "idle_ephemeral_session_lifetime",
        s.idle_ephemeral_session_lifetime,
    )?;
    minutes("session_lifetime_in_minutes", s.session_lifetime_in_minutes)?;
    minutes(
        "idle_session_lifetime_in_minutes",
        s.idle_session_lifetime_in_minutes,
    )?;
    minutes(
        "ephemeral_session_lifetime_in_minutes",
        s.ephemeral_session_lifetime_in_minutes,
    )?;
    minutes(
        "idle_ephemeral_session_lifetime_in_minutes",
        s.idle_ephemeral_session_lifetime_in_minutes,
    )?;
    text("sandbox_version", s.sandbox_version.as_ref(), 16)?;
    text(
        "legacy_sandbox_version",
        s.legacy_sandbox_version.as_ref(),
        16,
    )?;
    text("default_audience", s.default_audience.as_ref(), 600)?;
    text("default_directory", s.default_directory.as_ref(), 128)?;
    url(
        "default_redirection_uri",
        s.default_redirection_uri.as_ref(),
    )?;
    list("enabled_locales", s.enabled_locales.as_ref(), locale)?;
    list(
        "acr_values_supported",
        s.acr_values_supported.as_ref(),
        plain,
    )?;
    if let Some(page) = &s.error_page {
        text("error_page.html", page.html.as_ref(), MAX_HTML)?;
        url("error_page.url", page.url.as_ref())?;
    }
    for (name, page) in [
        ("change_password.html", &s.change_password),
        ("guardian_mfa_page.html", &s.guardian_mfa_page),
    ] {
        if let Some(page) = page {
            text(name, page.html.as_ref(), MAX_HTML)?;
        }
    }
    if let Some(flow) = &s.device_flow {
        one_of(
            "device_flow.charset",
            flow.charset.as_ref(),
            &["base20", "digits"],
        )?;
        text("device_flow.mask", flow.mask.as_ref(), 20)?;
    }
    if let Some(cookie) = &s.session_cookie {
        one_of(
            "session_cookie.mode",
            cookie.mode.as_ref(),
            &["persistent", "non-persistent"],
        )?;
    }
    one_of(
        "resource_parameter_profile",
        s.resource_parameter_profile.as_ref(),
        &["audience", "compatibility"],
    )?;
    text(
        "dynamic_client_registration_security_mode",
        s.dynamic_client_registration_security_mode.as_ref(),
        64,
    )?;
    not_enforced(s)
}

/// Settings that would make the tenant stricter than Tessera is: refused
/// rather than stored and ignored (docs/security.md, "Settings Tessera does
/// not enforce"). Their permissive values are accepted.
fn not_enforced(s: &TenantSettings) -> Result<(), Invalid> {
    const REFUSED: &str = "is not enforced by Tessera; only false is accepted";
    if let Some(flags) = &s.flags {
        if flags.enforce_client_authentication_on_passwordless_start == Some(true) {
            return Err(Invalid::new(
                "flags.enforce_client_authentication_on_passwordless_start",
                REFUSED,
            ));
        }
        if flags.revoke_refresh_token_grant == Some(true) {
            return Err(Invalid::new("flags.revoke_refresh_token_grant", REFUSED));
        }
    }
    if s.session_cookie
        .as_ref()
        .is_some_and(|c| c.mode.as_deref() == Some("non-persistent"))
    {
        return Err(Invalid::new(
            "session_cookie.mode",
            "non-persistent is not enforced by Tessera; only persistent is accepted",
        ));
    }
    Ok(())
}

/// RFC 7396: `patch` merged into `target` (`null` removes, objects merge,
/// anything else replaces).
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(map) = target {
        for (key, value) in patch {
            if value.is_null() {
                map.remove(key);
            } else {
                merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// The stored document after a checked PATCH `patch`: merged, and of each pair
/// of an hours and a minutes lifetime, the one the PATCH names kept.
pub fn apply_patch(stored: &mut Value, patch: &Value) {
    if let (Value::Object(stored), Value::Object(patch)) = (&mut *stored, patch) {
        for (hours, minutes) in LIFETIME_PAIRS {
            if patch.contains_key(*hours) {
                stored.remove(*minutes);
            }
            if patch.contains_key(*minutes) {
                stored.remove(*hours);
            }
        }
    }
    merge_patch(stored, patch);
}

/// The settings as the API answers them: `stored` over the seed.
pub fn view(seed: &Seed, stored: &Value) -> Value {
    let mut out = serde_json::json!({
        "friendly_name": seed.friendly_name,
        "session_lifetime": seed.session_lifetime as f64 / 3600.0,
        "default_directory": seed.default_directory,
        "flags": {
            "enable_client_connections": true,
            "enable_dynamic_client_registration": false,
        },
        "enabled_locales": ["en"],
        "sandbox_version": "22",
    });
    if let (Some(picture), Value::Object(map)) = (&seed.picture_url, &mut out) {
        map.insert("picture_url".into(), picture.clone().into());
    }
    if let (Value::Object(stored), Value::Object(map)) = (stored, &mut out)
        && stored.keys().any(|k| k.starts_with("session_lifetime"))
    {
        map.remove("session_lifetime");
    }
    merge_patch(&mut out, stored);
    out
}

fn seconds(view: &Value, hours_key: &str, minutes_key: &str) -> Option<i64> {
    if let Some(m) = view.get(minutes_key).and_then(Value::as_i64) {
        return Some(m * 60);
    }
    view.get(hours_key)
        .and_then(Value::as_f64)
        .map(|h| (h * 3600.0).round() as i64)
}

fn non_empty(view: &Value, key: &str) -> Option<String> {
    view.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// What the server acts on, from the answer [`view`] builds.
pub fn effective(seed: &Seed, stored: &Value) -> Effective {
    let view = view(seed, stored);
    Effective {
        friendly_name: non_empty(&view, "friendly_name")
            .unwrap_or_else(|| seed.friendly_name.clone()),
        picture_url: non_empty(&view, "picture_url"),
        session_lifetime: seconds(&view, "session_lifetime", "session_lifetime_in_minutes")
            .unwrap_or(seed.session_lifetime),
        idle_session_lifetime: seconds(
            &view,
            "idle_session_lifetime",
            "idle_session_lifetime_in_minutes",
        ),
        default_directory: non_empty(&view, "default_directory")
            .unwrap_or_else(|| seed.default_directory.clone()),
        default_audience: non_empty(&view, "default_audience"),
        enable_client_connections: client_connections_enabled(stored),
    }
}

/// `flags.enable_client_connections` of a stored document (default true).
pub fn client_connections_enabled(stored: &Value) -> bool {
    stored
        .pointer("/flags/enable_client_connections")
        .and_then(Value::as_bool)
        .unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn seed() -> Seed {
        Seed {
            friendly_name: "Acme".into(),
            picture_url: None,
            session_lifetime: 7 * 86400,
            default_directory: "Username-Password-Authentication".into(),
        }
    }

    fn checked(body: Value) -> Result<(), String> {
        let s: TenantSettings = serde_json::from_value(body).map_err(|e| e.to_string())?;
        validate(&s).map_err(|e| e.property)
    }

    #[test]
    fn values_are_checked_by_property() {
        assert_eq!(
            checked(json!({"picture_url": "ftp://x"})),
            Err("picture_url".into())
        );
        assert_eq!(
            checked(json!({"picture_url": "http://x.example/l.png"})),
            Err("picture_url".into())
        );
        assert_eq!(
            checked(json!({"session_lifetime": 0})),
            Err("session_lifetime".into())
        );
        assert_eq!(
            checked(json!({"session_lifetime": 9000})),
            Err("session_lifetime".into())
        );
        assert_eq!(
            checked(json!({"idle_session_lifetime_in_minutes": 0})),
            Err("idle_session_lifetime_in_minutes".into())
        );
        assert_eq!(
            checked(json!({"support_email": "nope"})),
            Err("support_email".into())
        );
        assert_eq!(
            checked(json!({"session_cookie": {"mode": "forever"}})),
            Err("session_cookie.mode".into())
        );
        assert_eq!(
            checked(json!({"enabled_locales": ["en", "x y"]})),
            Err("enabled_locales".into())
        );
        assert!(checked(json!({"flags": {"nope": true}})).is_err());
        assert!(checked(json!({"flags": {"enable_sso": "yes"}})).is_err());
        assert!(checked(json!({"unknown": 1})).is_err());
        assert_eq!(
            checked(
                json!({"friendly_name": "Acme", "session_lifetime": 0.5, "allowed_logout_urls": ["https://*.example.com/x"],
                "flags": {"enable_client_connections": false}, "device_flow": {"charset": "digits", "mask": "***-***"}})
            ),
            Ok(())
        );
    }

    #[test]
    fn patches_merge_and_null_goes_back_to_the_seed() {
        let mut stored = json!({});
        apply_patch(
            &mut stored,
            &json!({"friendly_name": "New", "flags": {"enable_sso": true}}),
        );
        apply_patch(
            &mut stored,
            &json!({"flags": {"enable_client_connections": false}}),
        );
        assert_eq!(
            stored["flags"],
            json!({"enable_sso": true, "enable_client_connections": false})
        );
        let e = effective(&seed(), &stored);
        assert_eq!(e.friendly_name, "New");
        assert!(!e.enable_client_connections);
        apply_patch(&mut stored, &json!({"friendly_name": null}));
        assert_eq!(effective(&seed(), &stored).friendly_name, "Acme");
        assert_eq!(effective(&seed(), &json!({})).session_lifetime, 7 * 86400);
    }

    #[test]
    fn a_lifetime_in_minutes_and_in_hours_replace_each_other() {
        let mut stored = json!({});
        apply_patch(&mut stored, &json!({"session_lifetime_in_minutes": 30}));
        assert_eq!(effective(&seed(), &stored).session_lifetime, 1800);
        assert!(view(&seed(), &stored).get("session_lifetime").is_none());
        apply_patch(&mut stored, &json!({"session_lifetime": 2}));
        assert_eq!(effective(&seed(), &stored).session_lifetime, 7200);
        assert_eq!(stored, json!({"session_lifetime": 2}));
        apply_patch(&mut stored, &json!({"idle_session_lifetime": 1}));
        assert_eq!(
            effective(&seed(), &stored).idle_session_lifetime,
            Some(3600)
        );
    }
}
