import { parseKey } from '../src/auth/key-format';
import { consumerWithKey, sleep } from './support/fixtures';
import { runCli } from './support/cli';
import { REDIS_URL, TestDatabase, TestServer } from './support/server';

describe('command line', () => {
  let server: TestServer;
  let env: Record<string, string>;
  const redisPrefix = `tg-e2e-cli-${Math.random().toString(36).slice(2, 8)}:`;

  const cli = (args: string[], stdin?: string) => runCli(args, env, stdin);

  /** Polls until the key is refused: at once through Redis pub/sub, else within the (shortened) cache TTL. */
  async function refusedWithin(key: string, ms: number): Promise<number> {
    const start = Date.now();
    for (;;) {
      const r = await server.get('/v1/me', key);
      if (r.status === 401) {
        expect(r.body.error).toBe('KEY_REVOKED');
        return Date.now() - start;
      }
      if (Date.now() - start > ms) throw new Error(`key still accepted after ${ms} ms`);
      await sleep(50);
    }
  }

  async function auditEntry(action: string, targetId: string): Promise<any> {
    const r = await server.get(`/v1/admin/audit-log?action=${action}&targetId=${targetId}`, server.adminKey);
    expect(r.body.data).toHaveLength(1);
    return r.body.data[0];
  }

  beforeAll(async () => {
    // The first admin key of this server comes from `generate-key`, as an operator would set ADMIN_API_KEY.
    const generated = await runCli(['generate-key'], {});
    expect(generated.code).toBe(0);
    const adminKey = generated.stdout.trim();
    const serverEnv: Record<string, string> = REDIS_URL ? { REDIS_PREFIX: redisPrefix } : { KEY_CACHE_TTL_SECONDS: '1' };
    server = await TestServer.start({ adminKey, env: serverEnv });
    env = { ...server.db.env, ...(REDIS_URL ? { REDIS_URL, REDIS_PREFIX: redisPrefix } : {}) };
  });

  afterAll(async () => {
    await server?.stop();
  });

  describe('usage', () => {
    it('explains itself, and exits 2 on a usage error', async () => {
      const help = await cli(['help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/Commands:[\s\S]*generate-key[\s\S]*create-admin-key[\s\S]*revoke-key[\s\S]*migrate/);
      for (const args of [[], ['frobnicate'], ['generate-key', '--envv', 'test'], ['generate-key', '--env', 'prod'], ['create-admin-key'], ['revoke-key'], ['revoke-key', 'key_1', '--key', 'x']]) {
        const r = await cli(args);
        expect({ args, code: r.code }).toEqual({ args, code: 2 });
        expect(r.stderr).toMatch(/Commands:/);
        expect(r.stdout).toBe('');
      }
    });
  });

  describe('generate-key', () => {
    it('prints one well-formed key, in the environment and with the prefix asked for', async () => {
      const live = await cli(['generate-key']);
      expect(live.stdout).toMatch(/^tg_live_[0-9A-Za-z]{38}\n$/);
      expect(parseKey(live.stdout.trim())).toEqual({ prefix: 'tg', environment: 'live' });
      const test = await runCli(['generate-key', '--env', 'test', '--json'], { KEY_PREFIX: 'acme' });
      const parsed = JSON.parse(test.stdout);
      expect(parseKey(parsed.key)).toEqual({ prefix: 'acme', environment: 'test' });
      expect(parsed.start).toBe(parsed.key.slice(0, 'acme_test_'.length + 4));
      expect((await cli(['generate-key'])).stdout).not.toBe(live.stdout);
    });

    it('worked as ADMIN_API_KEY', async () => {
      expect((await server.get('/v1/admin/consumers', server.adminKey)).status).toBe(200);
    });
  });

  describe('create-admin-key', () => {
    it('creates a key with the scopes asked for, prints it once, and audits it with no actor', async () => {
      const r = await cli(['create-admin-key', '--name', 'ops reader', '--scopes', 'consumers:read,audit:read', '--json']);
      expect(r.code).toBe(0);
      const created = JSON.parse(r.stdout);
      expect(created).toMatchObject({ kind: 'admin', name: 'ops reader', scopes: ['consumers:read', 'audit:read'], consumerId: null, revokedAt: null });
      expect((await server.get('/v1/admin/consumers', created.key)).status).toBe(200);
      const refused = await server.get('/v1/admin/keys', created.key);
      expect(refused.status).toBe(403);
      expect(await auditEntry('key.create', created.id)).toMatchObject({
        actorKeyId: null,
        requestId: 'cli:create-admin-key',
        ip: null,
        after: { id: created.id, scopes: ['consumers:read', 'audit:read'] },
      });
      const listed = (await server.get(`/v1/admin/keys/${created.id}`, server.adminKey)).body;
      expect(listed).not.toHaveProperty('key');
      expect((await server.get('/v1/admin/audit-log/verify', server.adminKey)).body.valid).toBe(true);
    });

    it('defaults to scope * and says the key is shown once', async () => {
      const r = await cli(['create-admin-key', '--name', 'break glass']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/scopes \*\.[\s\S]*only this once/);
      const key = /\n {2}(\S+)\n?$/.exec(r.stdout)![1];
      expect(parseKey(key)).not.toBeNull();
      expect((await server.get('/v1/admin/keys', key)).status).toBe(200);
    });

    it('refuses scopes that do not exist, with a non-zero exit', async () => {
      const r = await cli(['create-admin-key', '--name', 'bad', '--scopes', 'consumers:read,bogus']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/VALIDATION_FAILED[\s\S]*bogus/);
      expect(r.stdout).toBe('');
      const empty = await cli(['create-admin-key', '--name', '']);
      expect(empty.code).toBe(2);
    });
  });

  describe('revoke-key', () => {
    it('revokes by id; running instances refuse the key at once', async () => {
      const { key, plaintext } = await consumerWithKey(server);
      expect((await server.get('/v1/me', plaintext)).status).toBe(200);
      const r = await cli(['revoke-key', key.id]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Revoked key ${key.id}`);
      await refusedWithin(plaintext, REDIS_URL ? 1000 : 3000);
      expect(await auditEntry('key.revoke', key.id)).toMatchObject({ actorKeyId: null, requestId: 'cli:revoke-key', before: { revokedAt: null } });

      const again = await cli(['revoke-key', key.id]);
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/already revoked/);
      await auditEntry('key.revoke', key.id);
    });

    it('revokes a leaked key by its plaintext, read from stdin', async () => {
      const { key, plaintext } = await consumerWithKey(server);
      expect((await server.get('/v1/me', plaintext)).status).toBe(200);
      const r = await cli(['revoke-key', '--key', '-', '--json'], `${plaintext}\n`);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ id: key.id, revokedAt: expect.any(String), alreadyRevoked: false });
      expect(r.stdout + r.stderr).not.toContain(plaintext);
      await refusedWithin(plaintext, REDIS_URL ? 1000 : 3000);
    });

    it('fails with a non-zero exit on an unknown id, a malformed or unknown key, and the last root key', async () => {
      const unknownId = await cli(['revoke-key', 'key_01JD5X3V8Q2mZt9aK3LpQw7Rv']);
      expect(unknownId.code).toBe(1);
      expect(unknownId.stderr).toMatch(/NOT_FOUND/);
      const malformed = await cli(['revoke-key', '--key', 'tg_live_short']);
      expect(malformed.code).toBe(1);
      expect(malformed.stderr).toMatch(/not a well-formed key/);
      const unknown = await cli(['revoke-key', '--key', (await cli(['generate-key'])).stdout.trim()]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/no key in this database matches/);

      const roots = (await server.get('/v1/admin/admin-keys?status=active&limit=100', server.adminKey)).body.data.filter((k: any) => k.scopes.includes('*'));
      const others = roots.filter((k: any) => k.name !== 'bootstrap admin key');
      expect(others.length).toBe(roots.length - 1);
      for (const k of others) expect((await cli(['revoke-key', k.id])).code).toBe(0);
      const last = await cli(['revoke-key', '--key', server.adminKey]);
      expect(last.code).toBe(1);
      expect(last.stderr).toMatch(/CONFLICT: This is the last active admin key/);
      expect((await server.get('/v1/admin/consumers', server.adminKey)).status).toBe(200);
    });
  });

  describe('migrate', () => {
    it('applies the schema to an empty database once, then has nothing to do', async () => {
      const fresh = await TestDatabase.create();
      try {
        const first = await runCli(['migrate'], fresh.env);
        expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
        expect(first.stdout).toMatch(/^applied: InitialSchema1764000000000/);
        const second = await runCli(['migrate', '--json'], fresh.env);
        expect(JSON.parse(second.stdout)).toEqual({ applied: [] });
      } finally {
        await fresh.drop();
      }
      const onServerDb = await cli(['migrate']);
      expect(onServerDb.stdout).toBe('the schema is up to date\n');
    });

    it('exits non-zero when the database cannot be reached', async () => {
      const r = await runCli(['migrate'], { DB_TYPE: 'mysql', DATABASE_URL: 'mysql://root@127.0.0.1:1/none', KEY_HASH_SECRET: 'x'.repeat(20) });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: /);
    });
  });
});
