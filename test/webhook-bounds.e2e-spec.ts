import { createServer } from 'node:net';
import { adminKeyWith, sleep } from './support/fixtures';
import { rawSql } from './support/raw-sql';
import { TestServer } from './support/server';
import { WebhookReceiver } from './support/webhook-receiver';

const FAST = {
  WEBHOOK_RETRY_BASE_MS: '300',
  WEBHOOK_POLL_INTERVAL_MS: '100',
  WEBHOOK_TIMEOUT_MS: '2000',
  REDIS_PREFIX: `tg-e2e-whb-${Math.random().toString(36).slice(2, 8)}:`,
};

async function closedPort(): Promise<number> {
  return new Promise((ok) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => ok(port));
    });
  });
}

/** Polls a delivery list until `done` holds for its first delivery. */
async function firstDelivery(server: TestServer, endpointId: string, key: string, done: (d: any) => boolean): Promise<any> {
  let d: any;
  for (let i = 0; i < 300; i++) {
    const r = await server.get(`/v1/admin/webhook-endpoints/${endpointId}/deliveries`, key);
    d = r.body.data?.[0];
    if (d && done(d)) return d;
    await sleep(100);
  }
  throw new Error(`no delivery matched: ${JSON.stringify(d)}`);
}

describe('webhooks: data keeps the scope of its resource', () => {
  let server: TestServer;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    server = await TestServer.start({ env: { ...FAST, WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' } });
  });
  afterAll(async () => {
    await server?.stop();
    await receiver?.stop();
  });

  it('subscribing to an event type needs the read scope of its resource', async () => {
    const writer = await adminKeyWith(server, ['webhooks:read', 'webhooks:write']);
    const create = (events: string[], key = writer) => server.post('/v1/admin/webhook-endpoints', { url: receiver.url('/s'), events }, key);
    for (const events of [['consumer.created'], ['key.revoked'], ['invoice.closed'], ['quota.threshold'], ['rate_limit.exceeded'], ['*']]) {
      const r = await create(events);
      expect({ events, status: r.status, error: r.body.error }).toEqual({ events, status: 403, error: 'INSUFFICIENT_PERMISSIONS' });
    }
    expect((await create(['key.revoked'])).body.message).toMatch(/keys:read/);
    expect((await create(['webhook.endpoint_disabled'])).status).toBe(201);

    const consumers = await adminKeyWith(server, ['webhooks:read', 'webhooks:write', 'consumers:read']);
    const own = await create(['consumer.created'], consumers);
    expect(own.status).toBe(201);
    expect((await create(['consumer.created', 'key.created'], consumers)).status).toBe(403);
    const all = await adminKeyWith(server, ['webhooks:*', 'consumers:read', 'keys:read', 'billing:read', 'usage:read']);
    expect((await create(['*'], all)).status).toBe(201);

    // Adding a type the key cannot read is refused; nothing changed.
    const add = await server.patch(`/v1/admin/webhook-endpoints/${own.body.id}`, { events: ['consumer.created', 'invoice.closed'] }, consumers);
    expect({ status: add.status, error: add.body.error }).toEqual({ status: 403, error: 'INSUFFICIENT_PERMISSIONS' });
    expect((await server.get(`/v1/admin/webhook-endpoints/${own.body.id}`, consumers)).body.events).toEqual(['consumer.created']);

    // Pointing an endpoint that receives everything at another URL hands all of it over: needs every scope.
    const everything = await create(['*'], server.adminKey);
    const moved = await server.patch(`/v1/admin/webhook-endpoints/${everything.body.id}`, { url: receiver.url('/elsewhere') }, consumers);
    expect({ status: moved.status, error: moved.body.error }).toEqual({ status: 403, error: 'INSUFFICIENT_PERMISSIONS' });
    expect((await server.patch(`/v1/admin/webhook-endpoints/${own.body.id}`, { url: receiver.url('/moved') }, consumers)).status).toBe(200);
    // Narrowing adds nothing new: allowed with the scope of what remains.
    expect((await server.patch(`/v1/admin/webhook-endpoints/${everything.body.id}`, { events: ['consumer.created'] }, consumers)).status).toBe(200);
    expect((await server.patch(`/v1/admin/webhook-endpoints/${everything.body.id}`, { description: 'renamed' }, writer)).status).toBe(200);
  });

  it('shows a reader without the scope the type, id and resource ids of an event, not its data', async () => {
    // Created first: admin keys are keys too (key.created).
    const reader = await adminKeyWith(server, ['webhooks:read']);
    const consumers = await adminKeyWith(server, ['webhooks:read', 'consumers:read']);
    const retrier = await adminKeyWith(server, ['webhooks:read', 'webhooks:write']);
    const ep = await server.post('/v1/admin/webhook-endpoints', { url: receiver.url('/data'), events: ['consumer.created', 'key.created'] }, server.adminKey);
    expect(ep.status).toBe(201);
    const c = await server.post('/v1/admin/consumers', { name: 'Secretive GmbH', externalId: 'acct-7731', metadata: { taxId: 'DE811569869' } }, server.adminKey);
    const k = await server.post(`/v1/admin/consumers/${c.body.id}/keys`, { name: 'backend', scopes: ['usage:write'] }, server.adminKey);
    expect(k.status).toBe(201);
    await receiver.waitFor('/data', (x) => x.length >= 2);
    const full = await firstDelivery(server, ep.body.id, server.adminKey, () => true);
    expect(full.event.data).not.toBeNull();

    const list = await server.get(`/v1/admin/webhook-endpoints/${ep.body.id}/deliveries`, reader);
    expect(list.status).toBe(200);
    expect(list.body.data).toHaveLength(2);
    for (const d of list.body.data) {
      expect(d.event).toEqual({ id: d.eventId, type: d.eventType, createdAt: expect.any(String), data: null });
    }
    const byType = Object.fromEntries(list.body.data.map((d: any) => [d.eventType, d]));
    expect(byType['consumer.created'].resourceIds).toEqual([c.body.id]);
    expect(byType['key.created'].resourceIds).toEqual([k.body.id, c.body.id]);
    for (const secret of ['Secretive', 'acct-7731', 'DE811569869', 'usage:write', 'backend']) expect(list.text).not.toContain(secret);

    const one = await server.get(`/v1/admin/webhook-endpoints/${ep.body.id}/deliveries/${byType['consumer.created'].id}`, reader);
    expect(one.body.event.data).toBeNull();
    expect(one.text).not.toContain('DE811569869');

    // With consumers:read, consumer events show their data; key events still do not.
    const partial = await server.get(`/v1/admin/webhook-endpoints/${ep.body.id}/deliveries`, consumers);
    const partialByType = Object.fromEntries(partial.body.data.map((d: any) => [d.eventType, d]));
    expect(partialByType['consumer.created'].event.data.consumer).toMatchObject({ id: c.body.id, metadata: { taxId: 'DE811569869' } });
    expect(partialByType['key.created'].event.data).toBeNull();

    // A retry answers with the delivery as its caller may see it.
    const retried = await server.post(`/v1/admin/webhook-endpoints/${ep.body.id}/deliveries/${byType['consumer.created'].id}/retry`, {}, retrier);
    expect(retried.status).toBe(200);
    expect(retried.body.event.data).toBeNull();
    expect(retried.text).not.toContain('DE811569869');

    // A test send carries nothing beyond the endpoint: its data is shown.
    const test = await server.post(`/v1/admin/webhook-endpoints/${ep.body.id}/test`, {}, retrier);
    expect(test.status).toBe(200);
    expect(test.body.event.data).toMatchObject({ endpointId: ep.body.id });
    expect(test.body.resourceIds).toEqual([ep.body.id]);
  });

  it('says why an attempt failed without the address the host resolved to', async () => {
    const port = await closedPort();
    const ep = await server.post('/v1/admin/webhook-endpoints', { url: `http://localhost:${port}/gone`, events: ['webhook.endpoint_disabled'] }, server.adminKey);
    expect(ep.status).toBe(201);
    await server.post(`/v1/admin/webhook-endpoints/${ep.body.id}/test`, {}, server.adminKey);
    const reader = await adminKeyWith(server, ['webhooks:read']);
    const d = await firstDelivery(server, ep.body.id, reader, (x) => x.attemptLog.length >= 1 && x.lastError !== null);
    expect(d.lastError).toMatch(/^connection (refused|failed)/);
    expect(JSON.stringify(d)).not.toMatch(/127\.0\.0\.1|::1/);
  });
});

describe('webhook targets without private targets allowed', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start({ env: FAST });
  });
  afterAll(async () => {
    await server?.stop();
  });

  const targets = [
    'https://203.0.113.5/hook',
    'https://192.0.2.1/hook',
    'https://198.51.100.20/hook',
    'https://198.18.0.1/hook',
    'https://100.64.0.1/hook',
    'https://240.0.0.1/hook',
    'https://224.0.0.1/hook',
    'https://0.0.0.0/hook',
    'https://255.255.255.255/hook',
    'https://[64:ff9b::a9fe:a9fe]/hook',
    'https://[64:ff9b::808:808]/hook',
    'https://[64:ff9b:1::a00:1]/hook',
    'https://[2002:7f00:1::1]/hook',
    'https://[::127.0.0.1]/hook',
    'https://[::ffff:8.8.8.8]/hook',
    'https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook',
    'https://[2001:db8::1]/hook',
    'https://[3fff::1]/hook',
    'https://[fec0::1]/hook',
    'https://[ff02::1]/hook',
  ];

  it.each(targets)('refuses %s at create and on update', async (url) => {
    const r = await server.post('/v1/admin/webhook-endpoints', { url, events: ['*'] }, server.adminKey);
    expect({ status: r.status, details: r.body.details }).toEqual({ status: 400, details: [{ field: 'url', message: expect.stringMatching(/private|public/) }] });
    const ok = await server.post('/v1/admin/webhook-endpoints', { url: 'https://93.184.215.14/hook', events: ['webhook.endpoint_disabled'] }, server.adminKey);
    expect(ok.status).toBe(201);
    const moved = await server.patch(`/v1/admin/webhook-endpoints/${ok.body.id}`, { url }, server.adminKey);
    expect(moved.status).toBe(400);
  });

  it('refuses an address that is not public when it connects, too', async () => {
    const ep = await server.post('/v1/admin/webhook-endpoints', { url: 'https://93.184.215.14/hook', events: ['webhook.endpoint_disabled'] }, server.adminKey);
    expect(ep.status).toBe(201);
    // As if the address had been accepted by an older version: the sender checks it again.
    const sql = await rawSql(server.db);
    await sql.run('UPDATE webhook_endpoints SET url = ? WHERE id = ?', ['https://[64:ff9b::a9fe:a9fe]/latest', ep.body.id]);
    await sql.close();
    await server.post(`/v1/admin/webhook-endpoints/${ep.body.id}/test`, {}, server.adminKey);
    const d = await firstDelivery(server, ep.body.id, server.adminKey, (x) => x.attemptLog.length >= 1 && x.lastError !== null);
    expect(d.lastError).toMatch(/not a public/);
    expect(d.attemptLog[0]).toMatchObject({ statusCode: null, success: false });
  });
});
