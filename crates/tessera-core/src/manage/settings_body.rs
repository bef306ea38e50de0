//! [`settings_body!`]: a Management API body made of its own properties and
//! those of a settings list (`model::client_settings_list!`,
//! `model::resource_server_settings_list!`), each `Option<Option<T>>`
//! (absent; `null`, which resets the property to its default; a value).

/// Declares `$name` with its own properties and the list's, and its
/// `take_settings`, which moves the list's into a `$settings`.
macro_rules! settings_body {
    (
        $settings:ident ;
        $(#[$sm:meta])* pub struct $name:ident { $($own:tt)* }
        ; $( $(#[$m:meta])* $f:ident : $t:ty = $d:expr, )*
    ) => {
        $(#[$sm])*
        pub struct $name {
            $($own)*
            $(
                $(#[$m])*
                #[serde(default, deserialize_with = "crate::model::nullable")]
                pub $f: Option<Option<$t>>,
            )*
        }

        impl $name {
            /// Moves the settings sent into `settings`: a value replaces the
            /// stored one, `null` resets it to its default, absent keeps it.
            pub(crate) fn take_settings(&mut self, settings: &mut $settings) {
                let defaults = $settings::default();
                $(
                    if let Some(v) = self.$f.take() {
                        settings.$f = v.unwrap_or(defaults.$f);
                    }
                )*
            }
        }
    };
}
pub(crate) use settings_body;

use serde::{Deserialize, Deserializer};

/// A property sent: `null` counts as its type's default (empty, false).
pub(crate) fn or_default<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Some(Option::<T>::deserialize(d)?.unwrap_or_default()))
}

/// The problem of a `null` sent for a property that cannot be reset (the
/// Management API answers it with the reason `null_refused`).
pub const NULL_REFUSED: &str = "cannot be null";

/// A property sent that must not be `null` (`is_first_party`: resetting it to
/// Auth0's default, true, would turn a third-party client first-party).
pub(crate) fn not_null<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d)?
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(NULL_REFUSED))
}
