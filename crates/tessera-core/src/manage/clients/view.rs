//! A client as `/api/v2/clients` answers and `tessera clients --json` prints it.

use serde::Serialize;

use crate::model::Client;

/// A client in Auth0's shape: the client's own properties (every setting
/// present), then the secret when it may be shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ClientDto))]
pub struct ClientView {
    #[serde(flatten)]
    pub client: Client,
    /// Auth0's read-only marker of its tenant-wide "All Applications" client,
    /// which Tessera does not have: always false (never accepted in a body).
    pub global: bool,
    /// Auth0's read-only `callback_url_template`: always false.
    pub callback_url_template: bool,
    /// Present when just made, or for callers holding `read:client_keys`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl ClientView {
    pub fn new(client: Client, client_secret: Option<String>) -> Self {
        Self {
            client,
            global: false,
            callback_url_template: false,
            client_secret,
        }
    }
}
