// Auth0's auth0-spa-js, unchanged, against Tessera in headless Chromium.
//
// Usage: node spa.mjs '<config JSON>'
//   config: { issuer: "http://127.0.0.1:P1" (no trailing slash), appPort,
//             foreignPort, clientId, rtClientId, email }
// Environment: see kit.mjs (LOGIN_PASSWORD, TESSERA_NODE_MODULES, CHROMIUM_PATH).
//
// Serves a one-page app on http://127.0.0.1:appPort (an origin in the client's
// web_origins; same site as Tessera, another origin) and the same page on
// http://127.0.0.1:foreignPort (an origin in no client's web_origins). The
// page only loads the library's UMD build; the steps run in it through
// Playwright. Each step's observations go into one report, printed as the
// line `report <JSON>` (no whole token in it); the Rust test asserts on it.
// A step that throws ends the run: the report then names it in `failed`.

import { readFileSync } from 'node:fs';

import {
  consoleCounter, CSP_COMPLAINT, isLoginPage, requireModule, runSteps, serve, signIn, STEP_TIMEOUT, watch,
} from './kit.mjs';

const config = JSON.parse(process.argv[2] ?? 'null');
if (!config?.issuer || !config.appPort || !config.foreignPort || !config.clientId || !config.rtClientId || !config.email) {
  console.error("usage: node spa.mjs '{\"issuer\":…,\"appPort\":…,\"foreignPort\":…,\"clientId\":…,\"rtClientId\":…,\"email\":…}'");
  process.exit(2);
}
const { issuer, email } = config;
const app = `http://127.0.0.1:${config.appPort}`;
const foreign = `http://127.0.0.1:${config.foreignPort}`;
// How long a step waits for a postMessage that must not come.
const SILENCE_SECONDS = 4;

const library = readFileSync(requireModule.resolve('@auth0/auth0-spa-js/dist/auth0-spa-js.production.js'));
const PAGE = '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>SPA</title>'
  + '<script src="/auth0-spa-js.production.js"></script></head><body><main><h1>SPA</h1></main></body></html>';
const site = (req, res) => {
  const { pathname } = new URL(req.url, 'http://x');
  if (pathname === '/auth0-spa-js.production.js') {
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
    res.end(library);
  } else if (pathname === '/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(PAGE);
  } else {
    res.writeHead(404);
    res.end();
  }
};
const servers = [await serve(config.appPort, site), await serve(config.foreignPort, site)];


// Every request to Tessera, as the browser sent it (page, iframe and worker).
const seen = [];
const pending = [];
const params = (r) => {
  const u = new URL(r.url());
  const body = r.postData() ?? '';
  return Object.fromEntries([...u.searchParams, ...new URLSearchParams(body.startsWith('{') ? '' : body)]);
};
const sinceStep = (mark) => seen.slice(mark);
const count = (list, path, pred = () => true) => list.filter((s) => s.path === path && pred(s.params)).length;

// Creates the client (with `options`) in the page as window.client.
const createClient = (page, options, { check = true } = {}) => page.evaluate(async ({ options, check }) => {
  // createAuth0Client also runs checkSession, as an app's page load does.
  window.client = check
    ? await auth0.createAuth0Client(options)
    : new auth0.Auth0Client(options);
}, { options, check });

// As docs/auth0-sdks.md shows, with a shorter wait for the iframe's answer
// (the default is 60 s) to keep a failing run short.
const clientOptions = (origin, clientId, extra = {}) => ({
  domain: issuer,
  clientId,
  authorizationParams: { redirect_uri: `${origin}/` },
  cacheLocation: 'memory',
  authorizeTimeoutInSeconds: 10,
  ...extra,
});

// In the page: getTokenSilently, its outcome and whether the tokens are new.
const silently = (page) => page.evaluate(async () => {
  try {
    const t = await window.client.getTokenSilently({ cacheMode: 'off', detailedResponse: true });
    const last = window.lastTokens;
    window.lastTokens = t;
    return {
      ok: true,
      new_access_token: !!last && t.access_token !== last.access_token,
      new_id_token: !!last && t.id_token !== last.id_token,
    };
  } catch (e) {
    return { ok: false, error: e.error, error_description: e.error_description, message: String(e.message) };
  }
});

// loginWithRedirect → hosted login → back on the app → handleRedirectCallback.
async function logIn(page, clientId, extra) {
  await page.goto(`${app}/`, { timeout: STEP_TIMEOUT });
  await createClient(page, clientOptions(app, clientId, extra));
  await Promise.all([
    page.waitForURL((u) => isLoginPage(u), { timeout: STEP_TIMEOUT }),
    page.evaluate(() => { window.client.loginWithRedirect(); }),
  ]);
  await signIn(page, email, (u) => u.origin === app && u.searchParams.has('state'));
  await createClient(page, clientOptions(app, clientId, extra));
  return page.evaluate(async () => {
    await window.client.handleRedirectCallback();
    window.lastTokens = await window.client.getTokenSilently({ detailedResponse: true });
    // The claims without `__raw`, the token itself.
    const { __raw, ...claims } = await window.client.getIdTokenClaims();
    return {
      user: await window.client.getUser(),
      id_token_claims: claims,
      authenticated: await window.client.isAuthenticated(),
    };
  });
}

// In `page`: a code redemption for the app's client with a code that does
// not exist, by fetch; what the page could read of the answer.
const tokenFetch = (page, headers) => page.evaluate(async ({ url, headers, body }) => {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body,
    });
    return { read: true, status: res.status, error: (await res.json()).error ?? null };
  } catch (e) {
    return { read: false, error: e.name };
  }
}, {
  url: `${issuer}/oauth/token`,
  headers,
  body: new URLSearchParams({
    grant_type: 'authorization_code',
    client_id: config.clientId,
    code: 'no-such-code',
    code_verifier: 'no-such-verifier-no-such-verifier-no-such-verifier',
    redirect_uri: `${app}/`,
  }).toString(),
});

// In the page: an iframe loading `src` for `seconds`. What came of it: every
// message the page received (origin, type, code or error), the frame's URL
// (chrome-error://… when the browser refused to frame it) and the console's
// complaints about framing.
async function frameCheck(page, src, seconds) {
  const refusals = consoleCounter(page, /frame-ancestors|X-Frame-Options/i);
  await page.evaluate((src) => {
    window.frameCheckMessages = [];
    window.frameCheckListener = (e) => window.frameCheckMessages.push({
      origin: e.origin,
      type: e.data?.type ?? null,
      has_code: !!e.data?.response?.code,
      error: e.data?.response?.error ?? null,
    });
    window.addEventListener('message', window.frameCheckListener);
    const frame = document.createElement('iframe');
    frame.id = 'frame-check';
    frame.style.display = 'none';
    frame.src = src;
    document.body.appendChild(frame);
  }, src);
  await page.waitForTimeout(seconds * 1000);
  const frameUrls = page.frames().filter((f) => f !== page.mainFrame()).map((f) => f.url());
  const messages = await page.evaluate(() => {
    window.removeEventListener('message', window.frameCheckListener);
    document.getElementById('frame-check').remove();
    return window.frameCheckMessages;
  });
  return {
    messages,
    refused: frameUrls.some((u) => u.startsWith('chrome-error:')),
    frame_urls: frameUrls.map((u) => u.split('?')[0]),
    console_refusals: refusals(),
  };
}

// An authorization URL for `clientId` and `redirectUri` (the code is never
// redeemed: any well-formed S256 challenge will do).
const authorizeUrl = (clientId, redirectUri, extra) => {
  const u = new URL(`${issuer}/authorize`);
  const q = {
    client_id: clientId,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: 'openid',
    state: 'state-of-the-framing-check',
    nonce: 'nonce-of-the-framing-check',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
    ...extra,
  };
  for (const [k, v] of Object.entries(q)) u.searchParams.set(k, v);
  return u.href;
};
const webMessageUrl = (clientId, redirectUri) => authorizeUrl(clientId, redirectUri, {
  response_mode: 'web_message',
  prompt: 'none',
});

await runSteps(async ({ browser, step, note }) => {
  const context = await browser.newContext({ locale: 'en-US' });
  context.on('request', (r) => {
    if (!r.url().startsWith(`${issuer}/`)) return;
    const entry = { path: new URL(r.url()).pathname, method: r.method(), params: params(r), frame: null };
    try {
      entry.frame = r.frame() === r.frame().page()?.mainFrame() ? 'main' : 'child';
    } catch {
      entry.frame = 'worker';
    }
    seen.push(entry);
    if (entry.path === '/oauth/token') {
      pending.push(r.response().then(async (res) => {
        entry.status = res?.status();
        entry.answer = res ? await res.json().catch(() => null) : null;
      }).catch(() => {}));
    }
  });
  const page = await context.newPage();
  watch(page, note);

  // 1. loginWithRedirect through the hosted login; handleRedirectCallback
  //    (the code redeemed cross-origin: CORS); getUser.
  let mark = seen.length;
  await step('login', async () => {
    const result = await logIn(page, config.clientId);
    await Promise.all(pending);
    const tokenCalls = sinceStep(mark).filter((s) => s.path === '/oauth/token');
    result.token_requests = tokenCalls.map((s) => ({ grant_type: s.params.grant_type, status: s.status }));
    return result;
  });

  // 2. getTokenSilently({cacheMode: 'off'}): the hidden iframe, web_message.
  mark = seen.length;
  await step('silent', async () => {
    // The web_message page's script runs under its CSP: no complaint.
    const complaints = consoleCounter(page, CSP_COMPLAINT);
    const result = await silently(page);
    result.csp_complaints = complaints();
    await Promise.all(pending);
    const calls = sinceStep(mark);
    result.web_message_authorize_requests = count(calls, '/authorize',
      (p) => p.response_mode === 'web_message' && p.prompt === 'none');
    result.code_grants = count(calls, '/oauth/token', (p) => p.grant_type === 'authorization_code');
    result.iframe_authorize_requests = calls.filter((s) => s.path === '/authorize' && s.frame === 'child').length;
    return result;
  });

  // 3. CORS: the app's origin reads the token endpoint's answers, a foreign
  //    origin does not, neither a simple request nor one with a preflight.
  await step('cors', async () => {
    const telemetry = { 'auth0-client': 'eyJuYW1lIjoidGVzdCJ9' };
    const allowed = { simple: await tokenFetch(page, {}), preflighted: await tokenFetch(page, telemetry) };
    const other = await context.newPage();
    watch(other, note);
    await other.goto(`${foreign}/`, { timeout: STEP_TIMEOUT });
    const foreignOrigin = { simple: await tokenFetch(other, {}), preflighted: await tokenFetch(other, telemetry) };
    await other.close();
    return { allowed, foreign: foreignOrigin };
  });

  // 4. No postMessage to an origin outside web_origins: a page there (its
  //    redirect URI registered as a callback, the session alive) gets no
  //    answer and the SDK times out; and it cannot frame the web_message page
  //    meant for the app. The same iframe from the app's page is answered.
  await step('foreign_origin', async () => {
    const other = await context.newPage();
    watch(other, note);
    await other.goto(`${foreign}/`, { timeout: STEP_TIMEOUT });
    const messages = [];
    await other.exposeFunction('recordMessage', (m) => messages.push(m));
    await other.evaluate(() => window.addEventListener('message', (e) => window.recordMessage({
      origin: e.origin, type: e.data?.type ?? null,
    })));
    await createClient(other, clientOptions(foreign, config.clientId, {
      authorizeTimeoutInSeconds: SILENCE_SECONDS,
    }), { check: false });
    const sdk = await silently(other);
    const framedForApp = await frameCheck(other, webMessageUrl(config.clientId, `${app}/`), SILENCE_SECONDS);
    await other.close();
    const control = await frameCheck(page, webMessageUrl(config.clientId, `${app}/`), SILENCE_SECONDS);
    return { sdk, messages_during_sdk: messages, framed_for_app: framedForApp, control };
  });

  // 5. logout returns to returnTo; afterwards silent authentication fails
  //    with login_required.
  await step('logout', async () => {
    mark = seen.length;
    await Promise.all([
      page.waitForURL((u) => u.href === `${app}/`, { timeout: STEP_TIMEOUT }),
      page.evaluate((returnTo) => { window.client.logout({ logoutParams: { returnTo } }); }, `${app}/`),
    ]);
    const logoutCalls = sinceStep(mark).filter((s) => s.path === '/v2/logout');
    await createClient(page, clientOptions(app, config.clientId));
    const after = await silently(page);
    // Without a session /authorize shows the login page, which no origin may
    // frame, the client's web origins included.
    const loginFramed = await frameCheck(page, authorizeUrl(config.clientId, `${app}/`), SILENCE_SECONDS);
    return {
      login_framed: loginFramed,
      returned_to: page.url(),
      logout_requests: logoutCalls.map((s) => ({ client_id: s.params.client_id, returnTo: s.params.returnTo })),
      after,
    };
  });

  // 6. useRefreshTokens: the refresh grant with rotation, no iframe.
  await step('refresh', async () => {
    const extra = { useRefreshTokens: true };
    const login = await logIn(page, config.rtClientId, extra);
    await Promise.all(pending);
    mark = seen.length;
    const first = await silently(page);
    const second = await silently(page);
    await Promise.all(pending);
    const calls = sinceStep(mark);
    const refreshes = calls.filter((s) => s.path === '/oauth/token' && s.params.grant_type === 'refresh_token');
    const codeAnswer = seen.slice(0, mark).filter((s) => s.path === '/oauth/token'
      && s.params.client_id === config.rtClientId && s.params.grant_type === 'authorization_code').at(-1)?.answer;
    const tokens = [codeAnswer?.refresh_token, ...refreshes.map((s) => s.answer?.refresh_token)];
    return {
      login_user: login.user?.email ?? null,
      code_grant_scope: codeAnswer?.scope ?? null,
      first,
      second,
      refresh_requests: refreshes.map((s) => ({ client_id: s.params.client_id, status: s.status })),
      authorize_requests: count(calls, '/authorize'),
      // Each refresh presented the token the previous answer brought.
      presented_latest: refreshes.every((s, i) => !!tokens[i] && s.params.refresh_token === tokens[i]),
      every_token_present: tokens.every((t) => typeof t === 'string' && t.length > 0),
      all_tokens_distinct: new Set(tokens).size === tokens.length,
    };
  });
}, async () => {
  for (const s of servers) s.close();
});
