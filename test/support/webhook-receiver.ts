import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  json: any;
  at: number;
}

/** What the receiver answers: a status, or 'hang' to hold the request open until the test ends. */
export type Answer = number | 'hang';

/**
 * A real HTTP receiver for webhook tests. Each endpoint under test gets its own path; `answer` decides
 * per request what that path replies.
 */
export class WebhookReceiver {
  readonly received: Received[] = [];
  private readonly answers = new Map<string, (r: Received) => Answer>();
  private readonly hanging: ServerResponse[] = [];

  private constructor(private readonly server: Server) {}

  static async start(): Promise<WebhookReceiver> {
    let receiver!: WebhookReceiver;
    const server = createServer((req, res) => receiver.handle(req, res));
    receiver = new WebhookReceiver(server);
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    return receiver;
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  answer(path: string, fn: (r: Received) => Answer): void {
    this.answers.set(path, fn);
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  /** Waits until `predicate` holds for the requests received at `path`. */
  async waitFor(path: string, predicate: (rs: Received[]) => boolean, timeoutMs = 20000): Promise<Received[]> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const rs = this.at(path);
      if (predicate(rs)) return rs;
      if (Date.now() > until) throw new Error(`timed out waiting at ${path}; got ${rs.length}: ${rs.map((r) => r.json?.type).join(', ')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise((ok) => this.server.close(ok));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const r: Received = { path: req.url ?? '/', headers, body, json, at: Date.now() };
      this.received.push(r);
      const answer = (this.answers.get(r.path) ?? (() => 200))(r);
      if (answer === 'hang') {
        this.hanging.push(res);
        return;
      }
      res.statusCode = answer;
      res.end(answer >= 200 && answer < 300 ? 'ok' : `failure ${answer}`);
    });
  }
}

/** Verifies a received request with the standardwebhooks library; throws if it does not verify. */
export function verify(secret: string, r: Received): unknown {
  return new Webhook(secret).verify(r.body, {
    'webhook-id': r.headers['webhook-id'],
    'webhook-timestamp': r.headers['webhook-timestamp'],
    'webhook-signature': r.headers['webhook-signature'],
  });
}
