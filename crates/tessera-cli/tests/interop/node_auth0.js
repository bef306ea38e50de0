// Drives a running Tessera over HTTPS with Auth0's Node.js SDK (node-auth0,
// the `auth0` package, v4): its AuthenticationClient.
//
// Environment: TESSERA_NODE_MODULES (holds node_modules/auth0), TESSERA_DOMAIN
// (host:port), TESSERA_CLIENT_ID, TESSERA_CLIENT_SECRET, TESSERA_REALM,
// TESSERA_AUDIENCE, TESSERA_EMAIL, TESSERA_PASSWORD, TESSERA_SIGNUP_EMAIL,
// TESSERA_OTP_EMAIL, TESSERA_OTP_FILE (where the test writes the mailed
// code); NODE_EXTRA_CA_CERTS names
// the test CA. One step after another (add a step to `steps` to extend it);
// each asserts what came back. The last line printed is "N passed, 0 failed".
'use strict';

const crypto = require('node:crypto');
const path = require('node:path');
const { AuthenticationClient } = require(
  path.join(process.env.TESSERA_NODE_MODULES, 'node_modules', 'auth0'),
);

const env = process.env;
const issuer = `https://${env.TESSERA_DOMAIN}/`;
const auth = new AuthenticationClient({
  domain: env.TESSERA_DOMAIN,
  clientId: env.TESSERA_CLIENT_ID,
  clientSecret: env.TESSERA_CLIENT_SECRET,
});

let checks = 0;
function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
  checks += 1;
}

const part = (jwt, i) => JSON.parse(Buffer.from(jwt.split('.')[i], 'base64url').toString());

/// Verifies an RS256 JWT with the tenant's JWKS; its claims.
async function verified(jwt, audience) {
  const header = part(jwt, 0);
  const jwks = await (await fetch(`${issuer}.well-known/jwks.json`)).json();
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  check(jwk && header.alg === 'RS256', `a published RS256 key for ${header.kid}`);
  const [h, p, s] = jwt.split('.');
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  const ok = crypto.verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'));
  check(ok, 'the signature verifies');
  const claims = part(jwt, 1);
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  check(claims.iss === issuer, `iss ${claims.iss}`);
  check(aud.includes(audience), `aud ${claims.aud}`);
  check(claims.exp > Date.now() / 1000, 'not expired');
  return { header, claims };
}

const state = {};

const steps = [
  ['oauth.passwordGrant with audience and offline_access', async () => {
    const scope = 'openid profile email offline_access read:orders';
    const { data, status } = await auth.oauth.passwordGrant({
      username: env.TESSERA_EMAIL,
      password: env.TESSERA_PASSWORD,
      realm: env.TESSERA_REALM,
      audience: env.TESSERA_AUDIENCE,
      scope,
    });
    check(status === 200 && data.token_type === 'Bearer', 'a token response');
    check(data.scope === scope, `scope ${data.scope}`);
    const id = await verified(data.id_token, env.TESSERA_CLIENT_ID);
    check(id.claims.email === env.TESSERA_EMAIL, 'the ID token names the user');
    const at = await verified(data.access_token, env.TESSERA_AUDIENCE);
    check(at.header.typ === 'at+jwt' && at.claims.sub === id.claims.sub, 'the access token is the user\'s');
    check(typeof data.refresh_token === 'string', 'a refresh token');
    state.refreshToken = data.refresh_token;
  }],
  ['oauth.refreshTokenGrant', async () => {
    const { data } = await auth.oauth.refreshTokenGrant({ refresh_token: state.refreshToken });
    check(typeof data.access_token === 'string', 'a new access token');
  }],
  ['oauth.passwordGrant with a wrong password', async () => {
    try {
      await auth.oauth.passwordGrant({
        username: env.TESSERA_EMAIL,
        password: 'not the password',
        realm: env.TESSERA_REALM,
      });
      check(false, 'a wrong password logged in');
    } catch (e) {
      check(e.statusCode === 403, `status ${e.statusCode}`);
      check(e.error === 'invalid_grant', `error ${e.error}`);
      check(e.error_description === 'Wrong email or password.', `description ${e.error_description}`);
    }
  }],
  ['database.signUp', async () => {
    const { data, status } = await auth.database.signUp({
      email: env.TESSERA_SIGNUP_EMAIL,
      password: env.TESSERA_PASSWORD,
      connection: env.TESSERA_REALM,
      given_name: 'Dorothy',
      user_metadata: { team: 'west' },
    });
    check(status === 200, `status ${status}`);
    check(typeof data._id === 'string' && data._id.length === 24, `_id ${data._id}`);
    check(data.email === env.TESSERA_SIGNUP_EMAIL && data.email_verified === false, 'email');
    check(data.given_name === 'Dorothy' && data.user_metadata.team === 'west', 'the profile');
  }],
  ['database.signUp with an existing email', async () => {
    try {
      await auth.database.signUp({
        email: env.TESSERA_SIGNUP_EMAIL,
        password: env.TESSERA_PASSWORD,
        connection: env.TESSERA_REALM,
      });
      check(false, 'a second sign-up with the same email succeeded');
    } catch (e) {
      check(e.statusCode === 400, `status ${e.statusCode}`);
      check(JSON.stringify(e.body ?? e.message).includes('user_exists'), `body ${e.body}`);
    }
  }],
  ['the new user logs in with oauth.passwordGrant', async () => {
    const { data } = await auth.oauth.passwordGrant({
      username: env.TESSERA_SIGNUP_EMAIL,
      password: env.TESSERA_PASSWORD,
      realm: env.TESSERA_REALM,
      scope: 'openid email',
    });
    const id = await verified(data.id_token, env.TESSERA_CLIENT_ID);
    check(id.claims.email === env.TESSERA_SIGNUP_EMAIL, 'the signed-up user');
  }],
  ['passwordless.sendEmail and loginWithEmail', async () => {
    const { status } = await auth.passwordless.sendEmail({
      email: env.TESSERA_OTP_EMAIL,
      send: 'code',
    });
    check(status === 200, `status ${status}`);
    let code;
    for (let i = 0; i < 200 && code === undefined; i += 1) {
      try {
        code = require('node:fs').readFileSync(env.TESSERA_OTP_FILE, 'utf8').trim();
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    check(/^[0-9]{6}$/.test(code ?? ''), 'a 6-digit code arrived by mail');
    const { data } = await auth.passwordless.loginWithEmail({
      email: env.TESSERA_OTP_EMAIL,
      code,
      scope: 'openid email',
    });
    const id = await verified(data.id_token, env.TESSERA_CLIENT_ID);
    check(id.claims.email === env.TESSERA_OTP_EMAIL && id.claims.email_verified === true, 'the user');
    check(id.claims.sub.startsWith('email|'), `sub ${id.claims.sub}`);
    state.code = code;
  }],
  ['loginWithEmail with the used code', async () => {
    try {
      await auth.passwordless.loginWithEmail({ email: env.TESSERA_OTP_EMAIL, code: state.code });
      check(false, 'a used code logged in');
    } catch (e) {
      check(e.statusCode === 400 && e.error === 'invalid_grant', `${e.statusCode} ${e.error}`);
      check(e.error_description === 'Wrong email or verification code.', e.error_description);
    }
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
