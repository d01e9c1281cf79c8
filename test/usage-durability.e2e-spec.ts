import { createServer, connect, Server, Socket } from 'node:net';
import { adminKeyWith, consumerWithKey, sleep } from './support/fixtures';
import { MYSQL_URL, TestDatabase, TestServer, USE_MYSQL } from './support/server';
import { adminUsage, sumOf, waitFor } from './support/usage';

/** Statuses of responses that reached a handler: everything except the guards' refusals. */
const REFUSED = new Set([401, 403, 429]);

/** Sends requests one after another until stopped or the server goes away; collects the statuses. */
function loop(send: () => Promise<Response>, pauseMs = 2) {
  const statuses: number[] = [];
  const bodies: unknown[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      try {
        const r = await send();
        statuses.push(r.status);
        bodies.push(await r.json().catch(() => null));
      } catch {
        return; // connection refused: the server is gone
      }
      if (pauseMs) await sleep(pauseMs);
    }
  })();
  return {
    statuses,
    bodies,
    stop: async () => {
      running = false;
      await done;
    },
    done,
  };
}

const get = (server: TestServer, path: string, key: string) => () => fetch(`${server.url}${path}`, { headers: { 'x-api-key': key } });
const post = (server: TestServer, path: string, key: string, body: unknown) => () =>
  fetch(`${server.url}${path}`, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('usage durability', () => {
  it('every 2xx answered before and during a SIGTERM is counted after the restart', async () => {
    const db = await TestDatabase.create();
    // No flush before shutdown: every count must come from the last flush.
    const env = { USAGE_FLUSH_INTERVAL_MS: '60000', USAGE_FLUSH_BATCH_ROWS: '100000' };
    const first = await TestServer.start({ db, env });
    let second: TestServer | undefined;
    try {
      const consumers = await Promise.all([0, 1, 2].map((i) => consumerWithKey(first, {}, { name: `load ${i}` })));
      const verifier = await adminKeyWith(first, ['keys:verify']);
      const loops = [
        ...consumers.flatMap((c) => [loop(get(first, '/v1/me', c.plaintext), 0), loop(get(first, '/v1/me', c.plaintext), 0)]),
        loop(post(first, '/v1/keys/verify', verifier, { key: consumers[0].plaintext, metric: 'verified', cost: 2 }), 0),
      ];
      await sleep(1500);
      const code = first.stop('SIGTERM', false);
      await Promise.all(loops.map((l) => l.done));
      await code;
      expect(first.logs.join('\n')).not.toMatch(/not written/);

      second = await TestServer.start({ db, adminKey: first.adminKey, env: { USAGE_FLUSH_INTERVAL_MS: '200' } });
      for (let i = 0; i < consumers.length; i++) {
        const ok = [loops[2 * i], loops[2 * i + 1]].flatMap((l) => l.statuses).filter((s) => s >= 200 && s < 300).length;
        const answered = [loops[2 * i], loops[2 * i + 1]].flatMap((l) => l.statuses);
        expect(ok).toBeGreaterThan(10);
        // Requests refused while closing never reached a handler; nothing else but 200 was answered.
        expect(answered.every((s) => s === 200 || s === 503)).toBe(true);
        const usage = await adminUsage(second, consumers[i].consumer.id, { metric: 'requests' });
        expect([i, sumOf(usage, 'requests', consumers[i].key.id)]).toEqual([i, ok]);
      }
      const verifyLoop = loops[loops.length - 1];
      const valid = verifyLoop.bodies.filter((b: any) => b?.valid === true).length;
      expect(valid).toBeGreaterThan(10);
      const metered = await adminUsage(second, consumers[0].consumer.id, { metric: 'verified' });
      expect(sumOf(metered, 'verified', consumers[0].key.id)).toBe(2 * valid);
    } finally {
      if (first.proc.exitCode === null && first.proc.signalCode === null) await first.stop('SIGKILL', false);
      if (second) await second.stop('SIGTERM', false);
      await db.drop();
    }
  }, 60_000);

  (USE_MYSQL ? it : it.skip)(
    'the database goes away under load and comes back: no count lost, cached keys keep working, the rest get 503, no 500, no restart',
    async () => {
      const target = new URL(MYSQL_URL);
      const proxy = await TcpProxy.start(target.hostname, Number(target.port || 3306));
      const db = await TestDatabase.create();
      const url = new URL(db.mysqlUrl!);
      url.host = `127.0.0.1:${proxy.port}`;
      // A short cache TTL, so that during the outage keys are served from the stale cache. The loops below
      // send thousands of requests a minute with one consumer's key: a limit they cannot reach, since this
      // is about the database, not about limits.
      const server = await TestServer.start({
        db,
        env: { DATABASE_URL: url.toString(), KEY_CACHE_TTL_SECONDS: '1', DB_POOL_SIZE: '4', DEFAULT_RATE_LIMIT: '1000000' },
      });
      try {
        const { consumer, key, plaintext } = await consumerWithKey(server);
        const unused = await server.post(`/v1/admin/consumers/${consumer.id}/keys`, { name: 'cold', scopes: ['usage:read'] }, server.adminKey);
        const verifier = await adminKeyWith(server, ['keys:verify']);
        let direct = 0; // requests by `key` outside the loops that reached a handler
        expect((await server.get('/v1/me', plaintext)).status).toBe(200);
        direct++;
        expect((await server.post('/v1/keys/verify', { key: plaintext, cost: 0 }, verifier)).body.valid).toBe(true);

        const verifyLoop = loop(post(server, '/v1/keys/verify', verifier, { key: plaintext, metric: 'verified' }), 5);
        const meLoop = loop(get(server, '/v1/me', plaintext), 5);
        await sleep(1000);

        await proxy.down();
        await sleep(1500); // past the key cache TTL: only stale entries are left
        const cold: Response[] = [];
        for (let i = 0; i < 5; i++) cold.push(await get(server, '/v1/me', unused.body.key)());
        const during = await server.post('/v1/usage/events', { events: [{ metric: 'tokens', quantity: 3, idempotencyKey: 'outage-1' }] }, plaintext);
        direct++;
        const ready = await fetch(`${server.url}/health/ready`);
        await sleep(1000);
        await proxy.up();

        // Recovers by itself: the key nobody used before works once the database answers.
        const recovered = await waitFor(
          () => server.get('/v1/me', unused.body.key),
          (r) => r.status === 200,
          20_000,
        );
        expect(recovered.status).toBe(200);
        await sleep(500);
        await Promise.all([verifyLoop.stop(), meLoop.stop()]);
        const after = await server.post('/v1/usage/events', { events: [{ metric: 'tokens', quantity: 3, idempotencyKey: 'outage-1' }] }, plaintext);
        direct++;

        // The cold key could not be checked: 503 with Retry-After, never a 500.
        for (const r of cold) {
          expect(r.status).toBe(503);
          expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
          expect((await r.json()).error).toBe('SERVICE_UNAVAILABLE');
        }
        expect(ready.status).toBe(503);
        expect(during.status).toBe(503);
        expect(during.headers.get('retry-after')).toMatch(/^\d+$/);
        // Committed only once the database was back, and exactly once.
        expect(after.status).toBe(200);
        expect(after.body.results[0].status).toBe('accepted');

        const all = [...verifyLoop.statuses, ...meLoop.statuses];
        expect(all).not.toContain(500);
        // Cached keys kept working: every verify during the outage succeeded.
        expect(verifyLoop.statuses.every((s) => s === 200)).toBe(true);
        const valid = verifyLoop.bodies.filter((b: any) => b?.valid === true).length;
        expect(valid).toBe(verifyLoop.statuses.length);
        expect(meLoop.statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
        expect(meLoop.statuses.every((s) => s === 200 || s === 503 || REFUSED.has(s))).toBe(true);

        const expectedRequests = direct + meLoop.statuses.filter((s) => !REFUSED.has(s)).length;
        const usage = await waitFor(
          () => adminUsage(server, consumer.id),
          (u) => sumOf(u, 'verified', key.id) >= valid && sumOf(u, 'requests', key.id) >= expectedRequests,
          30_000,
        );
        expect(sumOf(usage, 'verified', key.id)).toBe(valid);
        expect(sumOf(usage, 'requests', key.id)).toBe(expectedRequests);
        expect(sumOf(usage, 'tokens', key.id)).toBe(3);
        const metrics = await (await fetch(`${server.url}/metrics`)).text();
        expect(Number(/^tollgate_writer_failures_total (\S+)/m.exec(metrics)![1])).toBeGreaterThan(0);
      } finally {
        await server.stop('SIGTERM', false);
        await proxy.close();
        await db.drop();
      }
    },
    90_000,
  );
});

/** A TCP proxy to the database that the test can take down (connections cut, new ones refused) and bring back. */
class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly host: string,
    private readonly targetPort: number,
    public port = 0,
  ) {}

  static async start(host: string, targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(host, targetPort);
    await proxy.up();
    return proxy;
  }

  async up(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, this.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          this.sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(this.port, '127.0.0.1', () => ok());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((ok) => server.close(() => ok()));
  }

  async close(): Promise<void> {
    await this.down();
  }
}
