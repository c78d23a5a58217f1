// The graphql-http server audit (GraphQL over HTTP spec) against POST/GET /query. Every MUST
// and every SHOULD has to pass. A MAY that the server does not take is listed with its reason
// in AUDIT.md; this test fails when that list is out of date, in either direction.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { serverAudits } from 'graphql-http';
import { startServer } from '../lib/server.js';

const here = dirname(fileURLToPath(import.meta.url));

// documentedMays returns the audit ids of the MAYs AUDIT.md lists as not taken, from its
// table rows ("| 3E3A | MAY … |").
function documentedMays() {
  const out = new Set();
  for (const line of readFileSync(join(here, '..', 'AUDIT.md'), 'utf8').split('\n')) {
    const m = /^\|\s*`?([0-9A-F]{4})`?\s*\|\s*MAY\b/.exec(line);
    if (m) out.add(m[1]);
  }
  return out;
}

test('graphql-http server audit', async (t) => {
  const server = await startServer(t);
  const results = [];
  for (const audit of serverAudits({ url: server.graphqlURL })) {
    const r = await audit.fn();
    let body;
    if (r.status !== 'ok') {
      body = await r.response.text().catch(() => '');
    }
    results.push({ id: audit.id, name: audit.name, status: r.status, reason: r.reason, httpStatus: r.response?.status, body });
  }
  mkdirSync(join(here, '..', 'out'), { recursive: true });
  writeFileSync(join(here, '..', 'out', 'audit.json'), JSON.stringify(results, null, 2) + '\n');

  const failed = (req) => results.filter((r) => r.status !== 'ok' && r.name.startsWith(req + ' '));
  const describe = (rs) => rs.map((r) => `${r.id} ${r.name}: ${r.reason} (HTTP ${r.httpStatus}) ${r.body}`);
  for (const req of ['MUST', 'SHOULD']) {
    assert.deepEqual(describe(failed(req)), [], `every ${req} passes`);
    assert.ok(results.filter((r) => r.name.startsWith(req + ' ')).length >= 10, `the audit ran its ${req}s`);
  }
  assert.deepEqual(
    failed('MAY').map((r) => r.id).sort(),
    [...documentedMays()].sort(),
    `the MAYs not taken are the ones AUDIT.md lists (not taken now: ${describe(failed('MAY')).join('; ')})`,
  );
});
