import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { hashSync } from 'bcryptjs';
import { KeyHasher } from '../src/auth/key-hasher';
import { queryDb } from './support/db';
import { adminKeyWith, consumerWithKey, sleep } from './support/fixtures';
import { runCli } from './support/cli';
import { TestServer } from './support/server';

/** A key as another system would have issued it: no Tollgate prefix, no checksum. */
const foreignKey = (prefix = 'acme') => `${prefix}-${randomBytes(18).toString('hex')}`;
const sha256 = (s: string, enc: 'hex' | 'base64' = 'hex') => createHash('sha256').update(s).digest(enc);
const sha512 = (s: string, enc: 'hex' | 'base64' = 'hex') => createHash('sha512').update(s).digest(enc);
const OLD_SECRET = 'the-old-systems-hmac-secret';
const hmac = (s: string) => createHmac('sha256', OLD_SECRET).update(s).digest('hex');


describe('key import', () => {
  let server: TestServer;
  let consumerId: string;
  let tmp: string;

  /** The server's KEY_HASH_SECRET: given on MySQL, generated beside the SQLite file otherwise. */
  function tollgateHash(key: string): string {
    const secret = server.db.env.KEY_HASH_SECRET ?? readFileSync(join(dirname(server.db.sqlitePath!), 'key-hash-secret'), 'utf8').trim();
    return KeyHasher.parse(secret).hash(key);
  }

  const stored = async (id: string) =>
    (await queryDb(server.db, 'SELECT hash, hash_version, legacy_scheme, legacy_hash, external_id FROM api_keys WHERE id = ?', [id]))[0];
  const keyCount = async () => Number((await queryDb(server.db, 'SELECT COUNT(*) AS n FROM api_keys'))[0].n);
  const importKeys = (body: unknown, key = server.adminKey, consumer = consumerId) => server.post(`/v1/admin/consumers/${consumer}/keys/import`, body, key);

  beforeAll(async () => {
    server = await TestServer.start({ env: { API_KEY_HEADER: 'IM-API-KEY', AUTH_FAILURE_LIMIT: '100000' } });
    consumerId = (await consumerWithKey(server)).consumer.id;
    tmp = mkdtempSync(join(tmpdir(), 'tollgate-import-'));
  });

  afterAll(async () => {
    await server?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  describe('auth wiring', () => {
    it('refuses an admin key without keys:write, and consumer keys', async () => {
      const reader = await adminKeyWith(server, ['keys:read', 'consumers:read']);
      const body = { keys: [{ key: foreignKey(), name: 'x', scopes: ['usage:read'] }] };
      const r = await importKeys(body, reader);
      expect(r.status).toBe(403);
      expect(r.body.error).toBe('INSUFFICIENT_PERMISSIONS');
      const { plaintext } = await consumerWithKey(server);
      const c = await importKeys(body, plaintext);
      expect(c.status).toBe(403);
      expect(c.body.error).toBe('INSUFFICIENT_PERMISSIONS');
    });

    it('404 for a consumer that does not exist, nothing written', async () => {
      const before = await keyCount();
      const r = await importKeys({ keys: [{ key: foreignKey(), name: 'x', scopes: ['usage:read'] }] }, server.adminKey, 'cons_nope');
      expect(r.status).toBe(404);
      expect(r.body.error).toBe('NOT_FOUND');
      expect(await keyCount()).toBe(before);
    });
  });

  describe('plaintext', () => {
    it('stores a key not in Tollgate format as Tollgate stores every key, and it verifies through every header', async () => {
      const key = foreignKey();
      const r = await importKeys({ keys: [{ key, name: 'legacy backend', scopes: ['usage:read'], externalId: 'old-1', metadata: { from: 'acme' } }] });
      expect(r.status).toBe(201);
      expect(r.body.imported).toBe(1);
      const [imported] = r.body.keys;
      expect(imported).toMatchObject({ consumerId, name: 'legacy backend', externalId: 'old-1', kind: 'secret', start: key.slice(0, 8) });
      expect(JSON.stringify(r.body)).not.toContain(key);
      const row = await stored(imported.id);
      expect(row).toMatchObject({ hash: tollgateHash(key), legacy_scheme: null, legacy_hash: null, external_id: 'old-1' });
      for (const headers of [{ 'x-api-key': key }, { authorization: `Bearer ${key}` }, { 'IM-API-KEY': key }] as Record<string, string>[]) {
        const me = await server.get('/v1/me', undefined, headers);
        expect(me.status).toBe(200);
        expect(me.body.key.id).toBe(imported.id);
      }
    });

    it('keeps the checksum refusal for keys of Tollgate shape, and refuses short keys', async () => {
      const fake = `tg_live_${'A'.repeat(38)}`;
      const r = await importKeys({ keys: [{ key: fake, name: 'x', scopes: ['usage:read'] }, { key: 'short-key', name: 'y', scopes: ['usage:read'] }] });
      expect(r.status).toBe(400);
      expect(r.body.details.map((d: { field: string }) => d.field)).toEqual(['keys[0].key', 'keys[1].key']);
      expect(r.body.details[0].message).toMatch(/checksum/);
    });

    it('an unknown key not in Tollgate format is refused, also when repeated (negative cache)', async () => {
      const unknown = foreignKey('nobody');
      for (let i = 0; i < 3; i++) {
        const r = await server.get('/v1/me', unknown);
        expect(r.status).toBe(401);
        expect(r.body.error).toBe('INVALID_API_KEY');
      }
    });
  });

  describe('old hashes, re-hashed on first use', () => {
    const cases: { name: string; entry: (key: string) => Record<string, unknown>; scheme: string }[] = [
      { name: 'sha256 (hex)', scheme: 'sha256', entry: (k) => ({ hash: sha256(k), algorithm: 'sha256' }) },
      { name: 'sha256 (base64)', scheme: 'sha256', entry: (k) => ({ hash: sha256(k, 'base64'), algorithm: 'sha256' }) },
      { name: 'sha512 (hex)', scheme: 'sha512', entry: (k) => ({ hash: sha512(k), algorithm: 'sha512' }) },
      { name: 'sha512 (base64)', scheme: 'sha512', entry: (k) => ({ hash: sha512(k, 'base64'), algorithm: 'sha512' }) },
      { name: 'hmac-sha256', scheme: 'hmac-sha256', entry: (k) => ({ hash: hmac(k), algorithm: 'hmac-sha256' }) },
      { name: 'bcrypt', scheme: 'bcrypt', entry: (k) => ({ hash: hashSync(k, 4), algorithm: 'bcrypt', start: k.slice(0, 10) }) },
    ];

    it.each(cases)('$name: verified under the old scheme once, then stored as Tollgate hashes keys', async ({ entry, scheme }) => {
      const key = foreignKey(scheme.replace(/-/g, ''));
      const r = await importKeys({ hashSecret: OLD_SECRET, keys: [{ ...entry(key), name: `from ${scheme}`, scopes: ['usage:read'] }] });
      expect(r.status).toBe(201);
      const id = r.body.keys[0].id;
      const before = await stored(id);
      expect(before.legacy_scheme).toBe(scheme);
      expect(before.hash).not.toBe(tollgateHash(key));
      if (scheme === 'bcrypt') expect(before.legacy_hash).toMatch(/^\$2/);

      const wrong = await server.get('/v1/me', key.slice(0, -1) + (key.endsWith('0') ? '1' : '0'));
      expect(wrong.status).toBe(401);

      const first = await server.get('/v1/me', key);
      expect(first.status).toBe(200);
      expect(first.body.key.id).toBe(id);
      const after = await stored(id);
      expect(after).toMatchObject({ hash: tollgateHash(key), legacy_scheme: null, legacy_hash: null });
      expect(Number(after.hash_version)).toBeGreaterThanOrEqual(1);
      // The old hash is stored nowhere any more.
      const oldHash = String(entry(key).hash);
      const anywhere = await queryDb(server.db, 'SELECT id FROM api_keys WHERE hash = ? OR legacy_hash = ?', [before.hash, oldHash]);
      expect(anywhere).toEqual([]);
      expect((await server.get('/v1/me', key)).status).toBe(200);
    });

    it('a fresh instance finds re-hashed keys by Tollgate hash, and hashed keys through every header', async () => {
      const keys = [foreignKey('a'), foreignKey('b'), foreignKey('c')];
      const r = await importKeys({ keys: keys.map((k, i) => ({ hash: sha256(k), algorithm: 'sha256', name: `k${i}`, scopes: ['usage:read'] })) });
      expect(r.status).toBe(201);
      const headers: Record<string, string>[] = [{ 'x-api-key': keys[0] }, { authorization: `Bearer ${keys[1]}` }, { 'IM-API-KEY': keys[2] }];
      for (const h of headers) expect((await server.get('/v1/me', undefined, h)).status).toBe(200);
      const sibling = await TestServer.startSibling(server, { env: { API_KEY_HEADER: 'IM-API-KEY' } });
      try {
        for (const h of headers) {
          const me = await sibling.get('/v1/me', undefined, h);
          expect(me.status).toBe(200);
        }
        const verify = await sibling.post('/v1/keys/verify', { key: keys[0] }, server.adminKey);
        expect(verify.body).toMatchObject({ valid: true, keyId: r.body.keys[0].id });
      } finally {
        await sibling.stop('SIGTERM', false);
      }
    });

    it('refuses an hmac-sha256 key without the batch secret, a bad digest, and bcrypt past its bounds', async () => {
      const k = foreignKey();
      const r = await importKeys({
        keys: [
          { hash: hmac(k), algorithm: 'hmac-sha256', name: 'a', scopes: ['usage:read'] },
          { hash: 'abc', algorithm: 'sha256', name: 'b', scopes: ['usage:read'] },
          { hash: sha256(k), name: 'c', scopes: ['usage:read'] },
          { hash: `$2b$13$${'a'.repeat(53)}`, algorithm: 'bcrypt', start: k.slice(0, 8), name: 'd', scopes: ['usage:read'] },
          { hash: hashSync(k, 4), algorithm: 'bcrypt', name: 'e', scopes: ['usage:read'] },
          { key: k, hash: sha256(k), algorithm: 'sha256', name: 'f', scopes: ['usage:read'] },
        ],
      });
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('VALIDATION_FAILED');
      expect(r.body.details.map((d: { field: string }) => d.field)).toEqual([
        'keys[0].hash',
        'keys[1].hash',
        'keys[2].algorithm',
        'keys[3].hash',
        'keys[4].start',
        'keys[5].key',
      ]);
      expect(r.body.details[3].message).toMatch(/cost 13/);
    });
  });

  describe('bounds', () => {
    it('honours expiry and scopes of an imported key', async () => {
      const key = foreignKey();
      const r = await importKeys({
        keys: [{ hash: sha256(key), algorithm: 'sha256', name: 'short-lived', scopes: ['usage:read'], expiresAt: new Date(Date.now() + 2500).toISOString() }],
      });
      expect(r.status).toBe(201);
      expect((await server.get('/v1/me', key)).status).toBe(200);
      const write = await server.post('/v1/usage/events', { events: [{ idempotencyKey: 'i-1', metric: 'requests', quantity: 1 }] }, key);
      expect(write.status).toBe(403);
      expect(write.body.error).toBe('INSUFFICIENT_PERMISSIONS');
      await sleep(2700);
      const expired = await server.get('/v1/me', key);
      expect(expired.status).toBe(401);
      expect(expired.body.error).toBe('KEY_EXPIRED');
    });

    it('applies the create checks to each entry (past expiry, admin scopes) with its index', async () => {
      const r = await importKeys({
        keys: [
          { key: foreignKey(), name: 'ok', scopes: ['usage:read'] },
          { key: foreignKey(), name: 'late', scopes: ['usage:read'], expiresAt: '2020-01-01T00:00:00.000Z' },
          { key: foreignKey(), name: 'root', scopes: ['*'] },
        ],
      });
      expect(r.status).toBe(400);
      expect(r.body.details.map((d: { field: string }) => d.field)).toEqual(['keys[1].expiresAt', 'keys[2].scopes[0]']);
    });
  });

  describe('all or nothing', () => {
    it('a malformed entry fails the batch with its index; nothing of it is written', async () => {
      const good = foreignKey();
      const before = await keyCount();
      const r = await importKeys({
        keys: [
          { key: good, name: 'good', scopes: ['usage:read'] },
          { key: foreignKey(), name: 'good too', scopes: ['usage:read'] },
          { hash: 'not-a-digest', algorithm: 'sha512', name: 'bad', scopes: ['usage:read'] },
        ],
      });
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('VALIDATION_FAILED');
      expect(r.body.details).toEqual([{ field: 'keys[2].hash', message: expect.stringMatching(/sha512/) }]);
      expect(await keyCount()).toBe(before);
      expect((await server.get('/v1/me', good)).status).toBe(401);
    });

    it('a structurally bad entry is named by its index too', async () => {
      const r = await importKeys({ keys: [{ key: foreignKey(), name: 'ok', scopes: ['usage:read'] }, { key: foreignKey(), scopes: 'usage:read' }] });
      expect(r.status).toBe(400);
      expect(r.body.details.map((d: { field: string }) => d.field)).toEqual(expect.arrayContaining(['keys[1].name', 'keys[1].scopes']));
    });

    it('duplicate keys: in the batch 400, against stored keys 409, and the same externalId 409; nothing written', async () => {
      const key = foreignKey();
      const dupInBatch = await importKeys({
        keys: [
          { key, name: 'a', scopes: ['usage:read'] },
          { key, name: 'b', scopes: ['usage:read'] },
        ],
      });
      expect(dupInBatch.status).toBe(400);
      expect(dupInBatch.body.details).toEqual([{ field: 'keys[1].key', message: 'the same key as keys[0]' }]);

      expect((await importKeys({ keys: [{ key, name: 'a', scopes: ['usage:read'], externalId: 'dup-1' }] })).status).toBe(201);
      const before = await keyCount();
      const again = await importKeys({ keys: [{ key: foreignKey(), name: 'fresh', scopes: ['usage:read'] }, { key, name: 'a again', scopes: ['usage:read'] }] });
      expect(again.status).toBe(409);
      expect(again.body.error).toBe('CONFLICT');
      expect(again.body.message).toMatch(/keys\[1\] is already stored/);
      const sameExternal = await importKeys({ keys: [{ hash: sha256(foreignKey()), algorithm: 'sha256', name: 'other', scopes: ['usage:read'], externalId: 'dup-1' }] });
      expect(sameExternal.status).toBe(409);
      expect(sameExternal.body.message).toMatch(/externalId "dup-1"/);
      expect(await keyCount()).toBe(before);
    });
  });

  describe('command line', () => {
    const cliEnv = () => ({ ...server.db.env });

    it('imports an NDJSON file, lines naming their consumer or --consumer naming it for all', async () => {
      const other = (await consumerWithKey(server)).consumer.id;
      const keys = [foreignKey('cli'), foreignKey('cli'), foreignKey('cli')];
      const file = join(tmp, 'good.ndjson');
      writeFileSync(
        file,
        [
          JSON.stringify({ key: keys[0], name: 'one', scopes: ['usage:read'], externalId: 'cli-1' }),
          '',
          JSON.stringify({ hash: hmac(keys[1]), algorithm: 'hmac-sha256', name: 'two', scopes: ['usage:read'] }),
          JSON.stringify({ consumerId: other, hash: sha512(keys[2]), algorithm: 'sha512', name: 'three', scopes: ['usage:read'] }),
        ].join('\n') + '\n',
      );
      const r = await runCli(['import-keys', file, '--consumer', consumerId, '--hash-secret', OLD_SECRET, '--json'], cliEnv());
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ imported: 3, consumers: 2 });
      const owners = [consumerId, consumerId, other];
      for (let i = 0; i < keys.length; i++) {
        const me = await server.get('/v1/me', keys[i]);
        expect(me.status).toBe(200);
        expect(me.body.consumer.id).toBe(owners[i]);
      }
    });

    it('reports a bad line by its number and writes nothing', async () => {
      const good = foreignKey('cli');
      const file = join(tmp, 'bad.ndjson');
      writeFileSync(
        file,
        [
          JSON.stringify({ key: good, name: 'fine', scopes: ['usage:read'] }),
          JSON.stringify({ key: foreignKey('cli'), name: 'fine too', scopes: ['usage:read'] }),
          '{"key": "broken',
          JSON.stringify({ hash: sha256(good), algorithm: 'md5', name: 'x', scopes: ['usage:read'] }),
        ].join('\n'),
      );
      const before = await keyCount();
      const r = await runCli(['import-keys', file, '--consumer', consumerId], cliEnv());
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/VALIDATION_FAILED/);
      expect(r.stderr).toMatch(/line 3: is not valid JSON/);
      expect(r.stderr).toMatch(/line 4\.algorithm:/);
      expect(r.stderr).not.toMatch(/line [12]\b/);
      expect(await keyCount()).toBe(before);
      expect((await server.get('/v1/me', good)).status).toBe(401);
    });

    it('reports a line that fails the service checks by its number', async () => {
      const file = join(tmp, 'late.ndjson');
      writeFileSync(
        file,
        [JSON.stringify({ key: foreignKey('cli'), name: 'ok', scopes: ['usage:read'] }), JSON.stringify({ key: foreignKey('cli'), name: 'late', scopes: ['usage:read'], expiresAt: '2020-01-01T00:00:00Z' })].join('\n'),
      );
      const before = await keyCount();
      const r = await runCli(['import-keys', file, '--consumer', consumerId], cliEnv());
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/line 2\.expiresAt: must be in the future/);
      expect(await keyCount()).toBe(before);
    });
  });
});
