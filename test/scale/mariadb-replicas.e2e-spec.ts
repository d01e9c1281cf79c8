import { generateKey } from '../../src/auth/key-format';
import { consumerWithKey, sleep } from '../support/fixtures';
import { type Response, TestServer, USE_MYSQL } from '../support/server';
import { LocalMariaDbPair } from './mariadb-pair';

const describeReplicas = USE_MYSQL ? describe : describe.skip;

function readsServedBy(metrics: string, target: 'replica' | 'primary'): number {
  const m = new RegExp(`tollgate_database_replica_reads_total\\{target="${target}"\\} (\\d+)`).exec(metrics);
  return m ? Number(m[1]) : 0;
}

describeReplicas('a MariaDB replica for reads (runs with DB_TYPE=mysql)', () => {
  const database = `tg_e2e_replica_${Date.now().toString(36)}`;
  let pair: LocalMariaDbPair;
  let server: TestServer;

  beforeAll(async () => {
    pair = await LocalMariaDbPair.start();
    const primary = await pair.connect(pair.primaryPort);
    await primary.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    await primary.end();
    await pair.caughtUp();
    server = await TestServer.start({
      redis: false,
      adminKey: generateKey('tg', 'live').key,
      env: {
        DB_TYPE: 'mysql',
        DATABASE_URL: pair.url(pair.primaryPort, database),
        DATABASE_REPLICA_URLS: pair.url(pair.replicaPort, database),
        KEY_HASH_SECRET: 'e2e-secret-0123456789abcdef',
        LOG_LEVEL: 'warn',
      },
    });
  });

  afterAll(async () => {
    await server?.stop('SIGTERM', false);
    await pair?.stop();
  });

  const stats = (): Promise<Response> => server.get('/v1/admin/stats', server.adminKey);

  it('serves admin reads from the replica and writes on the primary', async () => {
    await consumerWithKey(server, { scopes: [] });
    await pair.caughtUp();
    // A consumer the primary never had, written on the replica alone: only a read served there counts it.
    const replica = await pair.connect(pair.replicaPort);
    const primary = await pair.connect(pair.primaryPort);
    try {
      await replica.query('SET SESSION sql_log_bin = 0');
      const [[row]] = (await replica.query(`SELECT * FROM \`${database}\`.consumers LIMIT 1`)) as any;
      const marker = { ...row, id: 'cons_onlyonthereplica0000', external_id: null };
      const columns = Object.keys(marker);
      await replica.query(
        `INSERT INTO \`${database}\`.consumers (${columns.map((c) => `\`${c}\``).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
        columns.map((c) => marker[c]),
      );
      const [[{ n: onPrimary }]] = (await primary.query(`SELECT COUNT(*) AS n FROM \`${database}\`.consumers`)) as any;
      const before = readsServedBy((await server.get('/metrics')).text, 'replica');
      const res = await stats();
      expect(res.status).toBe(200);
      expect(res.body.consumers.total).toBe(Number(onPrimary) + 1);
      expect(readsServedBy((await server.get('/metrics')).text, 'replica')).toBeGreaterThan(before);

      // A write goes to the primary, and the read after it in the same request sees it.
      const created = await server.post('/v1/admin/consumers', { name: 'written' }, server.adminKey);
      expect(created.status).toBe(201);
      const [[found]] = (await primary.query(`SELECT name FROM \`${database}\`.consumers WHERE id = ?`, [created.body.id])) as any;
      expect(found.name).toBe('written');
      await replica.query(`DELETE FROM \`${database}\`.consumers WHERE id = 'cons_onlyonthereplica0000'`);
    } finally {
      await replica.end();
      await primary.end();
    }
  });

  it('reads from the primary while the replica has stopped replicating', async () => {
    const replica = await pair.connect(pair.replicaPort);
    try {
      await replica.query('STOP SLAVE SQL_THREAD');
      await sleep(2_500);
      const metrics = (await server.get('/metrics')).text;
      expect(metrics).toMatch(/tollgate_database_replica_usable\{replica="127\.0\.0\.1:\d+"\} 0/);
      const before = readsServedBy(metrics, 'primary');
      expect((await stats()).status).toBe(200);
      expect(readsServedBy((await server.get('/metrics')).text, 'primary')).toBeGreaterThan(before);
      await replica.query('START SLAVE SQL_THREAD');
      await sleep(2_500);
      expect((await server.get('/metrics')).text).toMatch(/tollgate_database_replica_usable\{replica="127\.0\.0\.1:\d+"\} 1/);
    } finally {
      await replica.end();
    }
  });

  it('falls back to the primary without a 5xx when the replica dies', async () => {
    pair.killReplica();
    const responses: Response[] = [];
    for (let i = 0; i < 10; i++) responses.push(await stats());
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    await sleep(1_500);
    expect((await server.get('/metrics')).text).toMatch(/tollgate_database_replica_usable\{replica="127\.0\.0\.1:\d+"\} 0/);
    expect((await stats()).status).toBe(200);
  });
});
