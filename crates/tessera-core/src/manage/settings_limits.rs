//! Bounds on the stored-only settings (`ClientSettings`,
//! `ResourceServerSettings`), whatever their shape: a string, a list or a
//! free-form object is refused, named, past its bound, so no body can store
//! an unbounded document within the request size limit.

use serde::Serialize;
use serde_json::Value;

use crate::manage::Invalid;

/// Entries of any list setting.
pub const MAX_SETTING_ENTRIES: usize = 100;
/// Serialized size, in bytes, of any one setting (an object, a list, a
/// string).
pub const MAX_SETTING_BYTES: usize = 8 * 1024;
/// Serialized size of the page templates (`custom_login_page`,
/// `custom_login_page_preview`, `form_template`).
pub const MAX_TEMPLATE_BYTES: usize = 32 * 1024;
const TEMPLATES: [&str; 3] = [
    "custom_login_page",
    "custom_login_page_preview",
    "form_template",
];

/// `Tessera-Error-Reason` of a setting past its bound.
pub const TOO_LARGE: &str = "setting_too_large";

/// The first top-level setting of `settings` past its bound.
pub fn check<T: Serialize>(settings: &T) -> Result<(), Invalid> {
    let Ok(Value::Object(map)) = serde_json::to_value(settings) else {
        return Ok(());
    };
    for (name, value) in &map {
        if value
            .as_array()
            .is_some_and(|a| a.len() > MAX_SETTING_ENTRIES)
        {
            return Err(Invalid::new(
                name.as_str(),
                format!("at most {MAX_SETTING_ENTRIES} entries"),
            )
            .with_reason(TOO_LARGE));
        }
        let bound = if TEMPLATES.contains(&name.as_str()) {
            MAX_TEMPLATE_BYTES
        } else {
            MAX_SETTING_BYTES
        };
        let size = serde_json::to_string(value).map_or(usize::MAX, |s| s.len());
        if size > bound {
            return Err(
                Invalid::new(name.as_str(), format!("at most {bound} bytes as JSON"))
                    .with_reason(TOO_LARGE),
            );
        }
    }
    Ok(())
}
