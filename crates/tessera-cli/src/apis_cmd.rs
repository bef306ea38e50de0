//! `tessera apis create|list`: APIs (Auth0: resource servers) in the same
//! storage as the server, under the same rules as `/api/v2/resource-servers`
//! (`tessera_core::manage::resource_servers`). No server needs to run; running
//! servers read APIs from the database on every token request.

use tessera_core::manage::resource_servers::{self, CreateError, NewResourceServer};
use tessera_core::model::ResourceServer;
use tessera_core::store::{Page, StoreError, TenantStore};
use tessera_core::{Clock, SystemClock};

use crate::settings::Settings;
use crate::startup::{Fail, Opened, db, with_store};

pub async fn create(settings: Settings, input: NewResourceServer, json: bool) -> Result<(), Fail> {
    let rs = with_store(&settings, async |opened: &Opened| {
        let rs = resource_servers::create(input).map_err(|e| match e {
            CreateError::Invalid(invalid) => Fail::Runtime(format!("invalid API: {invalid}")),
            CreateError::Rng(e) => Fail::Runtime(e.to_string()),
        })?;
        match opened
            .store
            .create_resource_server(&rs, SystemClock.now())
            .await
        {
            Ok(()) => Ok(rs),
            Err(StoreError::Conflict(_)) => {
                let existing = opened
                    .store
                    .get_resource_server_by_identifier(&rs.identifier)
                    .await
                    .ok()
                    .flatten()
                    .map(|e| format!(" (id {})", e.id))
                    .unwrap_or_default();
                Err(Fail::Runtime(format!(
                    "an API with identifier {} already exists{existing}; nothing was changed",
                    rs.identifier
                )))
            }
            Err(e) => Err(db(e)),
        }
    })
    .await?;
    if json {
        println!("{}", to_json(&rs));
    } else {
        println!(
            "created API {} (identifier {}, id {}, scopes: {}, token lifetime {} s, offline access {})",
            rs.name,
            rs.identifier,
            rs.id,
            scopes(&rs),
            rs.token_lifetime,
            if rs.allow_offline_access {
                "allowed"
            } else {
                "not allowed"
            }
        );
    }
    Ok(())
}

pub async fn list(settings: Settings, json: bool) -> Result<(), Fail> {
    let all = with_store(&settings, async |opened: &Opened| {
        let mut all: Vec<ResourceServer> = Vec::new();
        let mut page = Page {
            page: 0,
            per_page: 100,
        };
        loop {
            let (items, total) = opened.store.list_resource_servers(page).await.map_err(db)?;
            let got = items.len();
            all.extend(items);
            if got == 0 || all.len() as i64 >= total {
                break;
            }
            page.page += 1;
        }
        Ok(all)
    })
    .await?;
    if json {
        let items: Vec<serde_json::Value> = all.iter().map(to_json).collect();
        println!("{}", serde_json::Value::Array(items));
    } else {
        print_table(&all);
    }
    Ok(())
}

/// Auth0's resource-server shape, as the Management API answers.
fn to_json(rs: &ResourceServer) -> serde_json::Value {
    serde_json::to_value(rs).unwrap_or_default()
}

fn scopes(rs: &ResourceServer) -> String {
    if rs.scopes.is_empty() {
        "-".into()
    } else {
        rs.scopes
            .iter()
            .map(|s| s.value.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The scopes for a table cell: the first few, then how many more.
fn scopes_short(rs: &ResourceServer) -> String {
    const SHOWN: usize = 4;
    if rs.scopes.len() <= SHOWN {
        return scopes(rs);
    }
    let first: Vec<&str> = rs.scopes[..SHOWN]
        .iter()
        .map(|s| s.value.as_str())
        .collect();
    format!("{} (+{} more)", first.join(" "), rs.scopes.len() - SHOWN)
}

fn print_table(all: &[ResourceServer]) {
    let header = ["ID", "IDENTIFIER", "NAME", "LIFETIME", "OFFLINE", "SCOPES"];
    let rows: Vec<[String; 6]> = all
        .iter()
        .map(|rs| {
            [
                rs.id.clone(),
                rs.identifier.clone(),
                if rs.is_system {
                    format!("{} (system)", rs.name)
                } else {
                    rs.name.clone()
                },
                rs.token_lifetime.to_string(),
                if rs.allow_offline_access { "yes" } else { "no" }.to_owned(),
                scopes_short(rs),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 6]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        println!("{}", out.trim_end());
    };
    line(header);
    for row in &rows {
        line([
            row[0].as_str(),
            row[1].as_str(),
            row[2].as_str(),
            row[3].as_str(),
            row[4].as_str(),
            row[5].as_str(),
        ]);
    }
}
