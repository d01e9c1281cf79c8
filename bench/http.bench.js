'use strict';
/**
 * What the guard chain costs (DESIGN.md targets), as server CPU ADDED per request: a guarded route minus
 * the bare GET /v1/ping of the same server, in the same run, interleaved (the median of the per-round
 * differences, from /proc utime+stime over the requests served):
 *   (a) bare public route            GET /v1/ping
 *   (b) the same behind the chain    GET /v1/me/ping, 1000 keys (100 consumers × 10) in turn
 *   (c) the same with one hot key
 *   (v) POST /v1/keys/verify of the hot key by a gateway's admin key
 *   (d) (b) with the Redis limiter, against a bare run of that same server
 *   (e) server-side p99 of the guard chain, from timestamps taken around it inside the server
 *       (BENCH_TRACE_GUARDS=1, on a restart of the same server: (a)–(d) are measured without it), the
 *       median of the per-slice p99s during (b), where each of the 1000 keys' records is refreshed as it
 *       expires (every KEY_CACHE_TTL_SECONDS), and during (c).
 *   (j) crash-safe counting: two servers, the journal on (the default) and off (JOURNAL_ENABLED=false),
 *       the hot key of (c) on each, interleaved: the CPU the journal adds per request and the requests/s
 *       one instance sustains with it on and off. BENCH_HTTP_ONLY=journal runs only these rows.
 *   (f) the floor: the same checks hand-written on plain Fastify (bench/reference-server.js), bare and
 *       checked, in the same rounds as (a)–(v); its added CPU is printed beside each target, and each
 *       added figure also as a multiple of it (the VM's speed varies between runs; the ratio less).
 * Each key carries a limit of its own on top of its consumer's default, so a request checks two
 * counters; both are far too high to trip (a refused request would make the run invalid).
 */

const NO_TRIP = { DEFAULT_RATE_LIMIT: '1000000000', DEFAULT_RATE_LIMIT_WINDOW_SECONDS: '60' };
const KEY_LIMITS = [{ name: 'per-second', limit: 1_000_000, windowSeconds: 1 }];
/**
 * Each scenario's time is cut into this many slices, run in turn with the scenarios it is compared with
 * (a b c a b c …), and a ratio is the median of the per-round ratios: on a shared machine the background
 * load drifts over a minute, and interleaving makes both sides of a ratio see the same drift.
 */
const ROUNDS = 8;

const { spawn } = require('node:child_process');
const { mkdtempSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Runs the scenarios interleaved; with `timed`, collects the server's guard-chain percentiles per slice. */
async function interleaved(ctx, scenarios) {
  const seconds = Math.max(1, Math.round(ctx.duration / ROUNDS));
  const out = scenarios.map(() => ({ slices: [], guards: [] }));
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < scenarios.length; i++) {
      const { server, path, keys, timed, method, body, headers } = scenarios[i];
      if (timed) await server.request('POST', '/v1/bench/guard-timings/reset');
      out[i].slices.push(await ctx.load({ server, path, keys, method, body, headers, duration: seconds }));
      if (timed) out[i].guards.push(await guardTimings(server));
    }
  }
  return out.map(({ slices, guards }) => ({
    slices,
    guards,
    rps: slices.reduce((sum, r) => sum + r.total, 0) / (seconds * slices.length),
    p99Ms: Math.max(...slices.map((r) => r.p99Ms)),
    non2xx: slices.reduce((sum, r) => sum + r.non2xx, 0),
    errors: slices.reduce((sum, r) => sum + r.errors, 0),
    serverCpu: slices.every((r) => r.serverCpuMicros !== null) ? median(slices.map((r) => r.serverCpuMicros)) : null,
  }));
}

const throughputRow = (scenario, r) => ({
  scenario,
  value: r.rps,
  unit:
    `req/s (client p99 ${r.p99Ms} ms` +
    (r.serverCpu === null ? '' : `, server CPU ${r.serverCpu.toFixed(0)} µs/req`) +
    (r.non2xx || r.errors ? `, ${r.non2xx} non-2xx, ${r.errors} errors!` : '') +
    ')',
});

/** Server CPU added per request by `num` over `den`: the median of the per-round differences. */
function addedMicros(num, den) {
  const diffs = [];
  for (let i = 0; i < num.slices.length; i++) {
    const a = num.slices[i].serverCpuMicros;
    const b = den.slices[i]?.serverCpuMicros;
    if (a !== null && b !== null && b !== undefined) diffs.push(a - b);
  }
  return diffs.length ? median(diffs) : null;
}

/** A target on added server CPU; `floor` (the hand-written reference's added CPU) is filled in later. */
function addedRow(scenario, num, den, target) {
  const value = addedMicros(num, den);
  const valid = num.non2xx === 0 && num.errors === 0 && value !== null;
  return {
    scenario,
    value,
    unit: `µs/req added (${num.serverCpu?.toFixed(0) ?? '?'} − ${den.serverCpu?.toFixed(0) ?? '?'})${valid ? '' : ' invalid: errors or non-2xx'}`,
    target: `≤ ${target} µs`,
    pass: valid && value <= target,
    withFloor: true,
  };
}

function guardRow(scenario, measured, target) {
  const p99 = median(measured.guards.map((g) => g.p99));
  const p50 = median(measured.guards.map((g) => g.p50));
  const count = measured.guards.reduce((sum, g) => sum + g.count, 0);
  const row = { scenario: `${scenario} (${count.toLocaleString('en-US')} requests, p50 ${p50.toFixed(1)} µs)`, value: p99, unit: 'µs' };
  if (target) Object.assign(row, { target: `≤ ${target} µs`, pass: count > 0 && p99 <= target });
  return row;
}

async function guardTimings(server) {
  const r = await server.request('GET', '/v1/bench/guard-timings');
  if (r.status !== 200) throw new Error(`guard timings unavailable: ${r.status}`);
  return r.body;
}

/**
 * Starts bench/reference-server.js with the same plaintext keys (ids of the product's length), as a
 * BenchServer so that ctx.load measures it and stop() ends it the same way.
 */
async function startReference(ctx, keys) {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-reference-'));
  const file = join(dir, 'keys.jsonl');
  const pad = (n) => String(n).padStart(24, '0');
  writeFileSync(file, keys.map((key, i) => JSON.stringify({ key, keyId: `key_${pad(i)}`, consumerId: `cons_${pad(i % 100)}` })).join('\n'));
  const proc = spawn(process.execPath, [join(__dirname, 'reference-server.js')], {
    env: { PATH: process.env.PATH ?? '', REFERENCE_KEYS: file },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`reference server not ready:\n${output}`)), 15_000);
    proc.stdout.on('data', (chunk) => {
      output += chunk;
      const m = /listening (\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.stderr.on('data', (chunk) => (output += chunk));
    proc.once('exit', (code) => reject(new Error(`reference server exited (${code}):\n${output}`)));
  });
  return new ctx.BenchServer(url, null, null, proc, dir);
}

/** (j): the same hot key on a server journaling its counts and on one that does not, interleaved. */
async function journalRows(ctx, rows) {
  ctx.log('http: (j) journal on and off, two servers, hot key, interleaved');
  const on = await ctx.startServer({ env: NO_TRIP });
  const off = await ctx.startServer({ env: { ...NO_TRIP, JOURNAL_ENABLED: 'false' } });
  try {
    const [{ keys: onKeys }, { keys: offKeys }] = [
      await ctx.seedKeys(on, { consumers: 1, keysPerConsumer: 1, key: { rateLimits: KEY_LIMITS } }),
      await ctx.seedKeys(off, { consumers: 1, keysPerConsumer: 1, key: { rateLimits: KEY_LIMITS } }),
    ];
    for (const [server, keys] of [[on, onKeys], [off, offKeys]]) await ctx.load({ server, path: '/v1/me/ping', keys, duration: 1 });
    const [withJournal, without] = await interleaved(ctx, [
      { server: on, path: '/v1/me/ping', keys: onKeys },
      { server: off, path: '/v1/me/ping', keys: offKeys },
    ]);
    const added = addedMicros(withJournal, without);
    rows.push(
      throughputRow('(j) GET /v1/me/ping, hot key, journal on', withJournal),
      throughputRow('(j) the same, journal off (JOURNAL_ENABLED=false)', without),
      {
        scenario: '(j) on − off: CPU the journal adds per request',
        value: added,
        unit: `µs/req (${withJournal.serverCpu?.toFixed(0) ?? '?'} − ${without.serverCpu?.toFixed(0) ?? '?'}); req/s on/off ${(withJournal.rps / without.rps).toFixed(2)}`,
      },
    );
  } finally {
    await on.stop();
    await off.stop();
  }
}

exports.NO_TRIP = NO_TRIP;
exports.KEY_LIMITS = KEY_LIMITS;

exports.run = async function run(ctx) {
  const rows = [];
  let floor = null;
  const done = () => {
    for (const r of rows) {
      if (!r || !r.withFloor) continue;
      r.target += floor === null ? '' : ` (floor ${floor.toFixed(0)})`;
      if (floor > 0 && r.value !== null) r.unit = r.unit.replace(/^µs\/req added/, `µs/req added, ${(r.value / floor).toFixed(1)}× the floor`);
      delete r.withFloor;
    }
    return rows.filter(Boolean);
  };
  const { log } = ctx;
  if (process.env.BENCH_HTTP_ONLY === 'journal') {
    await journalRows(ctx, rows);
    return done();
  }

  log('http: starting a server (SQLite, in-process limiter)');
  // CPU is measured on a server without the guard timing: it is instrumentation (two more guards and a
  // clock read around the chain), not part of what a user runs.
  let server = await ctx.startServer({ env: NO_TRIP });
  let keys;
  let reference = null;
  try {
    const t0 = Date.now();
    ({ keys } = await ctx.seedKeys(server, { consumers: 100, keysPerConsumer: 10, key: { rateLimits: KEY_LIMITS } }));
    log(`http: seeded ${keys.length} keys in ${((Date.now() - t0) / 1000).toFixed(1)} s; warming up`);
    // The floor runs in the same rounds as the product, so that both see the same background drift.
    reference = await startReference(ctx, keys);
    await ctx.load({ server, path: '/v1/ping', duration: 1 });
    await ctx.load({ server, path: '/v1/me/ping', keys, duration: 2 });
    await ctx.load({ server: reference, path: '/v1/ping', duration: 1 });
    await ctx.load({ server: reference, path: '/v1/me/ping', keys, duration: 1 });

    const gateway = await server.request('POST', '/v1/admin/admin-keys', { name: 'bench gateway', scopes: ['keys:verify'] });
    if (gateway.status !== 201) throw new Error(`gateway key create failed: ${gateway.status}`);
    const verifyBody = { key: keys[0] };
    await ctx.load({ server, path: '/v1/keys/verify', method: 'POST', body: verifyBody, keys: [gateway.body.key], duration: 1 });

    // Forward auth: the hot key in the client's header, the gateway's key in its own, no body.
    const authorize = { server, path: '/v1/keys/authorize?cost=1', keys: [keys[0]], headers: { 'x-tollgate-gateway-key': gateway.body.key } };
    await ctx.load({ ...authorize, duration: 1 });

    log(`http: (a) bare, (b) 1000 keys, (c) hot key, (v) verify, (g) forward auth and (f) the floor's two, interleaved in ${ROUNDS} rounds`);
    const [bare, spread, hot, verify, forward, refBare, refChecked] = await interleaved(ctx, [
      { server, path: '/v1/ping' },
      { server, path: '/v1/me/ping', keys },
      { server, path: '/v1/me/ping', keys: [keys[0]] },
      { server, path: '/v1/keys/verify', method: 'POST', body: verifyBody, keys: [gateway.body.key] },
      authorize,
      { server: reference, path: '/v1/ping' },
      { server: reference, path: '/v1/me/ping', keys },
    ]);
    floor = addedMicros(refChecked, refBare);
    rows.push(
      throughputRow('(a) bare GET /v1/ping', bare),
      throughputRow('(b) GET /v1/me/ping, 1000 keys', spread),
      throughputRow('(c) GET /v1/me/ping, one hot key', hot),
      throughputRow('(v) POST /v1/keys/verify, hot key', verify),
      addedRow('(c) − (a) guard chain + limits + metering, one hot key', hot, bare, 15),
      addedRow('(b) − (a) the same, 1000 keys in turn', spread, bare, 20),
      addedRow('(v) − (a) verify, hot key', verify, bare, 25),
      throughputRow('(g) GET /v1/keys/authorize (forward auth), hot key', forward),
      addedRow('(g) − (a) forward auth, hot key', forward, bare, 25),
      throughputRow('(f) reference: bare GET /v1/ping on plain Fastify', refBare),
      throughputRow('(f) reference: key + 2 limits + headers, hand-written', refChecked),
      { scenario: '(f) − bare: the floor, the same checks hand-written', value: floor, unit: 'µs/req added' },
    );
  } finally {
    await reference?.stop();
    await server.stop(true);
  }

  log('http: (e) restarting on the same database with the guard timing on');
  server = await ctx.startServer({ reuse: server, env: { ...NO_TRIP, BENCH_TRACE_GUARDS: '1' } });
  try {
    await ctx.load({ server, path: '/v1/me/ping', keys, duration: 2 });
    const [spread, hot] = await interleaved(ctx, [
      { server, path: '/v1/me/ping', keys, timed: true },
      { server, path: '/v1/me/ping', keys: [keys[0]], timed: true },
    ]);
    rows.push(
      guardRow('(e) guard chain p99 during (b), refreshes included, server side', spread, 100),
      guardRow('    guard chain p99 during (c), server side', hot),
    );
  } finally {
    await server.stop(Boolean(ctx.redisUrl));
  }

  if (!ctx.redisUrl) {
    rows.push({ scenario: '(d) − (a′) with the Redis limiter: no Redis reachable', value: null, unit: '', target: '≤ 35 µs', pass: null });
    return done();
  }
  log(`http: (d) restarting on the same database with REDIS_URL=${ctx.redisUrl}`);
  const prefix = `tollgate-bench-${process.pid}-${Date.now().toString(36)}:`;
  const redisServer = await ctx.startServer({ reuse: server, env: { ...NO_TRIP, REDIS_URL: ctx.redisUrl, REDIS_PREFIX: prefix } });
  try {
    await ctx.load({ server: redisServer, path: '/v1/ping', duration: 1 });
    await ctx.load({ server: redisServer, path: '/v1/me/ping', keys, duration: 2 });
    log(`http: (a′) bare and (d) 1000 keys with the Redis limiter, interleaved in ${ROUNDS} rounds`);
    const [bare, spread] = await interleaved(ctx, [
      { server: redisServer, path: '/v1/ping' },
      { server: redisServer, path: '/v1/me/ping', keys },
    ]);
    const health = await redisServer.request('GET', '/health/ready');
    const shared = health.body?.info?.redis?.state === 'ok';
    rows.push(
      throughputRow('(a′) bare GET /v1/ping, server with Redis', bare),
      throughputRow('(d) GET /v1/me/ping, 1000 keys, Redis limiter', spread),
      addedRow(`(d) − (a′) the same with the Redis limiter${shared ? '' : ' (Redis degraded!)'}`, spread, bare, 35),
    );
    if (!shared) rows[rows.length - 1].pass = false;
  } finally {
    await redisServer.stop();
  }
  return done();
};
