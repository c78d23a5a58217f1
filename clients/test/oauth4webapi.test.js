// client_credentials and token introspection through oauth4webapi, the standards-following
// OAuth client a JavaScript service would use: discovery from the RFC 8414 metadata, both client
// authentication methods, scopes, and introspection of user tokens, API keys and client tokens
// before and after they are revoked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as oauth from 'oauth4webapi';
import { startServer } from '../lib/server.js';

const insecure = { [oauth.allowInsecureRequests]: true }; // the test server speaks plain HTTP

function registerClient(server, name, ...scopes) {
  const out = server.cli('clients', 'create', '--name', name, ...scopes.flatMap((s) => ['--scope', s]));
  const id = /client_id: (\S+)/.exec(out)?.[1];
  const secret = /client_secret: (\S+)/.exec(out)?.[1];
  assert.ok(id && secret, out);
  return { id, secret };
}

async function discover(server) {
  const issuer = new URL(server.url);
  const res = await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure });
  return oauth.processDiscoveryResponse(issuer, res);
}

test('client_credentials with client_secret_basic and client_secret_post', async (t) => {
  const server = await startServer(t);
  const as = await discover(server);
  assert.equal(as.introspection_endpoint, server.url + '/introspect');
  assert.ok(as.grant_types_supported.includes('client_credentials'));
  assert.ok(as.token_endpoint_auth_methods_supported.includes('client_secret_basic'));
  assert.ok(as.token_endpoint_auth_methods_supported.includes('client_secret_post'));

  const { id, secret } = registerClient(server, 'js service', 'read', 'write');
  const client = { client_id: id };
  for (const auth of [oauth.ClientSecretBasic(secret), oauth.ClientSecretPost(secret)]) {
    const res = await oauth.clientCredentialsGrantRequest(as, client, auth, new URLSearchParams({ scope: 'read' }), insecure);
    const tok = await oauth.processClientCredentialsResponse(as, client, res);
    assert.equal(tok.token_type, 'bearer'); // oauth4webapi lower-cases it
    assert.equal(tok.scope, 'read');
    assert.equal(tok.refresh_token, undefined);
    assert.ok(tok.expires_in > 0);
  }

  // A scope the client lacks, and a wrong secret: RFC 6749 errors the library understands.
  const bad = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(secret),
    new URLSearchParams({ scope: 'admin' }), insecure);
  await assert.rejects(oauth.processClientCredentialsResponse(as, client, bad), (e) => e.error === 'invalid_scope');
  const wrong = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic('cs_wrong'), new URLSearchParams(), insecure);
  assert.equal(wrong.status, 401);
  assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic/);
  // oauth4webapi reports a 401 with a challenge as the challenge itself.
  await assert.rejects(oauth.processClientCredentialsResponse(as, client, wrong),
    (e) => e instanceof oauth.WWWAuthenticateChallengeError && e.cause[0].scheme === 'basic');
});

test('introspection of user tokens, API keys and client tokens, before and after revocation', async (t) => {
  const server = await startServer(t);
  const as = await discover(server);
  const rs = registerClient(server, 'resource server');
  const rsClient = { client_id: rs.id };
  const introspect = async (token) => {
    const res = await oauth.introspectionRequest(as, rsClient, oauth.ClientSecretBasic(rs.secret), token, insecure);
    return oauth.processIntrospectionResponse(as, rsClient, res);
  };

  const user = await server.register('js-intro@example.com');
  let info = await introspect(user.accessToken);
  assert.equal(info.active, true);
  assert.equal(info.token_type, 'access_token');
  assert.equal(info.sub, user.user.id);
  assert.equal(info.username, 'js-intro@example.com');
  assert.deepEqual(info.roles, ['USER']);
  assert.equal(info.iss, server.url);
  assert.equal(info.aud, 'graphql-api');
  assert.ok(info.sid && info.exp > info.iat);
  assert.equal((await introspect(user.refreshToken)).token_type, 'refresh_token');

  const created = await server.gql('mutation { createApiKey(name: "js") { secret apiKey { id } } }', {}, { token: user.accessToken });
  assert.equal(created.errors, undefined, JSON.stringify(created.errors));
  const key = created.data.createApiKey;
  info = await introspect(key.secret);
  assert.equal(info.active, true);
  assert.equal(info.token_type, 'api_key');
  assert.equal(info.sub, user.user.id);

  const svc = registerClient(server, 'caller', 'feed');
  const svcClient = { client_id: svc.id };
  const tokRes = await oauth.clientCredentialsGrantRequest(as, svcClient, oauth.ClientSecretPost(svc.secret), new URLSearchParams(), insecure);
  const svcToken = (await oauth.processClientCredentialsResponse(as, svcClient, tokRes)).access_token;
  info = await introspect(svcToken);
  assert.equal(info.active, true);
  assert.equal(info.client_id, svc.id);
  assert.equal(info.sub, svc.id);
  assert.equal(info.scope, 'feed');
  assert.equal(info.sid, undefined);

  // Revocations: the answers become {"active": false} and nothing more, at once.
  const revoked = await server.gql('mutation ($id: ID!) { revokeApiKey(id: $id) }', { id: key.apiKey.id }, { token: user.accessToken });
  assert.equal(revoked.data.revokeApiKey, true);
  assert.deepEqual(await introspect(key.secret), { active: false });
  const out = await server.gql('mutation ($t: String) { logout(refreshToken: $t) }', { t: user.refreshToken });
  assert.equal(out.data.logout, true);
  assert.deepEqual(await introspect(user.accessToken), { active: false });
  assert.deepEqual(await introspect(user.refreshToken), { active: false });
  server.cli('clients', 'revoke', '--id', svc.id);
  assert.deepEqual(await introspect(svcToken), { active: false });
  assert.deepEqual(await introspect('not a token'), { active: false });

  // Without client authentication the endpoint answers 401 invalid_client.
  const anon = await fetch(server.url + '/introspect', {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'token=x',
  });
  assert.equal(anon.status, 401);
  assert.equal((await anon.json()).error, 'invalid_client');
});
