import { spawnSync } from 'node:child_process';
import { queryDb } from './support/db';
import { MAIN, ROOT, TestDatabase, TestServer } from './support/server';

describe('start-up', () => {
  it('refuses a bad configuration with a message naming the variable', () => {
    const r = spawnSync(process.execPath, [MAIN], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, PORT: 'not-a-port', DEFAULT_RATE_LIMIT: '-5' },
      encoding: 'utf8',
      timeout: 20000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/PORT/);
    expect(r.stderr).toMatch(/DEFAULT_RATE_LIMIT/);
  });

  it('generates and prints the first admin key once when none is configured', async () => {
    const db = await TestDatabase.create();
    const first = await TestServer.start({ db, env: { ADMIN_API_KEY: undefined } });
    const printed = first.logs.join('\n').match(/\b(tg_live_[0-9A-Za-z]{38})\b/);
    expect(printed).not.toBeNull();
    const key = printed![1];
    expect((await first.get('/v1/admin/consumers', key)).status).toBe(200);
    await first.stop('SIGTERM', false);
    const second = await TestServer.start({ db, env: { ADMIN_API_KEY: undefined } });
    expect(second.logs.join('\n')).not.toMatch(/first admin key/);
    expect((await second.get('/v1/admin/consumers', key)).status).toBe(200);
    await second.stop('SIGTERM', false);
    await db.drop();
  });

  it('several instances starting at once migrate once and create one admin key', async () => {
    const db = await TestDatabase.create();
    const servers = await Promise.all([TestServer.start({ db }), TestServer.start({ db }), TestServer.start({ db })]);
    try {
      const [{ n }] = await queryDb<{ n: number }>(db, "SELECT COUNT(*) AS n FROM api_keys WHERE kind = 'admin'");
      expect(Number(n)).toBe(1);
      const migrations = await queryDb(db, 'SELECT * FROM migrations');
      expect(migrations.length).toBeGreaterThan(0);
      expect(new Set(migrations.map((m: any) => m.name)).size).toBe(migrations.length);
      for (const s of servers) expect((await s.get('/health/ready')).status).toBe(200);
    } finally {
      for (const s of servers) await s.stop('SIGTERM', false);
      await db.drop();
    }
  });
});
