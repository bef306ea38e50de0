//! `tessera clients create|list`: applications (Auth0: clients) in the same
//! storage as the server, under the same defaults and rules as
//! `POST /api/v2/clients` (`tessera_core::manage::clients`). No server needs to
//! run; running servers read clients from the database on every request.

use tessera_core::manage::Invalid;
use tessera_core::manage::clients::{self, ClientView, CreateError, NewClient};
use tessera_core::model::{Client, GrantType};
use tessera_core::store::{ClientFilter, Page, StoreError, TenantStore};
use tessera_core::{Clock, SystemClock};

use crate::settings::Settings;
use crate::startup::{Fail, Opened, db, print_table, with_store};

/// The command-line flag for a property the shared validation names.
fn flag_of(invalid: &Invalid) -> &'static str {
    match invalid.property.as_str() {
        "name" => "--name",
        "app_type" => "--app-type",
        "token_endpoint_auth_method" => "--auth-method",
        "grant_types" => "--grant-type",
        "callbacks" => "--callback",
        "allowed_logout_urls" => "--logout-url",
        "web_origins" => "--web-origin",
        "allowed_origins" => "--allowed-origin",
        _ => "",
    }
}

fn invalid_client(invalid: &Invalid) -> Fail {
    let flag = flag_of(invalid);
    let property = if flag.is_empty() {
        invalid.property.clone()
    } else {
        format!("{} ({flag})", invalid.property)
    };
    Fail::Runtime(format!(
        "invalid client: {property}: {}; nothing was created",
        invalid.problem
    ))
}

pub async fn create(settings: Settings, input: NewClient, json: bool) -> Result<(), Fail> {
    let created = with_store(&settings, async |opened: &Opened| {
        let created = clients::create(&opened.master, input).map_err(|e| match e {
            CreateError::Invalid(invalid) => invalid_client(&invalid),
            CreateError::Rng(e) => Fail::Runtime(e.to_string()),
        })?;
        match opened
            .store
            .create_client(
                &created.client,
                created.stored_secret.as_ref(),
                SystemClock.now(),
            )
            .await
        {
            Ok(()) => Ok(created),
            Err(StoreError::Conflict(_)) => Err(Fail::Runtime(format!(
                "a client with client id {} already exists; nothing was changed (run the command again for a fresh id)",
                created.client.client_id
            ))),
            Err(e) => Err(db(e)),
        }
    })
    .await?;
    let client = &created.client;
    let secret = created.secret.as_ref().map(|s| s.expose().as_str());
    if json {
        println!("{}", to_json(client, secret));
        if secret.is_some() {
            eprintln!(
                "tessera: note: client_secret is shown only this once; store it now (`tessera clients list` never prints it)"
            );
        }
        return Ok(());
    }
    println!(
        "created client {} ({}, {}, auth method {}, grant types {})",
        client.name,
        client.app_type,
        if client.is_first_party {
            "first party"
        } else {
            "third party"
        },
        client.token_endpoint_auth_method,
        list_or_dash(&client.grant_types),
    );
    println!("  client_id:     {}", client.client_id);
    match secret {
        Some(secret) => {
            println!("  client_secret: {secret}");
            println!(
                "The client secret is shown only this once: store it now (`tessera clients list` never prints it)."
            );
        }
        None => println!(
            "  no client secret: a public client (auth method none) authenticates with PKCE instead"
        ),
    }
    if client.allows(GrantType::ClientCredentials) {
        println!(
            "To let it call an API: tessera grants create --client-id {} --audience <API identifier> --scope <scope>",
            client.client_id
        );
    }
    Ok(())
}

pub async fn list(settings: Settings, json: bool) -> Result<(), Fail> {
    let all = with_store(&settings, async |opened: &Opened| {
        let mut all: Vec<Client> = Vec::new();
        let mut page = Page {
            page: 0,
            per_page: 100,
        };
        let filter = ClientFilter::default();
        loop {
            let (items, total) = opened.store.list_clients(&filter, page).await.map_err(db)?;
            let got = items.len();
            // The stored secrets are dropped here: a listing never shows them.
            all.extend(items.into_iter().map(|(client, _)| client));
            if got == 0 || all.len() as i64 >= total {
                break;
            }
            page.page += 1;
        }
        Ok(all)
    })
    .await?;
    if json {
        let items: Vec<serde_json::Value> = all.iter().map(|c| to_json(c, None)).collect();
        println!("{}", serde_json::Value::Array(items));
    } else {
        let header = [
            "CLIENT_ID",
            "NAME",
            "APP_TYPE",
            "AUTH_METHOD",
            "GRANT_TYPES",
        ];
        let rows: Vec<Vec<String>> = all
            .iter()
            .map(|c| {
                vec![
                    c.client_id.clone(),
                    if c.is_first_party {
                        c.name.clone()
                    } else {
                        format!("{} (third party)", c.name)
                    },
                    c.app_type.to_string(),
                    c.token_endpoint_auth_method.to_string(),
                    list_or_dash(&c.grant_types),
                ]
            })
            .collect();
        print_table(&header, &rows);
    }
    Ok(())
}

fn list_or_dash(items: &[GrantType]) -> String {
    if items.is_empty() {
        "-".into()
    } else {
        let names: Vec<&str> = items.iter().map(|g| g.as_str()).collect();
        names.join(" ")
    }
}

/// Auth0's client shape, as `/api/v2/clients` answers ([`ClientView`]);
/// `client_secret` only when given (just created).
fn to_json(client: &Client, secret: Option<&str>) -> serde_json::Value {
    let view = ClientView::new(client.clone(), secret.map(str::to_owned));
    serde_json::to_value(view).unwrap_or_default()
}
