import { sleep } from './support/fixtures';
import { queryDb } from './support/db';
import { Response, TestServer } from './support/server';

type Entry = {
  seq: number;
  id: string;
  actorKeyId: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  before: Record<string, any> | null;
  after: Record<string, any> | null;
  ip: string | null;
  requestId: string | null;
  at: string;
  prevHash: string;
  hash: string;
};

describe('audit log', () => {
  let server: TestServer;
  /** Direct SQL on the server's database, to check what was stored and to tamper with it. */
  const db = {
    query: <T = any>(sql: string, params: unknown[] = []) => queryDb<T>(server.db, sql, params),
    q: (name: string) => (server.db.mysqlUrl ? `\`${name}\`` : `"${name}"`),
  };
  let rootId: string;
  let ops: { id: string; key: string };
  /** Every plaintext key seen in this suite; none may ever reach an audit row. */
  const plaintexts: string[] = [];
  const hashes = new Set<string>();

  const AUDIT_COLUMNS = ['seq', 'id', 'actor_key_id', 'action', 'target_type', 'target_id', 'before', 'after', 'ip', 'request_id', 'at', 'prev_hash', 'hash', 'canonical'];

  async function list(query = ''): Promise<Entry[]> {
    const out: Entry[] = [];
    let cursor: string | null = null;
    do {
      const sep = query ? '&' : '';
      const r: Response = await server.get(`/v1/admin/audit-log?${query}${sep}limit=100${cursor ? `&cursor=${cursor}` : ''}`, ops?.key ?? server.adminKey);
      expect(r.status).toBe(200);
      out.push(...r.body.data);
      cursor = r.body.nextCursor;
    } while (cursor);
    return out;
  }

  async function newestSeq(): Promise<number> {
    const r = await server.get('/v1/admin/audit-log?limit=1', server.adminKey);
    return r.body.data[0]?.seq ?? 0;
  }

  /** Runs one mutation and returns the entries it left (there must be exactly one). */
  async function audited(mutation: () => Promise<Response>, expectedStatus: number): Promise<{ res: Response; entry: Entry }> {
    const mark = await newestSeq();
    const res = await mutation();
    expect({ status: res.status, body: res.body }).toMatchObject({ status: expectedStatus });
    if (typeof res.body?.key === 'string') plaintexts.push(res.body.key);
    const entries = (await server.get('/v1/admin/audit-log?limit=100', server.adminKey)).body.data.filter((e: Entry) => e.seq > mark);
    expect(entries).toHaveLength(1);
    const entry: Entry = entries[0];
    expect(entry.requestId).toBe(res.headers.get('x-request-id'));
    expect(entry.ip).toBe('127.0.0.1');
    return { res, entry };
  }

  async function unaudited(mutation: () => Promise<Response>, expectedStatus: number): Promise<Response> {
    const mark = await newestSeq();
    const res = await mutation();
    expect({ status: res.status, body: res.body }).toMatchObject({ status: expectedStatus });
    expect(await newestSeq()).toBe(mark);
    return res;
  }

  async function rememberHashes(): Promise<void> {
    for (const row of await db.query<{ hash: string }>('SELECT hash FROM api_keys')) hashes.add(row.hash);
  }

  beforeAll(async () => {
    server = await TestServer.start();
    plaintexts.push(server.adminKey);
    const keys = await server.get('/v1/admin/admin-keys', server.adminKey);
    rootId = keys.body.data[0].id;
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('records the first admin key, created at start-up, with no actor', async () => {
    const [entry] = await list('action=key.bootstrap');
    expect(entry).toMatchObject({ actorKeyId: null, targetType: 'key', targetId: rootId, before: null, after: { kind: 'admin', scopes: ['*'] } });
  });

  describe('each kind of mutation leaves exactly one entry with its actor and diff', () => {
    let consumerId: string;
    let consumerKey: { id: string; key: string };

    it('admin keys: create, update, rotate, revoke', async () => {
      const created = await audited(
        () => server.post('/v1/admin/admin-keys', { name: 'ops', scopes: ['consumers:*', 'keys:*', 'audit:read'] }, server.adminKey),
        201,
      );
      ops = { id: created.res.body.id, key: created.res.body.key };
      expect(created.entry).toMatchObject({
        actorKeyId: rootId,
        action: 'key.create',
        targetType: 'key',
        targetId: ops.id,
        before: null,
        after: { id: ops.id, kind: 'admin', consumerId: null, name: 'ops', scopes: ['consumers:*', 'keys:*', 'audit:read'] },
      });
      expect(created.entry.after).not.toHaveProperty('key');
      expect(created.entry.after).not.toHaveProperty('hash');

      const scratch = await server.post('/v1/admin/admin-keys', { name: 'scratch', scopes: ['consumers:read'] }, ops.key);
      plaintexts.push(scratch.body.key);
      const updated = await audited(() => server.patch(`/v1/admin/keys/${scratch.body.id}`, { name: 'scratch 2' }, ops.key), 200);
      expect(updated.entry).toMatchObject({
        actorKeyId: ops.id,
        action: 'key.update',
        targetId: scratch.body.id,
        before: { name: 'scratch' },
        after: { name: 'scratch 2' },
      });

      const rotated = await audited(() => server.post(`/v1/admin/keys/${scratch.body.id}/rotate`, { gracePeriodSeconds: 60 }, ops.key), 201);
      expect(rotated.entry).toMatchObject({
        actorKeyId: ops.id,
        action: 'key.rotate',
        targetId: scratch.body.id,
        before: { expiresAt: null },
        after: { newKeyId: rotated.res.body.id, gracePeriodSeconds: 60, expiresAt: expect.any(String) },
      });

      const revoked = await audited(() => server.post(`/v1/admin/keys/${rotated.res.body.id}/revoke`, {}, server.adminKey), 200);
      expect(revoked.entry).toMatchObject({
        actorKeyId: rootId,
        action: 'key.revoke',
        targetId: rotated.res.body.id,
        before: { revokedAt: null },
        after: { revokedAt: revoked.res.body.revokedAt },
      });
    });

    it('consumers: create, update, suspend, resume', async () => {
      const created = await audited(() => server.post('/v1/admin/consumers', { name: 'Acme', externalId: 'acct_1' }, ops.key), 201);
      consumerId = created.res.body.id;
      expect(created.entry).toMatchObject({
        actorKeyId: ops.id,
        action: 'consumer.create',
        targetType: 'consumer',
        targetId: consumerId,
        before: null,
        after: { id: consumerId, name: 'Acme', externalId: 'acct_1', status: 'active' },
      });

      const updated = await audited(() => server.patch(`/v1/admin/consumers/${consumerId}`, { name: 'Acme Corp' }, ops.key), 200);
      expect(updated.entry).toMatchObject({ action: 'consumer.update', targetId: consumerId, before: { name: 'Acme' }, after: { name: 'Acme Corp' } });

      const suspended = await audited(() => server.post(`/v1/admin/consumers/${consumerId}/suspend`, {}, ops.key), 200);
      expect(suspended.entry).toMatchObject({ action: 'consumer.suspend', before: { status: 'active' }, after: { status: 'suspended' } });
      const resumed = await audited(() => server.post(`/v1/admin/consumers/${consumerId}/resume`, {}, ops.key), 200);
      expect(resumed.entry).toMatchObject({ action: 'consumer.resume', before: { status: 'suspended' }, after: { status: 'active' } });
    });

    it("consumer keys by an admin: create, update, rotate, revoke", async () => {
      const created = await audited(
        () => server.post(`/v1/admin/consumers/${consumerId}/keys`, { name: 'backend', scopes: ['keys:read', 'keys:write', 'usage:read'] }, ops.key),
        201,
      );
      consumerKey = { id: created.res.body.id, key: created.res.body.key };
      expect(created.entry).toMatchObject({
        actorKeyId: ops.id,
        action: 'key.create',
        targetId: consumerKey.id,
        after: { consumerId, kind: 'secret', scopes: ['keys:read', 'keys:write', 'usage:read'] },
      });

      const other = await server.post(`/v1/admin/consumers/${consumerId}/keys`, { name: 'other', scopes: ['usage:read'] }, ops.key);
      plaintexts.push(other.body.key);
      const updated = await audited(() => server.patch(`/v1/admin/keys/${other.body.id}`, { scopes: ['usage:read', 'usage:write'] }, ops.key), 200);
      expect(updated.entry).toMatchObject({ action: 'key.update', before: { scopes: ['usage:read'] }, after: { scopes: ['usage:read', 'usage:write'] } });
      const rotated = await audited(() => server.post(`/v1/admin/keys/${other.body.id}/rotate`, {}, ops.key), 201);
      expect(rotated.entry).toMatchObject({ action: 'key.rotate', targetId: other.body.id, after: { newKeyId: rotated.res.body.id, gracePeriodSeconds: 0 } });
      const revoked = await audited(() => server.post(`/v1/admin/keys/${rotated.res.body.id}/revoke`, {}, ops.key), 200);
      expect(revoked.entry).toMatchObject({ action: 'key.revoke', actorKeyId: ops.id, targetId: rotated.res.body.id });
    });

    it('self-service keys: create, rotate, revoke, with the consumer key as the actor', async () => {
      const created = await audited(() => server.post('/v1/me/keys', { name: 'mine', scopes: ['usage:read'] }, consumerKey.key), 201);
      expect(created.entry).toMatchObject({
        actorKeyId: consumerKey.id,
        action: 'key.create',
        targetId: created.res.body.id,
        after: { consumerId, name: 'mine', scopes: ['usage:read'] },
      });
      const rotated = await audited(() => server.post(`/v1/me/keys/${created.res.body.id}/rotate`, { gracePeriodSeconds: 30 }, consumerKey.key), 201);
      expect(rotated.entry).toMatchObject({ actorKeyId: consumerKey.id, action: 'key.rotate', after: { newKeyId: rotated.res.body.id } });
      const revoked = await audited(() => server.post(`/v1/me/keys/${rotated.res.body.id}/revoke`, {}, consumerKey.key), 200);
      expect(revoked.entry).toMatchObject({ actorKeyId: consumerKey.id, action: 'key.revoke', targetId: rotated.res.body.id, before: { revokedAt: null } });
    });

    it('consumer delete names the keys that went with it', async () => {
      const c = await server.post('/v1/admin/consumers', { name: 'Short-lived' }, ops.key);
      const k = await server.post(`/v1/admin/consumers/${c.body.id}/keys`, { name: 'k', scopes: ['usage:read'] }, ops.key);
      plaintexts.push(k.body.key);
      await rememberHashes();
      const deleted = await audited(() => server.request('DELETE', `/v1/admin/consumers/${c.body.id}`, { key: ops.key }), 204);
      expect(deleted.entry).toMatchObject({
        actorKeyId: ops.id,
        action: 'consumer.delete',
        targetType: 'consumer',
        targetId: c.body.id,
        before: { id: c.body.id, name: 'Short-lived', keyIds: [k.body.id] },
        after: null,
      });
    });

    it('refused, failed and no-op mutations leave no entry', async () => {
      await unaudited(() => server.post(`/v1/admin/keys/${rootId}/revoke`, {}, server.adminKey), 409);
      await unaudited(() => server.post('/v1/admin/consumers', { name: '' }, ops.key), 400);
      await unaudited(() => server.post('/v1/admin/admin-keys', { name: 'x', scopes: ['*'] }, ops.key), 403);
      await unaudited(() => server.post(`/v1/admin/consumers/${consumerId}/resume`, {}, ops.key), 200);
      await unaudited(() => server.get(`/v1/admin/consumers/${consumerId}`, ops.key), 200);
    });

    it('masks a key pasted into a name or metadata', async () => {
      const leaked = consumerKey.key;
      const { entry } = await audited(
        () => server.post('/v1/admin/consumers', { name: `pasted ${leaked}`, metadata: { note: leaked } }, ops.key),
        201,
      );
      expect(entry.after).toMatchObject({ name: 'pasted [redacted]', metadata: { note: '[redacted]' } });
    });
  });

  it('keeps no key, and no key hash, in any audit row', async () => {
    await rememberHashes();
    expect(plaintexts.length).toBeGreaterThan(8);
    expect(hashes.size).toBeGreaterThan(8);
    const rows = await db.query(`SELECT ${AUDIT_COLUMNS.map(db.q).join(', ')} FROM audit_entries`);
    expect(rows.length).toBeGreaterThan(15);
    const dump = JSON.stringify(rows);
    const served = JSON.stringify(await list());
    for (const secret of [...plaintexts, ...hashes]) {
      expect(dump).not.toContain(secret);
      expect(served).not.toContain(secret);
    }
  });

  describe('listing', () => {
    it('filters by actor, target, action and time, newest first', async () => {
      const all = await list();
      expect(all.map((e) => e.seq)).toEqual([...all.map((e) => e.seq)].sort((a, b) => b - a));

      const byOps = await list(`actorKeyId=${ops.id}`);
      expect(byOps.length).toBeGreaterThan(5);
      expect(byOps.every((e) => e.actorKeyId === ops.id)).toBe(true);
      expect(byOps).toEqual(all.filter((e) => e.actorKeyId === ops.id));

      const consumerEntries = all.filter((e) => e.targetType === 'consumer');
      expect(await list('targetType=consumer')).toEqual(consumerEntries);
      const target = consumerEntries[consumerEntries.length - 1].targetId!;
      expect(await list(`targetId=${target}`)).toEqual(all.filter((e) => e.targetId === target));
      expect(await list('action=key.revoke')).toEqual(all.filter((e) => e.action === 'key.revoke'));

      const middle = all[Math.floor(all.length / 2)];
      const from = encodeURIComponent(middle.at);
      expect(await list(`from=${from}`)).toEqual(all.filter((e) => e.at >= middle.at));
      expect(await list(`to=${from}`)).toEqual(all.filter((e) => e.at < middle.at));
    });

    it('pages with a cursor without gaps or repeats', async () => {
      const all = await list();
      const seen: Entry[] = [];
      let cursor: string | null = null;
      do {
        const r: Response = await server.get(`/v1/admin/audit-log?limit=3${cursor ? `&cursor=${cursor}` : ''}`, ops.key);
        expect(r.body.data.length).toBeLessThanOrEqual(3);
        seen.push(...r.body.data);
        cursor = r.body.nextCursor;
      } while (cursor);
      expect(seen).toEqual(all);
    });

    it('refuses bad filters', async () => {
      for (const q of ['from=yesterday', 'from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', 'cursor=bm9wZQ', 'limit=0', 'hash=abc']) {
        const r = await server.get(`/v1/admin/audit-log?${q}`, ops.key);
        expect({ q, status: r.status, error: r.body.error }).toEqual({ q, status: 400, error: 'VALIDATION_FAILED' });
      }
    });

    it('needs audit:read, and offers no way to change or delete an entry', async () => {
      const reader = await server.post('/v1/admin/admin-keys', { name: 'reader', scopes: ['consumers:read'] }, server.adminKey);
      plaintexts.push(reader.body.key);
      for (const path of ['/v1/admin/audit-log', '/v1/admin/audit-log/verify']) {
        const r = await server.get(path, reader.body.key);
        expect({ path, status: r.status, error: r.body.error }).toEqual({ path, status: 403, error: 'INSUFFICIENT_PERMISSIONS' });
      }
      const [entry] = await list();
      for (const [method, path] of [
        ['POST', '/v1/admin/audit-log'],
        ['PATCH', `/v1/admin/audit-log/${entry.id}`],
        ['PUT', `/v1/admin/audit-log/${entry.id}`],
        ['DELETE', `/v1/admin/audit-log/${entry.id}`],
        ['DELETE', '/v1/admin/audit-log'],
      ]) {
        const r = await server.request(method, path, { key: server.adminKey, body: method === 'DELETE' ? undefined : {}, offContract: 'routes that must not exist' });
        expect({ method, path, status: r.status }).toEqual({ method, path, status: 404 });
      }
    });
  });

  describe('chain verification', () => {
    async function verify(): Promise<{ valid: boolean; checked: number; firstInvalid: { id: string | null; seq: number; reason: string } | null; headHash: string }> {
      const r = await server.get('/v1/admin/audit-log/verify', ops.key);
      expect(r.status).toBe(200);
      return r.body;
    }

    /** Log lines arrive through a pipe, possibly after the response. */
    async function logLine(match: (l: Record<string, any>) => boolean): Promise<Record<string, any> | undefined> {
      for (let i = 0; i < 100; i++) {
        const line = server.jsonLogs().find(match);
        if (line) return line;
        await sleep(20);
      }
      return undefined;
    }

    async function rowBySeq(seq: number): Promise<Record<string, unknown>> {
      const [row] = await db.query(`SELECT ${AUDIT_COLUMNS.map(db.q).join(', ')} FROM audit_entries WHERE seq = ?`, [seq]);
      return row;
    }

    async function reinsert(row: Record<string, unknown>): Promise<void> {
      await db.query(
        `INSERT INTO audit_entries (${AUDIT_COLUMNS.map(db.q).join(', ')}) VALUES (${AUDIT_COLUMNS.map(() => '?').join(', ')})`,
        AUDIT_COLUMNS.map((c) => row[c]),
      );
    }

    it('passes on an intact chain, concurrent writes included', async () => {
      await Promise.all(Array.from({ length: 8 }, (_, i) => server.post('/v1/admin/consumers', { name: `parallel ${i}` }, ops.key)));
      const all = await list();
      const [{ n }] = await db.query('SELECT COUNT(*) AS n FROM audit_entries');
      const result = await verify();
      expect(result).toEqual({ valid: true, checked: Number(n), firstInvalid: null, headHash: all[0].hash, nextCursor: null });
      expect(all[all.length - 1].prevHash).toBe('0'.repeat(64));
      for (let i = 0; i < all.length - 1; i++) expect(all[i].prevHash).toBe(all[i + 1].hash);
    });

    it('names the entry whose stored after was changed', async () => {
      const all = await list();
      const victim = all.find((e) => e.action === 'consumer.update')!;
      const original = await rowBySeq(victim.seq);
      await db.query(`UPDATE audit_entries SET ${db.q('after')} = ? WHERE id = ?`, ['{"name":"Someone Else"}', victim.id]);
      try {
        const r = await server.get('/v1/admin/audit-log/verify', ops.key);
        expect(r.body).toMatchObject({ valid: false, firstInvalid: { id: victim.id, seq: victim.seq, reason: expect.stringMatching(/after/) } });
        expect(r.body.checked).toBe(all.filter((e) => e.seq < victim.seq).length);
        // The warning is logged with the request id of the check that found it.
        const line = await logLine((l) => l.msg === 'audit chain verification failed');
        expect(line).toMatchObject({ reqId: r.headers.get('x-request-id'), level: 'warn', firstInvalid: { id: victim.id } });
      } finally {
        await db.query(`UPDATE audit_entries SET ${db.q('after')} = ? WHERE id = ?`, [original.after, victim.id]);
      }
      expect((await verify()).valid).toBe(true);
    });

    it('names the entry whose canonical text was changed', async () => {
      const all = await list();
      const victim = all.find((e) => e.action === 'key.revoke')!;
      const original = await rowBySeq(victim.seq);
      const forged = String(original.canonical).replace(`"actorKeyId":"${victim.actorKeyId}"`, '"actorKeyId":null');
      expect(forged).not.toBe(original.canonical);
      await db.query('UPDATE audit_entries SET canonical = ? WHERE id = ?', [forged, victim.id]);
      try {
        expect(await verify()).toMatchObject({ valid: false, firstInvalid: { id: victim.id, seq: victim.seq, reason: expect.stringMatching(/hash/) } });
      } finally {
        await db.query('UPDATE audit_entries SET canonical = ? WHERE id = ?', [original.canonical, victim.id]);
      }
      expect((await verify()).valid).toBe(true);
    });

    it('names the entry after one that was deleted', async () => {
      const chronological = (await list()).reverse();
      const victim = chronological[5];
      const next = chronological[6];
      const original = await rowBySeq(victim.seq);
      await db.query('DELETE FROM audit_entries WHERE id = ?', [victim.id]);
      try {
        expect(await verify()).toMatchObject({ valid: false, checked: 5, firstInvalid: { id: next.id, seq: next.seq, reason: expect.stringMatching(/prevHash/) } });
      } finally {
        await reinsert(original);
      }
      expect((await verify()).valid).toBe(true);
    });

    it('notices a cut-off tail through the chain head', async () => {
      const [last, beforeLast] = await list();
      const original = await rowBySeq(last.seq);
      await db.query('DELETE FROM audit_entries WHERE id = ?', [last.id]);
      try {
        expect(await verify()).toMatchObject({ valid: false, firstInvalid: { id: beforeLast.id, seq: beforeLast.seq, reason: expect.stringMatching(/head/) } });
      } finally {
        await reinsert(original);
      }
      expect(await verify()).toMatchObject({ valid: true, headHash: last.hash });
    });
  });
});
