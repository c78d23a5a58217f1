// The pages behind the links in mails: /verify-email, /reset-password, /confirm-email-change.
//
// The link carries its token in the fragment (#token=…), which the browser never sends to a
// server: loading the page, as a mail scanner's prefetch does, uses nothing. This script reads
// the token, removes it from the address bar and the history entry (so it is not left on
// screen, in a bookmark or in a shared screenshot), keeps it in this closure only, and sends it
// in the body of one POST when the person presses the button.
(function () {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const flow = document.body.getAttribute('data-flow');
  const endpoint = new URL(document.body.getAttribute('data-endpoint') || '/query', window.location.href);
  const form = $('flow-form');
  const submit = $('flow-submit');

  // A mail token is a few dozen URL-safe characters; an empty or cut-off one (a mail client
  // that broke the line) is not worth a request. The server decides the rest.
  const TOKEN_SHAPE = /^[A-Za-z0-9._~-]{16,1024}$/;

  const OPERATIONS = {
    'verify-email': {
      query: 'mutation VerifyEmail($token: String!) { verifyEmail(token: $token) { email emailVerified } }',
      done: (data) => 'Your address ' + data.verifyEmail.email + ' is verified. You can close this page.',
    },
    'confirm-email-change': {
      query: 'mutation ConfirmEmailChange($token: String!) { confirmEmailChange(token: $token) { email emailVerified } }',
      done: (data) => 'Your account now uses ' + data.confirmEmailChange.email + '. Sign in with this address from now on.',
    },
    'reset-password': {
      query:
        'mutation ResetPassword($token: String!, $newPassword: String!) { resetPassword(token: $token, newPassword: $newPassword) { refreshToken user { email } } }',
      done: (data) =>
        'Your password is changed and every session of ' +
        data.resetPassword.user.email +
        ' has ended. Sign in with the new password.',
    },
  };

  const MESSAGES = {
    missing: 'This link is incomplete: it carries no token. Open the link from the mail again, copying all of it.',
    INVALID:
      'This link is no longer valid: it was already used, or a newer mail replaced it. Use the link in the newest mail.',
    EXPIRED: 'This link has expired.',
    network: 'The server could not be reached. Check the connection and press the button again.',
  };

  function setStatus(text, kind) {
    const out = $('status');
    out.textContent = text || '';
    out.className = 'status' + (kind ? ' ' + kind : '');
  }

  // readToken takes the token out of the fragment and removes the fragment from the address
  // bar, keeping the path and query.
  function readToken() {
    const hash = window.location.hash.replace(/^#/, '');
    if (!hash) {
      return '';
    }
    const token = new URLSearchParams(hash).get('token') || '';
    window.history.replaceState(window.history.state, '', window.location.pathname + window.location.search);
    return token;
  }

  // gql posts one operation and returns its data, or throws the first error with its code,
  // field and reason. The token goes in this body only, never in a URL.
  async function gql(query, variables) {
    let res;
    try {
      res = await fetch(endpoint.href, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-Requested-With': 'gqlauth-mail-page' },
        credentials: 'same-origin',
        referrerPolicy: 'no-referrer',
        cache: 'no-store',
        body: JSON.stringify({ query, variables }),
      });
    } catch (e) {
      const err = new Error(MESSAGES.network);
      err.network = true;
      throw err;
    }
    let body;
    try {
      body = await res.json();
    } catch (e) {
      throw new Error('The server answered HTTP ' + res.status + '. Try again later.');
    }
    if (body.errors && body.errors.length) {
      const first = body.errors[0];
      const ext = first.extensions || {};
      const err = new Error(first.message);
      err.code = ext.code;
      err.field = ext.field;
      err.reason = ext.reason;
      err.retryAfter = ext.retryAfter;
      throw err;
    }
    return body.data;
  }

  // explain turns an error into what the person can do about it.
  function explain(err) {
    if (err.code === 'BAD_USER_INPUT' && err.field === 'token') {
      return { text: MESSAGES[err.reason] || MESSAGES.INVALID, final: true };
    }
    if (err.code === 'RATE_LIMITED') {
      return { text: 'Too many attempts. Wait ' + (err.retryAfter || 60) + ' seconds and press the button again.' };
    }
    if (err.code === 'UNAVAILABLE') {
      return { text: 'This service cannot do this now (' + (err.reason || err.message) + ').', final: true };
    }
    if (err.network) {
      return { text: err.message };
    }
    return { text: 'That did not work: ' + err.message };
  }

  function sentence(s) {
    return s ? s.charAt(0).toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? '' : '.') : '';
  }

  let token = readToken();
  const op = OPERATIONS[flow];

  function showPasswordError(text) {
    const el = $('password-error');
    if (!el) {
      return;
    }
    el.textContent = text || '';
    el.hidden = !text;
    $('new-password').setAttribute('aria-invalid', text ? 'true' : 'false');
  }

  async function onSubmit(e) {
    e.preventDefault();
    if (!token) {
      return;
    }
    const variables = { token };
    if (flow === 'reset-password') {
      const pw = $('new-password').value;
      if (!pw) {
        showPasswordError('Enter a new password.');
        $('new-password').focus();
        return;
      }
      if (pw !== $('repeat-password').value) {
        showPasswordError('The two passwords differ.');
        $('repeat-password').focus();
        return;
      }
      showPasswordError('');
      variables.newPassword = pw;
    }
    submit.disabled = true;
    setStatus('Working…');
    try {
      const data = await gql(op.query, variables);
      token = '';
      form.hidden = true;
      $('lead').hidden = true;
      setStatus(op.done(data), 'ok');
      if (flow === 'reset-password') {
        // The reset starts a session this page has no use for: end it rather than leave an
        // unclaimed session behind. The person signs in where they use the service.
        gql('mutation Logout($t: String) { logout(refreshToken: $t) }', { t: data.resetPassword.refreshToken }).catch(() => {});
      }
    } catch (err) {
      if (err.code === 'BAD_USER_INPUT' && err.field === 'newPassword') {
        showPasswordError(sentence(err.message));
        setStatus('');
        $('new-password').focus();
        submit.disabled = false;
        return;
      }
      const why = explain(err);
      setStatus(why.text, 'error');
      if (why.final) {
        token = '';
        form.hidden = true;
        $('request-again').hidden = false;
      } else {
        submit.disabled = false;
      }
    }
  }

  if (!op) {
    setStatus('This page does not know what to do.', 'error');
    return;
  }
  if (!TOKEN_SHAPE.test(token)) {
    token = '';
    setStatus(MESSAGES.missing, 'error');
    $('request-again').hidden = false;
    return;
  }
  form.addEventListener('submit', onSubmit);
  form.hidden = false;
  const first = $('new-password') || submit;
  first.focus();
})();
