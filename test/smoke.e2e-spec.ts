import { consumerWithKey } from './support/fixtures';
import { TestServer } from './support/server';

describe('walkthrough: admin key → consumer → key → /v1/me → revoke → 401', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('works end to end', async () => {
    const { consumer, plaintext, key } = await consumerWithKey(server);
    const me = await server.get('/v1/me', plaintext);
    expect(me.status).toBe(200);
    expect(me.body.consumer.id).toBe(consumer.id);
    expect(me.body.key.id).toBe(key.id);
    const revoked = await server.post(`/v1/admin/keys/${key.id}/revoke`, {}, server.adminKey);
    expect(revoked.status).toBe(200);
    const after = await server.get('/v1/me', plaintext);
    expect(after.status).toBe(401);
    expect(after.body.error).toBe('KEY_REVOKED');
  });
});
