'use strict';
/**
 * Billing at scale on MariaDB: 10 000 consumers × 3 metrics × a month of hourly rollups (21.6 million
 * rows), seeded in bulk inside the database (INSERT … SELECT from MariaDB's sequence tables), the month
 * before it billed already (so the close also checks for late usage, as every close but a consumer's
 * first does). Measures opening the next periods, closing the month (10 000 invoices), the CSV export of
 * the month over HTTP, and the export's memory for 1 000 and for 10 000 consumers. Target: close +
 * export ≤ 5 s, and memory that does not grow with the number of consumers.
 *
 * Each data set runs in a child process of its own (a fresh schema, the app built from dist/ in that
 * process, the export requested over HTTP from the same process), so that memory figures are not mixed.
 *
 *   npm run build && node bench/billing.bench.js
 *
 * Environment: BENCH_MYSQL_URL (server, default mysql://root@127.0.0.1:3306), BENCH_BILLING_CONSUMERS
 * (default 10000), BENCH_BILLING_SMALL_CONSUMERS (default 1000), BENCH_BILLING_SEED_CONNECTIONS (default 2),
 * BENCH_BILLING_KEEP=1 keeps the schemas.
 */
const { fork } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');
const { randomBytes } = require('node:crypto');

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist', 'src');
const HOURS = 720;
const METRICS = [
  ['requests', 1],
  ['sms', 2],
  ['tokens', 3],
];
const TARGET_SECONDS = 5;

function serverUrl(ctx) {
  return (ctx && ctx.mysqlUrl) || process.env.BENCH_MYSQL_URL || 'mysql://root@127.0.0.1:3306';
}

/** Runs one data set in a child process and returns what it measured. */
function measure(consumers, ctx, log) {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['--child', String(consumers)], {
      execArgv: ['--expose-gc'],
      env: { ...process.env, BENCH_MYSQL_URL: serverUrl(ctx) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result;
    child.on('message', (msg) => {
      if (msg.log) log(msg.log);
      if (msg.result) result = msg.result;
      if (msg.error) reject(new Error(msg.error));
    });
    child.on('exit', (code) => (result ? resolve(result) : reject(new Error(`billing bench child exited with ${code}`))));
  });
}

async function run(ctx = {}) {
  const log = (ctx && ctx.log) || ((m) => process.stderr.write(`[billing] ${m}\n`));
  if (!existsSync(path.join(DIST, 'app.factory.js'))) throw new Error('dist/ is missing: run npm run build first');
  const large = Number(process.env.BENCH_BILLING_CONSUMERS || 10000);
  const small = Number(process.env.BENCH_BILLING_SMALL_CONSUMERS || 1000);
  const a = await measure(small, ctx, log);
  const b = await measure(large, ctx, log);
  const total = (b.closeMs + b.exportMs) / 1000;
  const rows = [
    { scenario: `billing: seed ${b.rollupRows.toLocaleString('en')} rollup rows in bulk (${large} consumers)`, value: +(b.seedMs / 1000).toFixed(1), unit: 's' },
    { scenario: `billing: open next periods (${large} consumers)`, value: b.openMs, unit: 'ms' },
    { scenario: `billing: close ${b.closed} periods, write invoices (late usage checked against the month before)`, value: b.closeMs, unit: 'ms' },
    { scenario: `billing: export CSV of the month (${b.exportRows} rows, ${(b.exportBytes / 1048576).toFixed(1)} MiB)`, value: b.exportMs, unit: 'ms' },
    {
      scenario: `billing: close + export, ${large} consumers × 3 metrics × ${HOURS} h`,
      value: +total.toFixed(2),
      unit: 's',
      target: `≤ ${TARGET_SECONDS} s`,
      pass: total <= TARGET_SECONDS,
    },
    { scenario: 'billing: export rows sum to the invoice totals', value: b.sumsMatch && a.sumsMatch ? 'yes' : 'no', unit: '', target: 'yes', pass: b.sumsMatch && a.sumsMatch },
    { scenario: `billing: export peak live heap growth, ${small} consumers`, value: a.peakHeapMiB, unit: 'MiB' },
    {
      scenario: `billing: export peak live heap growth, ${large} consumers`,
      value: b.peakHeapMiB,
      unit: 'MiB',
      target: `flat: ≤ 1.5 × the ${small}-consumer run + 4 MiB`,
      pass: b.peakHeapMiB <= a.peakHeapMiB * 1.5 + 4,
    },
    { scenario: `billing: export peak RSS growth, ${small} consumers`, value: a.peakRssMiB, unit: 'MiB' },
    { scenario: `billing: export peak RSS growth, ${large} consumers`, value: b.peakRssMiB, unit: 'MiB' },
  ];
  return rows;
}

// ---------------------------------------------------------------------------------------------------
// Child: one data set.

function send(msg) {
  if (process.send) process.send(msg);
}

async function child(consumers) {
  const mysql = require('mysql2/promise');
  const base = new URL(serverUrl());
  const schema = `tg_bench_billing_${consumers}_${randomBytes(3).toString('hex')}`;
  if (process.env.BENCH_BILLING_KEEP === '1') send({ log: `schema ${schema} is kept` });
  const connect = (database) =>
    mysql.createConnection({
      host: base.hostname,
      port: Number(base.port || 3306),
      user: decodeURIComponent(base.username || 'root'),
      password: decodeURIComponent(base.password || ''),
      database,
      timezone: 'Z',
      supportBigNumbers: true,
      bigNumberStrings: true,
      multipleStatements: false,
    });
  const admin = await connect(undefined);
  await admin.query(`CREATE DATABASE \`${schema}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  const dbUrl = new URL(base.toString());
  dbUrl.pathname = `/${schema}`;
  let app;
  try {
    Object.assign(process.env, {
      DB_TYPE: 'mysql',
      DATABASE_URL: dbUrl.toString(),
      KEY_HASH_SECRET: 'bench-secret-0123456789abcdef',
      BILLING_AUTO_CLOSE: 'false',
      LOG_LEVEL: 'warn',
      DOCS_ENABLED: 'false',
      NODE_ENV: 'production',
    });
    const { generateKey } = require(path.join(DIST, 'auth', 'key-format'));
    const adminKey = generateKey('tg', 'live').key;
    process.env.ADMIN_API_KEY = adminKey;
    const { createApp } = require(path.join(DIST, 'app.factory'));
    app = await createApp({ swaggerUi: false, logLevel: 'warn' });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = app.getHttpServer().address().port;

    // The month billed is the previous UTC month. Consumers were created at the start of the month before
    // it, which was billed already: its close recorded the closing window this close checks for late usage.
    const now = new Date();
    const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
    const previousStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 2, 1));
    const month = monthStart.toISOString().slice(0, 7);
    const seedStarted = Date.now();
    await seed(connect, schema, consumers, previousStart, monthStart);
    const seedMs = Date.now() - seedStarted;
    send({ log: `${consumers} consumers: seeded ${consumers * HOURS * METRICS.length} rollup rows in ${(seedMs / 1000).toFixed(1)} s` });

    const { BillingPeriodsService } = require(path.join(DIST, 'billing', 'billing-periods.service'));
    const { BillingCloser } = require(path.join(DIST, 'billing', 'billing-closer.service'));
    const periods = app.get(BillingPeriodsService);
    const closer = app.get(BillingCloser);
    // Setup, not timed: the previous month's periods opened and closed, the billed month's opened.
    const minute = 60_000;
    await periods.ensureAll(new Date(previousStart.getTime() + minute));
    await periods.ensureAll(new Date(monthStart.getTime() + minute));
    await closer.closeDue(monthStart, new Date(monthStart.getTime() + 60 * minute));
    // Timed apart: opening the next periods (the scheduler's pass at the boundary), then, after the
    // grace, closing the billed month's periods.
    let t = Date.now();
    await periods.ensureAll(now);
    const openMs = Date.now() - t;
    t = Date.now();
    const closed = await closer.closeDue(new Date(now.getTime() - 60 * minute), now);
    const closeMs = Date.now() - t;
    send({ log: `${consumers} consumers: opened the next periods in ${openMs} ms, closed ${closed} in ${closeMs} ms` });

    const url = `http://127.0.0.1:${port}/v1/admin/billing/export?period=${month}&format=csv`;
    // The export, streamed to this process over HTTP, timed, with the peak RSS sampled.
    global.gc();
    const baseline = process.memoryUsage();
    let peakRss = baseline.rss;
    let sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 5);
    t = Date.now();
    const { rows, bytes, sum } = await readCsvExport(url, adminKey);
    const exportMs = Date.now() - t;
    clearInterval(sampler);
    // Again, for the live heap: a full collection before each sample leaves only what is still referenced.
    global.gc();
    const heapBase = process.memoryUsage().heapUsed;
    let peakHeap = heapBase;
    sampler = setInterval(() => {
      global.gc();
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    }, 20);
    await readCsvExport(url, adminKey);
    clearInterval(sampler);

    const db = await connect(schema);
    const [[invoiceSum]] = await db.query('SELECT SUM(total_minor) AS total, COUNT(*) AS n FROM invoices WHERE period_start = ?', [sqlTime(monthStart)]);
    await db.end();
    const sumsMatch = Number(invoiceSum.total) === sum && Number(invoiceSum.n) === consumers;
    send({ log: `${consumers} consumers: exported ${rows} rows (${bytes} bytes) in ${exportMs} ms; sum ${sum} vs invoices ${invoiceSum.total}` });
    send({
      result: {
        consumers,
        rollupRows: consumers * HOURS * METRICS.length,
        seedMs,
        openMs,
        closeMs,
        closed,
        exportMs,
        exportRows: rows,
        exportBytes: bytes,
        sumsMatch,
        peakRssMiB: +((peakRss - baseline.rss) / 1048576).toFixed(1),
        peakHeapMiB: +((peakHeap - heapBase) / 1048576).toFixed(1),
      },
    });
  } finally {
    if (app) await app.close();
    if (process.env.BENCH_BILLING_KEEP !== '1') await admin.query(`DROP DATABASE IF EXISTS \`${schema}\``);
    await admin.end();
  }
}

const sqlTime = (d) => d.toISOString().replace('T', ' ').replace('Z', '');

/** Reads a CSV export as a client would, keeping only counts: rows, bytes and the sum of amountMinor. */
async function readCsvExport(url, key) {
  const res = await fetch(url, { headers: { 'x-api-key': key } });
  if (res.status !== 200) throw new Error(`export answered ${res.status}: ${await res.text()}`);
  let bytes = 0;
  let rows = -1; // the header
  let sum = 0;
  let rest = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body) {
    bytes += chunk.length;
    const lines = (rest + decoder.decode(chunk, { stream: true })).split('\r\n');
    rest = lines.pop();
    for (const line of lines) {
      rows++;
      if (rows > 0) sum += Number(line.split(',')[10]); // amountMinor; no bench cell holds a comma
    }
  }
  return { rows, bytes, sum };
}

/**
 * Bulk seed inside MariaDB: a plan, the consumers (created at `previousStart`), the billed month's hourly
 * rollups (in consumer ranges, several connections at once, each range generated in primary-key order),
 * and the daily totals the usage flush maintains beside them, computed in closed form from the same
 * quantity formula and checked against the rollups of the first and last consumer. The previous month
 * has daily totals only: billing reads nothing else.
 */
async function seed(connect, schema, consumers, previousStart, monthStart) {
  const db = await connect(schema);
  const planId = 'plan_01BENCH0000000000000001';
  const at = sqlTime(previousStart);
  const prices = [
    { metric: 'requests', model: 'per_unit', unitPrice: '0.0004', includedUnits: 10000 },
    { metric: 'sms', model: 'package', packageSize: 1000, packagePrice: '5.00', includedUnits: 500 },
    {
      metric: 'tokens',
      model: 'graduated',
      tiers: [
        { upTo: 10000, unitPrice: '0.0001' },
        { upTo: 20000, unitPrice: '0.00008', flatFee: '2.00' },
        { upTo: null, unitPrice: '0.00005' },
      ],
    },
  ];
  await db.query(
    `INSERT INTO plans (id, name, currency, base_fee_minor, rate_limits, quotas, prices, metadata, created_at, updated_at)
     VALUES (?, 'Bench', 'USD', 4900, '[]', '[]', ?, '{}', ?, ?)`,
    [planId, JSON.stringify(prices), at, at],
  );
  const cid = (seq) => `CONCAT('cons_01BENCH', LPAD(${seq}, 17, '0'))`;
  await db.query(
    `INSERT INTO consumers (id, name, external_id, metadata, status, plan_id, billing_anchor_day, created_at, updated_at)
     SELECT ${cid('c.seq')}, CONCAT('bench ', c.seq), CONCAT('acct-', c.seq), '{}', 'active', ?, 1, ?, ?
     FROM seq_1_to_${consumers} c`,
    [planId, at, at],
  );
  const metrics = METRICS.map(([m, n]) => `SELECT '${m}' AS metric, ${n} AS n`).join(' UNION ALL ');
  const baseMinute = Math.floor(monthStart.getTime() / 60000);
  const baseDay = Math.floor(monthStart.getTime() / 86_400_000);
  // quantity(c, m, h) = 1 + ((7c + 13n) mod 50) + (h mod 24): per day 24 × (1 + ((7c + 13n) mod 50)) + 276.
  const ranges = [];
  const perStatement = 500;
  for (let lo = 1; lo <= consumers; lo += perStatement) ranges.push([lo, Math.min(consumers, lo + perStatement - 1)]);
  const connections = Math.max(1, Number(process.env.BENCH_BILLING_SEED_CONNECTIONS || 2));
  const workers = await Promise.all(Array.from({ length: connections }, () => connect(schema)));
  await Promise.all(
    workers.map(async (w) => {
      // Plain nested loops emit rows in primary-key order (consumer, hour, metric): no sort, sequential pages.
      await w.query('SET SESSION join_cache_level = 0, unique_checks = 0');
      for (let r = ranges.shift(); r; r = ranges.shift()) {
        await w.query(
          `INSERT INTO usage_rollups (consumer_id, bucket, metric, key_id, environment, quantity)
           SELECT ${cid('c.seq')}, ${baseMinute} + h.seq * 60, m.metric, CONCAT('key_01BENCH', LPAD(c.seq, 17, '0')), 'live',
                  1 + ((c.seq * 7 + m.n * 13) % 50) + (h.seq % 24)
           FROM seq_${r[0]}_to_${r[1]} c STRAIGHT_JOIN seq_0_to_${HOURS - 1} h STRAIGHT_JOIN (${metrics}) m`,
        );
      }
      await w.end();
    }),
  );
  const previousDay = Math.floor(previousStart.getTime() / 86_400_000);
  for (const [first, days] of [
    [previousDay, baseDay - previousDay],
    [baseDay, HOURS / 24],
  ]) {
    await db.query(
      `INSERT INTO usage_daily_totals (consumer_id, environment, metric, day, quantity)
       SELECT ${cid('c.seq')}, 'live', m.metric, ${first} + d.seq, 24 * (1 + ((c.seq * 7 + m.n * 13) % 50)) + 276
       FROM seq_1_to_${consumers} c STRAIGHT_JOIN seq_0_to_${days - 1} d STRAIGHT_JOIN (${metrics}) m`,
    );
  }
  for (const seq of [1, consumers]) {
    const [[a]] = await db.query(`SELECT SUM(quantity) AS q, COUNT(*) AS n FROM usage_rollups WHERE consumer_id = ${cid(seq)}`);
    const [[b]] = await db.query(`SELECT SUM(quantity) AS q FROM usage_daily_totals WHERE consumer_id = ${cid(seq)} AND day >= ${baseDay}`);
    if (a.q !== b.q || Number(a.n) !== HOURS * METRICS.length) throw new Error(`seed mismatch for consumer ${seq}: ${a.q}/${a.n} vs ${b.q}`);
  }
  await db.query('ANALYZE TABLE usage_daily_totals, consumers');
  await db.end();
}

module.exports = { run };

if (require.main === module) {
  if (process.argv[2] === '--child') {
    child(Number(process.argv[3])).then(
      () => process.exit(0),
      (err) => {
        send({ error: err.stack || String(err) });
        process.exit(1);
      },
    );
  } else {
    run().then(
      (rows) => {
        console.table(rows);
        process.exit(rows.every((r) => r.pass !== false) ? 0 : 1);
      },
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  }
}
