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
    /// Present when just made, or for callers holding `read:client_keys`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl ClientView {
    pub fn new(client: Client, client_secret: Option<String>) -> Self {
        Self {
            client,
            client_secret,
        }
    }
}
