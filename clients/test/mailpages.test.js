// The mail flows in headless Chromium, as a newcomer meets them: register in the playground, open
// the Mailbox, follow the link to the page behind it, press its button. Also: a mail scanner's
// prefetch (a plain GET, or a browser that loads the page and presses nothing) uses nothing, and
// bad, used, expired or cut links get messages a person understands. Screenshots go to
// clients/out/.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { launch, screenshot, watch } from '../lib/browser.js';
import { PASSWORD, PAYLOAD, startServer } from '../lib/server.js';

const NEW_PASSWORD = 'a brand new passphrase 42';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// waitForMail polls the development mailbox until a mail to `to` carries a link to `path`, and
// returns it with that link.
async function waitForMail(server, to, path, { after = new Set() } = {}) {
  const linkPattern = new RegExp('https?://[^\\s"<>]+' + path + '#token=[A-Za-z0-9._~-]+');
  const deadline = Date.now() + 15000;
  for (;;) {
    const res = await fetch(server.url + '/dev/mailbox');
    assert.equal(res.status, 200, 'GET /dev/mailbox');
    const mails = await res.json();
    for (const mail of mails) {
      const m = !after.has(mail.id) && mail.to.includes(to) && linkPattern.exec(mail.text);
      if (m) return { mail, link: m[0], token: new URL(m[0]).hash.slice('#token='.length) };
    }
    if (Date.now() > deadline) throw new Error(`no mail to ${to} with a ${path} link; mailbox: ${JSON.stringify(mails, null, 1)}`);
    await sleep(200);
  }
}

async function openPlayground(context, server) {
  const page = context.pages()[0] ?? (await context.newPage());
  const res = await page.goto(server.url + '/', { waitUntil: 'load' });
  assert.equal(res.status(), 200);
  await page.waitForSelector('.graphiql-container .graphiql-query-editor .CodeMirror', { timeout: 15000 });
  return page;
}

// runQuery runs a document from GraphiQL's editor and returns the body the playground got.
async function runQuery(page, query) {
  await page.evaluate((q) => {
    document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(q);
  }, query);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/query') && (r.request().postData() || '').includes(JSON.stringify(query).slice(1, -1))),
    page.click('.graphiql-execute-button'),
  ]);
  const body = await response.json();
  // The result pane shows the same.
  await page.waitForFunction(
    (want) => {
      const cm = document.querySelector('.result-window .CodeMirror');
      return cm && cm.CodeMirror.getValue().replace(/\s/g, '') === want;
    },
    JSON.stringify(body),
    { timeout: 10000 },
  );
  return body;
}

// openFromMailbox opens the mail in the playground's Mailbox and follows its link to path,
// which opens the page in a new tab; returns that tab.
async function openFromMailbox(context, page, mail, link, path, shotName) {
  if ((await page.getAttribute('#mailbox-toggle', 'aria-expanded')) !== 'true') {
    await page.click('#mailbox-toggle');
  }
  const item = page.locator(`.mailbox-item[data-id="${mail.id}"]`);
  await item.waitFor({ timeout: 10000 });
  await item.click();
  await page.waitForSelector('#mailbox-message:not([hidden]) #mailbox-text');
  assert.equal(await page.locator('#mailbox-subject').textContent(), mail.subject);
  assert.ok((await page.locator('#mailbox-text').textContent()).includes(link), 'the text part is shown');
  if (mail.html) {
    // The HTML part in a frame that runs no script and cannot reach the playground.
    const sandbox = await page.getAttribute('#mailbox-html', 'sandbox');
    assert.ok(!/allow-scripts|allow-same-origin/.test(sandbox), `sandbox="${sandbox}"`);
    assert.ok((await page.getAttribute('#mailbox-html', 'srcdoc')).length > 0);
  }
  if (shotName) await screenshot(page, shotName);
  const anchor = page.locator(`#mailbox-links a[href="${link}"]`);
  assert.equal(await anchor.count(), 1, `the Mailbox shows the ${path} link`);
  const [tab] = await Promise.all([context.waitForEvent('page'), anchor.click()]);
  await tab.waitForLoadState('load');
  await tab.waitForSelector('#flow-form:not([hidden])');
  // The token left the address bar (and the history entry) as soon as the page read it.
  assert.equal(tab.url(), new URL(path, link).href);
  assert.equal(await tab.evaluate(() => window.location.hash), '');
  return tab;
}

// tokenUse lists the requests that carried token anywhere (URL, headers, body); a prefetch or
// an asset request must never be one of them.
function tokenUse(seen, token) {
  return seen.requests.filter((r) => r.url.includes(token) || r.body.includes(token) || JSON.stringify(r.headers).includes(token));
}

// expiredVerificationLink registers an account and returns its verification link after moving
// the token's expiry a minute into the past, in the server's SQLite database (the sqlite3
// command, a busy timeout against the running server): a real token the service itself finds
// expired, without waiting 24 hours.
async function expiredVerificationLink(server) {
  const email = 'late@example.com';
  await server.register(email);
  const found = await waitForMail(server, email, '/verify-email');
  const micros = (BigInt(Date.now()) - 60000n) * 1000n;
  const sql = `UPDATE mail_tokens SET expires_at = ${micros} WHERE used_at IS NULL AND user_id = (SELECT id FROM users WHERE email = '${email}');`;
  const r = spawnSync('sqlite3', ['-cmd', '.timeout 5000', join(server.dataDir, 'app.db'), sql + ' SELECT changes();'], { encoding: 'utf8' });
  assert.equal(r.status, 0, 'sqlite3: ' + (r.error?.message || r.stderr));
  assert.equal(r.stdout.trim(), '1', 'one token moved into the past');
  return found;
}

async function me(server, accessToken) {
  return server.gql('{ me { email emailVerified } }', {}, { token: accessToken });
}

test('verification: register in the playground, follow the Mailbox link, press the button, emailVerified is true', async (t) => {
  const server = await startServer(t);
  const email = 'newcomer@example.com';
  const context = await launch(t);
  const seen = watch(context);
  const page = await openPlayground(context, server);

  await page.fill('#auth-email', email);
  await page.fill('#auth-password', PASSWORD);
  await page.click('#auth-register');
  await page.waitForSelector('#signed-in:not([hidden])', { timeout: 10000 });
  const before = await runQuery(page, '{ me { email emailVerified } }');
  assert.deepEqual(before, { data: { me: { email, emailVerified: false } } });

  await page.click('#mailbox-toggle');
  const { mail, link, token } = await waitForMail(server, email, '/verify-email');
  assert.ok(token.length >= 43, 'a token of 256 bits or more');
  const tab = await openFromMailbox(context, page, mail, link, '/verify-email', 'mailbox-verification');
  await screenshot(tab, 'verify-email-page');
  assert.deepEqual(tokenUse(seen, token), [], 'opening the page sent the token nowhere');
  assert.equal((await me(server, (await server.login(email)).accessToken)).data.me.emailVerified, false, 'opening the page used nothing');

  await tab.click('#flow-submit');
  await tab.waitForSelector('#status.ok');
  assert.match(await tab.textContent('#status'), new RegExp(`${email} is verified`));
  assert.ok(await tab.isHidden('#flow-form'));
  await screenshot(tab, 'verify-email-done');

  const uses = tokenUse(seen, token);
  assert.equal(uses.length, 1, 'the token went out once');
  assert.equal(uses[0].method, 'POST');
  assert.equal(uses[0].url, server.graphqlURL);
  assert.equal(JSON.parse(uses[0].body).variables.token, token, 'as a variable in the POST body');

  await page.bringToFront();
  await page.click('#mailbox-close'); // the drawer would hide the result pane in the screenshot
  assert.ok(await page.isHidden('#mailbox'));
  const after = await runQuery(page, '{ me { email emailVerified } }');
  assert.deepEqual(after, { data: { me: { email, emailVerified: true } } });
  await screenshot(page, 'playground-email-verified');

  // The same link again: used, so INVALID, said plainly.
  const again = await context.newPage();
  await again.goto(link);
  await again.click('#flow-submit');
  await again.waitForSelector('#status.error');
  assert.match(await again.textContent('#status'), /no longer valid/);
  assert.ok(await again.isVisible('#request-again'));
  await screenshot(again, 'verify-email-used');

  const foreign = seen.requests.filter((r) => !r.url.startsWith(server.url) && !r.url.startsWith('data:') && r.url !== 'about:srcdoc');
  assert.deepEqual(foreign, [], 'nothing loaded from other origins');
  assert.deepEqual(seen.problems, [], 'no console errors (CSP included), no HTTP errors');
});

test('password reset: from the Mailbox to the page; the rules are shown, the new password works, the old one does not', async (t) => {
  const server = await startServer(t);
  const email = 'forgetful@example.com';
  const old = await server.register(email);
  const asked = await server.gql('mutation ($e: String!) { requestPasswordReset(email: $e) }', { e: email });
  assert.deepEqual(asked.data, { requestPasswordReset: true });

  const context = await launch(t);
  const seen = watch(context);
  const page = await openPlayground(context, server);
  await page.click('#mailbox-toggle');
  const { mail, link, token } = await waitForMail(server, email, '/reset-password');
  const tab = await openFromMailbox(context, page, mail, link, '/reset-password', 'mailbox-reset');
  assert.deepEqual(tokenUse(seen, token), [], 'opening the page sent the token nowhere');

  // A weak password: the server's rule, next to the field; the token is not spent.
  await tab.fill('#new-password', 'password');
  await tab.fill('#repeat-password', 'password');
  await tab.click('#flow-submit');
  await tab.waitForSelector('#password-error:not([hidden])');
  assert.match(await tab.textContent('#password-error'), /common/i);
  assert.equal(await tab.getAttribute('#new-password', 'aria-invalid'), 'true');
  await screenshot(tab, 'reset-password-weak');

  await tab.fill('#new-password', 'short');
  await tab.fill('#repeat-password', 'short');
  await tab.click('#flow-submit');
  await tab.waitForFunction(() => /shorter than 8/.test(document.getElementById('password-error').textContent));

  // Two different passwords: caught on the page, nothing sent.
  const sentBefore = tokenUse(seen, token).length;
  await tab.fill('#new-password', NEW_PASSWORD);
  await tab.fill('#repeat-password', NEW_PASSWORD + '!');
  await tab.click('#flow-submit');
  await tab.waitForFunction(() => /differ/.test(document.getElementById('password-error').textContent));
  assert.equal(tokenUse(seen, token).length, sentBefore);

  await tab.fill('#repeat-password', NEW_PASSWORD);
  await screenshot(tab, 'reset-password-page');
  await tab.click('#flow-submit');
  await tab.waitForSelector('#status.ok');
  assert.match(await tab.textContent('#status'), /password is changed/);
  assert.match(await tab.textContent('#status'), /Sign in with the new password/);
  await screenshot(tab, 'reset-password-done');

  const oldLogin = await server.gql(`mutation ($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { ${PAYLOAD} } }`, {
    e: email,
    p: PASSWORD,
  });
  assert.equal(oldLogin.errors?.[0]?.extensions?.reason, 'INVALID_CREDENTIALS', 'the old password is refused');
  const fresh = await server.login(email, NEW_PASSWORD);
  assert.ok(fresh.accessToken, 'the new password works');
  const ended = await me(server, old.accessToken);
  assert.equal(ended.errors?.[0]?.extensions?.reason, 'TOKEN_REVOKED', 'the sessions before the reset ended');
  assert.equal((await me(server, fresh.accessToken)).data.me.emailVerified, true, 'the reset mail proved the address');

  // The page ended the session resetPassword started for it: only the new sign-in is left.
  let sessions;
  for (let i = 0; i < 50; i++) {
    sessions = (await server.gql('{ sessions { current } }', {}, { token: fresh.accessToken })).data.sessions;
    if (sessions.length === 1) break;
    await sleep(100);
  }
  assert.deepEqual(sessions, [{ current: true }]);

  // The link again: used.
  const again = await context.newPage();
  await again.goto(link);
  await again.fill('#new-password', 'yet another passphrase');
  await again.fill('#repeat-password', 'yet another passphrase');
  await again.click('#flow-submit');
  await again.waitForSelector('#status.error');
  assert.match(await again.textContent('#status'), /no longer valid/);
  await server.login(email, NEW_PASSWORD);

  assert.deepEqual(seen.problems, [], 'no console errors (CSP included), no HTTP errors');
});

test('a prefetch uses nothing: a plain GET of the link, and Chromium loading the page without pressing', async (t) => {
  const server = await startServer(t);
  const email = 'scanned@example.com';
  const reg = await server.register(email);
  const { link, token } = await waitForMail(server, email, '/verify-email');

  // A scanner's GET: the page, and nothing else happens. (The fragment is never sent; the
  // query form is what a careless rewriter might make of the link.)
  for (const url of [link, link.replace('#', '?'), link.split('#')[0]]) {
    const res = await fetch(url, { headers: { 'User-Agent': 'LinkScanner/1.0' } });
    assert.equal(res.status, 200, url);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.match(res.headers.get('content-security-policy'), /frame-ancestors 'none'/);
    assert.ok(!(await res.text()).includes(token), 'the page does not echo the token');
  }

  // A browser that loads the page, runs its script, waits, and presses nothing.
  const context = await launch(t);
  const seen = watch(context);
  for (let i = 0; i < 2; i++) {
    const p = await context.newPage();
    await p.goto(link, { waitUntil: 'networkidle' });
    await p.waitForSelector('#flow-submit');
    await p.waitForTimeout(500);
    if (i === 0) await screenshot(p, 'verify-email-prefetched');
    await p.close();
  }
  // The reset page too: a reset link a scanner opened still works, and the password stayed.
  await server.gql('mutation ($e: String!) { requestPasswordReset(email: $e) }', { e: email });
  const reset = await waitForMail(server, email, '/reset-password');
  assert.equal((await fetch(reset.link)).status, 200);
  const rp = await context.newPage();
  await rp.goto(reset.link, { waitUntil: 'networkidle' });
  await rp.waitForTimeout(500);
  await rp.close();
  await server.login(email, PASSWORD);

  assert.deepEqual(tokenUse(seen, token), [], 'no request carried the verification token');
  assert.deepEqual(tokenUse(seen, reset.token), [], 'no request carried the reset token');
  assert.ok(!seen.requests.some((r) => r.method === 'POST'), 'loading the pages posted nothing');
  assert.ok(!server.log().includes(token) && !server.log().includes(reset.token), 'the server never saw a token');
  assert.equal((await me(server, reg.accessToken)).data.me.emailVerified, false, 'still unverified');

  // The person then presses the button: the token still works.
  const p = await context.newPage();
  await p.goto(link);
  await p.click('#flow-submit');
  await p.waitForSelector('#status.ok');
  assert.equal((await me(server, reg.accessToken)).data.me.emailVerified, true);
  assert.deepEqual(seen.problems, []);
});

test('bad, expired and incomplete links: clear messages, nothing spent', async (t) => {
  const server = await startServer(t);
  const context = await launch(t);
  // The expired answer below is one this test makes on purpose.
  const seen = watch(context);
  const bogus = randomBytes(32).toString('base64url');

  // A link cut before its token (a mail client that wrapped it), or a reload after reading it.
  const cut = await context.newPage();
  await cut.goto(server.url + '/verify-email');
  await cut.waitForSelector('#status.error');
  assert.match(await cut.textContent('#status'), /incomplete/);
  assert.ok(await cut.isHidden('#flow-form'), 'no button to press');
  await screenshot(cut, 'verify-email-incomplete');

  for (const [path, shot] of [
    ['/verify-email', 'verify-email-invalid'],
    ['/reset-password', 'reset-password-invalid'],
    ['/confirm-email-change', 'confirm-email-change-invalid'],
  ]) {
    const p = await context.newPage();
    await p.goto(`${server.url}${path}#token=${bogus}`);
    assert.equal(p.url(), server.url + path);
    if (path === '/reset-password') {
      await p.fill('#new-password', NEW_PASSWORD);
      await p.fill('#repeat-password', NEW_PASSWORD);
    }
    await p.click('#flow-submit');
    await p.waitForSelector('#status.error');
    assert.match(await p.textContent('#status'), /no longer valid/, path);
    assert.ok(await p.isHidden('#flow-form'), `${path}: the form is gone`);
    assert.ok(await p.isVisible('#request-again'), `${path}: says how to get a new mail`);
    await screenshot(p, shot);
  }

  // An expired link: the service's EXPIRED answer, as the page shows it.
  const expired = await expiredVerificationLink(server);
  const p = await context.newPage();
  await p.goto(expired.link);
  await p.click('#flow-submit');
  await p.waitForSelector('#status.error');
  assert.match(await p.textContent('#status'), /expired/);
  assert.ok(await p.isVisible('#request-again'));
  await screenshot(p, 'verify-email-expired');
  assert.deepEqual(seen.problems, []);
});

test('email change: the link to the new address, pressed, switches the account', async (t) => {
  const server = await startServer(t);
  const email = 'moving@example.com';
  const next = 'moved@example.com';
  const reg = await server.register(email);
  const asked = await server.gql(
    'mutation ($n: String!, $p: String!) { requestEmailChange(newEmail: $n, currentPassword: $p) }',
    { n: next, p: PASSWORD },
    { token: reg.accessToken },
  );
  assert.deepEqual(asked.data, { requestEmailChange: true }, JSON.stringify(asked.errors));
  const { link, token } = await waitForMail(server, next, '/confirm-email-change');

  const context = await launch(t);
  const seen = watch(context);
  const p = await context.newPage();
  await p.goto(link);
  await p.waitForSelector('#flow-form:not([hidden])');
  assert.equal(p.url(), server.url + '/confirm-email-change');
  assert.deepEqual(tokenUse(seen, token), []);
  assert.equal((await me(server, reg.accessToken)).data.me.email, email, 'opening the page changed nothing');
  await screenshot(p, 'confirm-email-change-page');
  await p.click('#flow-submit');
  await p.waitForSelector('#status.ok');
  assert.match(await p.textContent('#status'), new RegExp(`now uses ${next}`));
  await screenshot(p, 'confirm-email-change-done');

  const fresh = await server.login(next);
  assert.deepEqual((await me(server, fresh.accessToken)).data.me, { email: next, emailVerified: true });
  assert.equal(tokenUse(seen, token).length, 1, 'the token went out once, when pressed');
  assert.deepEqual(seen.problems, []);
});
