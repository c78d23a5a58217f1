// The graphql-ws client (graphql-transport-ws protocol) against the subscription endpoint:
// subscribe with a token and see a LOGIN event from a second sign-in; without a token the
// connection is refused (4403); after logout the socket closes with 4401.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startServer } from '../lib/server.js';

const EVENTS = 'subscription { securityEvents { type sessionId } }';

// connect opens a graphql-ws client and records how its socket closed.
function connect(t, url, connectionParams) {
  let closedWith;
  const closed = new Promise((resolve) => {
    closedWith = resolve;
  });
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams,
    lazy: false,
    retryAttempts: 0,
    on: { closed: (event) => closedWith(event) },
    onNonLazyError: () => {},
  });
  t.after(() => client.dispose());
  return { client, closed };
}

// subscribe returns an async iterator over the subscription's results.
function subscribe(client, query) {
  const queue = [];
  let wake = () => {};
  let failure = null;
  let done = false;
  const dispose = client.subscribe(
    { query },
    {
      next: (v) => {
        queue.push(v);
        wake();
      },
      error: (e) => {
        failure = e;
        wake();
      },
      complete: () => {
        done = true;
        wake();
      },
    },
  );
  return {
    dispose,
    async next(timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (!queue.length) {
        if (failure) throw failure;
        if (done) return undefined;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error('no subscription result in time');
        await new Promise((r) => {
          wake = r;
          setTimeout(r, left).unref();
        });
      }
      return queue.shift();
    },
  };
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

test('graphql-ws: events with a token, refusal without, 4401 after logout', async (t) => {
  const server = await startServer(t);
  const email = 'ws@example.com';
  const session = await server.register(email);

  await t.test('a second sign-in shows up as a LOGIN event', async (t) => {
    const { client } = connect(t, server.wsURL, { Authorization: `Bearer ${session.accessToken}` });
    const events = subscribe(client, EVENTS);
    // Give the subscription a moment to be registered before the event happens.
    await new Promise((r) => setTimeout(r, 300));
    const other = await server.login(email);
    // Other events of the account may come first (the registration's verification mail is
    // sent, and its MAIL_SENT recorded, on the outbox's own time): wait for the LOGIN.
    let result;
    do {
      result = await events.next();
      assert.equal(result.errors, undefined);
    } while (result.data.securityEvents.type !== 'LOGIN');
    assert.equal(result.data.securityEvents.type, 'LOGIN');
    assert.ok(result.data.securityEvents.sessionId, 'the event names the new session');
    assert.notEqual(other.accessToken, session.accessToken);
    events.dispose();
  });

  await t.test('without a token the connection is refused with 4403', async (t) => {
    const { client, closed } = connect(t, server.wsURL, {});
    const events = subscribe(client, EVENTS);
    const event = await withTimeout(closed, 5000, 'close');
    assert.equal(event.code, 4403);
    await assert.rejects(events.next(1000));
  });

  await t.test('with a bad token the connection is refused with 4403', async (t) => {
    const { closed } = connect(t, server.wsURL, { Authorization: 'Bearer not-a-token' });
    const event = await withTimeout(closed, 5000, 'close');
    assert.equal(event.code, 4403);
  });

  await t.test('after logout the socket closes with 4401 within 5 s', async (t) => {
    const mine = await server.login(email);
    const { client, closed } = connect(t, server.wsURL, { Authorization: `Bearer ${mine.accessToken}` });
    const events = subscribe(client, EVENTS);
    await new Promise((r) => setTimeout(r, 300));
    const out = await server.gql('mutation ($t: String) { logout(refreshToken: $t) }', { t: mine.refreshToken });
    assert.equal(out.data.logout, true);
    const started = Date.now();
    const event = await withTimeout(closed, 6000, 'close after logout');
    assert.equal(event.code, 4401);
    assert.ok(Date.now() - started < 5500, 'closed within 5 s');
    // The subscription saw its own LOGOUT event or simply ended with the socket.
    await events.next(1000).catch(() => {});
  });
});
