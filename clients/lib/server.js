// Starts the real gqlauth binary for one test file: a free port, a fresh data folder and
// signing key, and the environment the test asks for. The server is stopped (SIGTERM, then
// SIGKILL) when the test ends, and in any case when this process exits. With GQLAUTH_PID_DIR
// set (run.sh), each running server's pid is also kept there as a file, so that the script can
// stop what a crashed test process left behind.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

let builtBinary;

// binary is $GQLAUTH_BIN (set by run.sh), or a binary built once for this process.
function binary() {
  if (process.env.GQLAUTH_BIN) return process.env.GQLAUTH_BIN;
  if (!builtBinary) {
    const out = join(mkdtempSync(join(tmpdir(), 'gqlauth-bin-')), 'gqlauth');
    const r = spawnSync('go', ['build', '-o', out, '.'], { cwd: repoRoot, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('go build failed');
    builtBinary = out;
  }
  return builtBinary;
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * startServer runs the binary until the test t ends and returns its URLs and small helpers.
 * @param {import('node:test').TestContext | {after: Function}} t
 * @param {Record<string,string>} env overrides (ACCESS_TOKEN_TTL, REFRESH_COOKIE, …)
 * @param {{localhost?: boolean}} opts localhost: the service's public address (JWT_ISSUER,
 *   PUBLIC_URL, so the WebAuthn origin) is http://localhost:PORT, which browsers treat as a
 *   secure context (an IP address is not one); pages should open server.publicURL.
 */
export async function startServer(t, env = {}, { localhost = false } = {}) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'gqlauth-data-'));
  const url = `http://127.0.0.1:${port}`;
  const publicURL = localhost ? `http://localhost:${port}` : url;
  const serverEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PORT: String(port),
    DATA_DIR: dataDir,
    JWT_SECRET: randomBytes(32).toString('base64url'),
    JWT_ISSUER: publicURL,
    ...(localhost ? { PUBLIC_URL: publicURL } : {}),
    BCRYPT_COST: '10',
    // Hashing at normal priority: Chromium and node run beside the server, and would starve
    // bcrypt threads of the lowest priority (the default), slowing every sign-in of the tests.
    BCRYPT_PRIORITY: 'normal',
    ...env,
  };
  const child = spawn(binary(), [], { env: serverEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  const pidFile = process.env.GQLAUTH_PID_DIR ? join(process.env.GQLAUTH_PID_DIR, String(child.pid)) : null;
  if (pidFile) writeFileSync(pidFile, String(child.pid));
  let log = '';
  child.stderr.on('data', (d) => {
    log += d;
  });
  let exited = null;
  const exit = new Promise((r) =>
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      if (pidFile) rmSync(pidFile, { force: true });
      r(exited);
    }),
  );

  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
      await exit;
      clearTimeout(timer);
    }
    running.delete(child);
    rmSync(dataDir, { recursive: true, force: true });
  };
  t.after(stop);

  const deadline = Date.now() + 15000;
  for (;;) {
    if (exited) throw new Error(`server exited during start (${JSON.stringify(exited)}):\n${log}`);
    try {
      const res = await fetch(url + '/healthz');
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('server did not become healthy:\n' + log);
    await sleep(50);
  }

  const server = {
    url,
    publicURL, // what the service calls itself (its issuer and WebAuthn origin)
    dataDir, // the SQLite database is dataDir/app.db

    graphqlURL: url + '/query',
    wsURL: `ws://127.0.0.1:${port}/query`,
    log: () => log,
    stop,
    /** cli runs a command (`clients create …`) on the server's database; returns its stdout. */
    cli(...args) {
      const r = spawnSync(binary(), args, { env: serverEnv, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`gqlauth ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
      return r.stdout;
    },
    /** gql posts one operation and returns the parsed body (with the HTTP response). */
    async gql(query, variables = {}, { token, headers = {} } = {}) {
      const h = { 'Content-Type': 'application/json', ...headers };
      if (token) h.Authorization = 'Bearer ' + token;
      const res = await fetch(server.graphqlURL, { method: 'POST', headers: h, body: JSON.stringify({ query, variables }) });
      const body = await res.json();
      Object.defineProperty(body, 'response', { value: res });
      return body;
    },
    register(email, password = PASSWORD) {
      return signIn('register', email, password);
    },
    login(email, password = PASSWORD) {
      return signIn('login', email, password);
    },
  };
  /** signIn runs the register or login mutation (both take the same input) and returns its payload. */
  async function signIn(field, email, password) {
    const body = await server.gql(
      `mutation ($e: String!, $p: String!) { ${field}(input: { email: $e, password: $p }) { ${PAYLOAD} } }`,
      { e: email, p: password },
    );
    if (body.errors) throw new Error(`${field}: ` + JSON.stringify(body.errors));
    return body.data[field];
  }
  return server;
}

export const PASSWORD = 'correct horse battery staple';
export const PAYLOAD = 'accessToken refreshToken tokenType expiresIn user { id email }';
