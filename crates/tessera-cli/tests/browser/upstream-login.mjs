// A real browser logs in to one Tessera through another (an `oidc`
// connection, issue 14): the downstream's hosted login page shows a button
// for the upstream; the browser clicks it, signs in on the upstream's hosted
// page and comes back through the downstream's /login/callback to the
// relying party's callback, which this script serves itself.
//
// Usage: node upstream-login.mjs <authorization URL> <callback URL> <email> <button label>
// Environment: LOGIN_PASSWORD, TESSERA_NODE_MODULES, CHROMIUM_PATH.
// Prints `final-url <URL>` last. Exit code 0 on success.

import { launch, serve, signIn, STEP_TIMEOUT, watch } from './kit.mjs';

const [authUrl, callbackUrl, email, label] = process.argv.slice(2);
if (!authUrl || !callbackUrl || !email || !label || !process.env.LOGIN_PASSWORD) {
  console.error('usage: LOGIN_PASSWORD=... node upstream-login.mjs <authorization URL> <callback URL> <email> <button label>');
  process.exit(2);
}

const log = [];
const note = (line) => log.push(line);
const callback = new URL(callbackUrl);
const isCallback = (u) => u.origin === callback.origin && u.pathname === callback.pathname;
let callbackHits = 0;
const rp = await serve(Number(callback.port), (req, res) => {
  if (isCallback(new URL(req.url, callback.origin))) {
    callbackHits += 1;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!DOCTYPE html><html lang="en"><title>Callback</title><p>Signed in.</p></html>');
  } else {
    res.writeHead(404);
    res.end();
  }
});

const browser = await launch();
let failed = false;
try {
  const context = await browser.newContext({ locale: 'en-US' });
  const page = await context.newPage();
  watch(page, note);
  const downstream = new URL(authUrl).origin;
  const res = await page.goto(authUrl, { waitUntil: 'load', timeout: STEP_TIMEOUT });
  if (!res || res.status() !== 200 || !page.url().startsWith(`${downstream}/u/login`)) {
    throw new Error(`expected the downstream login page, got ${res?.status()} at ${page.url()}`);
  }
  console.log(`downstream login page ${page.url()}`);
  // The upstream's button leads to the upstream's own login page.
  await Promise.all([
    page.waitForURL((u) => u.origin !== downstream && u.pathname.endsWith('/u/login'),
      { timeout: STEP_TIMEOUT, waitUntil: 'load' }),
    page.getByRole('link', { name: `Continue with ${label}`, exact: true }).click(),
  ]);
  console.log(`upstream login page ${page.url()}`);
  await signIn(page, email, isCallback);
  if (callbackHits !== 1) {
    throw new Error(`the callback was requested ${callbackHits} times`);
  }
  console.log(`final-url ${page.url()}`);
} catch (e) {
  failed = true;
  console.error(String(e?.stack ?? e));
} finally {
  for (const line of log) console.error(line);
  await browser.close();
  rp.close();
}
process.exit(failed ? 1 : 0);
