'use strict';
/**
 * Usage metering benchmarks, on the build (`npm run build` first):
 *  - counter rows flushed per second into MariaDB/MySQL by one writer, through the same code the
 *    recorder uses (one transaction per 5000-row batch: flush id + sorted multi-row upsertAdd), into a
 *    fresh schema: first as new rows, then adding to the same rows;
 *  - reported events ingested per second through POST /v1/usage/events, 1000 per request, on SQLite
 *    and (when reachable) MariaDB, against the built server.
 *
 * `run(ctx)` returns rows {scenario, value, unit, target?, pass?}; `node bench/usage.bench.js` runs it alone.
 * Environment: BENCH_MYSQL_URL (default mysql://root@127.0.0.1:3306/), BENCH_USAGE_SECONDS (default 5).
 */
const { mkdtempSync, rmSync } = require('node:fs');
const { startServer } = require('./server');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');

const ROOT = resolve(__dirname, '..');
const DIST = join(ROOT, 'dist', 'src');

const FLUSH_ROWS = 200_000;
const FLUSH_BATCH = 5000;
const EVENTS_PER_REQUEST = 1000;
const CONCURRENCY = 2;

function mysqlBase() {
  const url = new URL(process.env.BENCH_MYSQL_URL || process.env.TEST_DATABASE_URL || 'mysql://root@127.0.0.1:3306/');
  url.pathname = '/';
  return url;
}

async function withSchema(fn) {
  const mysql = require('mysql2/promise');
  const base = mysqlBase();
  const conn = () =>
    mysql.createConnection({ host: base.hostname, port: Number(base.port || 3306), user: decodeURIComponent(base.username), password: decodeURIComponent(base.password) });
  const name = `tg_bench_usage_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
  const admin = await conn();
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
  const url = new URL(base.toString());
  url.pathname = `/${name}`;
  try {
    return await fn(url.toString());
  } finally {
    const c = await conn();
    await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await c.end();
  }
}

async function mysqlReachable() {
  try {
    const mysql = require('mysql2/promise');
    const base = mysqlBase();
    const c = await mysql.createConnection({ host: base.hostname, port: Number(base.port || 3306), user: decodeURIComponent(base.username), password: decodeURIComponent(base.password), connectTimeout: 1000 });
    await c.end();
    return true;
  } catch {
    return false;
  }
}

/** 200k distinct counter rows: 2000 consumers × 2 keys × 2 metrics × 25 minutes, as a busy minute's buffers would hold. */
function counterRows() {
  const rows = [];
  const bucket0 = Math.floor(Date.now() / 60_000) - 30;
  for (let c = 0; rows.length < FLUSH_ROWS; c++) {
    const consumer = `cons_bench${String(c).padStart(10, '0')}`;
    for (let k = 0; k < 2; k++) {
      for (const metric of ['requests', 'tokens']) {
        for (let b = 0; b < 25; b++) {
          rows.push({ consumer_id: consumer, bucket: bucket0 + b, metric, key_id: `key_${consumer.slice(5)}${k}`, environment: 'live', quantity: 1 + ((c + b) % 7) });
        }
      }
    }
  }
  return rows.slice(0, FLUSH_ROWS);
}

async function flushBench() {
  const { DataSource } = require('typeorm');
  const { dataSourceOptions } = require(join(DIST, 'database', 'data-source-options'));
  const { runMigrationsLocked } = require(join(DIST, 'database', 'migrate'));
  const { writeUsageBatch, compareRollups } = require(join(DIST, 'usage', 'usage-batch'));
  return withSchema(async (url) => {
    const ds = await new DataSource({ ...dataSourceOptions({ type: 'mysql', url, poolSize: 2, sqlitePath: '' }), logging: false }).initialize();
    try {
      await runMigrationsLocked(ds);
      const rows = counterRows().sort(compareRollups);
      // The flush writes counts of existing consumers only.
      const consumers = [...new Set(rows.map((r) => r.consumer_id))];
      const now = new Date();
      for (let i = 0; i < consumers.length; i += 1000) {
        const chunk = consumers.slice(i, i + 1000);
        await ds.query(
          `INSERT INTO consumers (id, name, metadata, status, billing_anchor_day, created_at, updated_at) VALUES ${chunk.map(() => "(?, 'bench', '{}', 'active', 1, ?, ?)").join(', ')}`,
          chunk.flatMap((id) => [id, now, now]),
        );
      }
      const pass = async (label) => {
        const server = serverCpuSeconds();
        const client = process.cpuUsage();
        const started = process.hrtime.bigint();
        for (let i = 0; i < rows.length; i += FLUSH_BATCH) {
          const batch = { id: `flush_${label}_${i}`, rows: rows.slice(i, i + FLUSH_BATCH), lastUsed: null, oldestAt: Date.now() };
          await ds.transaction((m) => writeUsageBatch(m, batch));
        }
        const wall = Number(process.hrtime.bigint() - started) / 1e9;
        const used = process.cpuUsage(client);
        const serverAfter = serverCpuSeconds();
        const cpu = server === null || serverAfter === null ? null : (used.user + used.system) / 1e6 + (serverAfter - server);
        return { rate: rows.length / wall, perCpuSecond: cpu ? rows.length / cpu : null };
      };
      const fresh = await pass('new');
      const again = await pass('add');
      const [{ n, q }] = await ds.query('SELECT COUNT(*) AS n, SUM(quantity) AS q FROM usage_rollups');
      const expected = 2 * rows.reduce((a, r) => a + r.quantity, 0);
      if (Number(n) !== rows.length || Number(q) !== expected) throw new Error(`flush bench wrote ${n} rows / ${q}, expected ${rows.length} / ${expected}`);
      return { fresh, again };
    } finally {
      await ds.destroy();
    }
  });
}

/**
 * CPU seconds used so far by a MariaDB/MySQL server on this machine (Linux), or null. On a shared,
 * busy machine the wall-clock rate says more about the neighbours than about the code; rows per CPU
 * second (client + server) is what one writer would reach with a core each.
 */
function serverCpuSeconds() {
  try {
    const { readdirSync, readFileSync } = require('node:fs');
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      let comm;
      try {
        comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      } catch {
        continue;
      }
      if (comm !== 'mariadbd' && comm !== 'mysqld') continue;
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 10 ms
    }
  } catch {
    /* not Linux, or not allowed */
  }
  return null;
}

async function eventsBench(dbEnv, seconds) {
  const server = await startServer(dbEnv);
  try {
    const consumer = await server.call('/v1/admin/consumers', { name: 'bench' });
    const key = await server.call(`/v1/admin/consumers/${consumer.id}/keys`, { name: 'bench', scopes: ['usage:write'] });
    let seq = 0;
    const batch = () =>
      Array.from({ length: EVENTS_PER_REQUEST }, () => {
        const i = seq++;
        return { metric: i % 2 ? 'tokens' : 'images', quantity: 1 + (i % 100), idempotencyKey: `bench-${i}`, properties: { model: 'small' } };
      });
    await server.call('/v1/usage/events', { events: batch() }, key.key); // warm-up
    let accepted = 0;
    const until = Date.now() + seconds * 1000;
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (Date.now() < until) {
          const r = await server.call('/v1/usage/events', { events: batch() }, key.key);
          accepted += r.results.filter((x) => x.status === 'accepted').length;
        }
      }),
    );
    return accepted / (Number(process.hrtime.bigint() - started) / 1e9);
  } finally {
    await server.stop();
  }
}

async function run(ctx = {}) {
  const log = ctx.log || ((m) => process.stderr.write(`${m}\n`));
  const seconds = Number(process.env.BENCH_USAGE_SECONDS || 5);
  const rows = [];
  const mysql = await mysqlReachable();
  if (mysql) {
    log(`usage: flushing ${FLUSH_ROWS} counter rows into MariaDB in ${FLUSH_BATCH}-row batches`);
    const { fresh, again } = await flushBench();
    rows.push({ scenario: 'usage flush into MariaDB, new counter rows, one writer', value: Math.round(fresh.rate), unit: 'rows/s', target: '>= 100000', pass: fresh.rate >= 100_000 });
    rows.push({ scenario: 'usage flush into MariaDB, adding to existing rows, one writer', value: Math.round(again.rate), unit: 'rows/s' });
    if (fresh.perCpuSecond) {
      rows.push({ scenario: 'usage flush into MariaDB, new rows per CPU second (client + server)', value: Math.round(fresh.perCpuSecond), unit: 'rows/cpu-s' });
    }
  } else {
    log('usage: MariaDB not reachable, flush benchmark skipped');
  }
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-usage-'));
  try {
    log(`usage: events through HTTP on SQLite for ${seconds}s`);
    const v = await eventsBench({ DB_TYPE: 'sqlite', SQLITE_PATH: join(dir, 'bench.sqlite') }, seconds);
    rows.push({ scenario: 'usage events ingested via POST /v1/usage/events (SQLite, 1000/request, 2 clients)', value: Math.round(v), unit: 'events/s' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (mysql) {
    log(`usage: events through HTTP on MariaDB for ${seconds}s`);
    const v = await withSchema((url) => eventsBench({ DB_TYPE: 'mysql', DATABASE_URL: url, KEY_HASH_SECRET: 'bench-secret-0123456789abcdef' }, seconds));
    rows.push({ scenario: 'usage events ingested via POST /v1/usage/events (MariaDB, 1000/request, 2 clients)', value: Math.round(v), unit: 'events/s' });
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
