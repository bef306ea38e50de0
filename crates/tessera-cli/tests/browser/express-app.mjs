// An Express app protected by Auth0's express-openid-connect, unchanged,
// configured as its README's quick start does.
//
// Usage: node express-app.mjs '<config JSON>'
//   config: { port, issuer (Tessera's issuer), baseURL, clientID, secret (the
//             cookie secret), and for the code flow clientSecret and audience }
// Environment: TESSERA_NODE_MODULES (see kit.mjs).
//
// Without clientSecret: the library's defaults, response_type=id_token with
// response_mode=form_post and no client authentication. With it: the code
// flow (client_secret_basic, PKCE) for an API's access token.
//
// Routes: the library's /login, /callback and /logout; / says whether the
// visitor is signed in; /me (sign-in required) answers the user's claims and
// the access token's claims (never a token itself).

import { requireModule } from './kit.mjs';

const express = requireModule('express');
const { auth, requiresAuth } = requireModule('express-openid-connect');

const config = JSON.parse(process.argv[2] ?? 'null');
if (!config?.port || !config.issuer || !config.baseURL || !config.clientID || !config.secret) {
  console.error("usage: node express-app.mjs '{\"port\":…,\"issuer\":…,\"baseURL\":…,\"clientID\":…,\"secret\":…}'");
  process.exit(2);
}

const settings = {
  issuerBaseURL: config.issuer,
  baseURL: config.baseURL,
  clientID: config.clientID,
  secret: config.secret,
  idpLogout: true,
  authRequired: false,
};
if (config.clientSecret) {
  settings.clientSecret = config.clientSecret;
  settings.authorizationParams = {
    response_type: 'code',
    audience: config.audience,
    scope: 'openid profile email',
  };
}

const claimsOf = (jwt) => {
  const parts = typeof jwt === 'string' ? jwt.split('.') : [];
  return parts.length === 3 ? JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) : null;
};

const app = express();
app.use(auth(settings));
app.get('/', (req, res) => {
  const state = req.oidc.isAuthenticated() ? 'Signed in' : 'Signed out';
  res.type('html').send(`<!DOCTYPE html><html lang="en"><title>${state}</title><main><h1>${state}</h1></main></html>`);
});
app.get('/me', requiresAuth(), (req, res) => {
  const token = req.oidc.accessToken;
  res.json({
    user: req.oidc.user,
    access_token: token ? { token_type: token.token_type, claims: claimsOf(token.access_token) } : null,
  });
});
// Errors as JSON, without stack traces or tokens.
app.use((err, req, res, next) => {
  console.error(`express error: ${err.name}: ${err.message}`);
  res.status(err.status || 500).json({ error: err.name, message: err.message, error_description: err.error_description });
});

const server = app.listen(config.port, '127.0.0.1', () => console.log(`listening ${config.baseURL}`));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
