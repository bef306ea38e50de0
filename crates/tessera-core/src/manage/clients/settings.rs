//! The rules of the stored-only client properties ([`ClientSettings`]):
//! Auth0's limits on `client_metadata`, absolute URLs where a URL is meant,
//! bounded lists.

use url::Url;

use super::{MAX_URL_LEN, MAX_URLS};
use crate::manage::{Invalid, not_enforced, settings_limits};
use crate::model::ClientSettings;

/// Auth0's limits on `client_metadata`: properties, name and value lengths.
pub const MAX_METADATA_KEYS: usize = 10;
pub const MAX_METADATA_KEY_LEN: usize = 255;
pub const MAX_METADATA_VALUE_LEN: usize = 255;
/// Tessera's bound on `par_request_expiry`, in seconds.
pub const PAR_REQUEST_EXPIRY: std::ops::RangeInclusive<i64> = 5..=600;
/// Entries of `client_aliases` and `allowed_clients`, and characters of each.
const MAX_NAME_LIST: usize = MAX_URLS;
const MAX_LIST_ENTRY_LEN: usize = 255;

/// The first bad property of `s`, in declaration order; then the first past
/// its bound ([`settings_limits`]); then the first asking for an enforcement
/// Tessera does not do ([`not_enforced`]).
pub(super) fn validate(s: &ClientSettings) -> Result<(), Invalid> {
    optional_url("logo_uri", s.logo_uri.as_deref(), false)?;
    names("client_aliases", &s.client_aliases)?;
    names("allowed_clients", &s.allowed_clients)?;
    optional_url("cross_origin_loc", s.cross_origin_loc.as_deref(), false)?;
    metadata(s)?;
    optional_url("initiate_login_uri", s.initiate_login_uri.as_deref(), true)?;
    if s.par_request_expiry
        .is_some_and(|v| !PAR_REQUEST_EXPIRY.contains(&v))
    {
        return Err(Invalid::new(
            "par_request_expiry",
            format!(
                "must be between {} and {}",
                PAR_REQUEST_EXPIRY.start(),
                PAR_REQUEST_EXPIRY.end()
            ),
        ));
    }
    settings_limits::check(s)?;
    not_enforced::client(s)
}

/// An absolute URL (`https` when `https_only`), at most [`MAX_URL_LEN`].
fn optional_url(property: &str, url: Option<&str>, https_only: bool) -> Result<(), Invalid> {
    let Some(raw) = url else { return Ok(()) };
    let parsed = (raw.len() <= MAX_URL_LEN)
        .then(|| Url::parse(raw).ok())
        .flatten()
        .filter(|u| u.scheme() == "https" || (!https_only && u.scheme() == "http"));
    if parsed.is_none() {
        let scheme = if https_only { "https" } else { "http(s)" };
        return Err(Invalid::new(
            property,
            format!("must be an absolute {scheme} URL of at most {MAX_URL_LEN} characters"),
        ));
    }
    Ok(())
}

/// At most [`MAX_NAME_LIST`] entries of 1 to 255 characters.
fn names(property: &str, list: &[String]) -> Result<(), Invalid> {
    if list.len() > MAX_NAME_LIST {
        return Err(Invalid::new(
            property,
            format!("at most {MAX_NAME_LIST} entries"),
        ));
    }
    if list
        .iter()
        .any(|v| v.is_empty() || v.chars().count() > MAX_LIST_ENTRY_LEN)
    {
        return Err(Invalid::new(
            property,
            format!("each must be 1 to {MAX_LIST_ENTRY_LEN} characters"),
        ));
    }
    Ok(())
}

/// Auth0's `client_metadata`: at most 10 properties; names of 1 to 255
/// characters, alphanumeric or one of ``:,-+=_*?"/\()<>@``, tab or space;
/// string values of at most 255 characters.
fn metadata(s: &ClientSettings) -> Result<(), Invalid> {
    let m = &s.client_metadata;
    if m.len() > MAX_METADATA_KEYS {
        return Err(Invalid::new(
            "client_metadata",
            format!("at most {MAX_METADATA_KEYS} properties"),
        ));
    }
    for (key, value) in m {
        let allowed = |c: char| c.is_ascii_alphanumeric() || ":,-+=_*?\"/\\()<>@\t ".contains(c);
        if key.is_empty() || key.chars().count() > MAX_METADATA_KEY_LEN || !key.chars().all(allowed)
        {
            return Err(Invalid::new(
                "client_metadata",
                format!(
                    "property names must be 1 to {MAX_METADATA_KEY_LEN} characters, alphanumeric or :,-+=_*?\"/\\()<>@ tab space"
                ),
            ));
        }
        if value.chars().count() > MAX_METADATA_VALUE_LEN {
            return Err(Invalid::new(
                format!("client_metadata.{key}"),
                format!("must be at most {MAX_METADATA_VALUE_LEN} characters"),
            ));
        }
    }
    Ok(())
}
