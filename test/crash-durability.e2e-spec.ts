import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeldRows, waitForLockWait } from './support/db-hold';
import { consumerWithKey, sleep } from './support/fixtures';
import { TestDatabase, TestServer, USE_MYSQL } from './support/server';
import { TcpProxy } from './support/tcp-proxy';
import { adminUsage, aroundNow, qs, sumOf, waitFor } from './support/usage';
import { WebhookReceiver } from './support/webhook-receiver';

/**
 * SIGKILL of the server process under load: every answer the clients received is counted after a restart
 * (or by a sibling), exactly once. A request whose answer never arrived may or may not be counted (its
 * count may have been journaled just before the kill), so each count lies in [answered, answered + the
 * requests left without an answer]; a segment applied twice would double whole seconds of traffic.
 */

/** No flush before the kill: every count must come from the journal. */
const NO_FLUSH = { USAGE_FLUSH_INTERVAL_MS: '60000', USAGE_FLUSH_BATCH_ROWS: '100000', DEFAULT_RATE_LIMIT: '1000000', AUTH_FAILURE_LIMIT: '1000000', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_LEASE_SECONDS: '2', WEBHOOK_TIMEOUT_MS: '1000' };
const RESTART = { USAGE_FLUSH_INTERVAL_MS: '200', DEFAULT_RATE_LIMIT: '1000000', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_POLL_INTERVAL_MS: '100', WEBHOOK_LEASE_SECONDS: '2', WEBHOOK_TIMEOUT_MS: '1000' };

/** Sends requests one after another until stopped or the server goes away. */
function loop(server: TestServer, path: string, key: string) {
  const statuses: number[] = [];
  let unanswered = 0;
  let running = true;
  const done = (async () => {
    while (running) {
      try {
        const r = await fetch(`${server.url}${path}`, { headers: { 'x-api-key': key } });
        await r.arrayBuffer();
        statuses.push(r.status);
      } catch {
        unanswered = 1; // the server is gone: this request may have been counted
        return;
      }
    }
  })();
  return {
    count: (status: number) => statuses.filter((s) => s === status).length,
    /** Answers from a handler: everything but the guards' refusals (a 503 while the database is cut counts too). */
    admitted: () => statuses.filter((s) => s !== 401 && s !== 403 && s !== 429).length,
    get unanswered() {
      return unanswered;
    },
    stop: async () => {
      running = false;
      await done;
    },
    done,
  };
}
type Loop = ReturnType<typeof loop>;

async function kill(server: TestServer): Promise<void> {
  process.kill(server.proc.pid!, 'SIGKILL');
  await server.stop('SIGKILL', false);
}

async function outcomeTotal(server: TestServer, keyId: string, outcome: string): Promise<number> {
  const r = await server.get(`/v1/admin/usage/outcomes?${qs({ ...aroundNow(), keyId })}`, server.adminKey);
  if (r.status !== 200) throw new Error(`outcomes: ${r.status} ${r.text}`);
  return (r.body.totals as { outcome: string; quantity: number }[]).find((t) => t.outcome === outcome)?.quantity ?? 0;
}

/** Waits until `read` reaches `min`, then a while longer (a late replay would add more), and returns it. */
async function settled(read: () => Promise<number>, min: number): Promise<number> {
  await waitFor(read, (n) => n >= min, 30_000);
  await sleep(1500);
  return read();
}

const metric = (text: string, line: RegExp) => Number(line.exec(text)?.[1] ?? 0);

interface Load {
  keys: { consumerId: string; keyId: string; plaintext: string }[];
  loops: Loop[][];
}

/** `perKey` loops on GET /v1/me for each of `n` new consumers' keys. */
async function load(server: TestServer, n: number, perKey = 2): Promise<Load> {
  const keys = [];
  for (let i = 0; i < n; i++) {
    const { consumer, key, plaintext } = await consumerWithKey(server, {}, { name: `load ${i}` });
    keys.push({ consumerId: consumer.id, keyId: key.id, plaintext });
  }
  return { keys, loops: keys.map((k) => Array.from({ length: perKey }, () => loop(server, '/v1/me', k.plaintext))) };
}

/** Every key's `requests` lies in [answers from a handler, those + requests left without an answer]. */
async function expectCounted(reader: TestServer, l: Load): Promise<void> {
  for (let i = 0; i < l.keys.length; i++) {
    const ok = l.loops[i].reduce((a, x) => a + x.admitted(), 0);
    expect(l.loops[i].reduce((a, x) => a + x.count(200), 0)).toBeGreaterThan(10);
    const open = l.loops[i].reduce((a, x) => a + x.unanswered, 0);
    expect(ok).toBeGreaterThan(10);
    const counted = await settled(async () => sumOf(await adminUsage(reader, l.keys[i].consumerId, { metric: 'requests' }), 'requests', l.keys[i].keyId), ok);
    expect([i, counted >= ok && counted <= ok + open]).toEqual([i, true]);
  }
}

const stopAll = (l: Load) => Promise.all(l.loops.flat().map((x) => x.stop()));

describe('crash durability (SIGKILL)', () => {
  let journal: string;
  beforeEach(() => {
    journal = mkdtempSync(join(tmpdir(), 'tollgate-journal-'));
  });
  afterEach(() => rmSync(journal, { recursive: true, force: true }));

  it('one instance killed under load: after the restart every answer, refusal and alert is counted once, and an event committed before the kill is delivered', async () => {
    const db = await TestDatabase.create();
    const receiver = await WebhookReceiver.start();
    const env = { ...NO_FLUSH, JOURNAL_DIR: journal };
    const first = await TestServer.start({ db, env });
    let second: TestServer | undefined;
    try {
      const hook = await first.post('/v1/admin/webhook-endpoints', { url: receiver.url('/hook'), events: ['rate_limit.exceeded', 'key.created'] }, first.adminKey);
      expect(hook.status).toBe(201);
      const l = await load(first, 3);
      const revoked = await consumerWithKey(first, {}, { name: 'revoked' });
      expect((await first.post(`/v1/admin/keys/${revoked.key.id}/revoke`, {}, first.adminKey)).status).toBe(200);
      const limited = await consumerWithKey(first, { rateLimits: [{ name: 'tight', limit: 3, windowSeconds: 60 }] }, { name: 'limited' });
      const refusals = [loop(first, '/v1/me', revoked.plaintext), loop(first, '/v1/me', limited.plaintext)];
      await sleep(1500);
      // Committed (with its outbox event) and answered just before the kill.
      const late = await first.post(`/v1/admin/consumers/${l.keys[0].consumerId}/keys`, { name: 'late', scopes: ['usage:read'] }, first.adminKey);
      expect(late.status).toBe(201);
      await kill(first);
      await Promise.all([...l.loops.flat(), ...refusals].map((x) => x.done));
      expect(readdirSync(journal).some((f) => f.endsWith('.log'))).toBe(true);

      second = await TestServer.start({ db, adminKey: first.adminKey, env: { ...RESTART, JOURNAL_DIR: journal } });
      await expectCounted(second, l);
      const [rv, lim] = refusals;
      expect(rv.count(401)).toBeGreaterThan(2);
      const revokedCount = await settled(() => outcomeTotal(second!, revoked.key.id, 'KEY_REVOKED'), rv.count(401));
      expect(revokedCount - rv.count(401)).toBeGreaterThanOrEqual(0);
      expect(revokedCount - rv.count(401)).toBeLessThanOrEqual(rv.unanswered);
      expect(lim.count(429)).toBeGreaterThan(10);
      const limitedCount = await settled(() => outcomeTotal(second!, limited.key.id, 'RATE_LIMIT_EXCEEDED'), lim.count(429));
      expect(limitedCount - lim.count(429)).toBeGreaterThanOrEqual(0);
      expect(limitedCount - lim.count(429)).toBeLessThanOrEqual(lim.unanswered);
      // The first 429's alert was journaled before that 429 left; the key created before the kill was committed.
      const got = await receiver.waitFor('/hook', (rs) => rs.some((r) => r.json?.type === 'key.created' && r.json.data.key?.id === late.body.id) && rs.some((r) => r.json?.type === 'rate_limit.exceeded'));
      expect(got.filter((r) => r.json?.type === 'rate_limit.exceeded' && r.json.data.keyId === limited.key.id).length).toBeGreaterThanOrEqual(1);
      const text = (await second.get('/metrics')).text;
      expect(metric(text, /^tollgate_writer_replays_total\{result="written"\} (\S+)/m)).toBeGreaterThanOrEqual(1);
      expect(readdirSync(journal).filter((f) => f.endsWith('.log'))).toEqual([]);
    } finally {
      if (first.proc.exitCode === null && first.proc.signalCode === null) await first.stop('SIGKILL', false);
      await second?.stop('SIGTERM', false);
      await receiver.stop();
      await db.drop();
    }
  }, 110_000);

  it('a kill during the replay, before the replayed segment file is deleted, counts nothing twice', async () => {
    const db = await TestDatabase.create();
    const first = await TestServer.start({ db, env: { ...NO_FLUSH, JOURNAL_DIR: journal } });
    const servers: TestServer[] = [];
    const saved = mkdtempSync(join(tmpdir(), 'tollgate-journal-copy-'));
    try {
      const l = await load(first, 2);
      await sleep(1200);
      await kill(first);
      await Promise.all(l.loops.flat().map((x) => x.done));
      const segments = readdirSync(journal).filter((f) => f.endsWith('.log'));
      expect(segments.length).toBeGreaterThan(0);
      for (const f of segments) copyFileSync(join(journal, f), join(saved, f));

      if (USE_MYSQL) {
        // The replay's first statement (its batch id) waits on a lock of the test's; the instance is killed
        // there, mid-transaction.
        const ids = segments.map((f) => readFileSync(join(journal, f), 'utf8').split('\n')[0].slice(2));
        const held = await HeldRows.lock(db, `SELECT id FROM usage_flushes WHERE id IN (${ids.map(() => '?').join(', ')}) FOR UPDATE`, ids);
        const replaying = await TestServer.start({ db, adminKey: first.adminKey, env: { ...RESTART, JOURNAL_DIR: journal } });
        servers.push(replaying);
        try {
          expect(await waitForLockWait(db, (q) => q.includes('usage_flushes'))).toBe(true);
          await kill(replaying);
        } finally {
          await held.release();
        }
      }
      const second = await TestServer.start({ db, adminKey: first.adminKey, env: { ...RESTART, JOURNAL_DIR: journal } });
      servers.push(second);
      await expectCounted(second, l);
      // A crash after the replay's commit and before its file was deleted: the same files again, under a
      // dead owner's name. Their batch ids are found, nothing is added.
      await kill(second);
      for (const f of segments) copyFileSync(join(saved, f), join(journal, `wdead000000000.${f}`));
      const third = await TestServer.start({ db, adminKey: first.adminKey, env: { ...RESTART, JOURNAL_DIR: journal } });
      servers.push(third);
      await waitFor(
        async () => metric((await third.get('/metrics')).text, /^tollgate_writer_replays_total\{result="already_written"\} (\S+)/m),
        (n) => n >= segments.length,
        15_000,
      );
      await expectCounted(third, l);
    } finally {
      for (const s of servers) if (s.proc.exitCode === null && s.proc.signalCode === null) await s.stop('SIGTERM', false);
      rmSync(saved, { recursive: true, force: true });
      await db.drop();
    }
  }, 110_000);

  (USE_MYSQL ? it : it.skip)(
    'one of two instances killed under load: its sibling replays what it left, every answer of both counted once',
    async () => {
      const db = await TestDatabase.create();
      const env = { ...NO_FLUSH, JOURNAL_DIR: journal };
      const a = await TestServer.start({ db, env });
      const b = await TestServer.start({ db, adminKey: a.adminKey, env: { ...RESTART, JOURNAL_DIR: journal } });
      try {
        const onA = await load(a, 2);
        const onB = await load(b, 2);
        await sleep(1500);
        await kill(a);
        await Promise.all(onA.loops.flat().map((x) => x.done));
        await sleep(300);
        await stopAll(onB);
        // b claims a's files (a's process is gone) within a few seconds, without a restart.
        await expectCounted(b, onA);
        await expectCounted(b, onB);
      } finally {
        if (a.proc.exitCode === null && a.proc.signalCode === null) await a.stop('SIGKILL', false);
        await b.stop('SIGTERM', false);
        await db.drop();
      }
    },
    110_000,
  );

  (USE_MYSQL ? it : it.skip)(
    'an instance killed while its database is cut: what it answered during the outage is counted once it is back',
    async () => {
      const db = await TestDatabase.create();
      const proxy = await TcpProxy.to(db.mysqlUrl!, 3306);
      const viaProxy = new URL(db.mysqlUrl!);
      viaProxy.host = `127.0.0.1:${proxy.port}`;
      const a = await TestServer.start({ db, env: { ...NO_FLUSH, USAGE_FLUSH_INTERVAL_MS: '200', JOURNAL_DIR: journal, DATABASE_URL: viaProxy.toString(), KEY_CACHE_TTL_SECONDS: '60' } });
      let b: TestServer | undefined;
      try {
        const l = await load(a, 2);
        await sleep(800);
        await proxy.close();
        await sleep(2000);
        const metrics = (await a.get('/metrics')).text;
        expect(metric(metrics, /^tollgate_writer_failures_total (\S+)/m)).toBeGreaterThan(0);
        await kill(a);
        await Promise.all(l.loops.flat().map((x) => x.done));
        await proxy.open();
        b = await TestServer.start({ db, adminKey: a.adminKey, env: { ...RESTART, JOURNAL_DIR: journal } });
        await expectCounted(b, l);
      } finally {
        if (a.proc.exitCode === null && a.proc.signalCode === null) await a.stop('SIGKILL', false);
        await b?.stop('SIGTERM', false);
        await proxy.close();
        await db.drop();
      }
    },
    110_000,
  );
});
