// The graphql-http server audit (GraphQL over HTTP spec) against POST/GET /query. Every MUST
// has to pass. The SHOULDs (and MAYs) that fail are listed with their reasons in AUDIT.md; this
// test fails when that list is out of date, in either direction.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { serverAudits } from 'graphql-http';
import { startServer } from '../lib/server.js';

const here = dirname(fileURLToPath(import.meta.url));

// documented returns the audit ids listed in AUDIT.md's table rows ("| 572B | SHOULD … |"),
// by requirement.
function documented() {
  const out = { SHOULD: new Set(), MAY: new Set() };
  for (const line of readFileSync(join(here, '..', 'AUDIT.md'), 'utf8').split('\n')) {
    const m = /^\|\s*`?([0-9A-F]{4})`?\s*\|\s*(SHOULD|MAY)\b/.exec(line);
    if (m) out[m[2]].add(m[1]);
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
  const mustFailures = failed('MUST');
  assert.deepEqual(
    mustFailures.map((r) => `${r.id} ${r.name}: ${r.reason} (HTTP ${r.httpStatus}) ${r.body}`),
    [],
    'every MUST passes',
  );
  assert.ok(results.filter((r) => r.name.startsWith('MUST ')).length >= 10, 'the audit ran its MUSTs');

  const doc = documented();
  for (const req of ['SHOULD', 'MAY']) {
    const ids = failed(req).map((r) => r.id).sort();
    assert.deepEqual(
      ids,
      [...doc[req]].sort(),
      `the failing ${req}s are the ones AUDIT.md lists (failing now: ${failed(req)
        .map((r) => `${r.id} "${r.name}": ${r.reason}`)
        .join('; ')})`,
    );
  }
});
