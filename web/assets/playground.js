// The playground: GraphiQL with a sign-in panel.
//
// The session (access and refresh token) lives only in this closure: never in localStorage,
// sessionStorage or a cookie a script can read, so closing the tab forgets it. The access token
// is sent as the Authorization header on queries and mutations (unless the headers editor sets
// one) and in the WebSocket connection_init payload, and is renewed with the `refresh` mutation
// (which also rotates the refresh token) before it expires.
(function () {
  'use strict';

  const root = document.getElementById('graphiql');
  const endpoint = new URL(root.getAttribute('data-endpoint') || '/query', window.location.href);
  const wsEndpoint = new URL(endpoint.href);
  wsEndpoint.protocol = endpoint.protocol === 'https:' ? 'wss:' : 'ws:';

  const PAYLOAD = 'accessToken refreshToken expiresIn user { id email roles }';
  // Sent with our own requests: a header a cross-site form cannot send, which the server asks
  // for before it reads a refresh cookie.
  const PREFLIGHT = { 'X-Requested-With': 'graphiql' };

  let session = null; // { accessToken, refreshToken, expiresAt (ms since epoch), email }
  let refreshTimer = 0;
  let refreshing = null; // the refresh in flight, shared by everyone who waits for it
  const listeners = []; // panels in other files that follow the session (see the bridge)

  const $ = (id) => document.getElementById(id);

  function setStatus(text, isError) {
    const out = $('auth-status');
    out.textContent = text || '';
    out.classList.toggle('error', !!isError);
  }

  function setBusy(busy) {
    for (const id of ['auth-signin', 'auth-register', 'auth-signout']) {
      $(id).disabled = busy;
    }
  }

  function render() {
    $('signed-out').hidden = !!session;
    $('signed-in').hidden = !session;
    for (const fn of listeners) {
      fn(!!session);
    }
    if (session) {
      $('auth-user').textContent = session.email;
      const until = new Date(session.expiresAt).toLocaleTimeString();
      $('auth-expiry').textContent = '· access token until ' + until + ', renewed automatically';
    }
  }

  // gql posts one operation to the endpoint and returns its data, or throws the first error
  // (with its extensions.code and reason).
  async function gql(query, variables, token) {
    const headers = Object.assign({ 'Content-Type': 'application/json' }, PREFLIGHT);
    if (token) {
      headers.Authorization = 'Bearer ' + token;
    }
    const res = await fetch(endpoint.href, {
      method: 'POST',
      headers,
      credentials: 'same-origin',
      body: JSON.stringify({ query, variables }),
    });
    let body;
    try {
      body = await res.json();
    } catch (e) {
      throw new Error('HTTP ' + res.status);
    }
    if (body.errors && body.errors.length) {
      const first = body.errors[0];
      const ext = first.extensions || {};
      const err = new Error(first.message + (ext.reason ? ' (' + ext.reason + ')' : ext.code ? ' (' + ext.code + ')' : ''));
      err.code = ext.code;
      err.reason = ext.reason;
      err.extensions = ext;
      throw err;
    }
    return body.data;
  }

  function start(payload) {
    session = {
      accessToken: payload.accessToken,
      refreshToken: payload.refreshToken,
      expiresAt: Date.now() + payload.expiresIn * 1000,
      email: payload.user.email,
    };
    scheduleRefresh(payload.expiresIn);
    render();
  }

  function end(message, isError) {
    clearTimeout(refreshTimer);
    session = null;
    render();
    setStatus(message, isError);
  }

  // scheduleRefresh renews the access token a quarter of its lifetime (at most a minute)
  // before it expires.
  function scheduleRefresh(expiresIn) {
    clearTimeout(refreshTimer);
    const lead = Math.min(60, expiresIn / 4);
    refreshTimer = setTimeout(refresh, Math.max(0.5, expiresIn - lead) * 1000);
  }

  function refresh() {
    if (!session) {
      return Promise.resolve();
    }
    if (refreshing) {
      return refreshing;
    }
    const current = session;
    refreshing = gql('mutation Refresh($t: String) { refresh(refreshToken: $t) { ' + PAYLOAD + ' } }', { t: current.refreshToken })
      .then((data) => {
        if (session === current) {
          start(data.refresh);
        }
      })
      .catch((err) => {
        if (session !== current) {
          return;
        }
        if (err.code) {
          end('Signed out: ' + err.message, true);
        } else {
          // A network failure: keep the session and try again shortly.
          setStatus('Could not renew the access token (' + err.message + '); retrying.', true);
          clearTimeout(refreshTimer);
          refreshTimer = setTimeout(refresh, 5000);
        }
      })
      .finally(() => {
        refreshing = null;
      });
    return refreshing;
  }

  async function signIn(kind) {
    const email = $('auth-email').value.trim();
    const password = $('auth-password').value;
    if (!email || !password) {
      setStatus('Enter an email and a password.', true);
      return;
    }
    setBusy(true);
    setStatus(kind === 'register' ? 'Registering…' : 'Signing in…');
    try {
      const input = kind === 'register' ? 'RegisterInput' : 'LoginInput';
      const data = await gql('mutation Auth($input: ' + input + '!) { ' + kind + '(input: $input) { ' + PAYLOAD + ' } }', {
        input: { email, password },
      });
      $('auth-password').value = '';
      start(data[kind]);
      setStatus(kind === 'register' ? 'Account created.' : '');
    } catch (err) {
      if (err.code === 'MFA_REQUIRED' && err.extensions.mfaToken) {
        // The password was right; the second step (security.js) asks for the code.
        $('auth-password').value = '';
        setStatus('');
        document.dispatchEvent(new CustomEvent('gqlauth:mfa-required', { detail: { mfaToken: err.extensions.mfaToken, email } }));
        return;
      }
      setStatus(err.message, true);
    } finally {
      setBusy(false);
    }
  }

  async function signOut() {
    const current = session;
    if (!current) {
      return;
    }
    setBusy(true);
    try {
      await gql('mutation Logout($t: String) { logout(refreshToken: $t) }', { t: current.refreshToken }, current.accessToken);
      end('Signed out.');
    } catch (err) {
      end('Signed out here; the server said: ' + err.message, true);
    } finally {
      setBusy(false);
    }
  }

  $('auth-panel').addEventListener('submit', (e) => {
    e.preventDefault();
    signIn('login');
  });
  $('auth-register').addEventListener('click', () => signIn('register'));
  $('auth-signout').addEventListener('click', signOut);
  // Timers sleep in background tabs; catch up when the page is seen again.
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && session && Date.now() > session.expiresAt - 5000) {
      refresh();
    }
  });

  // GraphiQL's fetcher, with the session's token added to the headers it sends (over HTTP) and
  // to the connection_init payload (over WebSocket, where createFetcher puts the headers).
  const base = GraphiQL.createFetcher({
    url: endpoint.href,
    subscriptionUrl: wsEndpoint.href,
    enableIncrementalDelivery: false,
    fetch: (url, init) => {
      const headers = Object.assign({}, PREFLIGHT, init.headers);
      return window.fetch(url, Object.assign({}, init, { headers, credentials: 'same-origin' }));
    },
  });

  function withToken(opts) {
    const headers = Object.assign({}, opts && opts.headers);
    const hasAuth = Object.keys(headers).some((k) => k.toLowerCase() === 'authorization');
    if (session && !hasAuth) {
      headers.Authorization = 'Bearer ' + session.accessToken;
    }
    return Object.assign({}, opts, { headers });
  }

  function fetcher(params, opts) {
    if (session && Date.now() > session.expiresAt - 2000) {
      return refresh().then(() => base(params, withToken(opts)));
    }
    return base(params, withToken(opts));
  }

  const defaultQuery = [
    '# Sign in above. The page then sends your access',
    '# token with each request (Authorization header,',
    '# WebSocket connection_init payload) and renews it',
    '# before it expires. It lives in memory only.',
    '',
    '{',
    '  me {',
    '    email',
    '    roles',
    '  }',
    '}',
    '',
  ].join('\n');

  // el builds an element, for the panels in files of their own (lent through the bridge below):
  // el('li', {class: 'x', onclick: f}, child, 'text', …).
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) {
        continue;
      }
      if (k.startsWith('on')) {
        node.addEventListener(k.slice(2), v);
      } else if (k === 'class') {
        node.className = v;
      } else {
        node.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of children) {
      if (c !== undefined && c !== null && c !== false) {
        node.append(c);
      }
    }
    return node;
  }

  // The bridge for the panels kept in files of their own (security.js: passkeys, the second
  // sign-in step, the Security panel): they make requests as the signed-in user and start a
  // session from an AuthPayload, without reaching into this closure or seeing the refresh token.
  window.gqlauthPlayground = Object.freeze({
    PAYLOAD,
    el,
    gql: async (query, variables) => {
      if (session && Date.now() > session.expiresAt - 2000) {
        await refresh();
      }
      return gql(query, variables, session && session.accessToken);
    },
    signedIn: () => !!session,
    start: (payload) => {
      start(payload);
      setStatus('');
    },
    setStatus,
    onSession: (fn) => {
      listeners.push(fn);
      fn(!!session);
    },
  });

  render();
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultQuery,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
    }),
  );
})();
