import http from 'node:http';
import https from 'node:https';
import { literalHostIsPrivate, publicOnlyLookup } from './target-guard';

export interface SendResult {
  statusCode: number | null;
  durationMs: number;
  /** The start of the response body, for the delivery log. */
  body: string | null;
  error: string | null;
}

/** What the delivery log keeps of a response body. */
export const LOGGED_BODY_CHARS = 1024;
/** Read at most this much of a response, so that the connection can be reused; the rest is dropped. */
const MAX_READ_BYTES = 64 * 1024;

export interface SenderOptions {
  timeoutMs: number;
  allowPrivate: boolean;
  maxSockets: number;
}

/**
 * Posts webhook bodies. Redirects are not followed (a 3xx is a failed attempt), every address is checked
 * when a connection is made unless private targets are allowed, and the whole exchange is bounded by one
 * timeout. Connections are kept alive per endpoint, which is most of the throughput to a busy receiver.
 */
export class WebhookSender {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(private readonly options: SenderOptions) {
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets });
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets: options.maxSockets });
  }

  send(url: string, headers: Record<string, string>, body: string): Promise<SendResult> {
    const started = performance.now();
    const done = (statusCode: number | null, responseBody: string | null, error: string | null): SendResult => ({
      statusCode,
      durationMs: Math.round(performance.now() - started),
      body: responseBody,
      error,
    });
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return Promise.resolve(done(null, null, 'invalid URL'));
    }
    if (!this.options.allowPrivate && (target.protocol !== 'https:' || literalHostIsPrivate(url))) {
      return Promise.resolve(done(null, null, 'refused: the target is not a public https:// address'));
    }
    const secure = target.protocol === 'https:';
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      const finish = (r: SendResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
      const req = (secure ? https : http).request(
        target,
        {
          method: 'POST',
          agent: secure ? this.httpsAgent : this.httpAgent,
          headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'Tollgate-Webhooks/1' },
          ...(this.options.allowPrivate ? {} : { lookup: publicOnlyLookup as never }),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let read = 0;
          res.on('data', (chunk: Buffer) => {
            if (read < MAX_READ_BYTES) chunks.push(chunk);
            read += chunk.length;
            if (read >= MAX_READ_BYTES) res.destroy();
          });
          const end = () => {
            if (settled) return;
            const text = Buffer.concat(chunks).toString('utf8');
            finish(done(res.statusCode ?? null, text.length > LOGGED_BODY_CHARS ? text.slice(0, LOGGED_BODY_CHARS) : text, null));
          };
          res.on('end', end);
          res.on('close', end);
          res.on('error', end);
        },
      );
      const timer = setTimeout(() => {
        req.destroy(Object.assign(new Error(`timed out after ${this.options.timeoutMs} ms`), { code: 'TIMEOUT' }));
      }, this.options.timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => finish(done(null, null, describeSendError(err))));
      req.end(body);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

const SEND_ERRORS: Record<string, string> = {
  EPRIVATETARGET: 'refused: the host resolves to an address that is not public',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed while sending',
  ETIMEDOUT: 'connection timed out',
  ENETUNREACH: 'network unreachable',
  EHOSTUNREACH: 'host unreachable',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed, temporarily',
  ECONNABORTED: 'connection aborted',
  HPE_INVALID_CONSTANT: 'the answer is not HTTP',
};

/**
 * What the delivery log says about a failed attempt: the kind of failure, never Node's message, which
 * names the address the host resolved to ("connect ECONNREFUSED 10.0.0.5:443") — readers of the log
 * would learn the inside of the network through it.
 */
export function describeSendError(err: NodeJS.ErrnoException): string {
  // Trying each address of a name (IPv6 and IPv4) fails with an AggregateError of the attempts.
  const first = (err as Error & { errors?: NodeJS.ErrnoException[] }).errors?.[0];
  const code = typeof err.code === 'string' ? err.code : typeof first?.code === 'string' ? first.code : '';
  if (code === 'TIMEOUT') return err.message;
  if (SEND_ERRORS[code]) return SEND_ERRORS[code];
  if (/^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_OSSL)/.test(code)) return `TLS handshake failed (${code})`;
  return code ? `connection failed (${code})` : 'connection failed';
}
