//! Applications (Auth0: clients): validation, per-`app_type` defaults, creation
//! and changes, shared by `/api/v2/clients` and the operator CLI.
//!
//! Rules, in Auth0's terms:
//! - `app_type` is `native`, `spa`, `regular_web` (default) or `non_interactive`.
//! - `token_endpoint_auth_method` defaults to `none` for `spa` and `native`, else
//!   `client_secret_post`; a client whose method is not `none` is confidential and
//!   is created with a secret. Changing the method later never removes, replaces
//!   or reveals a secret (see [`super::client_secrets`]).
//! - `grant_types` default per app type; a public client (`none`) may not have
//!   `client_credentials`.
//! - `callbacks`, `allowed_logout_urls`, `web_origins` and `allowed_origins` are
//!   absolute URLs without a fragment: `https`, or `http` on a loopback host;
//!   `native` clients may also use private-use schemes (RFC 8252 §7.1) such as
//!   `com.example.app:/cb`. The two origin lists take origins only
//!   (`scheme://host[:port]`, no path or query).
//!
//! The modules: `payload` (the request bodies), `create`, `update`, `validate`
//! (the whole-client check and its order), `refresh_token`, `urls` and
//! `settings` (their rules: the last for the properties stored but not acted
//! on), `view` (the answer).

mod create;
mod payload;
mod refresh_token;
mod settings;
mod update;
mod urls;
mod validate;
mod view;

pub use create::{CreateError, Created, build, create, generate_secret, reveal_secret};
pub use payload::{ClientChanges, JwtConfigurationChanges, NewClient, RefreshTokenChanges};
pub use refresh_token::MAX_REFRESH_TOKEN_LEEWAY;
pub use settings::{
    MAX_METADATA_KEY_LEN, MAX_METADATA_KEYS, MAX_METADATA_VALUE_LEN, PAR_REQUEST_EXPIRY,
};
pub use update::{apply_changes, touches_authentication_methods};
pub use view::ClientView;

use crate::model::AppType;
pub use crate::model::{
    DEFAULT_ID_TOKEN_LIFETIME, DEFAULT_REFRESH_TOKEN_IDLE_LIFETIME, DEFAULT_REFRESH_TOKEN_LIFETIME,
    MAX_REFRESH_TOKEN_LIFETIME,
};

/// The app type of a client created without one.
pub const DEFAULT_APP_TYPE: AppType = AppType::RegularWeb;
/// Auth0: the name needs one character and may not contain `<` or `>`.
pub const MAX_NAME_LEN: usize = 255;
/// Auth0's limit on `description`.
pub const MAX_DESCRIPTION_LEN: usize = 140;
/// Entries per URL list, and characters per URL.
pub const MAX_URLS: usize = 100;
pub const MAX_URL_LEN: usize = 2048;
/// Longest ID-token lifetime (`jwt_configuration.lifetime_in_seconds`).
pub const MAX_ID_TOKEN_LIFETIME: i64 = 36000;

#[cfg(test)]
mod tests;
