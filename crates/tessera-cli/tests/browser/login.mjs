// A real browser logs in through Tessera's hosted login page.
//
// Usage: node login.mjs <authorization URL> <callback URL> <email> <screenshot.png>
// Environment: LOGIN_PASSWORD (the user's password), TESSERA_NODE_MODULES (the
// directory holding node_modules with playwright-core and axe-core),
// CHROMIUM_PATH (default /usr/bin/chromium).
//
// Opens the authorization URL in headless Chromium, checks the login page with
// axe-core (WCAG 2 A/AA; any violation fails), saves a screenshot of it, fills
// in the form by its labels, clicks Continue and waits for the callback, which
// this script serves itself (a one-page HTTP server on the callback's host and
// port: Playwright's page.route never sees a request that a redirect started,
// and the callback is reached by the login POST's 303). Prints lines `axe ...`
// and, last, `final-url <URL>`. Exit code 0 on success.

import { readFileSync } from 'node:fs';

import { launch, requireModule, serve, signIn, STEP_TIMEOUT, watch } from './kit.mjs';

const [authUrl, callbackUrl, email, screenshotPath] = process.argv.slice(2);
if (!authUrl || !callbackUrl || !email || !screenshotPath || !process.env.LOGIN_PASSWORD) {
  console.error('usage: LOGIN_PASSWORD=... TESSERA_NODE_MODULES=dir node login.mjs <authorization URL> <callback URL> <email> <screenshot.png>');
  process.exit(2);
}

const axeSource = readFileSync(requireModule.resolve('axe-core/axe.min.js'), 'utf8');

// Every rule tagged for WCAG 2.0/2.1/2.2 level A and AA; `label` and
// `color-contrast` are among them and must have run and passed.
const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];
const REQUIRED_RULES = ['label', 'color-contrast'];

const log = [];
const note = (line) => log.push(line);

function describe(results) {
  return results
    .map((r) => `  ${r.id} (${r.impact ?? 'n/a'}): ${r.help}\n` +
      r.nodes.map((n) => `    ${n.target.join(' ')}: ${n.failureSummary ?? ''}`.replace(/\n/g, ' ')).join('\n'))
    .join('\n');
}

// The relying party's callback: one page, counted.
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
  // The hosted pages' Content-Security-Policy stays in force (no bypassCSP):
  // the browser must reach the callback under the policy the server sends.
  const context = await browser.newContext({
    viewport: { width: 720, height: 640 },
    deviceScaleFactor: 1,
    locale: 'en-US',
    colorScheme: 'light',
  });
  const page = await context.newPage();
  watch(page, note);

  // 1. The authorization URL redirects to the hosted login page.
  const res = await page.goto(authUrl, { waitUntil: 'load', timeout: STEP_TIMEOUT });
  if (!res || res.status() !== 200) {
    throw new Error(`the login page answered ${res?.status()} at ${page.url()}`);
  }
  const loginUrl = new URL(page.url());
  if (!loginUrl.pathname.endsWith('/u/login')) {
    throw new Error(`expected the hosted login page, got ${page.url()}`);
  }
  note(`login page: ${loginUrl.origin}${loginUrl.pathname}; title: ${await page.title()}`);

  // 2. Accessibility. axe is injected through the DevTools protocol, which the
  // page's CSP (no inline or eval'd script) does not govern.
  const cdp = await context.newCDPSession(page);
  const injected = await cdp.send('Runtime.evaluate', { expression: axeSource });
  if (injected.exceptionDetails) {
    throw new Error(`injecting axe-core failed: ${JSON.stringify(injected.exceptionDetails)}`);
  }
  const axe = await page.evaluate(
    (tags) => window.axe.run(document, {
      runOnly: { type: 'tag', values: tags },
      resultTypes: ['violations', 'incomplete', 'passes'],
    }).then((r) => ({
      version: window.axe.version,
      violations: r.violations,
      incomplete: r.incomplete,
      passes: r.passes.map((p) => ({ id: p.id, nodes: p.nodes.length })),
      inapplicable: r.inapplicable.map((p) => p.id),
    })),
    WCAG_TAGS,
  );
  // Best practices beyond WCAG: reported, not fatal.
  const advice = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['best-practice'] },
    resultTypes: ['violations'],
  }).then((r) => r.violations));
  console.log(`axe ${axe.version}: ${axe.passes.length} rules passed, ${axe.violations.length} violations, ${axe.incomplete.length} incomplete, ${axe.inapplicable.length} inapplicable (tags ${WCAG_TAGS.join(',')})`);
  console.log(`axe passed: ${axe.passes.map((p) => `${p.id}(${p.nodes})`).join(' ')}`);
  if (axe.incomplete.length > 0) {
    console.log(`axe incomplete (needs review):\n${describe(axe.incomplete)}`);
  }
  if (advice.length > 0) {
    console.log(`axe best-practice advice (not fatal):\n${describe(advice)}`);
  } else {
    console.log('axe best-practice: no findings');
  }
  if (axe.violations.length > 0) {
    throw new Error(`axe-core found WCAG A/AA violations on the login page:\n${describe(axe.violations)}`);
  }
  for (const rule of REQUIRED_RULES) {
    if (!axe.passes.some((p) => p.id === rule)) {
      throw new Error(`axe rule ${rule} did not run and pass on the login page (incomplete: ${axe.incomplete.map((r) => r.id).join(', ') || 'none'}; inapplicable: ${axe.inapplicable.includes(rule)})`);
    }
  }

  // 3. The screenshot.
  await page.screenshot({ path: screenshotPath, fullPage: true });
  console.log(`screenshot ${screenshotPath}`);

  // 4. Log in as a person would: by the labels, then the button.
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
