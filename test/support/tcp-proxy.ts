import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { freePort } from './server';

/**
 * A TCP proxy in front of a database or Redis, for taking a dependency away from one instance only:
 * close() cuts it and open() restores it; hold() keeps the answers back (a query goes through and runs,
 * its result arrives only on release()), which puts a read "in flight" for as long as a test wants.
 */
export class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private held: (() => void)[] | null = null;

  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number; protocol: string },
  ) {}

  static async to(url: string, defaultPort: number): Promise<TcpProxy> {
    const u = new URL(url);
    const proxy = new TcpProxy(await freePort(), { host: u.hostname, port: Number(u.port || defaultPort), protocol: u.protocol });
    await proxy.open();
    return proxy;
  }

  /** The target's URL scheme with the proxy's address, e.g. `redis://127.0.0.1:<port>`. */
  get url(): string {
    return `${this.target.protocol}//127.0.0.1:${this.port}`;
  }

  /** Answers from the target wait until release(). */
  hold(): void {
    this.held ??= [];
  }

  release(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const deliver of held) deliver();
  }

  get heldChunks(): number {
    return this.held?.length ?? 0;
  }

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection(this.target);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.on('data', (chunk: Buffer) => {
        if (this.held) this.held.push(() => client.write(chunk));
        else client.write(chunk);
      });
      upstream.on('end', () => client.end());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  async close(): Promise<void> {
    this.release();
    const server = this.server;
    this.server = null;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}
