import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { TestServer } from './support/server';

/** Bodies Tollgate refuses: too large (before reading them, and without resetting the client), not JSON, malformed. */
describe('request bodies', () => {
  const LIMIT = 64 * 1024;
  let server: TestServer;
  let host: string;
  let port: number;

  beforeAll(async () => {
    server = await TestServer.start({ env: { BODY_LIMIT_BYTES: String(LIMIT) } });
    const url = new URL(server.url);
    host = url.hostname;
    port = Number(url.port);
  });
  afterAll(() => server?.stop());

  interface RawResult {
    text: string;
    error?: string;
  }

  /**
   * Writes the head, then the body in chunks as fast as the socket takes them (the way curl uploads),
   * and returns everything the server sent, or the socket error if the connection was reset before the
   * client could read it.
   */
  function rawPost(headers: string[], bodyBytes: number, waitForAnswerFirst = false): Promise<RawResult> {
    return new Promise((resolve) => {
      const socket = connect(port, host);
      const received: Buffer[] = [];
      let settled = false;
      const done = (error?: string) => {
        if (settled) return;
        settled = true;
        socket.destroy();
        resolve({ text: Buffer.concat(received).toString('utf8'), error });
      };
      socket.on('data', (chunk) => {
        received.push(chunk);
        const text = Buffer.concat(received).toString('utf8');
        if (waitForAnswerFirst && /^HTTP\/1\.1 1\d\d/.test(text)) writeBody();
        if (/\r\n\r\n[\s\S]*"requestId"[^}]*}/.test(text)) done();
      });
      socket.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
      socket.on('close', () => done());
      const chunk = Buffer.alloc(16 * 1024, 'a');
      let sent = 0;
      const writeBody = () => {
        while (sent < bodyBytes && !socket.destroyed) {
          sent += chunk.length;
          if (!socket.write(chunk)) return void socket.once('drain', writeBody);
        }
      };
      socket.write([`POST /v1/admin/consumers HTTP/1.1`, `Host: ${host}:${port}`, ...headers, '', ''].join('\r\n'));
      if (!waitForAnswerFirst) writeBody();
    });
  }

  const statusOf = (text: string) => Number(/^HTTP\/1\.1 (\d{3})/m.exec(text.replace(/^HTTP\/1\.1 100[^\n]*\n\r?\n/, ''))?.[1]);
  const bodyOf = (text: string) => JSON.parse(text.slice(text.lastIndexOf('\r\n\r\n') + 4));

  it('answers a Content-Length over the limit with 413 in the error shape, every time, never a reset', async () => {
    const size = 5 * 1024 * 1024;
    for (let i = 0; i < 8; i++) {
      const r = await rawPost(['Content-Type: application/json', `Content-Length: ${size}`, `X-API-Key: ${server.adminKey}`], size);
      expect(r.error).toBeUndefined();
      expect(statusOf(r.text)).toBe(413);
      expect(r.text).toMatch(/\r\nconnection: close\r\n/i);
      expect(bodyOf(r.text)).toMatchObject({ error: 'PAYLOAD_TOO_LARGE', statusCode: 413, requestId: expect.any(String) });
    }
  });

  it('with Expect: 100-continue, answers 413 at once and never invites the body with 100 Continue', async () => {
    const size = 5 * 1024 * 1024;
    for (let i = 0; i < 5; i++) {
      const r = await rawPost(['Content-Type: application/json', `Content-Length: ${size}`, 'Expect: 100-continue', `X-API-Key: ${server.adminKey}`], size, true);
      expect(r.error).toBeUndefined();
      expect(r.text).not.toMatch(/^HTTP\/1\.1 100/);
      expect(statusOf(r.text)).toBe(413);
      expect(bodyOf(r.text).error).toBe('PAYLOAD_TOO_LARGE');
    }
  });

  it('still invites a body within the limit with 100 Continue, and takes it', async () => {
    const body = JSON.stringify({ name: 'expect-ok' });
    const r = await new Promise<{ status: number; continued: boolean; body: any }>((resolve, reject) => {
      let continued = false;
      const req = httpRequest(
        { host, port, method: 'POST', path: '/v1/admin/consumers', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue', 'x-api-key': server.adminKey } },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode!, continued, body: JSON.parse(text) }));
        },
      );
      req.on('continue', () => {
        continued = true;
        req.end(body);
      });
      req.on('error', reject);
    });
    expect(r).toMatchObject({ status: 201, continued: true, body: { name: 'expect-ok' } });
  });

  it('answers a chunked body that grows past the limit with 413, not a reset, through a Node client', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await new Promise<{ status?: number; body?: any; error?: string }>((resolve) => {
        const req = httpRequest(
          { host, port, method: 'POST', path: '/v1/admin/consumers', headers: { 'content-type': 'application/json', 'x-api-key': server.adminKey } },
          (res) => {
            let text = '';
            res.on('data', (c) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
          },
        );
        req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code }));
        const chunk = Buffer.alloc(16 * 1024, ' ');
        let sent = 0;
        const pump = () => {
          while (sent < 2 * 1024 * 1024) {
            sent += chunk.length;
            if (!req.write(chunk)) return void req.once('drain', pump);
          }
          req.end();
        };
        pump();
      });
      expect(r.error).toBeUndefined();
      expect(r.status).toBe(413);
      expect(r.body.error).toBe('PAYLOAD_TOO_LARGE');
    }
  });

  it('keeps serving after refusing large bodies', async () => {
    expect((await server.get('/v1/admin/consumers', server.adminKey)).status).toBe(200);
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/xml'])('answers a %s body with 415 UNSUPPORTED_MEDIA_TYPE', async (type) => {
    const r = await server.request('POST', '/v1/admin/consumers', { key: server.adminKey, rawBody: 'name=x', headers: { 'content-type': type } });
    expect(r.status).toBe(415);
    expect(r.body).toMatchObject({ error: 'UNSUPPORTED_MEDIA_TYPE', statusCode: 415, requestId: expect.any(String) });
    expect((await server.get('/v1/admin/consumers?limit=100', server.adminKey)).body.data.map((c: any) => c.name)).not.toContain('x');
  });

  it('answers malformed JSON with 400 VALIDATION_FAILED saying the body is not valid JSON', async () => {
    const r = await server.request('POST', '/v1/admin/consumers', { key: server.adminKey, rawBody: '{"name": "x",', headers: { 'content-type': 'application/json' } });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error: 'VALIDATION_FAILED', message: 'The request body is not valid JSON', details: [{ field: 'body', message: 'is not valid JSON' }] });
  });

  it('accepts JSON with a charset parameter', async () => {
    const r = await server.request('POST', '/v1/admin/consumers', {
      key: server.adminKey,
      rawBody: JSON.stringify({ name: 'charset' }),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(r.status).toBe(201);
  });
});
