import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebhookSender } from './webhook-sender';

describe('WebhookSender', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/redirect') {
        res.writeHead(302, { location: '/ok' });
        return res.end();
      }
      if (req.url === '/slow') return setTimeout(() => res.end('late'), 2000);
      if (req.url === '/big') return res.end('x'.repeat(10_000));
      req.resume();
      req.on('end', () => res.end(`got ${req.headers['webhook-id']}`));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
  });

  const open = new WebhookSender({ timeoutMs: 500, allowPrivate: true, maxSockets: 4 });
  const strict = new WebhookSender({ timeoutMs: 500, allowPrivate: false, maxSockets: 4 });
  afterAll(() => {
    open.close();
    strict.close();
  });

  it('posts the body and keeps the start of the answer', async () => {
    const r = await open.send(`http://127.0.0.1:${port}/ok`, { 'webhook-id': 'evt_1' }, '{}');
    expect(r).toMatchObject({ statusCode: 200, body: 'got evt_1', error: null });
    const big = await open.send(`http://127.0.0.1:${port}/big`, {}, '{}');
    expect(big.body).toHaveLength(1024);
  });

  it('does not follow redirects and gives up after the timeout', async () => {
    expect((await open.send(`http://127.0.0.1:${port}/redirect`, {}, '{}')).statusCode).toBe(302);
    const slow = await open.send(`http://127.0.0.1:${port}/slow`, {}, '{}');
    expect(slow.statusCode).toBeNull();
    expect(slow.error).toMatch(/timed out/);
  });

  it('refuses private targets when it connects, names included', async () => {
    const literal = await strict.send(`https://127.0.0.1:${port}/ok`, {}, '{}');
    expect(literal).toMatchObject({ statusCode: null, error: expect.stringMatching(/not a public/) });
    const named = await strict.send(`https://localhost:${port}/ok`, {}, '{}');
    expect(named).toMatchObject({ statusCode: null, error: expect.stringMatching(/not public/) });
    expect((await strict.send(`http://example.com/ok`, {}, '{}')).error).toMatch(/not a public https/);
  });

  it('says what failed without naming the address a host resolved to', async () => {
    const closed = await new Promise<number>((ok) => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1', () => {
        const p = (probe.address() as AddressInfo).port;
        probe.close(() => ok(p));
      });
    });
    const refused = await open.send(`http://localhost:${closed}/x`, {}, '{}');
    expect(refused.error).toBe('connection refused');
    const named = await strict.send(`https://localhost:${port}/ok`, {}, '{}');
    for (const r of [refused, named]) {
      expect(r.error).not.toMatch(/127\.0\.0\.1|::1/);
    }
  });
});
