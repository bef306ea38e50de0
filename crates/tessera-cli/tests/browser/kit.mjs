// What the browser scripts share: the packages the Rust test installed,
// headless Chromium, a log of what the browser did, and signing in through
// Tessera's hosted login page as a person would.
//
// Environment: TESSERA_NODE_MODULES (the directory holding node_modules),
// CHROMIUM_PATH (default /usr/bin/chromium), LOGIN_PASSWORD.

import { createRequire } from 'node:module';
import http from 'node:http';
import path from 'node:path';

const modules = process.env.TESSERA_NODE_MODULES;
if (!modules) {
  console.error('TESSERA_NODE_MODULES must name the directory holding node_modules');
  process.exit(2);
}

/** `require` resolving in the test's node_modules. */
export const requireModule = createRequire(path.join(modules, 'package.json'));

/** Every wait is bounded; a step that needs longer has failed. */
export const STEP_TIMEOUT = 20000;

export async function launch() {
  const { chromium } = requireModule('playwright-core');
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    timeout: STEP_TIMEOUT,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Lines describing what a page did, printed (to stderr) when a script fails. */
export function watch(page, note) {
  page.on('console', (m) => note(`console ${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => note(`page error: ${e.message}`));
  page.on('requestfailed', (r) => note(`request failed: ${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
  page.on('response', (r) => {
    if (r.request().isNavigationRequest()) {
      const location = r.headers().location;
      note(`navigation: ${r.request().method()} ${r.url()} -> ${r.status()}${location ? ` Location: ${location}` : ''}`);
    }
  });
}

/** The browser's complaints about a Content-Security-Policy (it logs each). */
export const CSP_COMPLAINT = /Content Security Policy|Content-Security-Policy/i;

/**
 * Starts counting the console lines of `page` (its frames included) that
 * match `pattern`; the returned function stops and gives the count.
 */
export function consoleCounter(page, pattern) {
  let n = 0;
  const listener = (m) => {
    if (pattern.test(m.text())) n += 1;
  };
  page.on('console', listener);
  return () => {
    page.off('console', listener);
    return n;
  };
}

/** Whether `url` is Tessera's hosted login page. */
export const isLoginPage = (url) => new URL(url).pathname.endsWith('/u/login');

/**
 * On the hosted login page: fills in the form by its labels and clicks
 * Continue, waiting until the browser reaches a URL for which `arrived` holds.
 */
export async function signIn(page, email, arrived) {
  const password = process.env.LOGIN_PASSWORD;
  if (!password) throw new Error('LOGIN_PASSWORD is not set');
  if (!isLoginPage(page.url())) {
    throw new Error(`expected the hosted login page, got ${page.url()}`);
  }
  await page.getByLabel('Email address', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await Promise.all([
    page.waitForURL(arrived, { timeout: STEP_TIMEOUT, waitUntil: 'load' }),
    page.getByRole('button', { name: 'Continue', exact: true }).click(),
  ]);
}

/** An HTTP server on 127.0.0.1:`port` answering with `handler`. */
export async function serve(port, handler) {
  const server = http.createServer((req, res) => {
    try {
      handler(req, res);
    } catch (e) {
      res.writeHead(500);
      res.end(String(e));
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return server;
}

/**
 * Runs `body({ browser, step, note })` in a fresh Chromium and ends the
 * process. `step(name, fn)` stores what `fn` returns as the report's `name`;
 * `note(line)` keeps a line for the log. Prints the report as one line
 * `report <JSON>` (with `failed` naming the step that threw, if one did), then
 * the log on stderr; closes the browser, then runs `cleanup`. Exit code 0
 * when no step threw.
 */
export async function runSteps(body, cleanup = async () => {}) {
  const report = { failed: null };
  const log = [];
  const note = (line) => log.push(line);
  let current = null;
  const step = async (name, fn) => {
    current = name;
    note(`step ${name}`);
    report[name] = await fn();
  };
  const browser = await launch();
  try {
    await body({ browser, step, note });
  } catch (e) {
    report.failed = {
      step: current,
      name: e?.name,
      error: e?.error,
      error_description: e?.error_description,
      message: String(e?.message ?? e),
    };
  } finally {
    console.log(`report ${JSON.stringify(report)}`);
    for (const line of log) console.error(line);
    await browser.close();
    await cleanup();
  }
  process.exit(report.failed ? 1 : 0);
}
