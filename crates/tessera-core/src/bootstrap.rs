//! First-start bootstrap, idempotent on every later start: the Management API
//! resource server, the database connection and the admin machine-to-machine client.

use crate::clock::UnixTime;
use crate::envelope::MasterKey;
use crate::ids::{self, RngError};
use crate::model::{
    AppType, Client, ClientGrant, ClientSecret, Connection, GrantType, JwtConfiguration,
    RefreshTokenConfig, ResourceServer, ResourceServerScope, TokenEndpointAuthMethod,
};
use crate::scopes::{MANAGEMENT_SCOPES, management_scope_names};
use crate::store::{Store, StoreError};
use crate::types::{Issuer, Secret};

pub const DATABASE_CONNECTION: &str = "Username-Password-Authentication";
/// Auth0's name of the Management API, which tools rely on (auth0-deploy-cli
/// skips the API by this name). Tessera before issue 13 named it "Tessera
/// Management API"; startup renames such a stored API.
pub const MANAGEMENT_API_NAME: &str = "Auth0 Management API";
pub use crate::token::access::MANAGEMENT_TOKEN_LIFETIME;
const META_BOOTSTRAP_CLIENT: &str = "bootstrap_client_id";
/// Purpose label of client-secret hashes (see [`MasterKey::keyed_hash`]).
pub const CLIENT_SECRET_PURPOSE: &str = "client_secret";

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Rng(#[from] RngError),
}

/// The admin client from `TESSERA_BOOTSTRAP_CLIENT_ID` / `_SECRET`.
#[derive(Debug, Clone)]
pub struct AdminClient {
    pub client_id: String,
    pub client_secret: Secret<String>,
}

#[derive(Debug)]
pub struct BootstrapReport {
    /// Set only when this start generated the admin client: shown once, never again.
    pub generated_admin: Option<AdminClient>,
    pub admin_client_id: String,
}

/// Seals a client secret and computes its keyed hash.
pub fn seal_client_secret(
    master: &MasterKey,
    client_id: &str,
    secret: &str,
) -> Result<ClientSecret, RngError> {
    Ok(ClientSecret {
        sealed: master.seal(&format!("client_secret:{client_id}"), secret.as_bytes())?,
        hash: master
            .keyed_hash(CLIENT_SECRET_PURPOSE, secret.as_bytes())
            .to_vec(),
    })
}

/// A Management API created by an older version lacks the scopes added
/// since (e.g. `create:user_tickets`): they are added, the rest left as is;
/// and it may have Tessera's former name: it takes Auth0's.
async fn fix_up_management_api(
    store: &dyn Store,
    audience: &str,
    now: UnixTime,
) -> Result<(), BootstrapError> {
    let Some(mut api) = store.get_resource_server_by_identifier(audience).await? else {
        return Ok(());
    };
    let renamed = api.name != MANAGEMENT_API_NAME;
    api.name = MANAGEMENT_API_NAME.into();
    let missing: Vec<ResourceServerScope> = MANAGEMENT_SCOPES
        .iter()
        .filter(|(value, _)| !api.scopes.iter().any(|s| s.value == *value))
        .map(|(value, description)| ResourceServerScope {
            value: (*value).into(),
            description: (*description).into(),
        })
        .collect();
    if renamed || !missing.is_empty() {
        api.scopes.extend(missing);
        store.update_resource_server(&api, now).await?;
    }
    Ok(())
}

pub async fn run(
    store: &dyn Store,
    master: &MasterKey,
    issuer: &Issuer,
    admin: Option<&AdminClient>,
    now: UnixTime,
) -> Result<BootstrapReport, BootstrapError> {
    let audience = issuer.management_audience();
    let created = store
        .insert_resource_server_if_absent(
            &ResourceServer {
                id: ids::prefixed("rs")?,
                identifier: audience.clone(),
                name: MANAGEMENT_API_NAME.into(),
                scopes: MANAGEMENT_SCOPES
                    .iter()
                    .map(|(value, description)| ResourceServerScope {
                        value: (*value).into(),
                        description: (*description).into(),
                    })
                    .collect(),
                signing_alg: "RS256".into(),
                token_lifetime: MANAGEMENT_TOKEN_LIFETIME,
                allow_offline_access: false,
                skip_consent_for_verifiable_first_party_clients: false,
                settings: Default::default(),
                is_system: true,
            },
            now,
        )
        .await?;
    if !created {
        fix_up_management_api(store, &audience, now).await?;
    }
    store
        .insert_connection_if_absent(
            &Connection {
                id: ids::prefixed("con")?,
                name: DATABASE_CONNECTION.into(),
                strategy: "auth0".into(),
                options: serde_json::json!({ "passwordPolicy": "fair", "password_complexity_options": { "min_length": 8 } }),
                enabled_clients: vec![],
                ..Default::default()
            },
            now,
        )
        .await?;

    let (admin_id, generated) = match admin {
        Some(given) => {
            store
                .put_meta_if_absent(META_BOOTSTRAP_CLIENT, &given.client_id)
                .await?;
            ensure_admin(
                store,
                master,
                &given.client_id,
                Some(given.client_secret.expose()),
                now,
            )
            .await?;
            (given.client_id.clone(), None)
        }
        None => {
            let candidate = ids::client_id()?;
            let id = store
                .put_meta_if_absent(META_BOOTSTRAP_CLIENT, &candidate)
                .await?;
            let generated = ensure_admin(store, master, &id, None, now).await?;
            (id, generated)
        }
    };
    let audience_grant = store.get_client_grant(&admin_id, &audience).await?;
    let grant = ClientGrant {
        id: match audience_grant {
            Some(g) => g.id,
            None => ids::prefixed("cgr")?,
        },
        client_id: admin_id.clone(),
        audience,
        scope: management_scope_names(),
    };
    store.put_client_grant(&grant, now).await?;
    // Before issue 13 an empty `enabled_clients` meant every client; now it
    // means none (Auth0). Once per database, those lists name every client,
    // so no client loses access.
    store.open_connections_upgrade(now).await?;
    Ok(BootstrapReport {
        generated_admin: generated,
        admin_client_id: admin_id,
    })
}

/// Makes sure the admin client exists. With a given secret, the stored one follows
/// it; without, a missing client is created with a generated secret (returned once).
async fn ensure_admin(
    store: &dyn Store,
    master: &MasterKey,
    client_id: &str,
    secret: Option<&String>,
    now: UnixTime,
) -> Result<Option<AdminClient>, BootstrapError> {
    let existing = store.get_client(client_id).await?;
    if let (Some((_, Some(stored))), Some(secret)) = (&existing, secret)
        && master.verify_keyed_hash(CLIENT_SECRET_PURPOSE, secret.as_bytes(), &stored.hash)
    {
        return Ok(None);
    }
    if existing.is_some() && secret.is_none() {
        return Ok(None);
    }
    let (secret_value, generated) = match secret {
        Some(s) => (s.clone(), false),
        None => (ids::client_secret()?, true),
    };
    let client = match existing {
        Some((client, _)) => client,
        None => Client {
            client_id: client_id.to_owned(),
            name: "Tessera admin (bootstrap)".into(),
            app_type: AppType::NonInteractive,
            token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretPost,
            grant_types: vec![GrantType::ClientCredentials],
            callbacks: vec![],
            allowed_logout_urls: vec![],
            web_origins: vec![],
            allowed_origins: vec![],
            is_first_party: true,
            refresh_token: RefreshTokenConfig::defaults(AppType::NonInteractive),
            jwt_configuration: JwtConfiguration::default(),
            settings: Default::default(),
            description: "Machine-to-machine application ensured at every start; holds every Management API scope.".into(),
            is_token_endpoint_ip_header_trusted: false,
            client_authentication_methods: None,
        },
    };
    let sealed = seal_client_secret(master, client_id, &secret_value)?;
    store.put_client(&client, Some(&sealed), now).await?;
    Ok(generated.then(|| AdminClient {
        client_id: client_id.to_owned(),
        client_secret: Secret::new(secret_value),
    }))
}
