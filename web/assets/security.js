// The playground's second factors and passkeys:
//   - "Sign in with a passkey" in the sign-in bar (with the email typed there, or none: the
//     browser then offers every passkey it holds for this site);
//   - the second step of a sign-in: when the password was right but the account has TOTP
//     (MFA_REQUIRED), a code field replaces the password and verifyMfa finishes the sign-in;
//   - a Security panel: turn TOTP on (the QR code drawn here, from the otpauth URI, by the
//     vendored qrcode-generator: nothing leaves the page), see the recovery codes once, make new
//     ones, turn TOTP off; add, list and remove passkeys.
//
// It talks to the server through playground.js's bridge (window.gqlauthPlayground), which adds
// the session's access token and starts a session from an AuthPayload; the tokens stay there.
(function () {
  'use strict';

  const pg = window.gqlauthPlayground;
  if (!pg) {
    return;
  }
  const $ = (id) => document.getElementById(id);

  const el = pg.el;

  // ---- WebAuthn: the server speaks the Level 3 JSON forms; browsers without the JSON helpers
  // get the base64url fields turned into bytes by hand.

  function fromB64u(s) {
    const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4);
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  }

  function toB64u(buf) {
    let s = '';
    for (const b of new Uint8Array(buf)) {
      s += String.fromCharCode(b);
    }
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  const withIDs = (list) => (list || []).map((c) => Object.assign({}, c, { id: fromB64u(c.id) }));

  function creationOptions(json) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: fromB64u(json.challenge),
      user: Object.assign({}, json.user, { id: fromB64u(json.user.id) }),
      excludeCredentials: withIDs(json.excludeCredentials),
    });
  }

  function requestOptions(json) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    return Object.assign({}, json, { challenge: fromB64u(json.challenge), allowCredentials: withIDs(json.allowCredentials) });
  }

  function credentialJSON(cred) {
    if (typeof cred.toJSON === 'function') {
      return cred.toJSON();
    }
    const r = cred.response;
    const response = { clientDataJSON: toB64u(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toB64u(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toB64u(r.authenticatorData);
      response.signature = toB64u(r.signature);
      if (r.userHandle) {
        response.userHandle = toB64u(r.userHandle);
      }
    }
    return {
      id: cred.id,
      rawId: toB64u(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      response,
      clientExtensionResults: cred.getClientExtensionResults(),
    };
  }

  // explain turns a failure into a sentence for the page.
  function explain(err) {
    if (err && err.name === 'NotAllowedError') {
      return 'The browser or authenticator cancelled (or timed out).';
    }
    if (err && err.name === 'InvalidStateError') {
      return 'This authenticator already holds a passkey for this account.';
    }
    if (err && err.reason === 'REAUTHENTICATION_REQUIRED') {
      return 'Sign in again first: changing a second factor or passkey needs a sign-in within the last 10 minutes.';
    }
    return (err && err.message) || String(err);
  }

  const PAYLOAD = pg.PAYLOAD;

  // ---- Sign-in bar: "Sign in with a passkey" and the second step.

  const passkeyButton = el('button', { id: 'auth-passkey', type: 'button', class: 'secondary' }, 'Sign in with a passkey');
  $('auth-register').after(passkeyButton);

  passkeyButton.addEventListener('click', async () => {
    if (!window.PublicKeyCredential) {
      pg.setStatus('This browser has no passkey support here (it needs https or http://localhost).', true);
      return;
    }
    const email = $('auth-email').value.trim() || null;
    passkeyButton.disabled = true;
    pg.setStatus('Waiting for the passkey…');
    try {
      const data = await pg.gql('mutation($e: String) { startPasskeyLogin(email: $e) { challengeId options } }', { e: email });
      const ch = data.startPasskeyLogin;
      const cred = await navigator.credentials.get({ publicKey: requestOptions(ch.options) });
      const done = await pg.gql('mutation($id: ID!, $c: JSON!) { finishPasskeyLogin(challengeId: $id, credential: $c) { ' + PAYLOAD + ' } }', {
        id: ch.challengeId,
        c: credentialJSON(cred),
      });
      pg.start(done.finishPasskeyLogin);
    } catch (err) {
      pg.setStatus(explain(err), true);
    } finally {
      passkeyButton.disabled = false;
    }
  });

  const mfaCode = el('input', { id: 'auth-mfa-code', name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', size: 12, placeholder: '123456' });
  const mfaVerify = el('button', { id: 'auth-mfa-verify', type: 'button' }, 'Verify');
  const mfaCancel = el('button', { id: 'auth-mfa-cancel', type: 'button', class: 'secondary' }, 'Cancel');
  const mfaStep = el(
    'span',
    { id: 'mfa-step', class: 'auth-group', hidden: true },
    el('span', {}, 'Code from your authenticator app (or a recovery code) for ', el('strong', { id: 'auth-mfa-email' })),
    mfaCode,
    mfaVerify,
    mfaCancel,
  );
  $('signed-out').after(mfaStep);
  let mfaToken = null;

  function showMfa(show) {
    mfaStep.hidden = !show;
    $('signed-out').hidden = show || pg.signedIn();
    if (show) {
      mfaCode.value = '';
      mfaCode.focus();
    } else {
      mfaToken = null;
    }
  }

  document.addEventListener('gqlauth:mfa-required', (e) => {
    mfaToken = e.detail.mfaToken;
    $('auth-mfa-email').textContent = e.detail.email;
    showMfa(true);
    pg.setStatus('Password accepted. Enter the code.');
  });

  async function verifyMfa() {
    const code = mfaCode.value.replace(/\s+/g, '');
    if (!mfaToken || !code) {
      pg.setStatus('Enter the code.', true);
      return;
    }
    mfaVerify.disabled = true;
    try {
      const data = await pg.gql('mutation($t: String!, $c: String!) { verifyMfa(mfaToken: $t, code: $c) { ' + PAYLOAD + ' } }', { t: mfaToken, c: code });
      showMfa(false);
      pg.start(data.verifyMfa);
    } catch (err) {
      if (err.reason === 'MFA_TOKEN_INVALID') {
        showMfa(false);
        pg.setStatus('That sign-in expired or used up its tries; sign in again.', true);
      } else {
        mfaCode.select();
        pg.setStatus(explain(err), true);
      }
    } finally {
      mfaVerify.disabled = false;
    }
  }
  mfaVerify.addEventListener('click', verifyMfa);
  mfaCode.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      verifyMfa();
    }
  });
  mfaCancel.addEventListener('click', () => {
    showMfa(false);
    pg.setStatus('');
  });

  // ---- The Security panel.

  const toggle = el('button', { id: 'security-toggle', type: 'button', class: 'secondary', 'aria-expanded': 'false', 'aria-controls': 'security' }, 'Security');
  $('auth-signout').before(toggle);

  const status = el('p', { id: 'security-status', class: 'security-status', role: 'status', 'aria-live': 'polite' });
  const say = (text, isError) => {
    status.textContent = text || '';
    status.classList.toggle('error', !!isError);
  };

  // TOTP
  const totpState = el('p', { id: 'totp-state', class: 'security-muted' });
  const totpStart = el('button', { id: 'totp-enable', type: 'button' }, 'Set up an authenticator app');
  const qr = el('canvas', { id: 'totp-qr', class: 'security-qr', role: 'img', 'aria-label': 'QR code for your authenticator app' });
  const secret = el('code', { id: 'totp-secret' });
  const setupCode = el('input', { id: 'totp-code', inputmode: 'numeric', autocomplete: 'one-time-code', size: 10, placeholder: '123456' });
  const totpConfirm = el('button', { id: 'totp-confirm', type: 'button' }, 'Turn on');
  const setup = el(
    'div',
    { id: 'totp-setup', class: 'security-box', hidden: true },
    el('p', {}, 'Scan this with your authenticator app, then enter the code it shows.'),
    qr,
    el('p', { class: 'security-muted' }, 'Or type the key: ', secret),
    el('label', {}, 'Code ', setupCode),
    ' ',
    totpConfirm,
  );
  const recoveryList = el('ol', { id: 'totp-recovery-codes', class: 'security-codes' });
  const recoveryDone = el('button', { id: 'totp-recovery-done', type: 'button' }, 'I have saved them');
  const recovery = el(
    'div',
    { id: 'totp-recovery', class: 'security-box', hidden: true },
    el('p', {}, el('strong', {}, 'Recovery codes, shown only now. '), 'Each works once, in place of a code, if the app is lost.'),
    recoveryList,
    recoveryDone,
  );
  const manageCode = el('input', { id: 'totp-manage-code', inputmode: 'numeric', autocomplete: 'one-time-code', size: 10, placeholder: 'code' });
  const regenerate = el('button', { id: 'totp-regenerate', type: 'button', class: 'secondary' }, 'New recovery codes');
  const disable = el('button', { id: 'totp-disable', type: 'button', class: 'secondary' }, 'Turn off');
  const manage = el('div', { id: 'totp-manage', class: 'security-box', hidden: true }, el('label', {}, 'Current code ', manageCode), ' ', regenerate, ' ', disable);

  // Passkeys
  const passkeyList = el('ul', { id: 'passkey-list', class: 'security-list' });
  const passkeyName = el('input', { id: 'passkey-name', size: 18, placeholder: 'name (optional)', maxlength: 64 });
  const passkeyAdd = el('button', { id: 'passkey-add', type: 'button' }, 'Add a passkey');

  const panel = el(
    'aside',
    { id: 'security', class: 'drawer security', hidden: true, 'aria-label': 'Security' },
    el('div', { class: 'security-header' }, el('h2', {}, 'Security'), el('button', { id: 'security-close', type: 'button', class: 'secondary', onclick: () => setOpen(false) }, 'Close')),
    status,
    el('section', { id: 'security-totp' }, el('h3', {}, 'Authenticator app (TOTP)'), totpState, totpStart, setup, recovery, manage),
    el('section', { id: 'security-passkeys' }, el('h3', {}, 'Passkeys'), passkeyList, el('p', {}, passkeyName, ' ', passkeyAdd)),
  );
  document.body.append(panel);

  function setOpen(open) {
    panel.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    if (open) {
      say('');
      load();
    }
  }
  toggle.addEventListener('click', () => setOpen(panel.hidden));
  pg.onSession((signedIn) => {
    if (!signedIn) {
      setOpen(false);
      recovery.hidden = true;
      recoveryList.textContent = '';
    }
  });

  function renderTotp(enabled) {
    totpState.textContent = enabled === null ? 'Unknown on this server.' : enabled ? 'On: a password sign-in also asks for a code.' : 'Off.';
    totpStart.hidden = enabled !== false || !setup.hidden;
    manage.hidden = enabled !== true;
  }

  function renderPasskeys(list) {
    passkeyList.textContent = '';
    if (!list.length) {
      passkeyList.append(el('li', { class: 'security-muted' }, 'None yet.'));
    }
    for (const p of list) {
      const used = p.lastUsedAt ? 'last used ' + new Date(p.lastUsedAt).toLocaleString() : 'never used';
      passkeyList.append(
        el(
          'li',
          { 'data-id': p.id },
          el('span', { class: 'passkey-name' }, p.name),
          ' ',
          el('span', { class: 'security-muted' }, 'added ' + new Date(p.createdAt).toLocaleDateString() + ', ' + used),
          ' ',
          el('button', { type: 'button', class: 'secondary passkey-remove', onclick: () => removePasskey(p) }, 'Remove'),
        ),
      );
    }
  }

  async function load() {
    try {
      const data = await pg.gql('{ passkeys { id name createdAt lastUsedAt } }');
      renderPasskeys(data.passkeys);
    } catch (err) {
      say(explain(err), true);
    }
    try {
      const data = await pg.gql('{ me { mfaEnabled } }');
      renderTotp(data.me.mfaEnabled);
    } catch (err) {
      renderTotp(null); // a server without TOTP
    }
  }

  // drawQR draws text as a QR code (error correction M, a 4-module quiet zone) on the canvas.
  function drawQR(canvas, text) {
    const code = qrcode(0, 'M');
    code.addData(text);
    code.make();
    const n = code.getModuleCount();
    const scale = 5;
    const size = (n + 8) * scale;
    canvas.width = size;
    canvas.height = size;
    const g = canvas.getContext('2d');
    g.fillStyle = '#fff';
    g.fillRect(0, 0, size, size);
    g.fillStyle = '#000';
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        if (code.isDark(r, c)) {
          g.fillRect((c + 4) * scale, (r + 4) * scale, scale, scale);
        }
      }
    }
  }

  function showCodes(codes) {
    recoveryList.textContent = '';
    for (const c of codes) {
      recoveryList.append(el('li', {}, el('code', {}, c)));
    }
    recovery.hidden = false;
  }

  async function busy(button, fn) {
    button.disabled = true;
    try {
      await fn();
    } catch (err) {
      say(explain(err), true);
    } finally {
      button.disabled = false;
    }
  }

  totpStart.addEventListener('click', () =>
    busy(totpStart, async () => {
      const data = await pg.gql('mutation { startTotpSetup { secret otpauthUri } }');
      secret.textContent = data.startTotpSetup.secret;
      drawQR(qr, data.startTotpSetup.otpauthUri);
      setup.hidden = false;
      totpStart.hidden = true;
      setupCode.value = '';
      setupCode.focus();
      say('');
    }),
  );

  totpConfirm.addEventListener('click', () =>
    busy(totpConfirm, async () => {
      const data = await pg.gql('mutation($c: String!) { confirmTotpSetup(code: $c) }', { c: setupCode.value.replace(/\s+/g, '') });
      setup.hidden = true;
      showCodes(data.confirmTotpSetup);
      renderTotp(true);
      say('TOTP is on.');
    }),
  );

  recoveryDone.addEventListener('click', () => {
    recovery.hidden = true;
    recoveryList.textContent = '';
  });

  regenerate.addEventListener('click', () =>
    busy(regenerate, async () => {
      const data = await pg.gql('mutation($c: String!) { regenerateRecoveryCodes(code: $c) }', { c: manageCode.value.replace(/\s+/g, '') });
      manageCode.value = '';
      showCodes(data.regenerateRecoveryCodes);
      say('New recovery codes; the old ones no longer work.');
    }),
  );

  disable.addEventListener('click', () =>
    busy(disable, async () => {
      await pg.gql('mutation($c: String!) { disableTotp(code: $c) }', { c: manageCode.value.replace(/\s+/g, '') });
      manageCode.value = '';
      recovery.hidden = true;
      renderTotp(false);
      say('TOTP is off.');
    }),
  );

  passkeyAdd.addEventListener('click', () =>
    busy(passkeyAdd, async () => {
      if (!window.PublicKeyCredential) {
        throw new Error('This browser has no passkey support here (it needs https or http://localhost).');
      }
      say('Waiting for the authenticator…');
      const data = await pg.gql('mutation { startPasskeyRegistration { challengeId options } }');
      const ch = data.startPasskeyRegistration;
      const cred = await navigator.credentials.create({ publicKey: creationOptions(ch.options) });
      const done = await pg.gql('mutation($id: ID!, $c: JSON!, $n: String) { finishPasskeyRegistration(challengeId: $id, credential: $c, name: $n) { id name } }', {
        id: ch.challengeId,
        c: credentialJSON(cred),
        n: passkeyName.value.trim() || null,
      });
      passkeyName.value = '';
      say('Passkey “' + done.finishPasskeyRegistration.name + '” added.');
      await load();
    }),
  );

  async function removePasskey(p) {
    try {
      await pg.gql('mutation($id: ID!) { deletePasskey(id: $id) }', { id: p.id });
      say('Passkey “' + p.name + '” removed.');
      await load();
    } catch (err) {
      say(explain(err), true);
    }
  }
})();
