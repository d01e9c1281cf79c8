#!/usr/bin/env node
'use strict';
/**
 * `npm run bench`: runs every bench/*.bench.js module in name order against the built server and prints
 * one table. A module exports `async run(ctx)` and returns rows `{scenario, value, unit, target?, pass?}`;
 * `ctx` starts servers (child processes of dist/src/main.js on a fresh SQLite file), seeds them through
 * the admin API and drives load with autocannon, so that every module measures the same way.
 *
 * Environment: BENCH_DURATION_SECONDS (per load run, default 8), BENCH_CONNECTIONS (default 50),
 * BENCH_REDIS_URL or REDIS_URL (default redis://127.0.0.1:6379, used when it answers),
 * BENCH_ONLY (a substring of the module names to run).
 */
const { execFileSync, spawn } = require('node:child_process');
const { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } = require('node:fs');
const net = require('node:net');
const { tmpdir, cpus } = require('node:os');
const { join, resolve } = require('node:path');
const autocannon = require('autocannon');

const ROOT = resolve(__dirname, '..');
const MAIN = join(ROOT, 'dist', 'src', 'main.js');

/** Clock ticks per second of /proc/<pid>/stat CPU times (Linux). */
let clockTicks = null;
try {
  clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || null;
} catch {
  clockTicks = null;
}

/** CPU time (user + system) used so far by a process, in microseconds; null where /proc is missing. */
function cpuMicros(pid) {
  if (!clockTicks) return null;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicks;
  } catch {
    return null;
  }
}

function log(message) {
  process.stderr.write(`[bench] ${message}\n`);
}

function freePort() {
  return new Promise((ok, fail) => {
    const srv = net.createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

/** Whether something answers PING at a redis:// URL (one RESP round trip, no client library needed). */
function redisAnswers(url) {
  return new Promise((done) => {
    let u;
    try {
      u = new URL(url);
    } catch {
      return done(false);
    }
    const socket = net.connect({ host: u.hostname, port: Number(u.port || 6379) });
    const finish = (ok) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => finish(d.toString().startsWith('+PONG')));
  });
}

/** A Tollgate server started from the build, as users run it. */
class BenchServer {
  constructor(url, adminKey, sqlitePath, proc, dir) {
    this.url = url;
    this.adminKey = adminKey;
    this.sqlitePath = sqlitePath;
    this.proc = proc;
    this.dir = dir;
    this.output = [];
  }

  async request(method, path, body, key = this.adminKey) {
    const headers = { 'x-api-key': key };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(this.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = text;
    }
    return { status: r.status, body: json, headers: r.headers };
  }

  /** Stops the process; the database stays when `keepDb` (to start another server on it). */
  async stop(keepDb = false) {
    if (this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    if (!keepDb && this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Starts dist/src/main.js on a fresh SQLite database (or `reuse`'s database, after `reuse.stop(true)`),
 * LOG_LEVEL=warn, no Redis unless env sets REDIS_URL; `nodeArgs` go to node before the script (e.g. --cpu-prof).
 */
async function startServer({ env = {}, reuse, nodeArgs = [] } = {}) {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
  const dir = reuse ? reuse.dir : mkdtempSync(join(tmpdir(), 'tollgate-bench-'));
  const sqlitePath = reuse ? reuse.sqlitePath : join(dir, 'tollgate.sqlite');
  const adminKey = reuse ? reuse.adminKey : require(join(ROOT, 'dist', 'src', 'auth', 'key-format.js')).generateKey('tg', 'live').key;
  const port = await freePort();
  const childEnv = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    DB_TYPE: 'sqlite',
    SQLITE_PATH: sqlitePath,
    ADMIN_API_KEY: adminKey,
    BILLING_AUTO_CLOSE: 'false',
    ...env,
  };
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
  const proc = spawn(process.execPath, [...nodeArgs, MAIN], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const server = new BenchServer(`http://127.0.0.1:${port}`, adminKey, sqlitePath, proc, dir);
  const keep = (chunk) => {
    server.output.push(chunk.toString());
    if (server.output.length > 200) server.output.shift();
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const until = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited (${proc.exitCode}):\n${server.output.join('')}`);
    try {
      if ((await fetch(`${server.url}/health/live`)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > until) throw new Error(`server not ready:\n${server.output.join('')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return server;
}

/** Runs `count` async tasks, `concurrency` at a time. */
async function parallel(count, concurrency, task) {
  const out = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await task(i);
      }
    }),
  );
  return out;
}

/**
 * Creates `consumers` consumers with `keysPerConsumer` keys each through the admin API; returns the
 * plaintext keys, consumer by consumer.
 */
async function seedKeys(server, { consumers, keysPerConsumer, consumer = {}, key = {} }) {
  const created = await parallel(consumers, 8, async (i) => {
    const c = await server.request('POST', '/v1/admin/consumers', { name: `bench ${i}`, ...consumer });
    if (c.status !== 201) throw new Error(`consumer create failed: ${c.status} ${JSON.stringify(c.body)}`);
    return c.body.id;
  });
  const keys = await parallel(consumers * keysPerConsumer, 8, async (i) => {
    const consumerId = created[Math.floor(i / keysPerConsumer)];
    const k = await server.request('POST', `/v1/admin/consumers/${consumerId}/keys`, { name: `bench ${i}`, scopes: [], ...key });
    if (k.status !== 201) throw new Error(`key create failed: ${k.status} ${JSON.stringify(k.body)}`);
    return k.body.key;
  });
  return { consumerIds: created, keys };
}

/**
 * One autocannon run. `keys` (optional) are sent in turn, one per request, by every connection; `body`
 * (optional) is sent as JSON.
 * Returns throughput (mean requests/s), client-side latency, the count of non-2xx answers, and the
 * server's CPU time per request (µs, from /proc; it does not depend on how fast the client is).
 */
async function load({ server, path, keys, duration, connections, method = 'GET', body, headers }) {
  const extra = body === undefined ? {} : { body: JSON.stringify(body) };
  const contentType = { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers };
  const requests =
    keys && keys.length
      ? keys.map((k) => ({ method, path, headers: { 'x-api-key': k, ...contentType }, ...extra }))
      : [{ method, path, headers: contentType, ...extra }];
  const cpuBefore = cpuMicros(server.proc.pid);
  const result = await autocannon({
    url: server.url,
    connections: connections ?? ctx.connections,
    duration: duration ?? ctx.duration,
    requests,
  });
  return {
    rps: result.requests.average,
    total: result.requests.total,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    serverCpuMicros: cpuBefore === null || result.requests.total === 0 ? null : (cpuMicros(server.proc.pid) - cpuBefore) / result.requests.total,
  };
}

const ctx = {
  root: ROOT,
  duration: Number(process.env.BENCH_DURATION_SECONDS || 8),
  connections: Number(process.env.BENCH_CONNECTIONS || 50),
  redisUrl: null,
  BenchServer,
  startServer,
  seedKeys,
  load,
  parallel,
  log,
};

function format(value) {
  if (value === null || value === undefined) return 'n/a';
  if (typeof value !== 'number') return String(value);
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function printTable(rows) {
  const header = ['scenario', 'value', 'unit', 'target', 'result'];
  const lines = rows.map((r) => [
    r.scenario,
    format(r.value),
    r.unit ?? '',
    r.target ?? '',
    r.pass === undefined ? '' : r.pass === null ? 'SKIP' : r.pass ? 'PASS' : 'FAIL',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => String(l[i]).length)));
  const row = (cells) => `| ${cells.map((c, i) => (i === 1 ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]))).join(' | ')} |`;
  console.log(row(header));
  console.log(`|${widths.map((w, i) => (i === 1 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`);
  for (const l of lines) console.log(row(l));
}

async function main() {
  const candidate = process.env.BENCH_REDIS_URL || process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  ctx.redisUrl = (await redisAnswers(candidate)) ? candidate : null;
  const only = process.env.BENCH_ONLY;
  const modules = readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.js') && (!only || f.includes(only)))
    .sort();
  const started = new Date();
  log(`${modules.length} module(s); ${ctx.connections} connections, ${ctx.duration} s per run; Redis: ${ctx.redisUrl ?? 'not reachable'}`);
  const rows = [];
  let failed = false;
  for (const file of modules) {
    log(`running ${file}`);
    try {
      const out = await require(join(__dirname, file)).run(ctx);
      rows.push(...out);
    } catch (err) {
      failed = true;
      rows.push({ scenario: `${file}: crashed (${err.message.split('\n')[0]})`, value: null, unit: '', pass: false });
      log(err.stack ?? String(err));
    }
  }
  console.log(`\nTollgate benchmark, ${started.toISOString().slice(0, 10)}, node ${process.version}, ${cpus().length} CPU(s) (${cpus()[0]?.model ?? 'unknown'})\n`);
  printTable(rows);
  const verdicts = rows.filter((r) => r.pass === true || r.pass === false);
  const failures = verdicts.filter((r) => r.pass === false).length;
  console.log(`\n${verdicts.length - failures}/${verdicts.length} targets met.`);
  if (failed) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  });
}

module.exports = { ctx, cpuMicros };
