//! `tessera grants create`: a client grant (what a client may ask of an API with
//! the client-credentials grant), in the same storage as the server. No server
//! needs to run; running servers read grants on every token request.

use tessera_core::model::{ClientGrant, GrantType, ResourceServer};
use tessera_core::store::{StoreError, TenantStore};
use tessera_core::{Clock, SystemClock, ids};

use crate::serve::init_logging;
use crate::settings::Settings;
use crate::startup::{self, Fail, Opened, db};

/// `scopes` in the order given, each once; every one must be defined by `api`.
fn granted_scopes(api: &ResourceServer, scopes: &[String]) -> Result<Vec<String>, Fail> {
    let mut out: Vec<String> = Vec::with_capacity(scopes.len());
    let mut undefined: Vec<&str> = Vec::new();
    for s in scopes {
        if !api.scopes.iter().any(|d| &d.value == s) {
            if !undefined.contains(&s.as_str()) {
                undefined.push(s);
            }
        } else if !out.contains(s) {
            out.push(s.clone());
        }
    }
    if undefined.is_empty() {
        return Ok(out);
    }
    let defined: Vec<&str> = api.scopes.iter().map(|d| d.value.as_str()).collect();
    Err(Fail::Runtime(format!(
        "the API {} does not define the scope{} {}; it defines: {}",
        api.identifier,
        if undefined.len() == 1 { "" } else { "s" },
        undefined.join(", "),
        if defined.is_empty() {
            "no scopes".to_owned()
        } else {
            defined.join(", ")
        }
    )))
}

pub async fn create(
    settings: Settings,
    client_id: String,
    audience: String,
    scopes: Vec<String>,
    json: bool,
) -> Result<(), Fail> {
    init_logging(&settings);
    let opened = startup::open(&settings, startup::Mode::Existing).await?;
    let result = create_in(&opened, client_id, audience, scopes).await;
    opened.store.close().await;
    let (grant, warning) = result?;
    if let Some(warning) = warning {
        eprintln!("tessera: note: {warning}");
    }
    if json {
        println!(
            "{}",
            serde_json::json!({
                "id": grant.id,
                "client_id": grant.client_id,
                "audience": grant.audience,
                "scope": grant.scope,
            })
        );
    } else {
        println!(
            "granted client {} access to {} with {} (grant id {})",
            grant.client_id,
            grant.audience,
            if grant.scope.is_empty() {
                "no scopes".to_owned()
            } else {
                format!("scopes {}", grant.scope.join(" "))
            },
            grant.id
        );
    }
    Ok(())
}

async fn create_in(
    opened: &Opened,
    client_id: String,
    audience: String,
    scopes: Vec<String>,
) -> Result<(ClientGrant, Option<String>), Fail> {
    let store = &opened.store;
    let Some((client, _)) = store.get_client(&client_id).await.map_err(db)? else {
        return Err(Fail::Runtime(format!(
            "there is no client with client id {client_id}"
        )));
    };
    let Some(api) = store
        .get_resource_server_by_identifier(&audience)
        .await
        .map_err(db)?
    else {
        return Err(Fail::Runtime(format!(
            "there is no API with identifier {audience} (see `tessera apis list`)"
        )));
    };
    let scope = granted_scopes(&api, &scopes)?;
    let grant = ClientGrant {
        id: ids::prefixed("cgr").map_err(|e| Fail::Runtime(e.to_string()))?,
        client_id: client.client_id.clone(),
        audience: api.identifier.clone(),
        scope,
    };
    match store.create_client_grant(&grant, SystemClock.now()).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            let existing = store
                .get_client_grant(&grant.client_id, &grant.audience)
                .await
                .ok()
                .flatten();
            return Err(Fail::Runtime(match existing {
                Some(g) => format!(
                    "client {} already has a grant for {} (id {}, scopes: {}); nothing was changed",
                    grant.client_id,
                    grant.audience,
                    g.id,
                    if g.scope.is_empty() {
                        "none".to_owned()
                    } else {
                        g.scope.join(" ")
                    }
                ),
                None => format!(
                    "the grant of client {} for {} conflicts with the stored data (was the client or the API just deleted?)",
                    grant.client_id, grant.audience
                ),
            }));
        }
        Err(e) => return Err(db(e)),
    }
    let warning = (!client.allows(GrantType::ClientCredentials)).then(|| {
        format!(
            "client {} does not have the client_credentials grant type, so it cannot use this grant until it does",
            client.client_id
        )
    });
    Ok((grant, warning))
}
