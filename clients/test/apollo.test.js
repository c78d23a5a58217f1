// Apollo Client (core, no React) against the service: an auth link adds the bearer token; an
// error link answers UNAUTHENTICATED/TOKEN_EXPIRED by calling `refresh` once and retrying the
// operation; and automatic persisted queries make a full round trip.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { ErrorLink } from '@apollo/client/link/error';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { from as fromPromise, switchMap } from 'rxjs';
import { PASSWORD, startServer } from '../lib/server.js';

const PAYLOAD = gql`
  fragment Payload on AuthPayload {
    accessToken
    refreshToken
    expiresIn
    user {
      id
      email
    }
  }
`;
const REGISTER = gql`
  mutation Register($input: RegisterInput!) {
    register(input: $input) {
      ...Payload
    }
  }
  ${PAYLOAD}
`;
const LOGIN = gql`
  mutation Login($input: LoginInput!) {
    login(input: $input) {
      ...Payload
    }
  }
  ${PAYLOAD}
`;
const REFRESH = gql`
  mutation Refresh($refreshToken: String) {
    refresh(refreshToken: $refreshToken) {
      ...Payload
    }
  }
  ${PAYLOAD}
`;
const LOGOUT = gql`
  mutation Logout($refreshToken: String) {
    logout(refreshToken: $refreshToken)
  }
`;
const ME = gql`
  query Me {
    me {
      id
      email
    }
  }
`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// recordingFetch is fetch that remembers each request (method, URL, JSON body).
function recordingFetch() {
  const calls = [];
  const fn = async (url, init = {}) => {
    calls.push({ method: init.method || 'GET', url: String(url), body: init.body ? JSON.parse(init.body) : null, headers: init.headers });
    return fetch(url, init);
  };
  return { fetch: fn, calls };
}

// extensionsOf returns the extensions of the first GraphQL error of a rejected operation.
function extensionsOf(err) {
  assert.ok(CombinedGraphQLErrors.is(err), `a GraphQL error, got ${err}`);
  return err.errors[0].extensions;
}

/** newClient builds the client an application would: tokens in memory, auth and error links. */
function newClient(uri) {
  const session = { accessToken: null, refreshToken: null };
  const net = recordingFetch();
  let refreshing = null;

  const authLink = new SetContextLink((prev) => {
    const headers = { ...prev.headers };
    if (session.accessToken && !prev.skipAuth) headers.authorization = `Bearer ${session.accessToken}`;
    return { headers };
  });

  // One refresh at a time: operations failing together share it.
  const refresh = () => {
    refreshing ??= client
      .mutate({ mutation: REFRESH, variables: { refreshToken: session.refreshToken }, context: { skipAuth: true, isRefresh: true } })
      .then(({ data }) => {
        session.accessToken = data.refresh.accessToken;
        session.refreshToken = data.refresh.refreshToken;
      })
      .finally(() => {
        refreshing = null;
      });
    return refreshing;
  };

  const errorLink = new ErrorLink(({ error, operation, forward }) => {
    const ctx = operation.getContext();
    const expired =
      CombinedGraphQLErrors.is(error) &&
      error.errors.some((e) => e.extensions?.code === 'UNAUTHENTICATED' && e.extensions?.reason === 'TOKEN_EXPIRED');
    if (!expired || ctx.retried || ctx.isRefresh || !session.refreshToken) return;
    operation.setContext({ retried: true });
    return fromPromise(refresh()).pipe(switchMap(() => forward(operation)));
  });

  const client = new ApolloClient({
    link: ApolloLink.from([errorLink, authLink, new HttpLink({ uri, fetch: net.fetch })]),
    cache: new InMemoryCache(),
    defaultOptions: { query: { fetchPolicy: 'network-only' } },
  });
  return { client, session, calls: net.calls };
}

test('Apollo Client: bearer token, transparent refresh after expiry, logout', async (t) => {
  const server = await startServer(t, { ACCESS_TOKEN_TTL: '1s' });
  const { client, session, calls } = newClient(server.graphqlURL);
  const email = 'apollo@example.com';

  const reg = await client.mutate({ mutation: REGISTER, variables: { input: { email, password: PASSWORD } } });
  assert.equal(reg.data.register.user.email, email);
  assert.equal(reg.data.register.expiresIn, 1);

  const login = await client.mutate({ mutation: LOGIN, variables: { input: { email, password: PASSWORD } } });
  session.accessToken = login.data.login.accessToken;
  session.refreshToken = login.data.login.refreshToken;
  const firstRefreshToken = session.refreshToken;

  const me1 = await client.query({ query: ME });
  assert.equal(me1.data.me.email, email);
  assert.match(calls.at(-1).headers.authorization, /^Bearer ey/);

  // 1 s lifetime plus the 5 s leeway: the token is refused as expired after ~6 s.
  await sleep(7000);
  const before = calls.length;
  const me2 = await client.query({ query: ME });
  assert.equal(me2.data.me.email, email);
  const names = calls.slice(before).map((c) => c.body.operationName);
  assert.deepEqual(names, ['Me', 'Refresh', 'Me'], 'refused as expired, refreshed once, retried');
  assert.notEqual(session.refreshToken, firstRefreshToken, 'the refresh token was rotated');

  const out = await client.mutate({ mutation: LOGOUT, variables: { refreshToken: session.refreshToken } });
  assert.equal(out.data.logout, true);

  const refused = await client.query({ query: ME }).then(
    () => assert.fail('me after logout must be refused'),
    (err) => err,
  );
  const ext = extensionsOf(refused);
  assert.equal(ext.code, 'UNAUTHENTICATED');
  assert.equal(ext.reason, 'TOKEN_REVOKED');

  // The rotated-away refresh token is dead too: refresh fails, nothing loops.
  const again = await client
    .mutate({ mutation: REFRESH, variables: { refreshToken: session.refreshToken }, context: { skipAuth: true, isRefresh: true } })
    .then(
      () => assert.fail('refresh after logout must fail'),
      (err) => err,
    );
  assert.equal(extensionsOf(again).reason, 'REFRESH_TOKEN_INVALID');
});

test('Apollo Client: automatic persisted queries', async (t) => {
  const server = await startServer(t);
  const { accessToken } = await server.register('apq@example.com');
  const sha256 = (q) => createHash('sha256').update(q).digest('hex');

  const apqClient = (useGETForHashedQueries) => {
    const net = recordingFetch();
    const auth = new SetContextLink((prev) => ({ headers: { ...prev.headers, authorization: `Bearer ${accessToken}` } }));
    const client = new ApolloClient({
      link: ApolloLink.from([new PersistedQueryLink({ sha256, useGETForHashedQueries }), auth, new HttpLink({ uri: server.graphqlURL, fetch: net.fetch })]),
      cache: new InMemoryCache(),
      defaultOptions: { query: { fetchPolicy: 'network-only' } },
    });
    return { client, calls: net.calls };
  };

  // First use: the hash alone is unknown (PERSISTED_QUERY_NOT_FOUND), so the link sends the
  // query with its hash, which the server stores.
  const first = apqClient(false);
  const r1 = await first.client.query({ query: ME });
  assert.equal(r1.data.me.email, 'apq@example.com');
  assert.equal(first.calls.length, 2);
  assert.equal(first.calls[0].body.query, undefined, 'first try sends only the hash');
  const hash = first.calls[0].body.extensions.persistedQuery.sha256Hash;
  assert.equal(first.calls[0].body.extensions.persistedQuery.version, 1);
  assert.ok(first.calls[1].body.query.includes('me'), 'the retry sends the query');
  assert.equal(first.calls[1].body.extensions.persistedQuery.sha256Hash, hash);

  // Another client (no memory of the first): one request, hash only, answered from the
  // server's cache; over POST and over GET.
  for (const useGET of [false, true]) {
    const c = apqClient(useGET);
    const r = await c.client.query({ query: ME });
    assert.equal(r.data.me.email, 'apq@example.com');
    assert.equal(c.calls.length, 1, `one request (GET=${useGET})`);
    assert.equal(c.calls[0].method, useGET ? 'GET' : 'POST');
    if (useGET) {
      const u = new URL(c.calls[0].url);
      assert.equal(u.searchParams.get('query'), null);
      assert.equal(JSON.parse(u.searchParams.get('extensions')).persistedQuery.sha256Hash, hash);
    } else {
      assert.equal(c.calls[0].body.query, undefined);
    }
  }

  // A wrong hash for a query is refused, not stored.
  const mismatch = await fetch(server.graphqlURL, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ query: '{ __typename }', extensions: { persistedQuery: { version: 1, sha256Hash: '0'.repeat(64) } } }),
  }).then((r) => r.json());
  assert.ok(mismatch.errors?.length, 'a hash that does not match the query is refused');
});
