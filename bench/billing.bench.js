'use strict';
/**
 * Billing at scale on MariaDB: 10 000 consumers × 3 metrics × a month of hourly rollups (21.6 million
 * rows), seeded in bulk inside the database (INSERT … SELECT from MariaDB's sequence tables), the month
 * before it billed already (so the close also checks for late usage, as every close but a consumer's
 * first does). Measures opening the next periods, closing the month (10 000 invoices), the CSV export of
 * the month over HTTP, and the export's memory for 1 000 and for 10 000 consumers. Target: close +
 * export ≤ 5 s, and memory that does not grow with the number of consumers.
 *
 * On the large data set it then times the admin reads that span every consumer, over HTTP, with a day
 * of hourly usage up to now added (what /v1/admin/stats and the console's overview read), an audit log
 * of 15 000 entries and one more consumer holding as many rollup rows as one usage read may read:
 * GET /v1/admin/usage over the widest range of each granularity and over the billed month by day, that
 * consumer's rows, GET /v1/admin/stats and the audit chain check. Target: each answer ≤ 1 s (the slowest
 * of three tries), whether it is the usage or a 400 saying which bound was passed.
 *
 * Each data set runs in a child process of its own (a fresh schema, the app built from dist/ in that
 * process, the export requested over HTTP from the same process), so that memory figures are not mixed.
 *
 *   npm run build && node bench/billing.bench.js
 *
 * Environment: BENCH_MYSQL_URL (server, default mysql://root@127.0.0.1:3306), BENCH_BILLING_CONSUMERS
 * (default 10000), BENCH_BILLING_SMALL_CONSUMERS (default 1000), BENCH_BILLING_SEED_CONNECTIONS (default 2),
 * BENCH_BILLING_KEEP=1 keeps the schemas. BENCH_BILLING_SCHEMA names the large data set's schema and keeps
 * it: created and seeded when missing, used as it is when seeded already for the same month (its periods
 * and invoices reset, the last day of usage seeded again), so that the reads can be measured again
 * without seeding 21.6 million rows each time. BENCH_BILLING_SMALL_CONSUMERS=0 skips the small data set
 * (and the memory comparison).
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
const READ_TARGET_MS = 1000;
const READ_TRIES = 3;
const AUDIT_ENTRIES = 15_000;

function serverUrl(ctx) {
  return (ctx && ctx.mysqlUrl) || process.env.BENCH_MYSQL_URL || 'mysql://root@127.0.0.1:3306';
}

/** Runs one data set in a child process and returns what it measured. */
function measure(consumers, ctx, log, schema) {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['--child', String(consumers), ...(schema ? [schema] : [])], {
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
  const a = small > 0 ? await measure(small, ctx, log) : null;
  const b = await measure(large, ctx, log, process.env.BENCH_BILLING_SCHEMA);
  const total = (b.closeMs + b.exportMs) / 1000;
  const sumsMatch = b.sumsMatch && (!a || a.sumsMatch);
  const rows = [
    { scenario: `billing: seed ${b.rollupRows.toLocaleString('en')} rollup rows in bulk (${large} consumers)`, value: b.seedMs === null ? 'reused' : +(b.seedMs / 1000).toFixed(1), unit: b.seedMs === null ? '' : 's' },
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
    { scenario: 'billing: export rows sum to the invoice totals', value: sumsMatch ? 'yes' : 'no', unit: '', target: 'yes', pass: sumsMatch },
    ...(a ? [{ scenario: `billing: export peak live heap growth, ${small} consumers`, value: a.peakHeapMiB, unit: 'MiB' }] : []),
    {
      scenario: `billing: export peak live heap growth, ${large} consumers`,
      value: b.peakHeapMiB,
      unit: 'MiB',
      target: a ? `flat: ≤ 1.5 × the ${small}-consumer run + 4 MiB` : 'flat (not compared: no small run)',
      pass: a ? b.peakHeapMiB <= a.peakHeapMiB * 1.5 + 4 : null,
    },
    ...(a ? [{ scenario: `billing: export peak RSS growth, ${small} consumers`, value: a.peakRssMiB, unit: 'MiB' }] : []),
    { scenario: `billing: export peak RSS growth, ${large} consumers`, value: b.peakRssMiB, unit: 'MiB' },
    ...b.reads.map((r) => ({
      scenario: `admin read, ${large} consumers: ${r.label} (${r.statuses})`,
      value: r.ms,
      unit: 'ms',
      target: `≤ ${READ_TARGET_MS} ms`,
      pass: r.ok && r.ms <= READ_TARGET_MS,
    })),
  ];
  return rows;
}

// ---------------------------------------------------------------------------------------------------
// Child: one data set.

function send(msg) {
  if (process.send) process.send(msg);
}

async function child(consumers, named) {
  const mysql = require('mysql2/promise');
  const base = new URL(serverUrl());
  const schema = named || `tg_bench_billing_${consumers}_${randomBytes(3).toString('hex')}`;
  const keep = Boolean(named) || process.env.BENCH_BILLING_KEEP === '1';
  if (keep) send({ log: `schema ${schema} is kept` });
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
  await admin.query(`CREATE DATABASE ${named ? 'IF NOT EXISTS ' : ''}\`${schema}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
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
    if (named) {
      // A kept schema has the admin key of an earlier run: the app makes this run's key the first one.
      const db = await connect(schema);
      await db.query("DELETE FROM api_keys WHERE kind = 'admin'").catch((err) => {
        if (err.code !== 'ER_NO_SUCH_TABLE') throw err;
      });
      await db.end();
    }
    const { createApp } = require(path.join(DIST, 'app.factory'));
    let t = Date.now();
    app = await createApp({ swaggerUi: false, logLevel: 'warn' });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = app.getHttpServer().address().port;
    send({ log: `${consumers} consumers: the app started (pending migrations applied) in ${((Date.now() - t) / 1000).toFixed(1)} s` });

    // The month billed is the previous UTC month. Consumers were created at the start of the month before
    // it, which was billed already: its close recorded the closing window this close checks for late usage.
    const now = new Date();
    const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
    const previousStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 2, 1));
    const month = monthStart.toISOString().slice(0, 7);
    const { getDataSourceToken } = require('@nestjs/typeorm');
    const ds = app.get(getDataSourceToken());
    let seedMs = null;
    if (named && (await seededFor(connect, schema, consumers, previousStart))) {
      t = Date.now();
      await reuse(connect, ds, schema, consumers, previousStart, now);
      send({ log: `${consumers} consumers: reused ${schema}; periods and invoices reset, the last day of usage seeded again in ${((Date.now() - t) / 1000).toFixed(1)} s` });
    } else {
      const seedStarted = Date.now();
      await seed(connect, ds, schema, consumers, previousStart, monthStart, now);
      seedMs = Date.now() - seedStarted;
      send({ log: `${consumers} consumers: seeded ${consumers * HOURS * METRICS.length} rollup rows in ${(seedMs / 1000).toFixed(1)} s` });
    }

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
    t = Date.now();
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
    const reads = named || consumers >= 10_000 ? await adminReads(`http://127.0.0.1:${port}`, adminKey, monthStart, previousStart, now) : [];
    for (const r of reads) send({ log: `${consumers} consumers: ${r.label}: ${r.times.join(' / ')} ms (${r.statuses})` });
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
        reads,
      },
    });
  } finally {
    if (app) await app.close();
    if (!keep) await admin.query(`DROP DATABASE IF EXISTS \`${schema}\``);
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
async function seed(connect, ds, schema, consumers, previousStart, monthStart, now) {
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
  await db.query(
    `INSERT INTO consumers (id, name, external_id, metadata, status, plan_id, billing_anchor_day, created_at, updated_at)
     SELECT ${cid('c.seq')}, CONCAT('bench ', c.seq), CONCAT('acct-', c.seq), '{}', 'active', ?, 1, ?, ?
     FROM seq_1_to_${consumers} c`,
    [planId, at, at],
  );
  const metrics = metricsTable();
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
  // The usage of all consumers per hour and metric, added as the flush adds it.
  const { addMetricTotals } = require(path.join(DIST, 'usage', 'usage-metric-totals'));
  const hourly = [];
  for (let h = 0; h < HOURS; h++) {
    for (const [metric, n] of METRICS) hourly.push({ bucket: baseMinute + h * 60, metric, environment: 'live', quantity: hourTotal(consumers, n, h % 24) });
  }
  await addMetricTotals(ds, hourly);
  const [[daily]] = await db.query(`SELECT SUM(quantity) AS q FROM usage_daily_totals WHERE day = ${baseDay}`);
  const [[metricDay]] = await db.query(`SELECT SUM(quantity) AS q FROM usage_metric_totals WHERE granularity = 'day' AND bucket = ${baseDay * 1440}`);
  if (daily.q !== metricDay.q) throw new Error(`seed mismatch: the first day sums to ${daily.q} in the daily totals, ${metricDay.q} over all consumers`);
  await seedRecent(connect, ds, schema, consumers, now);
  await seedHeavy(connect, ds, schema, previousStart, planId);
  await seedAudit(db, AUDIT_ENTRIES);
  await db.query('ANALYZE TABLE usage_daily_totals, consumers');
  await db.end();
}

/** Sum over consumers 1…n of the seeded quantity of metric number `n` in an hour of day `hod`. */
function hourTotal(consumers, n, hod) {
  let sum = 0;
  for (let c = 1; c <= consumers; c++) sum += 1 + ((c * 7 + n * 13) % 50) + hod;
  return sum;
}

const HEAVY_ID = 'cons_01BENCHHEAVY000000000001';
const HEAVY_KEY = 'key_01BENCHHEAVY000000000001';

/**
 * One more consumer, created now (so that the billed month does not include it), with as many rollup rows
 * as one usage read may read (MAX_ROWS_READ, one request a minute) in the minutes before the month that
 * was billed already: the widest read of one consumer that the bounds admit.
 */
async function seedHeavy(connect, ds, schema, previousStart, planId) {
  const { MAX_ROWS_READ } = require(path.join(DIST, 'usage', 'usage-query'));
  const { addUsageTotals } = require(path.join(DIST, 'billing', 'usage-totals'));
  const { addMetricTotals } = require(path.join(DIST, 'usage', 'usage-metric-totals'));
  const db = await connect(schema);
  const [[exists]] = await db.query('SELECT COUNT(*) AS n FROM consumers WHERE id = ?', [HEAVY_ID]);
  if (Number(exists.n) > 0) return db.end();
  const at = sqlTime(new Date());
  await db.query(
    `INSERT INTO consumers (id, name, external_id, metadata, status, plan_id, billing_anchor_day, created_at, updated_at)
     VALUES (?, 'bench heavy', 'acct-heavy', '{}', 'active', ?, 1, ?, ?)`,
    [HEAVY_ID, planId ?? null, at, at],
  );
  const first = previousStart.getTime() / 60000 - MAX_ROWS_READ;
  const rows = Array.from({ length: MAX_ROWS_READ }, (_, i) => ({ consumer_id: HEAVY_ID, bucket: first + i, metric: 'requests', key_id: HEAVY_KEY, environment: 'live', quantity: 1 }));
  for (let i = 0; i < rows.length; i += 5000) {
    const chunk = rows.slice(i, i + 5000);
    await db.query('INSERT INTO usage_rollups (consumer_id, bucket, metric, key_id, environment, quantity) VALUES ?', [
      chunk.map((r) => [r.consumer_id, r.bucket, r.metric, r.key_id, r.environment, r.quantity]),
    ]);
  }
  await addUsageTotals(ds, rows);
  await addMetricTotals(ds, rows);
  await db.end();
}

const cid = (seq) => `CONCAT('cons_01BENCH', LPAD(${seq}, 17, '0'))`;
const metricsTable = () => METRICS.map(([m, n]) => `SELECT '${m}' AS metric, ${n} AS n`).join(' UNION ALL ');

/**
 * The hours of the last 24 up to now (those of the current month: the billed month is complete already),
 * with the same quantities per hour of day as the billed month, and their daily totals: what the stats
 * and the console's overview read.
 */
async function seedRecent(connect, ds, schema, consumers, now) {
  const db = await connect(schema);
  const nowMinute = Math.floor(now.getTime() / 60000);
  const monthMinute = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1) / 60000;
  const hours = [];
  for (let k = 23; k >= 0; k--) {
    const bucket = nowMinute - (nowMinute % 60) - k * 60;
    if (bucket >= monthMinute) hours.push(bucket);
  }
  const hourTable = hours.map((b) => `SELECT ${b} AS bucket, ${(b / 60) % 24} AS hod`).join(' UNION ALL ');
  for (let lo = 1; lo <= consumers; lo += 2000) {
    const hi = Math.min(consumers, lo + 1999);
    await db.query(
      `INSERT INTO usage_rollups (consumer_id, bucket, metric, key_id, environment, quantity)
       SELECT ${cid('c.seq')}, h.bucket, m.metric, CONCAT('key_01BENCH', LPAD(c.seq, 17, '0')), 'live', 1 + ((c.seq * 7 + m.n * 13) % 50) + h.hod
       FROM seq_${lo}_to_${hi} c STRAIGHT_JOIN (${hourTable}) h STRAIGHT_JOIN (${metricsTable()}) m`,
    );
  }
  const days = new Map();
  for (const b of hours) {
    const day = Math.floor(b / 1440);
    const d = days.get(day) ?? { n: 0, hod: 0 };
    d.n += 1;
    d.hod += (b / 60) % 24;
    days.set(day, d);
  }
  for (const [day, d] of days) {
    await db.query(
      `INSERT INTO usage_daily_totals (consumer_id, environment, metric, day, quantity)
       SELECT ${cid('c.seq')}, 'live', m.metric, ${day}, ${d.n} * (1 + ((c.seq * 7 + m.n * 13) % 50)) + ${d.hod}
       FROM seq_1_to_${consumers} c STRAIGHT_JOIN (${metricsTable()}) m`,
    );
  }
  const { addMetricTotals } = require(path.join(DIST, 'usage', 'usage-metric-totals'));
  await addMetricTotals(
    ds,
    hours.flatMap((bucket) => METRICS.map(([metric, n]) => ({ bucket, metric, environment: 'live', quantity: hourTotal(consumers, n, (bucket / 60) % 24) }))),
  );
  await db.end();
}

/** Appends `count` entries to the audit log, chained and sealed as the app does, in bulk. */
async function seedAudit(db, count) {
  const { seal } = require(path.join(DIST, 'audit', 'audit-chain'));
  const { newId } = require(path.join(DIST, 'common', 'ids'));
  const [[head]] = await db.query('SELECT seq, hash FROM audit_head WHERE id = 1');
  let prevHash = head.hash;
  const start = Date.now() - count;
  for (let i = 0; i < count; i += 1000) {
    const values = [];
    for (let j = i; j < Math.min(count, i + 1000); j++) {
      const at = new Date(start + j);
      const targetId = `cons_01BENCH${String((j % 10000) + 1).padStart(17, '0')}`;
      const fields = {
        id: newId('aud', at.getTime()),
        actorKeyId: null,
        action: 'consumer.update',
        targetType: 'consumer',
        targetId,
        before: { metadata: {}, name: `bench ${j}` },
        after: { metadata: { tier: 'gold' }, name: `bench ${j}`, status: 'active' },
        ip: '127.0.0.1',
        requestId: `req_bench_${j}`,
        at: at.toISOString(),
        prevHash,
      };
      const { canonical, hash } = seal(fields);
      values.push([fields.id, null, fields.action, fields.targetType, targetId, JSON.stringify(fields.before), JSON.stringify(fields.after), fields.ip, fields.requestId, sqlTime(at), prevHash, hash, canonical]);
      prevHash = hash;
    }
    await db.query(
      'INSERT INTO audit_entries (id, actor_key_id, action, target_type, target_id, `before`, `after`, ip, request_id, at, prev_hash, hash, canonical) VALUES ?',
      [values],
    );
  }
  await db.query('UPDATE audit_head SET seq = seq + ?, hash = ? WHERE id = 1', [count, prevHash]);
}

/** Whether a kept schema holds this data set, seeded for the same billed month. */
async function seededFor(connect, schema, consumers, previousStart) {
  const db = await connect(schema);
  const [[row]] = await db.query("SELECT COUNT(*) AS n, MIN(created_at) AS first FROM consumers WHERE id LIKE 'cons\\_01BENCH0%'");
  await db.end();
  if (Number(row.n) === 0) return false;
  if (Number(row.n) !== consumers || new Date(row.first).getTime() !== previousStart.getTime()) {
    throw new Error(`${schema} holds another data set (${row.n} consumers from ${row.first}): drop it or name another schema`);
  }
  return true;
}

/** A kept schema made ready for another run: no periods or invoices, and the last day of usage up to now. */
async function reuse(connect, ds, schema, consumers, previousStart, now) {
  const db = await connect(schema);
  await db.query('DELETE FROM invoices');
  await db.query('DELETE FROM billing_periods');
  const month = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
  await db.query(`DELETE FROM usage_rollups WHERE bucket >= ? AND consumer_id LIKE 'cons\\_01BENCH0%'`, [month / 60000]);
  await db.query(`DELETE FROM usage_daily_totals WHERE day >= ? AND consumer_id LIKE 'cons\\_01BENCH0%'`, [month / 86_400_000]);
  await db.query('DELETE FROM usage_metric_totals WHERE bucket >= ?', [month / 60000]);
  const [[plan]] = await db.query('SELECT MIN(id) AS id FROM plans');
  await db.end();
  await seedRecent(connect, ds, schema, consumers, now);
  await seedHeavy(connect, ds, schema, previousStart, plan.id);
}

/**
 * The admin reads that span every consumer, over HTTP, each tried READ_TRIES times: the slowest try, and
 * the statuses answered (200, or 400 VALIDATION_FAILED where a documented bound refuses the read).
 */
async function adminReads(base, key, monthStart, previousStart, now) {
  const { MAX_ROWS_READ } = require(path.join(DIST, 'usage', 'usage-query'));
  const heavyFirst = previousStart.getTime() - MAX_ROWS_READ * 60000;
  const iso = (ms) => new Date(ms).toISOString();
  const MINUTE = 60_000;
  const HOUR = 60 * MINUTE;
  const DAY = 24 * HOUR;
  const nextMinute = Math.ceil((now.getTime() + 1) / MINUTE) * MINUTE;
  const nextHour = Math.ceil((now.getTime() + 1) / HOUR) * HOUR;
  const nextDay = Math.ceil((now.getTime() + 1) / DAY) * DAY;
  const d = new Date(now);
  const nextMonth = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  const billedEnd = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const usage = (q) => `/v1/admin/usage?${new URLSearchParams(q)}`;
  const reads = [
    ['usage of all consumers by day over the billed month', usage({ from: iso(monthStart.getTime()), to: iso(billedEnd), granularity: 'day' })],
    ['usage of all consumers by day over 366 days (the widest day range)', usage({ from: iso(nextDay - 366 * DAY), to: iso(nextDay), granularity: 'day' })],
    ['usage of all consumers by month over 10 years (the widest month range)', usage({ from: iso(Date.UTC(d.getUTCFullYear() - 10, d.getUTCMonth() + 1, 1)), to: iso(nextMonth), granularity: 'month' })],
    ['usage of all consumers by hour over 31 days (the widest hour range)', usage({ from: iso(nextHour - 31 * DAY), to: iso(nextHour), granularity: 'hour' })],
    ['usage of all consumers by minute over 24 hours (the widest minute range)', usage({ from: iso(nextMinute - DAY), to: iso(nextMinute), granularity: 'minute' })],
    ["requests of all consumers by hour over 24 hours (the console's overview)", usage({ from: iso(nextHour - DAY), to: iso(nextHour), granularity: 'hour', metric: 'requests' })],
    ['usage by consumer, by day over the billed month', usage({ from: iso(monthStart.getTime()), to: iso(billedEnd), granularity: 'day', groupBy: 'consumer' })],
    [
      `usage of one consumer by day over its ${MAX_ROWS_READ.toLocaleString('en')} rollup rows (the most one read may read)`,
      usage({ from: iso(heavyFirst), to: iso(previousStart.getTime()), granularity: 'day', consumerId: HEAVY_ID }),
    ],
    ['GET /v1/admin/stats', '/v1/admin/stats'],
  ];
  const out = [];
  for (const [label, path] of reads) out.push(await timeRead(base, key, label, () => path));
  // The chain check: its first page (10 000 entries), then the next one, which reaches the head.
  let cursor = null;
  out.push(
    await timeRead(base, key, 'audit chain check, first page (10 000 entries)', () => '/v1/admin/audit-log/verify', (body) => (cursor = body.nextCursor)),
  );
  out.push(await timeRead(base, key, 'audit chain check, next page to the head', () => `/v1/admin/audit-log/verify?cursor=${cursor}`));
  return out;
}

async function timeRead(base, key, label, path, after) {
  const times = [];
  const statuses = new Set();
  let ok = true;
  for (let i = 0; i < READ_TRIES; i++) {
    const t = process.hrtime.bigint();
    const res = await fetch(base + path(), { headers: { 'x-api-key': key } });
    const body = await res.json();
    times.push(Math.round(Number(process.hrtime.bigint() - t) / 1e6));
    statuses.add(res.status === 400 ? `400 ${body.error}` : String(res.status));
    if (res.status === 200) {
      if (body.valid === false) ok = false;
      if (after) after(body);
    } else if (res.status !== 400 || body.error !== 'VALIDATION_FAILED') {
      ok = false;
    }
  }
  return { label, ms: Math.max(...times), times, statuses: [...statuses].join(', '), ok };
}

module.exports = { run };

if (require.main === module) {
  if (process.argv[2] === '--child') {
    child(Number(process.argv[3]), process.argv[4]).then(
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
