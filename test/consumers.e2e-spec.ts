import { consumerWithKey, sleep } from './support/fixtures';
import { TestServer } from './support/server';

describe('consumers', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('pages newest first with an opaque cursor and filters by status and externalId', async () => {
    const tag = Date.now().toString(36);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await server.post('/v1/admin/consumers', { name: `c${i}`, externalId: `${tag}-${i}` }, server.adminKey);
      expect(r.status).toBe(201);
      ids.push(r.body.id);
    }
    await server.post(`/v1/admin/consumers/${ids[1]}/suspend`, {}, server.adminKey);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await server.get(`/v1/admin/consumers?limit=2${cursor ? `&cursor=${cursor}` : ''}`, server.adminKey);
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((c: any) => c.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen.filter((id) => ids.includes(id))).toEqual([...ids].reverse());
    const suspended = await server.get('/v1/admin/consumers?status=suspended', server.adminKey);
    expect(suspended.body.data.map((c: any) => c.id)).toEqual([ids[1]]);
    const byExternal = await server.get(`/v1/admin/consumers?externalId=${tag}-3`, server.adminKey);
    expect(byExternal.body.data.map((c: any) => c.id)).toEqual([ids[3]]);
    expect((await server.get('/v1/admin/consumers?limit=101', server.adminKey)).status).toBe(400);
    expect((await server.get('/v1/admin/consumers?cursor=garbage', server.adminKey)).body.error).toBe('VALIDATION_FAILED');
  });

  it('finds consumers by a part of their name, ignoring case, with wildcards taken literally', async () => {
    const tag = Date.now().toString(36);
    const names = [`Acme Robotics ${tag}`, `ACME labs ${tag}`, `Globex ${tag}`, `50%_off ${tag}`, `500 offers ${tag}`];
    const ids: Record<string, string> = {};
    for (const name of names) {
      const r = await server.post('/v1/admin/consumers', { name }, server.adminKey);
      expect(r.status).toBe(201);
      ids[name] = r.body.id;
    }
    const find = async (q: string, extra = '') => {
      const r = await server.get(`/v1/admin/consumers?name=${encodeURIComponent(q)}${extra}`, server.adminKey);
      expect(r.status).toBe(200);
      return r.body.data.map((c: any) => c.name);
    };
    expect(await find(`acme robotics ${tag}`)).toEqual([`Acme Robotics ${tag}`]);
    expect((await find('aCmE')).filter((n: string) => n.endsWith(tag))).toEqual([`ACME labs ${tag}`, `Acme Robotics ${tag}`]);
    // `%` and `_` are not wildcards: "50%_off" only, not "500 offers".
    expect(await find(`%_off ${tag}`)).toEqual([`50%_off ${tag}`]);
    expect(await find(`0_ `)).toEqual([]);
    // Combines with the other filters and pages like any list.
    await server.post(`/v1/admin/consumers/${ids[`ACME labs ${tag}`]}/suspend`, {}, server.adminKey);
    expect(await find(tag, '&status=active&limit=100')).toEqual([`500 offers ${tag}`, `50%_off ${tag}`, `Globex ${tag}`, `Acme Robotics ${tag}`]);
    const first = await server.get(`/v1/admin/consumers?name=${tag}&limit=2`, server.adminKey);
    expect(first.body.data).toHaveLength(2);
    const rest = await server.get(`/v1/admin/consumers?name=${tag}&limit=10&cursor=${first.body.nextCursor}`, server.adminKey);
    expect(rest.body.data).toHaveLength(3);
    const empty = await server.get('/v1/admin/consumers?name=', server.adminKey);
    expect(empty.status).toBe(400);
    expect(empty.body.error).toBe('VALIDATION_FAILED');
  });

  it('compares externalId byte for byte, trailing spaces and case included', async () => {
    const base = `ext-${Date.now().toString(36)}`;
    for (const externalId of [base, `${base} `, base.toUpperCase()]) {
      expect((await server.post('/v1/admin/consumers', { name: 'x', externalId }, server.adminKey)).status).toBe(201);
    }
    expect((await server.post('/v1/admin/consumers', { name: 'x', externalId: base }, server.adminKey)).status).toBe(409);
  });

  it('updates fields and refuses an unknown plan', async () => {
    const c = await server.post('/v1/admin/consumers', { name: 'old' }, server.adminKey);
    const u = await server.patch(`/v1/admin/consumers/${c.body.id}`, { name: 'new', metadata: { a: 1 }, billingAnchorDay: 15 }, server.adminKey);
    expect(u.status).toBe(200);
    expect(u.body).toMatchObject({ name: 'new', metadata: { a: 1 }, billingAnchorDay: 15 });
    const bad = await server.patch(`/v1/admin/consumers/${c.body.id}`, { planId: 'plan_01M80W674RcB4qKKHZ4zzTu6' }, server.adminKey);
    expect(bad.status).toBe(400);
    expect(bad.body.details).toEqual([{ field: 'planId', message: 'no plan has this id' }]);
  });

  it('deletes a consumer without history (keys and open periods go with it) and refuses one with usage', async () => {
    const fresh = await consumerWithKey(server);
    await server.get(`/v1/admin/billing/periods?consumerId=${fresh.consumer.id}`, server.adminKey);
    const del = await server.request('DELETE', `/v1/admin/consumers/${fresh.consumer.id}`, { key: server.adminKey });
    expect(del.status).toBe(204);
    expect((await server.get(`/v1/admin/consumers/${fresh.consumer.id}`, server.adminKey)).status).toBe(404);
    expect((await server.get('/v1/me', fresh.plaintext)).body.error).toBe('INVALID_API_KEY');

    const used = await consumerWithKey(server);
    expect((await server.get('/v1/me', used.plaintext)).status).toBe(200);
    await sleep(600);
    const refused = await server.request('DELETE', `/v1/admin/consumers/${used.consumer.id}`, { key: server.adminKey });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('CONFLICT');
  });
});
