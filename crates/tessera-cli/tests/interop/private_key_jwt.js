// private_key_jwt against a running Tessera over HTTPS, with assertions made
// by an independent JOSE library: node-auth0's AuthenticationClient
// (`clientAssertionSigningKey`, which signs with `jose`), and `jose` itself
// for the assertions that must be refused.
//
// Environment: TESSERA_NODE_MODULES (holds node_modules/auth0 and jose),
// TESSERA_DOMAIN (host:port), TESSERA_ADMIN_TOKEN (a Management API token),
// TESSERA_RSA_CLIENT, TESSERA_EC_CLIENT (machine clients granted
// TESSERA_AUDIENCE); NODE_EXTRA_CA_CERTS names the test CA. Keys are made
// here; their public halves are registered through the Management API. The
// last line printed is "N passed, 0 failed".
'use strict';

const crypto = require('node:crypto');
const path = require('node:path');

const modules = path.join(process.env.TESSERA_NODE_MODULES, 'node_modules');
const { AuthenticationClient } = require(path.join(modules, 'auth0'));
const jose = require(path.join(modules, 'jose'));

const env = process.env;
const issuer = `https://${env.TESSERA_DOMAIN}/`;
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

let checks = 0;
function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
  checks += 1;
}

async function management(method, p, body) {
  const res = await fetch(`${issuer}api/v2/${p}`, {
    method,
    headers: { authorization: `Bearer ${env.TESSERA_ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/// Registers the public half of a new key pair on `clientId` and enables it.
async function register(clientId, type, alg) {
  const pair = type === 'rsa'
    ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
    : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = pair.publicKey.export({ type: 'spki', format: 'pem' });
  const created = await management('POST', `clients/${clientId}/credentials`, {
    credential_type: 'public_key', name: `${alg} key`, pem, alg,
  });
  check(created.status === 201, `credential created: ${JSON.stringify(created.body)}`);
  const enabled = await management('PATCH', `clients/${clientId}`, {
    client_authentication_methods: { private_key_jwt: { credentials: [{ id: created.body.id }] } },
  });
  check(enabled.status === 200, `enabled: ${JSON.stringify(enabled.body)}`);
  check(enabled.body.token_endpoint_auth_method === null, 'token_endpoint_auth_method is null');
  return {
    pem,
    privatePem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }),
    privateKey: pair.privateKey,
    kid: created.body.kid,
  };
}

async function tokenRequest(clientId, assertion) {
  const res = await fetch(`${issuer}oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      audience: env.TESSERA_AUDIENCE,
      client_id: clientId,
      client_assertion_type: JWT_BEARER,
      client_assertion: assertion,
    }),
  });
  return { status: res.status, body: await res.json(), reason: res.headers.get('tessera-error-reason') };
}

function refused(r, reason, what) {
  check(r.status === 401 && r.body.error === 'invalid_client', `${what}: ${r.status} ${JSON.stringify(r.body)}`);
  check(r.reason === reason, `${what}: reason ${r.reason}, expected ${reason}`);
}

/// A jose-made assertion for `clientId`; `change` adjusts the builder.
async function assertion(clientId, key, alg, change = (b) => b) {
  const builder = new jose.SignJWT({})
    .setProtectedHeader({ alg })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(issuer)
    .setIssuedAt()
    .setJti(crypto.randomUUID())
    .setExpirationTime('2m');
  return change(builder).sign(key);
}

const state = {};

const steps = [
  ['node-auth0 clientCredentialsGrant with an RS256 clientAssertionSigningKey', async () => {
    state.rsa = await register(env.TESSERA_RSA_CLIENT, 'rsa', 'RS256');
    const auth = new AuthenticationClient({
      domain: env.TESSERA_DOMAIN,
      clientId: env.TESSERA_RSA_CLIENT,
      clientAssertionSigningKey: state.rsa.privatePem,
    });
    const { data, status } = await auth.oauth.clientCredentialsGrant({ audience: env.TESSERA_AUDIENCE });
    check(status === 200 && data.token_type === 'Bearer', 'a token response');
    const claims = jose.decodeJwt(data.access_token);
    check(claims.sub === `${env.TESSERA_RSA_CLIENT}@clients`, `sub ${claims.sub}`);
    check(claims.aud === env.TESSERA_AUDIENCE, `aud ${claims.aud}`);
    // Each call signs a new assertion (new jti): a second grant works too.
    const again = await auth.oauth.clientCredentialsGrant({ audience: env.TESSERA_AUDIENCE });
    check(again.status === 200, 'a second grant');
  }],
  ['node-auth0 clientCredentialsGrant with an ES256 clientAssertionSigningKey', async () => {
    state.ec = await register(env.TESSERA_EC_CLIENT, 'ec', 'ES256');
    const auth = new AuthenticationClient({
      domain: env.TESSERA_DOMAIN,
      clientId: env.TESSERA_EC_CLIENT,
      clientAssertionSigningKey: state.ec.privatePem,
      clientAssertionSigningAlg: 'ES256',
    });
    const { status } = await auth.oauth.clientCredentialsGrant({ audience: env.TESSERA_AUDIENCE });
    check(status === 200, 'a token response');
  }],
  ['a jose assertion with the kid, then replayed', async () => {
    const id = env.TESSERA_RSA_CLIENT;
    const once = await assertion(id, state.rsa.privateKey, 'RS256',
      (b) => b.setProtectedHeader({ alg: 'RS256', kid: state.rsa.kid }));
    check((await tokenRequest(id, once)).status === 200, 'the first use');
    refused(await tokenRequest(id, once), 'client_assertion_replayed', 'the replay');
  }],
  ['jose assertions that must be refused', async () => {
    const id = env.TESSERA_RSA_CLIENT;
    const key = state.rsa.privateKey;
    refused(await tokenRequest(id, await assertion(id, key, 'RS256', (b) => b.setAudience('https://other.example/'))),
      'client_assertion_wrong_audience', 'a wrong aud');
    const past = Math.floor(Date.now() / 1000) - 600;
    refused(await tokenRequest(id, await assertion(id, key, 'RS256',
      (b) => b.setIssuedAt(past - 60).setExpirationTime(past))), 'client_assertion_expired', 'an expired assertion');
    refused(await tokenRequest(id, await assertion(id, key, 'RS256', (b) => b.setExpirationTime('1h'))),
      'client_assertion_lifetime_too_long', 'exp an hour ahead');
    const unsecured = new jose.UnsecuredJWT({}).setIssuer(id).setSubject(id).setAudience(issuer)
      .setIssuedAt().setJti(crypto.randomUUID()).setExpirationTime('2m').encode();
    refused(await tokenRequest(id, unsecured), 'client_assertion_algorithm', 'alg none');
    const hmac = await assertion(id, new TextEncoder().encode(state.rsa.pem), 'HS256');
    refused(await tokenRequest(id, hmac), 'client_assertion_algorithm', 'HS256 keyed with the public key');
    const otherKey = state.ec.privateKey;
    refused(await tokenRequest(id, await assertion(id, otherKey, 'ES256')), 'client_assertion_algorithm',
      'another client\'s key and algorithm');
    const stranger = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    refused(await tokenRequest(id, await assertion(id, stranger, 'RS256')), 'client_assertion_bad_signature',
      'a key nobody registered');
    refused(await tokenRequest(id, await assertion(id, key, 'PS256')), 'client_assertion_algorithm',
      'PS256 with the RS256 credential');
  }],
];

(async () => {
  for (const [name, step] of steps) {
    await step();
    console.log(`ok ${name}`);
  }
  console.log(`${checks} passed, 0 failed`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
