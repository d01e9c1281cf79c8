import { TestServer } from './support/server';

/** 4xx answers a newcomer can act on without reading the source. */
describe('client errors', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start({ env: { API_KEY_HEADER: 'IM-API-KEY' } });
  });
  afterAll(() => server?.stop());

  it('401 MISSING_API_KEY names every header this server reads keys from, the configured one included', async () => {
    const r = await server.get('/v1/admin/consumers');
    expect(r.status).toBe(401);
    expect(r.body.error).toBe('MISSING_API_KEY');
    for (const header of ['X-API-Key', 'IM-API-KEY', 'Authorization: Bearer']) expect(r.body.message).toContain(header);
    expect((await server.get('/v1/admin/consumers', undefined, { 'im-api-key': server.adminKey })).status).toBe(200);
  });

  it('a value of the wrong type is reported as a type error only', async () => {
    const r = await server.post('/v1/admin/consumers', { name: 5, billingAnchorDay: 'abc' }, server.adminKey);
    expect(r.status).toBe(400);
    expect(r.body.details).toEqual([
      { field: 'name', message: 'name must be a string' },
      { field: 'billingAnchorDay', message: 'billingAnchorDay must be an integer number' },
    ]);
  });

  it('a value of the right type still gets its other constraints', async () => {
    const r = await server.post('/v1/admin/consumers', { name: '', billingAnchorDay: 40 }, server.adminKey);
    expect(r.status).toBe(400);
    expect(r.body.details).toEqual(
      expect.arrayContaining([
        { field: 'name', message: expect.stringMatching(/longer than or equal to 1/) },
        { field: 'billingAnchorDay', message: expect.stringMatching(/not be greater than 28/) },
      ]),
    );
  });
});
