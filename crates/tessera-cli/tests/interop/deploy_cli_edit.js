// Edits an auth0-deploy-cli YAML export (tenant.yaml in the directory given)
// the way a user of configuration as code would: a new SPA and a machine
// client with Auth0's usual fields, a new API with scopes, a client grant,
// the SPA enabled on the database connection, a tenant setting.
const fs = require('fs');
const path = require('path');
const yaml = require(path.join(process.env.TESSERA_NODE_MODULES, 'node_modules', 'js-yaml'));

const file = path.join(process.argv[2], 'tenant.yaml');
const doc = yaml.load(fs.readFileSync(file, 'utf8'));

doc.clients = doc.clients || [];
doc.clients.push({
  name: 'Deployed SPA',
  app_type: 'spa',
  callbacks: ['https://spa.example/callback'],
  allowed_logout_urls: ['https://spa.example/'],
  allowed_origins: ['https://spa.example'],
  web_origins: ['https://spa.example'],
  grant_types: ['authorization_code', 'implicit', 'refresh_token'],
  token_endpoint_auth_method: 'none',
  oidc_conformant: true,
  is_first_party: true,
  cross_origin_auth: false,
  sso_disabled: false,
  jwt_configuration: { alg: 'RS256', lifetime_in_seconds: 36000, secret_encoded: false },
  refresh_token: {
    rotation_type: 'rotating',
    expiration_type: 'expiring',
    leeway: 0,
    token_lifetime: 2592000,
    idle_token_lifetime: 1296000,
    infinite_token_lifetime: false,
    infinite_idle_token_lifetime: false,
  },
});
doc.clients.push({
  name: 'Deployed M2M',
  app_type: 'non_interactive',
  grant_types: ['client_credentials'],
  token_endpoint_auth_method: 'client_secret_post',
  oidc_conformant: true,
  is_first_party: true,
});
doc.resourceServers = doc.resourceServers || [];
doc.resourceServers.push({
  name: 'Orders API',
  identifier: 'https://orders.example/',
  scopes: [{ value: 'read:orders', description: 'Read orders' }],
  signing_alg: 'RS256',
  token_lifetime: 86400,
  allow_offline_access: false,
  skip_consent_for_verifiable_first_party_clients: true,
});
doc.clientGrants = doc.clientGrants || [];
doc.clientGrants.push({
  client_id: 'Deployed M2M',
  audience: 'https://orders.example/',
  scope: ['read:orders'],
});
const db = (doc.databases || []).find((d) => d.name === 'Username-Password-Authentication');
if (!db) throw new Error('no database connection in the export');
db.enabled_clients = (db.enabled_clients || []).concat(['Deployed SPA']);
doc.tenant = doc.tenant || {};
doc.tenant.friendly_name = 'Deployed Tenant';

fs.writeFileSync(file, yaml.dump(doc));
console.log('edited ' + file);
