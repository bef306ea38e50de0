//! A client as `/api/v2/clients` answers and `tessera clients --json` prints it.

use serde::{Serialize, Serializer};

use crate::model::Client;

/// A client in Auth0's shape: the client's own properties (every setting
/// present), then the secret when it may be shown. A client using
/// `private_key_jwt` answers `token_endpoint_auth_method: null` (Auth0: the two
/// are mutually exclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientView {
    pub client: Client,
    /// Auth0's read-only marker of its tenant-wide "All Applications" client,
    /// which Tessera does not have: always false (never accepted in a body).
    pub global: bool,
    /// Auth0's read-only `callback_url_template`: always false.
    pub callback_url_template: bool,
    /// Present when just made, or for callers holding `read:client_keys`.
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

impl Serialize for ClientView {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut value = serde_json::to_value(&self.client).map_err(serde::ser::Error::custom)?;
        if let Some(object) = value.as_object_mut() {
            if self.client.uses_private_key_jwt() {
                object.insert("token_endpoint_auth_method".into(), serde_json::Value::Null);
            }
            object.insert("global".into(), self.global.into());
            object.insert(
                "callback_url_template".into(),
                self.callback_url_template.into(),
            );
            if let Some(secret) = &self.client_secret {
                object.insert("client_secret".into(), secret.clone().into());
            }
        }
        value.serialize(serializer)
    }
}

/// The schema of [`ClientView`]: the client's properties and the secret.
#[cfg(feature = "openapi")]
#[derive(Serialize, utoipa::ToSchema)]
struct ClientDto {
    #[serde(flatten)]
    client: Client,
    /// Auth0's read-only marker of its tenant-wide "All Applications" client:
    /// always false.
    global: bool,
    /// Auth0's read-only `callback_url_template`: always false.
    callback_url_template: bool,
    /// Present when just made, or for callers holding `read:client_keys`.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ClientView {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <ClientDto as utoipa::PartialSchema>::schema()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ClientView {
    fn name() -> std::borrow::Cow<'static, str> {
        <ClientDto as utoipa::ToSchema>::name()
    }
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <ClientDto as utoipa::ToSchema>::schemas(schemas);
    }
}
