// The playground's Security panel in headless Chromium. Passkeys: a virtual authenticator
// (DevTools WebAuthn.addVirtualAuthenticator, through playwright-core's CDP session) plays the
// platform authenticator; a passkey registered in the panel signs in after a sign-out, and `me`
// answers. TOTP: set up in the panel from its QR code's secret, with codes computed here by an
// independent implementation (the otpauth package), then asked for by the sign-in bar.
//
// WebAuthn needs a secure context: the pages open http://localhost:PORT (an IP address is not
// one), which the server knows as its PUBLIC_URL.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import jsQR from 'jsqr';
import * as OTPAuth from 'otpauth';
import { launch, queryMe, screenshot, watch } from '../lib/browser.js';
import { PASSWORD, startServer } from '../lib/server.js';

/** openPlayground starts the server, Chromium with a virtual authenticator, and the page. */
async function openPlayground(t) {
  const server = await startServer(t, {}, { localhost: true });
  const context = await launch(t);
  const seen = watch(context);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      ctap2Version: 'ctap2_1',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  const res = await page.goto(server.publicURL + '/', { waitUntil: 'load' });
  assert.equal(res.status(), 200);
  await page.waitForSelector('.graphiql-container .graphiql-query-editor .CodeMirror', { timeout: 15000 });
  return { server, page, cdp, authenticatorId, seen };
}

async function register(page, email) {
  await page.fill('#auth-email', email);
  await page.fill('#auth-password', PASSWORD);
  await page.click('#auth-register');
  await page.waitForSelector('#signed-in:not([hidden])', { timeout: 10000 });
}

async function signOut(page) {
  await page.click('#auth-signout');
  await page.waitForSelector('#signed-out:not([hidden])', { timeout: 10000 });
}

/** checkClean: nothing from other origins, no console errors (CSP violations included). */
function checkClean(server, seen) {
  const foreign = seen.requests.filter((r) => !r.url.startsWith(server.publicURL) && !r.url.startsWith('data:'));
  assert.deepEqual(foreign.map((r) => r.url), [], 'the page loads nothing from other origins');
  assert.deepEqual(seen.problems, [], 'no console errors (CSP included)');
}

test('Security panel: register a passkey, sign out, sign in with it, read me, remove it', async (t) => {
  const { server, page, cdp, authenticatorId, seen } = await openPlayground(t);
  const email = 'passkey@example.com';
  await register(page, email);

  await page.click('#security-toggle');
  await page.waitForSelector('#security:not([hidden])');
  await page.waitForSelector('#passkey-list li');
  await page.fill('#passkey-name', 'Virtual authenticator');
  await page.click('#passkey-add');
  await page.waitForSelector('#passkey-list li[data-id] .passkey-name', { timeout: 10000 });
  assert.equal(await page.textContent('#passkey-list .passkey-name'), 'Virtual authenticator');
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.equal(credentials.length, 1, 'the authenticator holds one credential');
  assert.ok(credentials[0].isResidentCredential, 'a discoverable credential (a passkey)');
  assert.notEqual(Buffer.from(credentials[0].userHandle, 'base64').toString(), email, 'the user handle is not the email');
  await screenshot(page, 'security-passkey-added');

  await page.click('#security-close');
  await signOut(page);
  // No email typed: the browser offers whichever passkey it holds for this site.
  await page.fill('#auth-email', '');
  await page.click('#auth-passkey');
  await page.waitForSelector('#signed-in:not([hidden])', { timeout: 10000 });
  assert.equal(await page.textContent('#auth-user'), email);
  assert.deepEqual(await queryMe(page, email), { data: { me: { email } } });
  await screenshot(page, 'passkey-signed-in');
  const after = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.ok(after.credentials[0].signCount >= 1, 'the sign-in used the credential (its counter moved)');

  // Signed in with an email typed as well: that account's passkeys only.
  await signOut(page);
  await page.fill('#auth-email', email);
  await page.click('#auth-passkey');
  await page.waitForSelector('#signed-in:not([hidden])', { timeout: 10000 });

  await page.click('#security-toggle');
  await page.waitForSelector('#passkey-list .passkey-remove');
  await page.click('#passkey-list .passkey-remove');
  await page.waitForFunction(() => !document.querySelector('#passkey-list li[data-id]'), null, { timeout: 10000 });
  assert.match(await page.textContent('#security-status'), /removed/);
  await screenshot(page, 'security-passkey-removed');

  // The removed passkey (still on the authenticator) no longer signs in.
  await page.click('#security-close');
  await signOut(page);
  await page.fill('#auth-email', '');
  await page.click('#auth-passkey');
  await page.waitForFunction(() => document.querySelector('#auth-status').classList.contains('error'), null, { timeout: 10000 });
  assert.match(await page.textContent('#auth-status'), /INVALID_CREDENTIALS/);
  seen.problems = seen.problems.filter((p) => !/HTTP 4\d\d/.test(p)); // none expected, but a refused sign-in is not a page fault
  checkClean(server, seen);
});

test('Security panel: TOTP from the QR code, recovery codes once, then the sign-in asks for the code', async (t) => {
  const { server, page, seen } = await openPlayground(t);
  const email = 'totp@example.com';
  await register(page, email);

  await page.click('#security-toggle');
  await page.waitForSelector('#totp-state');
  await page.waitForFunction(() => /Off/.test(document.querySelector('#totp-state').textContent), null, { timeout: 10000 });
  await page.click('#totp-enable');
  await page.waitForSelector('#totp-setup:not([hidden])', { timeout: 10000 });
  const secret = (await page.textContent('#totp-secret')).trim();
  assert.match(secret, /^[A-Z2-7]{16,}$/, 'a base32 secret');
  // The QR code drawn on the page reads back (jsQR, another implementation) as the otpauth URI
  // of that secret.
  const qr = await page.evaluate(() => {
    const c = document.querySelector('#totp-qr');
    return { w: c.width, h: c.height, px: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data) };
  });
  const decoded = jsQR(Uint8ClampedArray.from(qr.px), qr.w, qr.h);
  assert.ok(decoded, 'the QR code decodes');
  const uri = new URL(decoded.data);
  assert.equal(uri.protocol, 'otpauth:');
  assert.equal(uri.host, 'totp');
  assert.equal(uri.searchParams.get('secret'), secret);
  assert.match(decodeURIComponent(uri.pathname), new RegExp(email.replace('.', '\\.')));
  await screenshot(page, 'security-totp-qr');

  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 });
  await page.fill('#totp-code', totp.generate());
  await page.click('#totp-confirm');
  await page.waitForSelector('#totp-recovery:not([hidden])', { timeout: 10000 });
  const codes = await page.$$eval('#totp-recovery-codes li', (items) => items.map((li) => li.textContent.trim()));
  assert.equal(codes.length, 10, 'ten recovery codes');
  assert.equal(new Set(codes).size, 10);
  assert.match(await page.textContent('#totp-state'), /On/);
  await screenshot(page, 'security-totp-recovery-codes');
  await page.click('#totp-recovery-done');
  assert.equal(await page.$$eval('#totp-recovery-codes li', (items) => items.length), 0, 'the codes are shown once');

  await page.click('#security-close');
  await signOut(page);
  await page.fill('#auth-email', email);
  await page.fill('#auth-password', PASSWORD);
  await page.click('#auth-signin');
  await page.waitForSelector('#mfa-step:not([hidden])', { timeout: 10000 });
  assert.equal(await page.textContent('#auth-mfa-email'), email);
  await screenshot(page, 'signin-mfa-prompt');
  // The next step's code: the confirm used this step's, and a code is accepted once.
  await page.fill('#auth-mfa-code', totp.generate({ timestamp: Date.now() + 30_000 }));
  await page.click('#auth-mfa-verify');
  await page.waitForSelector('#signed-in:not([hidden])', { timeout: 10000 });
  assert.ok(await page.isHidden('#mfa-step'));
  assert.deepEqual(await queryMe(page, email), { data: { me: { email } } });
  await screenshot(page, 'signin-mfa-signed-in');

  // A recovery code works as well, once.
  await signOut(page);
  await page.fill('#auth-email', email);
  await page.fill('#auth-password', PASSWORD);
  await page.click('#auth-signin');
  await page.waitForSelector('#mfa-step:not([hidden])', { timeout: 10000 });
  await page.fill('#auth-mfa-code', codes[0]);
  await page.click('#auth-mfa-verify');
  await page.waitForSelector('#signed-in:not([hidden])', { timeout: 10000 });
  checkClean(server, seen);
});
