import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { generateKey } from '../src/auth/key-format';
import { adminKeyWith, consumerWithKey, sleep } from './support/fixtures';
import { rawSql, sqlTime } from './support/raw-sql';
import { ROOT, TestServer, USE_MYSQL } from './support/server';
import { Received, verify, WebhookReceiver } from './support/webhook-receiver';

const FAST = {
  WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
  WEBHOOK_RETRY_BASE_MS: '300',
  WEBHOOK_POLL_INTERVAL_MS: '100',
  WEBHOOK_TIMEOUT_MS: '2000',
  WEBHOOK_LEASE_SECONDS: '3',
  WEBHOOK_DISABLE_AFTER_SECONDS: '3',
  WEBHOOK_EXPIRY_SCAN_SECONDS: '1',
  // Instances of one suite share limits and quota counters (used only when REDIS_URL is set).
  REDIS_PREFIX: `tg-e2e-wh-${Math.random().toString(36).slice(2, 8)}:`,
};

const ofType = (rs: Received[], type: string) => rs.filter((r) => r.json?.type === type);

describe('webhooks', () => {
  let server: TestServer;
  let receiver: WebhookReceiver;
  let n = 0;

  /** An endpoint with a path of its own on the receiver. */
  async function endpoint(events: string[] = ['*'], s = server): Promise<{ id: string; secret: string; path: string }> {
    const path = `/hook-${++n}`;
    const r = await s.post('/v1/admin/webhook-endpoints', { url: receiver.url(path), events, description: `test ${n}` }, s.adminKey);
    expect(r.status).toBe(201);
    return { id: r.body.id, secret: r.body.secret, path };
  }

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    server = await TestServer.start({ env: FAST });
  });
  afterAll(async () => {
    await server?.stop();
    await receiver?.stop();
  });

  it('creates an endpoint with a secret shown once, and checks scopes and input', async () => {
    const ep = await endpoint(['consumer.created']);
    expect(ep.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const got = await server.get(`/v1/admin/webhook-endpoints/${ep.id}`, server.adminKey);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: ep.id, events: ['consumer.created'], enabled: true, disabledReason: null, failingSince: null });
    expect(got.body.secret).toBeUndefined();
    expect(got.text).not.toContain(ep.secret);

    const reader = await adminKeyWith(server, ['webhooks:read']);
    expect((await server.get('/v1/admin/webhook-endpoints', reader)).status).toBe(200);
    const denied = await server.post('/v1/admin/webhook-endpoints', { url: receiver.url('/x'), events: ['*'] }, reader);
    expect(denied.status).toBe(403);
    expect(denied.body.error).toBe('INSUFFICIENT_PERMISSIONS');
    const consumerKey = (await consumerWithKey(server)).plaintext;
    expect((await server.get('/v1/admin/webhook-endpoints', consumerKey)).status).toBe(403);

    const bad = await server.post('/v1/admin/webhook-endpoints', { url: 'ftp://example.com/x', events: ['nope'] }, server.adminKey);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('VALIDATION_FAILED');
    expect(bad.body.details.map((d: any) => d.field).sort()).toEqual(['events']);
    const badUrl = await server.post('/v1/admin/webhook-endpoints', { url: 'ftp://example.com/x', events: ['*'] }, server.adminKey);
    expect(badUrl.body.details).toEqual([{ field: 'url', message: 'must use https://' }]);
    expect((await server.get('/v1/admin/webhook-endpoints/whe_01JD5X3V8Q2mZt9aK3LpQw7Rv', server.adminKey)).status).toBe(404);

    const audit = await server.get(`/v1/admin/audit-log?targetId=${ep.id}`, server.adminKey);
    expect(audit.body.data.map((e: any) => e.action)).toEqual(['webhook_endpoint.create']);
    expect(JSON.stringify(audit.body)).not.toContain(ep.secret);
  });

  it('delivers events signed per Standard Webhooks, verified by the standardwebhooks library', async () => {
    const ep = await endpoint(['consumer.created', 'consumer.suspended']);
    const c = await server.post('/v1/admin/consumers', { name: 'Signed Inc' }, server.adminKey);
    await server.post(`/v1/admin/consumers/${c.body.id}/suspend`, {}, server.adminKey);
    const rs = await receiver.waitFor(ep.path, (x) => x.length >= 2);
    for (const r of rs) {
      const payload = verify(ep.secret, r) as any;
      expect(Object.keys(payload).sort()).toEqual(['createdAt', 'data', 'id', 'type']);
      expect(r.headers['webhook-id']).toBe(payload.id);
      expect(payload.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    }
    expect(rs.map((r) => r.json.type).sort()).toEqual(['consumer.created', 'consumer.suspended']);
    expect(ofType(rs, 'consumer.suspended')[0].json.data.consumer).toMatchObject({ id: c.body.id, status: 'suspended' });
    expect(() => verify('whsec_' + Buffer.alloc(32, 1).toString('base64'), rs[0])).toThrow();
    const tampered = { ...rs[0], body: rs[0].body.replace('Signed Inc', 'Signed Inx') };
    expect(() => verify(ep.secret, tampered)).toThrow();
  });

  it('retries a failed attempt: 500 then 200 delivers twice and the log shows both attempts', async () => {
    const ep = await endpoint(['consumer.created']);
    let calls = 0;
    receiver.answer(ep.path, () => (++calls === 1 ? 500 : 200));
    const c = await server.post('/v1/admin/consumers', { name: 'Retry Co' }, server.adminKey);
    const rs = await receiver.waitFor(ep.path, (x) => x.length >= 2);
    expect(rs[0].headers['webhook-id']).toBe(rs[1].headers['webhook-id']);
    expect(rs[1].json.data.consumer.id).toBe(c.body.id);
    let log: any;
    for (let i = 0; i < 50; i++) {
      log = await server.get(`/v1/admin/webhook-endpoints/${ep.id}/deliveries`, server.adminKey);
      if (log.body.data[0]?.status === 'succeeded') break;
      await sleep(100);
    }
    expect(log.status).toBe(200);
    expect(log.body.data).toHaveLength(1);
    const d = log.body.data[0];
    expect(d).toMatchObject({ status: 'succeeded', attempts: 2, lastStatusCode: 200, eventType: 'consumer.created', eventId: rs[0].headers['webhook-id'] });
    expect(d.attemptLog.map((a: any) => [a.attempt, a.statusCode, a.success])).toEqual([
      [1, 500, false],
      [2, 200, true],
    ]);
    expect(d.attemptLog[0].responseBody).toBe('failure 500');
    expect(typeof d.attemptLog[0].durationMs).toBe('number');
    expect(d.event).toEqual(rs[1].json);
    await sleep(1000);
    expect(receiver.at(ep.path)).toHaveLength(2);

    const failed = await server.get(`/v1/admin/webhook-endpoints/${ep.id}/deliveries?status=failed`, server.adminKey);
    expect(failed.body.data).toEqual([]);
    const byType = await server.get(`/v1/admin/webhook-endpoints/${ep.id}/deliveries?eventType=key.created`, server.adminKey);
    expect(byType.body.data).toEqual([]);
    expect((await server.get(`/v1/admin/webhook-endpoints/${ep.id}/deliveries?status=nope`, server.adminKey)).status).toBe(400);

    const retried = await server.post(`/v1/admin/webhook-endpoints/${ep.id}/deliveries/${d.id}/retry`, {}, server.adminKey);
    expect(retried.status).toBe(200);
    expect(retried.body.status).toBe('pending');
    await receiver.waitFor(ep.path, (x) => x.length >= 3);
    const audit = await server.get(`/v1/admin/audit-log?targetId=${d.id}`, server.adminKey);
    expect(audit.body.data.map((e: any) => e.action)).toEqual(['webhook_delivery.retry']);
  });

  it('sends exactly one key.revoked per revoked key', async () => {
    const ep = await endpoint(['key.revoked']);
    const { key } = await consumerWithKey(server);
    await Promise.all([1, 2, 3].map(() => server.post(`/v1/admin/keys/${key.id}/revoke`, {}, server.adminKey)));
    await server.post(`/v1/admin/keys/${key.id}/revoke`, {}, server.adminKey);
    const rs = await receiver.waitFor(ep.path, (x) => x.some((r) => r.json.data.key.id === key.id));
    await sleep(1000);
    const mine = receiver.at(ep.path).filter((r) => r.json.data.key.id === key.id);
    expect(mine).toHaveLength(1);
    expect(mine[0].json.data).toMatchObject({ reason: 'revoked', key: { id: key.id, revokedAt: expect.any(String) } });
    expect(rs[0].body).not.toContain('hash');
  });

  it('sends key.created and key.rotated, and signs with both secrets for a day after rotate-secret', async () => {
    const ep = await endpoint(['key.created', 'key.rotated']);
    const rotated = await server.post(`/v1/admin/webhook-endpoints/${ep.id}/rotate-secret`, {}, server.adminKey);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(ep.secret);
    expect(Date.parse(rotated.body.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(23 * 3600 * 1000);
    const { key } = await consumerWithKey(server);
    const fresh = await server.post(`/v1/admin/keys/${key.id}/rotate`, { gracePeriodSeconds: 60 }, server.adminKey);
    const rs = await receiver.waitFor(ep.path, (x) => x.length >= 2);
    for (const r of rs) {
      expect(r.headers['webhook-signature'].split(' ')).toHaveLength(2);
      verify(rotated.body.secret, r);
      verify(ep.secret, r);
    }
    expect(ofType(rs, 'key.created')[0].json.data.key.id).toBe(key.id);
    expect(ofType(rs, 'key.rotated')[0].json.data).toMatchObject({ key: { id: key.id }, newKey: { id: fresh.body.id }, gracePeriodSeconds: 60 });

    const test = await server.post(`/v1/admin/webhook-endpoints/${ep.id}/test`, {}, server.adminKey);
    expect(test.status).toBe(200);
    expect(test.body).toMatchObject({ endpointId: ep.id, eventType: 'webhook.test', status: 'pending' });
    const [t] = ofType(await receiver.waitFor(ep.path, (x) => ofType(x, 'webhook.test').length === 1), 'webhook.test');
    expect(t.json.data).toEqual({ endpointId: ep.id, message: 'This is a test event from Tollgate.' });
    const audit = await server.get(`/v1/admin/audit-log?targetId=${ep.id}`, server.adminKey);
    expect(audit.body.data.map((e: any) => e.action)).toEqual(['webhook_endpoint.test', 'webhook_endpoint.rotate_secret', 'webhook_endpoint.create']);
  });

  it('revokes a leaked key by its plaintext, records the source and sends key.leaked', async () => {
    const ep = await endpoint(['key.leaked', 'key.revoked']);
    const { key, plaintext } = await consumerWithKey(server);
    const writer = await adminKeyWith(server, ['keys:write']);
    const reader = await adminKeyWith(server, ['keys:read']);
    expect((await server.post('/v1/admin/keys/leaked', { key: plaintext }, reader)).status).toBe(403);
    const malformed = await server.post('/v1/admin/keys/leaked', { key: 'tg_live_notakey' }, writer);
    expect(malformed.status).toBe(400);
    expect(malformed.body.details[0].field).toBe('key');
    const unknown = await server.post('/v1/admin/keys/leaked', { key: generateKey('tg', 'live').key }, writer);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('NOT_FOUND');

    const r = await server.post('/v1/admin/keys/leaked', { key: plaintext, source: 'github: acme/app#12' }, writer);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ alreadyRevoked: false, source: 'github: acme/app#12', key: { id: key.id } });
    expect(r.body.key.revokedAt).not.toBeNull();
    expect((await server.get('/v1/me', plaintext)).body.error).toBe('KEY_REVOKED');
    const again = await server.post('/v1/admin/keys/leaked', { key: plaintext, source: 'pastebin' }, writer);
    expect(again.body.alreadyRevoked).toBe(true);

    const rs = await receiver.waitFor(ep.path, (x) => x.filter((e) => e.json.data.key.id === key.id).length >= 3);
    await sleep(500);
    const mine = receiver.at(ep.path).filter((e) => e.json.data.key.id === key.id);
    expect(ofType(mine, 'key.revoked')).toHaveLength(1);
    expect(ofType(mine, 'key.revoked')[0].json.data.reason).toBe('leaked');
    expect(ofType(mine, 'key.leaked').map((e) => [e.json.data.source, e.json.data.alreadyRevoked])).toEqual([
      ['github: acme/app#12', false],
      ['pastebin', true],
    ]);
    expect(rs.length).toBeGreaterThan(0);
    const audit = await server.get(`/v1/admin/audit-log?targetId=${key.id}&action=key.leak`, server.adminKey);
    expect(audit.body.data.map((e: any) => e.after.source)).toEqual(['pastebin', 'github: acme/app#12']);
  });

  it('fires each quota threshold once per period under concurrent usage', async () => {
    const ep = await endpoint(['quota.threshold']);
    const plan = await server.post(
      '/v1/admin/plans',
      { name: 'Small', currency: 'USD', quotas: [{ metric: 'requests', limit: 10, period: 'month', thresholds: [50, 100] }] },
      server.adminKey,
    );
    expect(plan.status).toBe(201);
    expect(plan.body.quotas[0].thresholds).toEqual([50, 100]);
    const { consumer, plaintext } = await consumerWithKey(server, { scopes: ['usage:read'] }, { planId: plan.body.id });
    const answers = await Promise.all(Array.from({ length: 20 }, () => server.get('/v1/me', plaintext)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(10);
    expect(answers.filter((a) => a.status === 429).every((a) => a.body.error === 'QUOTA_EXCEEDED')).toBe(true);
    await receiver.waitFor(ep.path, (x) => x.filter((e) => e.json.data.consumerId === consumer.id).length >= 2);
    await sleep(1000);
    const mine = receiver.at(ep.path).filter((e) => e.json.data.consumerId === consumer.id);
    expect(mine.map((e) => e.json.data.threshold).sort((a, b) => a - b)).toEqual([50, 100]);
    expect(mine.find((e) => e.json.data.threshold === 100)!.json.data).toMatchObject({ metric: 'requests', limit: 10, used: 10 });
  });

  it("sends rate_limit.exceeded on a key's first 429 in a window only", async () => {
    const ep = await endpoint(['rate_limit.exceeded']);
    const plan = await server.post('/v1/admin/plans', { name: 'Tight', currency: 'USD', rateLimits: [{ name: 'burst', limit: 2, windowSeconds: 60 }] }, server.adminKey);
    const { key, plaintext } = await consumerWithKey(server, { scopes: ['usage:read'] }, { planId: plan.body.id });
    const answers = await Promise.all(Array.from({ length: 8 }, () => server.get('/v1/me', plaintext)));
    expect(answers.filter((a) => a.status === 429)).toHaveLength(6);
    await receiver.waitFor(ep.path, (x) => x.some((e) => e.json.data.keyId === key.id));
    await sleep(1000);
    const mine = receiver.at(ep.path).filter((e) => e.json.data.keyId === key.id);
    expect(mine).toHaveLength(1);
    expect(mine[0].json.data).toMatchObject({ limit: { name: 'burst', limit: 2, windowSeconds: 60, scope: 'consumer' } });
  });

  it('announces keys expiring within 7 days and within 1 day, once each', async () => {
    const ep = await endpoint(['key.expiring']);
    const inThreeDays = await consumerWithKey(server, { expiresAt: new Date(Date.now() + 3 * 86400_000).toISOString() });
    const inHours = await consumerWithKey(server, { expiresAt: new Date(Date.now() + 5 * 3600_000).toISOString() });
    const later = await consumerWithKey(server, { expiresAt: new Date(Date.now() + 30 * 86400_000).toISOString() });
    await receiver.waitFor(ep.path, (x) => x.length >= 2);
    await sleep(2500);
    const byKey = (id: string) => receiver.at(ep.path).filter((e) => e.json.data.key.id === id);
    expect(byKey(inThreeDays.key.id).map((e) => e.json.data.within)).toEqual(['7d']);
    expect(byKey(inHours.key.id).map((e) => e.json.data.within)).toEqual(['1d']);
    expect(byKey(later.key.id)).toEqual([]);
  });

  it('disables an endpoint that keeps failing, with an event and an audit entry', async () => {
    const failing = await endpoint(['consumer.created']);
    const watcher = await endpoint(['webhook.endpoint_disabled']);
    receiver.answer(failing.path, () => 503);
    await server.post('/v1/admin/consumers', { name: 'Nobody listens' }, server.adminKey);
    const [disabled] = await receiver.waitFor(watcher.path, (x) => x.some((e) => e.json.data.endpoint.id === failing.id), 30000);
    expect(disabled.json.data).toMatchObject({ reason: 'failing', endpoint: { id: failing.id, url: receiver.url(failing.path) } });
    const got = await server.get(`/v1/admin/webhook-endpoints/${failing.id}`, server.adminKey);
    expect(got.body).toMatchObject({ enabled: false, disabledReason: 'failing' });
    const audit = await server.get(`/v1/admin/audit-log?targetId=${failing.id}&action=webhook_endpoint.disable`, server.adminKey);
    expect(audit.body.data).toHaveLength(1);
    const stats = await server.get('/v1/admin/stats', server.adminKey);
    expect(stats.body.webhookEndpointsFailing).toEqual(expect.arrayContaining([expect.objectContaining({ id: failing.id, enabled: false })]));
    const deliveries = await server.get(`/v1/admin/webhook-endpoints/${failing.id}/deliveries`, server.adminKey);
    expect(deliveries.body.data[0].attemptLog.length).toBeGreaterThanOrEqual(2);
    expect(deliveries.body.data[0].attemptLog.every((a: any) => a.statusCode === 503)).toBe(true);
    const retry = await server.post(`/v1/admin/webhook-endpoints/${failing.id}/deliveries/${deliveries.body.data[0].id}/retry`, {}, server.adminKey);
    expect(retry.status).toBe(409);
    const metrics = await server.get('/metrics');
    expect(metrics.text).toMatch(/tollgate_webhook_deliveries_total\{outcome="http_error"\} [1-9]/);
    expect(metrics.text).toMatch(/tollgate_webhook_deliveries_total\{outcome="success"\} [1-9]/);
  });

  it('sends invoice.closed with the lines and total when a period closes', async () => {
    const ep = await endpoint(['invoice.closed']);
    const plan = await server.post('/v1/admin/plans', { name: 'Base', currency: 'USD', baseFeeMinor: 4900 }, server.adminKey);
    const { consumer } = await consumerWithKey(server, {}, { planId: plan.body.id });
    const periods = await server.get(`/v1/admin/billing/periods?consumerId=${consumer.id}`, server.adminKey);
    const period = periods.body.data.find((p: any) => p.status === 'open');
    const closed = await server.post(`/v1/admin/billing/periods/${period.id}/close`, {}, server.adminKey);
    expect(closed.status).toBe(200);
    const [r] = await receiver.waitFor(ep.path, (x) => x.some((e) => e.json.data.invoice.periodId === period.id));
    expect(r.json.data.invoice).toEqual(closed.body.invoice);
    expect(r.json.data.invoice).toMatchObject({ totalMinor: 4900, currency: 'USD', status: 'closed', lines: [expect.objectContaining({ type: 'base_fee' })] });
  });

  it('sends key.leaked when the command line revokes a key by its plaintext', async () => {
    const ep = await endpoint(['key.leaked', 'key.revoked']);
    const { key, plaintext } = await consumerWithKey(server);
    const cli = await new Promise<{ code: number | null; out: string }>((ok) => {
      const env: Record<string, string> = { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...server.db.env };
      const proc = spawn(process.execPath, [join(ROOT, 'dist', 'src', 'cli.js'), 'revoke-key', '--key', '-'], { env, cwd: ROOT });
      let out = '';
      proc.stdout.on('data', (d) => (out += d));
      proc.stderr.on('data', (d) => (out += d));
      proc.on('close', (code) => ok({ code, out }));
      proc.stdin.end(`${plaintext}\n`);
    });
    expect(cli.out).toContain(`Revoked key ${key.id}`);
    expect(cli.code).toBe(0);
    const rs = await receiver.waitFor(ep.path, (x) => x.filter((e) => e.json.data.key.id === key.id).length >= 2);
    const mine = rs.filter((e) => e.json.data.key.id === key.id);
    expect(mine.map((e) => e.json.type).sort()).toEqual(['key.leaked', 'key.revoked']);
    expect(ofType(mine, 'key.leaked')[0].json.data.source).toBe('cli');
  });

  it('purges finished deliveries older than the retention period, keeping pending ones', async () => {
    const ep = await endpoint(['consumer.created']);
    const test = await server.post(`/v1/admin/webhook-endpoints/${ep.id}/test`, {}, server.adminKey);
    await receiver.waitFor(ep.path, (x) => x.length >= 1);
    for (let i = 0; i < 50 && (await server.get(`/v1/admin/webhook-endpoints/${ep.id}/deliveries/${test.body.id}`, server.adminKey)).body.status !== 'succeeded'; i++) {
      await sleep(100);
    }
    receiver.answer(ep.path, () => 500);
    const pending = await server.post(`/v1/admin/webhook-endpoints/${ep.id}/test`, {}, server.adminKey);
    const sql = await rawSql(server.db);
    const old = sqlTime(new Date(Date.now() - 40 * 86400_000));
    await sql.run('UPDATE webhook_deliveries SET created_at = ? WHERE id IN (?, ?)', [old, test.body.id, pending.body.id]);
    await sql.run('UPDATE webhook_events SET created_at = ? WHERE id IN (?, ?)', [old, test.body.eventId, pending.body.eventId]);
    let gone = 0;
    for (let i = 0; i < 60 && gone !== 404; i++) {
      await sleep(100);
      gone = (await server.get(`/v1/admin/webhook-endpoints/${ep.id}/deliveries/${test.body.id}`, server.adminKey)).status;
    }
    expect(gone).toBe(404);
    expect((await server.get(`/v1/admin/webhook-endpoints/${ep.id}/deliveries/${pending.body.id}`, server.adminKey)).status).toBe(200);
    await server.request('DELETE', `/v1/admin/webhook-endpoints/${ep.id}`, { key: server.adminKey });
  });

  it('updates, lists and deletes endpoints', async () => {
    const ep = await endpoint(['consumer.created']);
    const u = await server.patch(`/v1/admin/webhook-endpoints/${ep.id}`, { events: ['*', 'key.created'], enabled: false, metadata: { team: 'x' } }, server.adminKey);
    expect(u.status).toBe(200);
    expect(u.body).toMatchObject({ events: ['*'], enabled: false, disabledReason: 'manual', metadata: { team: 'x' } });
    const disabledOnes = await server.get('/v1/admin/webhook-endpoints?enabled=false&limit=100', server.adminKey);
    expect(disabledOnes.body.data.map((e: any) => e.id)).toContain(ep.id);
    const page = await server.get('/v1/admin/webhook-endpoints?limit=1', server.adminKey);
    expect(page.body.data).toHaveLength(1);
    expect(typeof page.body.nextCursor).toBe('string');
    const next = await server.get(`/v1/admin/webhook-endpoints?limit=1&cursor=${page.body.nextCursor}`, server.adminKey);
    expect(next.body.data[0].id < page.body.data[0].id).toBe(true);
    expect((await server.request('DELETE', `/v1/admin/webhook-endpoints/${ep.id}`, { key: server.adminKey })).status).toBe(204);
    expect((await server.get(`/v1/admin/webhook-endpoints/${ep.id}`, server.adminKey)).status).toBe(404);
  });

  it('delivers after a crash mid-delivery (SIGKILL), once the lease runs out', async () => {
    const ep = await endpoint(['consumer.created']);
    let first = true;
    receiver.answer(ep.path, () => {
      if (first) {
        first = false;
        return 'hang';
      }
      return 200;
    });
    const c = await server.post('/v1/admin/consumers', { name: 'Crash Co' }, server.adminKey);
    await receiver.waitFor(ep.path, (x) => x.length >= 1);
    await server.stop('SIGKILL', false);
    server = await TestServer.startSibling(server, { env: FAST });
    const rs = await receiver.waitFor(ep.path, (x) => x.length >= 2, 30000);
    expect(rs[1].json.data.consumer.id).toBe(c.body.id);
    expect(rs[1].headers['webhook-id']).toBe(rs[0].headers['webhook-id']);
    verify(ep.secret, rs[1]);
  });

  (USE_MYSQL ? it : it.skip)('with two instances, delivers each event once', async () => {
    const ep = await endpoint(['consumer.created']);
    const alerts = await endpoint(['quota.threshold']);
    const sibling = await TestServer.startSibling(server, { env: FAST });
    try {
      // Both instances see the shared quota counter cross each threshold; one event per threshold is written.
      const plan = await server.post(
        '/v1/admin/plans',
        { name: 'Shared', currency: 'USD', quotas: [{ metric: 'requests', limit: 20, period: 'month' }] },
        server.adminKey,
      );
      const { consumer, plaintext } = await consumerWithKey(server, { scopes: ['usage:read'] }, { planId: plan.body.id });
      const used = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? sibling : server).get('/v1/me', plaintext)));
      expect(used.filter((a) => a.status === 200)).toHaveLength(20);
      await receiver.waitFor(alerts.path, (x) => x.filter((e) => e.json.data.consumerId === consumer.id).length >= 2);

      const created = await Promise.all(
        Array.from({ length: 30 }, (_, i) => (i % 2 ? sibling : server).post('/v1/admin/consumers', { name: `Twin ${i}` }, server.adminKey)),
      );
      expect(created.every((r) => r.status === 201)).toBe(true);
      const twins = (rs: Received[]) => rs.filter((r) => r.json.data.consumer.name.startsWith('Twin '));
      await receiver.waitFor(ep.path, (x) => twins(x).length >= 30);
      await sleep(1500);
      const ids = twins(receiver.at(ep.path)).map((r) => r.headers['webhook-id']);
      expect(ids).toHaveLength(30);
      expect(new Set(ids).size).toBe(30);
      const thresholds = receiver.at(alerts.path).filter((e) => e.json.data.consumerId === consumer.id);
      expect(thresholds.map((e) => e.json.data.threshold).sort((a, b) => a - b)).toEqual([80, 100]);
    } finally {
      await sibling.stop('SIGTERM', false);
    }
  });
});

describe('webhooks without private targets allowed', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('refuses http:// and private, loopback or link-local targets', async () => {
    const cases: Array<[string, RegExp]> = [
      ['http://example.com/hook', /https/],
      ['https://127.0.0.1/hook', /private/],
      ['https://[::1]/hook', /private/],
      ['https://169.254.169.254/latest', /private/],
      ['https://10.1.2.3/hook', /private/],
      ['https://localhost/hook', /private|resolve/],
    ];
    for (const [url, message] of cases) {
      const r = await server.post('/v1/admin/webhook-endpoints', { url, events: ['*'] }, server.adminKey);
      expect(r.status).toBe(400);
      expect(r.body.details[0]).toEqual({ field: 'url', message: expect.stringMatching(message) });
    }
  });
});
