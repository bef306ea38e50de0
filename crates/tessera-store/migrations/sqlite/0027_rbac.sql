-- Role-based access control (issue 15): roles, the permissions (scopes of an
-- API) a role grants, users' roles and users' direct permissions. Deleting a
-- role, a user or an API deletes what refers to it (foreign keys); removing a
-- scope from an API deletes the permissions naming it (the store does it in
-- the API's update).

CREATE TABLE IF NOT EXISTS roles (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS role_permissions (
    role_id                    TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    resource_server_identifier TEXT NOT NULL REFERENCES resource_servers (identifier) ON DELETE CASCADE ON UPDATE CASCADE,
    permission_name            TEXT NOT NULL,
    created_at                 INTEGER NOT NULL,
    PRIMARY KEY (role_id, resource_server_identifier, permission_name)
);
CREATE INDEX IF NOT EXISTS role_permissions_api ON role_permissions (resource_server_identifier, permission_name);

CREATE TABLE IF NOT EXISTS user_roles (
    user_id    TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    role_id    TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX IF NOT EXISTS user_roles_role ON user_roles (role_id, user_id);

CREATE TABLE IF NOT EXISTS user_permissions (
    user_id                    TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    resource_server_identifier TEXT NOT NULL REFERENCES resource_servers (identifier) ON DELETE CASCADE ON UPDATE CASCADE,
    permission_name            TEXT NOT NULL,
    created_at                 INTEGER NOT NULL,
    PRIMARY KEY (user_id, resource_server_identifier, permission_name)
);
CREATE INDEX IF NOT EXISTS user_permissions_api ON user_permissions (resource_server_identifier, permission_name);
