// GraphiQL at / in headless Chromium: sign in through the panel, run { me { email } }, read
// the email in the result pane. The page must load nothing from elsewhere and break no rule of
// its Content-Security-Policy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launch, queryMe, screenshot } from '../lib/browser.js';
import { PASSWORD, startServer } from '../lib/server.js';

test('GraphiQL: sign in through the panel and query me', async (t) => {
  // A short access token lifetime, so the page must renew it (refresh) to keep working.
  const server = await startServer(t, { ACCESS_TOKEN_TTL: '4s' });
  const email = 'playground@example.com';
  await server.register(email);

  const context = await launch(t);

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
  await screenshot(page, 'playground-signin');
  await page.click('#auth-signin');
  await page.waitForSelector('#signed-in:not([hidden])', { timeout: 10000 });
  assert.equal(await page.textContent('#auth-user'), email);

  // Wait past the access token's lifetime: the page renews it on its own.
  await page.waitForTimeout(5000);
  const refreshes = graphqlCalls.filter((r) => (r.postData() || '').includes('refresh('));
  assert.ok(refreshes.length >= 1, 'the page refreshed its access token');

  // Run { me { email } } in the editor.
  assert.deepEqual(await queryMe(page, email), { data: { me: { email } } });
  await screenshot(page, 'playground');

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
  await screenshot(page, 'playground-subscription');

  const foreign = requests.filter((u) => !u.startsWith(server.url) && !u.startsWith('data:'));
  assert.deepEqual(foreign, [], 'the page loads nothing from other origins');
  assert.deepEqual(problems.filter((p) => !/sourcemap|source map/i.test(p)), [], 'no console errors (CSP included)');
});
