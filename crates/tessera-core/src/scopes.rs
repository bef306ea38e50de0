//! Scope names shared by the Management API and the bootstrap.

/// The Management API's scopes, named as Auth0 names them.
pub const MANAGEMENT_SCOPES: &[(&str, &str)] = &[
    ("read:users", "Read users"),
    ("create:users", "Create users"),
    ("update:users", "Update users"),
    ("delete:users", "Delete users"),
    ("update:users_app_metadata", "Update users' app_metadata"),
    (
        "read:user_idp_tokens",
        "Read users' identity provider tokens",
    ),
    ("read:clients", "Read clients"),
    ("create:clients", "Create clients"),
    ("update:clients", "Update clients"),
    ("delete:clients", "Delete clients"),
    ("read:client_keys", "Read client secrets"),
    ("update:client_keys", "Rotate client secrets"),
    ("read:client_credentials", "Read client credentials"),
    ("create:client_credentials", "Create client credentials"),
    ("update:client_credentials", "Update client credentials"),
    ("delete:client_credentials", "Delete client credentials"),
    ("read:resource_servers", "Read resource servers"),
    ("create:resource_servers", "Create resource servers"),
    ("update:resource_servers", "Update resource servers"),
    ("delete:resource_servers", "Delete resource servers"),
    ("read:client_grants", "Read client grants"),
    ("create:client_grants", "Create client grants"),
    ("update:client_grants", "Update client grants"),
    ("delete:client_grants", "Delete client grants"),
    ("read:connections", "Read connections"),
    ("create:connections", "Create connections"),
    ("update:connections", "Update connections"),
    ("delete:connections", "Delete connections"),
    ("read:signing_keys", "Read signing keys"),
    ("create:signing_keys", "Rotate signing keys"),
    ("update:signing_keys", "Revoke signing keys"),
    (
        "read:device_credentials",
        "Read device credentials (refresh tokens)",
    ),
    (
        "delete:device_credentials",
        "Delete device credentials (refresh tokens)",
    ),
    ("delete:sessions", "Delete sessions"),
    (
        "create:user_tickets",
        "Create password-change and email-verification tickets",
    ),
    ("blacklist:tokens", "Revoke Management API tokens by jti"),
    ("read:tenant_settings", "Read tenant settings"),
    ("update:tenant_settings", "Update tenant settings"),
    ("read:actions", "Read actions"),
    ("create:actions", "Create and deploy actions"),
    ("update:actions", "Update actions and trigger bindings"),
    ("delete:actions", "Delete actions"),
    ("read:logs", "Read the tenant's log events"),
    ("read:logs_users", "Read users' log events"),
    ("read:roles", "Read roles"),
    ("create:roles", "Create roles"),
    ("update:roles", "Update roles and their permissions"),
    ("delete:roles", "Delete roles"),
    ("read:role_members", "Read roles' users"),
    ("create:role_members", "Assign roles to users"),
    ("delete:role_members", "Remove roles from users"),
];

pub fn management_scope_names() -> Vec<String> {
    MANAGEMENT_SCOPES
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect()
}
