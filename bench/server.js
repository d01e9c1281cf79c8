'use strict';
/** The built server started as users run it, on a free port, for the benchmarks that drive it over HTTP. */
const { spawn } = require('node:child_process');
const { createServer } = require('node:net');
const { join, resolve } = require('node:path');

const ROOT = resolve(__dirname, '..');
const DIST = join(ROOT, 'dist', 'src');

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

/**
 * Starts `dist/src/main.js` with a fresh admin key and `dbEnv` (the database's settings), and waits for it.
 * `request` answers {status, body}; `call` POSTs and throws on anything but 2xx; both use the admin key unless given another.
 */
async function startServer(dbEnv) {
  const { generateKey } = require(join(DIST, 'auth', 'key-format'));
  const port = await freePort();
  const adminKey = generateKey('tg', 'live').key;
  const proc = spawn(process.execPath, [join(DIST, 'main.js')], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: process.env.PATH, NODE_ENV: 'production', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ADMIN_API_KEY: adminKey, BILLING_AUTO_CLOSE: 'false', BODY_LIMIT_BYTES: String(4 * 1024 * 1024), ...dbEnv },
  });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`server exited: ${stderr}`);
    try {
      if ((await fetch(`${url}/health/live`)).ok) break;
    } catch {
      /* not yet */
    }
    if (i > 300) throw new Error('server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const request = async (method, path, body, key = adminKey) => {
    const r = await fetch(`${url}${path}`, {
      method,
      headers: { 'x-api-key': key, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: r.status, body: await r.json().catch(() => null) };
  };
  const call = async (path, body, key = adminKey) => {
    const r = await request('POST', path, body, key);
    if (r.status >= 300) throw new Error(`${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const stop = () =>
    new Promise((ok) => {
      if (proc.exitCode !== null) return ok();
      proc.once('exit', ok);
      proc.kill('SIGTERM');
    });
  return { url, request, call, stop };
}

module.exports = { startServer };
