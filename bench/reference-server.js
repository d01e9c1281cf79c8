'use strict';
/**
 * The floor the HTTP bench compares the product against: the least work an authenticated, rate-limited
 * answer can take, hand-written on the same Fastify that Tollgate runs on, without Nest, logging,
 * metrics, request context or usage metering.
 *
 *   GET /v1/ping      {"status":"ok"}
 *   GET /v1/me/ping   X-API-Key → HMAC-SHA256 → Map lookup → two fixed-window counters (the consumer's
 *                     and the key's) → the five rate-limit headers Tollgate sends → the same body
 *
 * Keys are read as JSON lines from the file named by REFERENCE_KEYS ({key, keyId, consumerId}). Prints
 * `listening <url>` on stdout when ready.
 */
const { createHmac, createSecretKey, randomBytes } = require('node:crypto');
const { readFileSync } = require('node:fs');

// fastify is a dependency of @nestjs/platform-fastify: resolve the copy the product itself runs on.
const fastify = require(require.resolve('fastify', { paths: [require.resolve('@nestjs/platform-fastify')] }));

const secret = createSecretKey(randomBytes(32));
const hash = (key) => createHmac('sha256', secret).update(key).digest('hex');

const records = new Map();
for (const line of readFileSync(process.env.REFERENCE_KEYS, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  const { key, keyId, consumerId } = JSON.parse(line);
  records.set(hash(key), { keyId, consumerId, environment: 'live' });
}

const CONSUMER_LIMIT = 1_000_000_000;
const CONSUMER_WINDOW_MS = 60_000;
const KEY_LIMIT = 1_000_000;
const KEY_WINDOW_MS = 1_000;
const POLICY = `"default";q=${CONSUMER_LIMIT};w=${CONSUMER_WINDOW_MS / 1000}, "per-second";q=${KEY_LIMIT};w=${KEY_WINDOW_MS / 1000}`;

/** Fixed-window counters: counter key → { windowStart, used }. */
const counters = new Map();
function hit(key, windowMs, now) {
  const start = now - (now % windowMs);
  let c = counters.get(key);
  if (c === undefined || c.start !== start) counters.set(key, (c = { start, used: 0 }));
  c.used++;
  return { used: c.used, resetSeconds: Math.ceil((start + windowMs - now) / 1000) };
}

const app = fastify({ logger: false });
app.get('/v1/ping', async () => ({ status: 'ok' }));
app.get('/v1/me/ping', async (request, reply) => {
  const key = request.headers['x-api-key'];
  const record = typeof key === 'string' ? records.get(hash(key)) : undefined;
  if (record === undefined) {
    reply.code(401);
    return { error: 'INVALID_API_KEY', statusCode: 401 };
  }
  const now = Date.now();
  const consumer = hit(record.consumerId, CONSUMER_WINDOW_MS, now);
  const own = hit(record.keyId, KEY_WINDOW_MS, now);
  if (consumer.used > CONSUMER_LIMIT || own.used > KEY_LIMIT) {
    reply.code(429);
    return { error: 'RATE_LIMIT_EXCEEDED', statusCode: 429 };
  }
  const remaining = KEY_LIMIT - own.used;
  reply.header('ratelimit-policy', POLICY);
  reply.header('ratelimit', `"default";r=${CONSUMER_LIMIT - consumer.used};t=${consumer.resetSeconds}, "per-second";r=${remaining};t=${own.resetSeconds}`);
  reply.header('x-ratelimit-limit', KEY_LIMIT);
  reply.header('x-ratelimit-remaining', remaining);
  reply.header('x-ratelimit-reset', own.resetSeconds);
  return { keyId: record.keyId, consumerId: record.consumerId, environment: record.environment };
});

app.listen({ host: '127.0.0.1', port: Number(process.env.PORT || 0) }).then(
  (url) => process.stdout.write(`listening ${url}\n`),
  (err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  },
);
