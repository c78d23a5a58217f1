// GraphiQL at / in headless Chromium: sign in through the panel, run { me { email } }, read
// the email in the result pane. The page must load nothing from elsewhere and break no rule of
// its Content-Security-Policy.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { PASSWORD, startServer } from '../lib/server.js';

const outDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'out');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

test('GraphiQL: sign in through the panel and query me', async (t) => {
  // A short access token lifetime, so the page must renew it (refresh) to keep working.
  const server = await startServer(t, { ACCESS_TOKEN_TTL: '4s' });
  const email = 'playground@example.com';
  await server.register(email);

  const userDataDir = mkdtempSync(join(tmpdir(), 'gqlauth-chromium-'));
  t.after(() => rmSync(userDataDir, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(userDataDir, {
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
  t.after(() => context.close());

  const page = context.pages()[0] ?? (await context.newPage());
  const problems = [];
  const requests = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
  page.on('request', (r) => requests.push(r.url()));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`);
  });
  const graphqlCalls = [];
  page.on('request', (r) => {
    if (r.url().endsWith('/query') && r.method() === 'POST') graphqlCalls.push(r);
  });

  const res = await page.goto(server.url + '/', { waitUntil: 'load' });
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-security-policy'], /script-src 'self'/);

  // GraphiQL rendered (its editor exists), then sign in.
  await page.waitForSelector('.graphiql-container .graphiql-query-editor .CodeMirror', { timeout: 15000 });
  await page.fill('#auth-email', email);
  await page.fill('#auth-password', PASSWORD);
  mkdirSync(outDir, { recursive: true });
  await page.screenshot({ path: join(outDir, 'playground-signin.png') });
  await page.click('#auth-signin');
  await page.waitForSelector('#signed-in:not([hidden])', { timeout: 10000 });
  assert.equal(await page.textContent('#auth-user'), email);

  // Wait past the access token's lifetime: the page renews it on its own.
  await page.waitForTimeout(5000);
  const refreshes = graphqlCalls.filter((r) => (r.postData() || '').includes('refresh('));
  assert.ok(refreshes.length >= 1, 'the page refreshed its access token');

  // Put the query into the editor and run it.
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
  const body = JSON.parse(await result.jsonValue());
  assert.deepEqual(body, { data: { me: { email } } });
  await page.screenshot({ path: join(outDir, 'playground.png') });

  // The token went as a bearer header, and nowhere into storage.
  const meCall = graphqlCalls.findLast((r) => (r.postData() || '').includes('me { email }'));
  assert.match(meCall.headers()['authorization'] || '', /^Bearer ey/);
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
  assert.ok(!stored.includes('eyJ'), 'no token in web storage');
  assert.ok(!/rt_/.test(stored), 'no refresh token in web storage');

  // A subscription from the page: its WebSocket connection_init carries the token, and a new
  // sign-in elsewhere shows up as a LOGIN event.
  await page.evaluate(() => {
    document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue('subscription { securityEvents { type } }');
  });
  await page.click('.graphiql-execute-button');
  await page.waitForTimeout(500); // the socket opens and subscribes
  await server.login(email);
  await page.waitForFunction(
    () => {
      const cm = document.querySelector('.result-window .CodeMirror');
      return cm && cm.CodeMirror.getValue().includes('"LOGIN"');
    },
    null,
    { timeout: 10000 },
  );
  await page.screenshot({ path: join(outDir, 'playground-subscription.png') });

  const foreign = requests.filter((u) => !u.startsWith(server.url) && !u.startsWith('data:'));
  assert.deepEqual(foreign, [], 'the page loads nothing from other origins');
  assert.deepEqual(problems.filter((p) => !/sourcemap|source map/i.test(p)), [], 'no console errors (CSP included)');
});
