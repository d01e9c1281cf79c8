import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: any;
}

/** A stand-in for Tollgate in unit specs: answers each request with what `answer` returns. */
export class FakeTollgate {
  readonly received: Received[] = [];
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(answer: (r: Received) => { status?: number; body?: unknown; delayMs?: number; headers?: Record<string, string> }): Promise<FakeTollgate> {
    let fake: FakeTollgate | undefined;
    const server = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString('utf8')));
      req.on('end', () => {
        const r: Received = { path: req.url ?? '', headers: req.headers, body: text ? JSON.parse(text) : undefined };
        fake!.received.push(r);
        const a = answer(r);
        setTimeout(() => {
          if (res.destroyed) return;
          res.writeHead(a.status ?? 200, { 'content-type': 'application/json', 'x-request-id': 'req_fake1', ...a.headers });
          res.end(a.body === undefined ? '' : JSON.stringify(a.body));
        }, a.delayMs ?? 0);
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    fake = new FakeTollgate(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return fake;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((ok) => this.server.close(() => ok()));
  }
}

/** A verdict as Tollgate sends it. */
export function verdict(overrides: Record<string, unknown> = {}) {
  return {
    valid: true,
    code: 'VALID',
    keyId: 'key_1',
    consumerId: 'cons_1',
    kind: 'secret',
    environment: 'live',
    scopes: ['orders:read'],
    expiresAt: null,
    rateLimits: [{ name: 'default', limit: 1000, windowSeconds: 60, remaining: 999, reset: 42 }],
    quota: null,
    ...overrides,
  };
}
