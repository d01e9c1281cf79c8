'use strict';
/**
 * Key import on MariaDB/MySQL, on the build (`npm run build` first): 100,000 keys imported as one batch by
 * `cli import-keys` (half plaintext in no particular format, half SHA-256 hashes from an old system), timed
 * from the command's start to its exit (boot and migrations check included); then the same number through
 * `POST /v1/admin/consumers/{id}/keys/import`, 1000 keys a request, one after another. A sample of the keys
 * is then verified through the server, so that a fast import of unusable rows does not pass.
 *
 * `run(ctx)` returns rows {scenario, value, unit, target?, pass?}; `node bench/import.bench.js` runs it alone.
 * Environment: BENCH_MYSQL_URL (default mysql://root@127.0.0.1:3306/), BENCH_IMPORT_KEYS (default 100000).
 */
const { spawn } = require('node:child_process');
const { createHash, randomBytes } = require('node:crypto');
const { mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const { startServer } = require('./server');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');

const ROOT = resolve(__dirname, '..');
const DIST = join(ROOT, 'dist', 'src');
const TARGET_SECONDS = 60;
const PER_REQUEST = 1000;

function mysqlBase() {
  const url = new URL(process.env.BENCH_MYSQL_URL || process.env.TEST_DATABASE_URL || 'mysql://root@127.0.0.1:3306/');
  url.pathname = '/';
  return url;
}

function mysqlConnection(url = mysqlBase()) {
  const mysql = require('mysql2/promise');
  return mysql.createConnection({
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: url.pathname.slice(1) || undefined,
    connectTimeout: 1000,
  });
}

async function mysqlReachable() {
  try {
    await (await mysqlConnection()).end();
    return true;
  } catch {
    return false;
  }
}

async function withSchema(fn) {
  const name = `tg_bench_import_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
  const admin = await mysqlConnection();
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
  const url = new URL(mysqlBase().toString());
  url.pathname = `/${name}`;
  try {
    return await fn(url.toString());
  } finally {
    const c = await mysqlConnection();
    await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await c.end();
  }
}

/** `count` keys as another system issued them, and import entries for them: even ones plaintext, odd ones SHA-256. */
function makeKeys(count, tag) {
  const keys = [];
  const entries = [];
  for (let i = 0; i < count; i++) {
    const key = `old_${tag}_${randomBytes(20).toString('hex')}`;
    keys.push(key);
    const common = { name: `imported ${i}`, scopes: ['usage:read', 'usage:write'], externalId: `${tag}-${i}`, metadata: { plan: 'legacy' } };
    entries.push(i % 2 ? { hash: createHash('sha256').update(key).digest('hex'), algorithm: 'sha256', ...common } : { key, ...common });
  }
  return { keys, entries };
}

function runCli(args, env) {
  return new Promise((ok, fail) => {
    const proc = spawn(process.execPath, [join(DIST, 'cli.js'), ...args], { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (err += d));
    proc.on('error', fail);
    proc.on('close', (code) => (code === 0 ? ok(out) : fail(new Error(`import-keys exited ${code}: ${err}`))));
  });
}

/** A few keys of each kind must now verify (the hashed ones are re-hashed by it). */
async function checkSample(server, keys) {
  for (const i of [0, 1, Math.floor(keys.length / 2), keys.length - 2, keys.length - 1]) {
    const r = await server.request('GET', '/v1/me', undefined, keys[i]);
    if (r.status !== 200) throw new Error(`imported key ${i} does not verify: ${r.status} ${JSON.stringify(r.body)}`);
  }
}

async function run(ctx = {}) {
  const log = ctx.log || ((m) => process.stderr.write(`${m}\n`));
  const count = Number(process.env.BENCH_IMPORT_KEYS || 100_000);
  if (!(await mysqlReachable())) {
    log('import: MariaDB/MySQL not reachable; skipped');
    return [];
  }
  const rows = [];
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-import-'));
  try {
    await withSchema(async (url) => {
      const dbEnv = { DB_TYPE: 'mysql', DATABASE_URL: url, KEY_HASH_SECRET: 'bench-secret-0123456789abcdef' };
      const server = await startServer(dbEnv);
      try {
        const viaCli = await server.call('/v1/admin/consumers', { name: 'imported by cli' });
        const viaApi = await server.call('/v1/admin/consumers', { name: 'imported by api' });

        const cli = makeKeys(count, 'cli');
        const file = join(dir, 'keys.ndjson');
        writeFileSync(file, cli.entries.map((e) => JSON.stringify(e)).join('\n') + '\n');
        log(`import: ${count} keys through cli import-keys into MariaDB`);
        const started = process.hrtime.bigint();
        const out = JSON.parse(await runCli(['import-keys', file, '--consumer', viaCli.id, '--json'], dbEnv));
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        if (out.imported !== count) throw new Error(`import-keys imported ${out.imported} of ${count}`);
        await checkSample(server, cli.keys);
        rows.push({ scenario: `key import: ${count} keys, one batch, cli import-keys (MariaDB, half plaintext, half sha256)`, value: Number(seconds.toFixed(1)), unit: 's', target: `≤ ${TARGET_SECONDS}`, pass: seconds <= TARGET_SECONDS });

        const api = makeKeys(count, 'api');
        log(`import: ${count} keys through POST /v1/admin/consumers/{id}/keys/import, ${PER_REQUEST} a request`);
        const apiStarted = process.hrtime.bigint();
        for (let i = 0; i < count; i += PER_REQUEST) {
          await server.call(`/v1/admin/consumers/${viaApi.id}/keys/import`, { keys: api.entries.slice(i, i + PER_REQUEST) });
        }
        const apiSeconds = Number(process.hrtime.bigint() - apiStarted) / 1e9;
        await checkSample(server, api.keys);
        rows.push({ scenario: `key import: ${count} keys via the API, ${PER_REQUEST}/request, sequential (MariaDB)`, value: Number(apiSeconds.toFixed(1)), unit: 's', target: `≤ ${TARGET_SECONDS}`, pass: apiSeconds <= TARGET_SECONDS });
      } finally {
        await server.stop();
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

module.exports = { run };

if (require.main === module) {
  run()
    .then((rows) => {
      console.table(rows);
      process.exit(rows.some((r) => r.pass === false) ? 1 : 0);
    })
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
