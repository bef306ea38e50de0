//! `tessera`: the server and its operator commands.

mod apis_cmd;
mod clients_cmd;
mod grants_cmd;
mod keys_cmd;
mod serve;
mod settings;
mod startup;
mod token_cmd;
mod users_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::PossibleValuesParser;
use clap::{CommandFactory, Parser, Subcommand};
use tessera_core::manage::Invalid;
use tessera_core::manage::clients::NewClient;
use tessera_core::manage::resource_servers::{self, NewResourceServer};
use tessera_core::manage::users::CreateUser;
use tessera_core::model::{AppType, GrantType, ResourceServerScope, TokenEndpointAuthMethod};
use tessera_core::store::Page;

use crate::startup::Fail;

const SETTINGS_HELP: &str = "Settings come from TESSERA_* environment variables over an optional TOML file \
(--config; the environment wins). See README.md for the table.";

#[derive(Parser)]
#[command(name = "tessera", version, about = "Tessera: a self-hosted OAuth 2.0 / OpenID Connect token server", after_help = SETTINGS_HELP)]
struct Cli {
    /// A TOML settings file (keys as the TESSERA_* names without the prefix, lower case).
    #[arg(long, global = true, value_name = "FILE", env = "TESSERA_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (creates the database, keys and bootstrap objects on first start).
    Serve,
    /// Inspect and rotate signing keys (the running servers pick changes up within
    /// TESSERA_KEY_RELOAD_INTERVAL seconds).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Register and list APIs (Auth0: resource servers) in the database; no
    /// server needs to run.
    Apis {
        #[command(subcommand)]
        command: ApisCommand,
    },
    /// Grant clients access to APIs (client grants) in the database; no server
    /// needs to run.
    Grants {
        #[command(subcommand)]
        command: GrantsCommand,
    },
    /// Register and list applications (Auth0: clients) in the database, with the
    /// Management API's defaults and rules; no server needs to run.
    Clients {
        #[command(subcommand)]
        command: ClientsCommand,
    },
    /// Create and list users of database connections in the database, with the
    /// Management API's rules; no server needs to run.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Explain a token: its kind, header and claims, and, checked against the
    /// issuer's keys, every reason an API or an app must reject it; no server
    /// or database is used.
    Token {
        #[command(subcommand)]
        command: token_cmd::TokenCommand,
    },
}

#[derive(Subcommand)]
enum ClientsCommand {
    /// Register an application. A confidential one (auth method other than
    /// `none`) gets a client secret, printed once.
    Create {
        /// A display name.
        #[arg(long, value_name = "NAME")]
        name: String,
        /// The kind of application; sets the defaults of the auth method and the
        /// grant types (default regular_web).
        #[arg(long, value_name = "TYPE", value_parser = PossibleValuesParser::new(AppType::ALL.iter().map(|t| t.as_str())))]
        app_type: Option<String>,
        /// An allowed redirect URI; repeat for several.
        #[arg(long = "callback", value_name = "URL")]
        callbacks: Vec<String>,
        /// An allowed post-logout redirect URL; repeat for several.
        #[arg(long = "logout-url", value_name = "URL")]
        logout_urls: Vec<String>,
        /// An allowed web origin (scheme://host[:port]); repeat for several.
        #[arg(long = "web-origin", value_name = "URL")]
        web_origins: Vec<String>,
        /// An allowed origin for cross-origin (CORS) calls to the token,
        /// revocation and userinfo endpoints (scheme://host[:port]); repeat for
        /// several.
        #[arg(long = "allowed-origin", value_name = "URL")]
        allowed_origins: Vec<String>,
        /// A grant type; repeat for several (default: per app type).
        #[arg(long = "grant-type", value_name = "GRANT", value_parser = PossibleValuesParser::new(GrantType::ALL.iter().map(|g| g.as_str())))]
        grant_types: Vec<String>,
        /// How the client authenticates at the token endpoint (default: none for
        /// spa and native, else client_secret_post).
        #[arg(long, value_name = "METHOD", value_parser = PossibleValuesParser::new(TokenEndpointAuthMethod::ALL.iter().map(|m| m.as_str())))]
        auth_method: Option<String>,
        /// A third-party application (default: first party).
        #[arg(long)]
        third_party: bool,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// List every application; client secrets are never shown.
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Create a user of a database connection. The password is read from
    /// standard input (one trailing line break is dropped), never from an
    /// argument, for example: printf '%s' "$PASSWORD" | tessera users create
    /// --email jane@example.com --password-stdin
    Create {
        /// The user's email address.
        #[arg(long, value_name = "EMAIL")]
        email: String,
        /// Read the password from standard input (required).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// The database connection.
        #[arg(long, value_name = "NAME", default_value = users_cmd::DEFAULT_CONNECTION)]
        connection: String,
        /// The full name (default: the email).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// The given (first) name.
        #[arg(long, value_name = "NAME")]
        given_name: Option<String>,
        /// The family (last) name.
        #[arg(long, value_name = "NAME")]
        family_name: Option<String>,
        /// Mark the email address as verified.
        #[arg(long)]
        email_verified: bool,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// List users, oldest first, one page at a time.
    List {
        /// Only users with this email (any case); `*` matches any characters.
        #[arg(long, value_name = "EMAIL")]
        email: Option<String>,
        /// The page, from 0.
        #[arg(long, value_name = "N", default_value_t = 0)]
        page: i64,
        /// Users per page, 1 to 100.
        #[arg(long, value_name = "N", default_value_t = Page::DEFAULT_PER_PAGE)]
        per_page: i64,
        /// Machine-readable output: Auth0's {start, limit, length, total, users}.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ApisCommand {
    /// Register an API: tokens asked for its identifier (`audience`) carry it as `aud`.
    Create {
        /// The API's identifier, the `aud` of its tokens (a URI is recommended).
        #[arg(long, value_name = "ID")]
        identifier: String,
        /// A display name (default: the identifier).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// A scope the API defines; repeat for several.
        #[arg(long = "scope", value_name = "VALUE")]
        scopes: Vec<String>,
        /// Access-token lifetime in seconds (default 86400).
        #[arg(long, value_name = "SECONDS")]
        token_lifetime: Option<i64>,
        /// Allow refresh tokens (`offline_access`) for this API.
        #[arg(long)]
        allow_offline_access: bool,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// List every API, the Management API included.
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum GrantsCommand {
    /// Let a client obtain tokens for an API with the client-credentials grant.
    Create {
        /// The client's id.
        #[arg(long, value_name = "CLIENT_ID")]
        client_id: String,
        /// The API's identifier.
        #[arg(long, value_name = "IDENTIFIER")]
        audience: String,
        /// A scope of the API to grant; repeat for several.
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

/// A usage error in clap's format, with the usage of `tessera <group> <command>`
/// (exit code 2).
fn usage_error(path: [&str; 2], flag: &str, problem: &str) -> ! {
    let mut cli = Cli::command();
    cli.build();
    let message = format!("invalid value for {flag}: {problem}");
    let kind = clap::error::ErrorKind::ValueValidation;
    match cli
        .find_subcommand_mut(path[0])
        .and_then(|group| group.find_subcommand_mut(path[1]))
    {
        Some(command) => command.error(kind, message).exit(),
        None => cli.error(kind, message).exit(),
    }
}

/// The command-line flag for a property the shared validation names.
fn flag_of(invalid: &Invalid) -> &'static str {
    match invalid.property.as_str() {
        "identifier" => "--identifier",
        "scopes" => "--scope",
        "token_lifetime" => "--token-lifetime",
        "name" => "--name",
        _ => "an argument",
    }
}

/// What `apis create` asks for, checked by the Management API's own rules.
fn new_api(
    identifier: String,
    name: Option<String>,
    scopes: Vec<String>,
    token_lifetime: Option<i64>,
    allow_offline_access: bool,
) -> NewResourceServer {
    let input = NewResourceServer {
        identifier,
        name,
        scopes: Some(
            scopes
                .into_iter()
                .map(|value| ResourceServerScope {
                    value,
                    description: String::new(),
                })
                .collect(),
        ),
        signing_alg: None,
        token_lifetime,
        allow_offline_access: Some(allow_offline_access),
        skip_consent_for_verifiable_first_party_clients: None,
        ..Default::default()
    };
    if let Err(invalid) = resource_servers::check_new(&input) {
        usage_error(["apis", "create"], flag_of(&invalid), &invalid.problem);
    }
    input
}

fn check_grant(client_id: &str, audience: &str, scopes: &[String]) {
    if client_id.trim().is_empty() {
        usage_error(["grants", "create"], "--client-id", "must not be empty");
    }
    if audience.trim().is_empty() {
        usage_error(["grants", "create"], "--audience", "must not be empty");
    }
    for s in scopes {
        if let Err(invalid) = resource_servers::validate_scope_value(s) {
            usage_error(["grants", "create"], "--scope", &invalid.problem);
        }
    }
}

#[derive(Subcommand)]
enum KeysCommand {
    /// List every signing key with its state.
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Promote the next key to current; the current key becomes previous and a new
    /// next key is published. Refused until the next key has been published for
    /// the JWKS cache lifetime plus the reload interval.
    Rotate {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a previous or next key: it leaves the JWKS at once.
    Revoke {
        /// RFC 7638 kids are base64url and may begin with `-`.
        #[arg(allow_hyphen_values = true)]
        kid: String,
        #[arg(long)]
        json: bool,
    },
}

/// What a command runs, after its arguments were checked.
enum Job {
    Serve,
    Keys(KeysCommand),
    ApisCreate(Box<NewResourceServer>, bool),
    ApisList(bool),
    GrantsCreate {
        client_id: String,
        audience: String,
        scopes: Vec<String>,
        json: bool,
    },
    ClientsCreate(Box<NewClient>, bool),
    ClientsList(bool),
    UsersCreate(Box<CreateUser>, bool),
    UsersList {
        email: Option<String>,
        page: Page,
        json: bool,
    },
}

/// Empty means "the default", as an absent property in `POST /api/v2/clients`.
fn given(values: Vec<String>) -> Option<Vec<String>> {
    (!values.is_empty()).then_some(values)
}

fn users_list_job(email: Option<String>, page: i64, per_page: i64, json: bool) -> Job {
    let path = ["users", "list"];
    // The Management API's paging bounds.
    let page = match Page::checked(Some(page), Some(per_page)) {
        Ok(page) => page,
        Err(e) if e.property == "page" => usage_error(path, "--page", &e.problem),
        Err(e) => usage_error(path, "--per-page", &e.problem),
    };
    let email = email.map(|e| match users_cmd::email_filter(&e) {
        Ok(pattern) => pattern,
        Err(problem) => usage_error(path, "--email", &problem),
    });
    Job::UsersList { email, page, json }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Usage errors (exit 2) come before settings are read or anything is opened.
    let job = match cli.command {
        Command::Serve => Job::Serve,
        // Needs no settings, database or master key.
        Command::Token { command } => return token_cmd::run(command),
        Command::Keys { command } => Job::Keys(command),
        Command::Apis { command } => match command {
            ApisCommand::Create {
                identifier,
                name,
                scopes,
                token_lifetime,
                allow_offline_access,
                json,
            } => Job::ApisCreate(
                Box::new(new_api(
                    identifier,
                    name,
                    scopes,
                    token_lifetime,
                    allow_offline_access,
                )),
                json,
            ),
            ApisCommand::List { json } => Job::ApisList(json),
        },
        Command::Grants { command } => match command {
            GrantsCommand::Create {
                client_id,
                audience,
                scopes,
                json,
            } => {
                check_grant(&client_id, &audience, &scopes);
                Job::GrantsCreate {
                    client_id,
                    audience,
                    scopes,
                    json,
                }
            }
        },
        Command::Clients { command } => match command {
            ClientsCommand::Create {
                name,
                app_type,
                callbacks,
                logout_urls,
                web_origins,
                allowed_origins,
                grant_types,
                auth_method,
                third_party,
                json,
            } => Job::ClientsCreate(
                Box::new(NewClient {
                    name: Some(name),
                    app_type,
                    token_endpoint_auth_method: auth_method,
                    grant_types: given(grant_types),
                    callbacks: given(callbacks),
                    allowed_logout_urls: given(logout_urls),
                    web_origins: given(web_origins),
                    allowed_origins: given(allowed_origins),
                    is_first_party: third_party.then_some(false),
                    ..NewClient::default()
                }),
                json,
            ),
            ClientsCommand::List { json } => Job::ClientsList(json),
        },
        Command::Users { command } => match command {
            UsersCommand::Create {
                email,
                password_stdin: _,
                connection,
                name,
                given_name,
                family_name,
                email_verified,
                json,
            } => {
                let password = match users_cmd::read_password_stdin() {
                    Ok(p) => p,
                    Err(problem) => usage_error(["users", "create"], "--password-stdin", &problem),
                };
                Job::UsersCreate(
                    Box::new(CreateUser {
                        connection: Some(connection),
                        email: Some(email),
                        password: Some(password),
                        name,
                        given_name,
                        family_name,
                        email_verified: Some(email_verified),
                        ..CreateUser::default()
                    }),
                    json,
                )
            }
            UsersCommand::List {
                email,
                page,
                per_page,
                json,
            } => users_list_job(email, page, per_page, json),
        },
    };
    let env = |name: &str| std::env::var(name).ok();
    let settings = match settings::Settings::load(cli.config.as_deref(), &env) {
        Ok(s) => s,
        Err(e) => return Fail::Setting(e).exit(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return Fail::Runtime(format!("cannot start the async runtime: {e}")).exit(),
    };
    let result = runtime.block_on(async move {
        match job {
            Job::Serve => serve::run(settings).await,
            Job::Keys(command) => match command {
                KeysCommand::List { json } => keys_cmd::list(settings, json).await,
                KeysCommand::Rotate { json } => keys_cmd::rotate(settings, json).await,
                KeysCommand::Revoke { kid, json } => keys_cmd::revoke(settings, &kid, json).await,
            },
            Job::ApisCreate(input, json) => apis_cmd::create(settings, *input, json).await,
            Job::ApisList(json) => apis_cmd::list(settings, json).await,
            Job::GrantsCreate {
                client_id,
                audience,
                scopes,
                json,
            } => grants_cmd::create(settings, client_id, audience, scopes, json).await,
            Job::ClientsCreate(input, json) => clients_cmd::create(settings, *input, json).await,
            Job::ClientsList(json) => clients_cmd::list(settings, json).await,
            Job::UsersCreate(input, json) => users_cmd::create(settings, *input, json).await,
            Job::UsersList { email, page, json } => {
                users_cmd::list(settings, email, page, json).await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(fail) => fail.exit(),
    }
}
