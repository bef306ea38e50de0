// Headless Chromium signs in to an express-openid-connect app (express-app.mjs)
// through Tessera's hosted login page, reads /me, checks single sign-on, logs
// out (RP-initiated logout at Tessera) and checks the Tessera session is gone.
//
// Usage: node express-login.mjs '<config JSON>'
//   config: { base (the app's baseURL), issuer (Tessera's, no trailing slash), email }
// Environment: see kit.mjs. Prints `report <JSON>` (no token in it); exit 0
// when no step threw.

import {
  consoleCounter, CSP_COMPLAINT, isLoginPage, runSteps, signIn, STEP_TIMEOUT, watch,
} from './kit.mjs';

const config = JSON.parse(process.argv[2] ?? 'null');
if (!config?.base || !config.issuer || !config.email) {
  console.error("usage: node express-login.mjs '{\"base\":…,\"issuer\":…,\"email\":…}'");
  process.exit(2);
}
const { base, issuer, email } = config;
const atApp = (u) => u.origin === new URL(base).origin;

// What the browser sent: to Tessera (path and parameter names with the few
// values the test checks) and to the app's callback.
const seen = [];
const interesting = ['response_type', 'response_mode', 'audience', 'prompt', 'post_logout_redirect_uri', 'client_id'];

await runSteps(async ({ browser, step, note }) => {
  const context = await browser.newContext({ locale: 'en-US' });
  context.on('request', (r) => {
    const u = new URL(r.url());
    const isTessera = r.url().startsWith(`${issuer}/`);
    if (!isTessera && !(atApp(u) && u.pathname === '/callback')) return;
    const body = new URLSearchParams(r.method() === 'POST' ? r.postData() ?? '' : '');
    const all = new Map([...u.searchParams, ...body]);
    seen.push({
      at: isTessera ? 'tessera' : 'app',
      method: r.method(),
      path: u.pathname,
      names: [...all.keys()].sort(),
      values: Object.fromEntries(interesting.filter((k) => all.has(k)).map((k) => [k, all.get(k)])),
    });
  });
  const page = await context.newPage();
  watch(page, note);
  const visits = (mark, at, path) => seen.slice(mark).filter((s) => s.at === at && s.path === path);

  // 1. /login → /authorize → the hosted login page → back at the app.
  await step('login', async () => {
    const mark = seen.length;
    // A form_post page submits itself under its CSP: no complaint.
    const complaints = consoleCounter(page, CSP_COMPLAINT);
    await page.goto(`${base}/login`, { timeout: STEP_TIMEOUT });
    const loginPage = isLoginPage(page.url());
    await signIn(page, email, (u) => atApp(u) && u.pathname === '/');
    return {
      csp_complaints: complaints(),
      login_page: loginPage,
      authorize: visits(mark, 'tessera', '/authorize').map((s) => s.values),
      callback: visits(mark, 'app', '/callback').map((s) => ({ method: s.method, names: s.names })),
      title: await page.title(),
    };
  });

  // 2. /me: the user (and the access token's claims).
  await step('me', async () => {
    const res = await page.goto(`${base}/me`, { timeout: STEP_TIMEOUT });
    return { status: res.status(), body: await res.json() };
  });

  // 3. While the Tessera session lives, a new /login needs no login page.
  await step('sso', async () => {
    const mark = seen.length;
    await page.goto(`${base}/login`, { timeout: STEP_TIMEOUT });
    await page.waitForURL((u) => atApp(u) && u.pathname === '/', { timeout: STEP_TIMEOUT });
    return {
      login_page_shown: visits(mark, 'tessera', '/u/login').length > 0,
      title: await page.title(),
    };
  });

  // 4. /logout: RP-initiated logout at Tessera, back at the app.
  await step('logout', async () => {
    const mark = seen.length;
    await page.goto(`${base}/logout`, { timeout: STEP_TIMEOUT });
    await page.waitForURL((u) => atApp(u), { timeout: STEP_TIMEOUT });
    const ends = seen.slice(mark).filter((s) => s.at === 'tessera' && /logout$/.test(s.path));
    return {
      end_session: ends.map((s) => ({ path: s.path, names: s.names, values: s.values })),
      returned_to: page.url(),
      title: await page.title(),
    };
  });

  // 5. The Tessera session is gone: /login shows the login page again.
  await step('after_logout', async () => {
    await page.goto(`${base}/login`, { timeout: STEP_TIMEOUT });
    return { login_page: isLoginPage(page.url()) };
  });
});
