#!/usr/bin/env node
'use strict';
/**
 * `npm run bench:profile`: where the server's CPU goes per request, by function. Starts the built server
 * under `node --cpu-prof` (SQLite, in-process limiter; Redis with PROFILE_REDIS=1), seeds 100 consumers ×
 * 10 keys, then drives each scenario in turn for PROFILE_SECONDS (default 8): bare GET /v1/ping, GET
 * /v1/me/ping with one hot key, with the 1000 keys in turn, and POST /v1/keys/verify. Samples are assigned
 * to a scenario by their timestamp (V8's profile clock is the monotonic clock that process.hrtime reads),
 * so start-up and seeding are left out. Prints, per scenario, the functions whose self time per request
 * grew most over the bare route: what the guard chain, limits and metering cost, function by function.
 * PROFILE_TOP (default 25) rows per scenario; the raw .cpuprofile is kept under PROFILE_DIR if given.
 */
const { mkdtempSync, readdirSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, relative } = require('node:path');
const { ctx } = require('./run');
const { KEY_LIMITS, NO_TRIP } = require('./http.bench');

const SECONDS = Number(process.env.PROFILE_SECONDS || 8);
const TOP = Number(process.env.PROFILE_TOP || 25);
const INTERVAL_US = 100;

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/** Self microseconds per function between two monotonic timestamps (µs), from a .cpuprofile. */
function selfTimes(profile, fromUs, toUs) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const out = new Map();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    if (t < fromUs || t > toUs) continue;
    // A sample stands for the time until the next one.
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const node = byId.get(profile.samples[i]);
    const f = node.callFrame;
    const where = f.url ? `${relative(ctx.root, f.url.replace('file://', ''))}:${f.lineNumber + 1}` : '';
    const name = `${f.functionName || '(anonymous)'} ${where}`.trim();
    out.set(name, (out.get(name) ?? 0) + dt);
  }
  return out;
}

async function main() {
  const dir = process.env.PROFILE_DIR || mkdtempSync(join(tmpdir(), 'tollgate-profile-'));
  const env = { ...NO_TRIP };
  if (process.env.PROFILE_REDIS === '1') env.REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  const server = await ctx.startServer({
    env,
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-interval=${INTERVAL_US}`],
  });
  const windows = [];
  try {
    const { keys } = await ctx.seedKeys(server, {
      consumers: 100,
      keysPerConsumer: 10,
      key: { rateLimits: KEY_LIMITS },
    });
    const gateway = await server.request('POST', '/v1/admin/admin-keys', { name: 'profile gateway', scopes: ['keys:verify'] });
    const scenarios = [
      { name: 'bare GET /v1/ping', path: '/v1/ping' },
      { name: 'GET /v1/me/ping, hot key', path: '/v1/me/ping', keys: [keys[0]] },
      { name: 'GET /v1/me/ping, 1000 keys', path: '/v1/me/ping', keys },
      { name: 'POST /v1/keys/verify, hot key', path: '/v1/keys/verify', method: 'POST', body: { key: keys[0] }, keys: [gateway.body.key] },
    ];
    for (const s of scenarios) await ctx.load({ server, ...s, duration: 1 });
    for (const s of scenarios) {
      const from = nowUs();
      const r = await ctx.load({ server, ...s, duration: SECONDS });
      windows.push({ ...s, from, to: nowUs(), requests: r.total, cpu: r.serverCpuMicros });
      ctx.log(`${s.name}: ${r.total} requests, ${r.serverCpuMicros?.toFixed(1)} µs CPU/req`);
    }
  } finally {
    await server.stop();
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no profile was written in ${dir}`);
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const per = windows.map((w) => {
    const times = selfTimes(profile, w.from, w.to);
    const perReq = new Map([...times].map(([k, v]) => [k, v / w.requests]));
    const sampled = [...times.values()].reduce((a, b) => a + b, 0) / w.requests;
    return { ...w, perReq, sampled };
  });
  const bare = per[0];
  for (const w of per) {
    console.log(`\n## ${w.name}: ${w.cpu?.toFixed(1)} µs CPU/req (/proc), ${w.sampled.toFixed(1)} µs/req sampled on the main thread`);
    const rows = [...w.perReq].map(([k, v]) => [k, v, v - (w === bare ? 0 : bare.perReq.get(k) ?? 0)]);
    rows.sort((a, b) => b[2] - a[2]);
    console.log(w === bare ? '| self µs/req | function |' : '| added µs/req | self µs/req | function |');
    console.log(w === bare ? '|---:|---|' : '|---:|---:|---|');
    for (const [k, v, d] of rows.slice(0, TOP)) console.log(w === bare ? `| ${v.toFixed(2)} | ${k} |` : `| ${d.toFixed(2)} | ${v.toFixed(2)} | ${k} |`);
  }
  if (!process.env.PROFILE_DIR) rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
