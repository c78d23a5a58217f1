// Headless Chromium for the page tests: a fresh profile per test, closed (and removed) when the
// test ends, and a watcher that collects what a page must not do: console errors and warnings
// (a CSP violation is one), uncaught exceptions, HTTP errors, requests to other origins.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const outDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'out');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

/** launch starts Chromium for test t and returns its persistent context. */
export async function launch(t) {
  const userDataDir = mkdtempSync(join(tmpdir(), 'gqlauth-chromium-'));
  let context;
  // One hook, in this order: node:test runs after-hooks first-in first-out, and the profile
  // can only go once Chromium stopped writing to it.
  t.after(async () => {
    await context?.close();
    rmSync(userDataDir, { recursive: true, force: true });
  });
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
    viewport: { width: 1280, height: 800 },
  });
  return context;
}

/**
 * watch records the requests (url, method, body, headers) and the problems of every page of a
 * context, from each page's first request on. Pass ignore to drop problems a test provokes on
 * purpose.
 */
export function watch(context, { ignore = [] } = {}) {
  const seen = { requests: [], problems: [] };
  const problem = (p) => {
    if (!/sourcemap|source map/i.test(p) && !ignore.some((re) => re.test(p))) seen.problems.push(p);
  };
  context.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problem(`${m.type()}: ${m.text()}`);
  });
  context.on('weberror', (e) => problem('pageerror: ' + e.error().message));
  context.on('request', (r) =>
    seen.requests.push({ url: r.url(), method: r.method(), body: r.postData() || '', headers: r.headers() }),
  );
  context.on('response', (r) => {
    if (r.status() >= 400) problem(`HTTP ${r.status()} for ${r.url()}`);
  });
  return seen;
}

/** screenshot saves the page as clients/out/<name>.png. */
export async function screenshot(page, name) {
  mkdirSync(outDir, { recursive: true });
  await page.screenshot({ path: join(outDir, name + '.png') });
}

/**
 * queryMe runs { me { email } } in GraphiQL and returns the result pane's JSON once it shows
 * email (the signed-in user's).
 */
export async function queryMe(page, email) {
  await page.evaluate(() => {
    document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue('{ me { email } }');
  });
  await page.click('.graphiql-execute-button');
  const result = await page.waitForFunction(
    (want) => {
      const cm = document.querySelector('.result-window .CodeMirror');
      const text = cm ? cm.CodeMirror.getValue() : '';
      return text.includes(want) ? text : false;
    },
    email,
    { timeout: 10000 },
  );
  return JSON.parse(await result.jsonValue());
}
