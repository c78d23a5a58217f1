// An independent verifier: the npm `jose` package, given only the server's published metadata
// and JWKS (createRemoteJWKSet), verifies EdDSA and ES256 access tokens, as another service
// would without calling us.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import { startServer } from '../lib/server.js';

function keyFile(alg) {
  const { privateKey } = alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const path = join(mkdtempSync(join(tmpdir(), 'gqlauth-key-')), 'key.pem');
  writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return path;
}

for (const alg of ['EdDSA', 'ES256']) {
  test(`jose verifies ${alg} access tokens from the published JWKS`, async (t) => {
    const server = await startServer(t, { JWT_ALG: alg, JWT_PRIVATE_KEY_FILE: keyFile(alg) });
    const meta = await (await fetch(server.url + '/.well-known/oauth-authorization-server')).json();
    assert.equal(meta.issuer, server.url);
    const jwks = createRemoteJWKSet(new URL(meta.jwks_uri));

    const reg = await server.register(`jose-${alg.toLowerCase()}@example.com`);
    const header = decodeProtectedHeader(reg.accessToken);
    assert.equal(header.alg, alg);
    assert.equal(header.typ, 'at+jwt');

    const { payload } = await jwtVerify(reg.accessToken, jwks, {
      issuer: meta.issuer,
      audience: 'graphql-api',
      typ: 'at+jwt',
      algorithms: [alg],
    });
    assert.equal(payload.sub, reg.user.id);
    assert.ok(payload.sid && payload.jti);
    assert.deepEqual(payload.roles, ['USER']);

    // A token whose payload was altered does not verify.
    const [h, , s] = reg.accessToken.split('.');
    const forged = [h, Buffer.from(JSON.stringify({ ...payload, roles: ['ADMIN'] })).toString('base64url'), s].join('.');
    await assert.rejects(jwtVerify(forged, jwks, { issuer: meta.issuer, audience: 'graphql-api' }));
  });
}
