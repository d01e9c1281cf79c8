import type { LoggerService } from '@nestjs/common';
import pino, { Logger } from 'pino';
import { maskUrlPasswords } from './mask-url';

/** Header names whose values never reach a log line. */
export function redactedHeaders(extraHeader?: string): string[] {
  const names = ['x-api-key', 'authorization', 'cookie'];
  if (extraHeader) names.push(extraHeader.toLowerCase());
  // A failed query's bound parameters may hold a key hash; the query text is enough to debug with.
  return [...names.flatMap((h) => [`req.headers["${h}"]`, `headers["${h}"]`]), 'err.parameters', 'err.driverError.parameters'];
}

export function createPino(level: string, extraHeader?: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'tollgate' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactedHeaders(extraHeader), censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
    serializers: { err: serializeError },
    hooks: {
      // A message that names a URL (a connection error, say) never carries its password.
      logMethod(args, method) {
        for (let i = 0; i < args.length; i++) {
          if (typeof args[i] === 'string') args[i] = maskUrlPasswords(args[i] as string);
        }
        method.apply(this, args as Parameters<typeof method>);
      },
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * Writes text as is on the stream the logger writes to. pino writes asynchronously, so text written on
 * stdout directly can overtake lines logged before it; on the same stream it comes after all of them.
 */
export function writeAfterLogs(logger: Logger, text: string): void {
  const stream = (logger as unknown as Record<symbol, { write(s: string): unknown } | undefined>)[pino.symbols.streamSym];
  if (stream) stream.write(text);
  else process.stdout.write(text);
}

function serializeError(err: unknown): unknown {
  const out = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  if (!out || typeof out !== 'object') return out;
  for (const field of ['message', 'stack', 'sqlMessage']) {
    if (typeof out[field] === 'string') out[field] = maskUrlPasswords(out[field] as string);
  }
  return out;
}

/**
 * Nest's start-up chatter (one line per module and per route) is for debugging the framework, not for
 * running the service: at info it buried the first admin key.
 */
const CHATTY_CONTEXTS = new Set(['InstanceLoader', 'RouterExplorer', 'NestFactory', 'NestApplication']);

/** Nest's logger interface over the same pino instance Fastify logs requests with: one JSON stream. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly pino: Logger) {}

  log(message: unknown, ...rest: unknown[]): void {
    const context = rest[rest.length - 1];
    if (context === 'RoutesResolver') return; // "Controller {/v1/metrics}" names prefixes before exclusions; the route lines name real paths
    this.write(typeof context === 'string' && CHATTY_CONTEXTS.has(context) ? 'debug' : 'info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  private write(level: pino.Level, message: unknown, rest: unknown[]): void {
    // Nest passes the context (class name) last; an object first is structured data.
    const context = typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : undefined;
    const base = { context };
    if (message && typeof message === 'object' && !(message instanceof Error)) {
      const msg = typeof rest[0] === 'string' ? (rest[0] as string) : undefined;
      this.pino[level]({ ...base, ...(message as object) }, msg);
    } else if (message instanceof Error) {
      this.pino[level]({ ...base, err: message }, message.message);
    } else {
      this.pino[level](base, String(message));
    }
  }
}

const SENSITIVE_PARAM = /key|token|secret|auth/i;
const KEY_LIKE = /^[a-z][a-z0-9]{0,15}_(live|test)_[0-9A-Za-z]{20,}$/;

/**
 * The URL as logged: keys are never accepted in the query string, but a client may still put one
 * there by mistake, and then it must not reach the logs.
 */
export function loggableUrl(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const params = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq === -1 ? pair : pair.slice(0, eq);
      const value = eq === -1 ? '' : decodeURIComponentSafe(pair.slice(eq + 1));
      return SENSITIVE_PARAM.test(name) || KEY_LIKE.test(value) ? `${name}=[redacted]` : pair;
    });
  return `${url.slice(0, q)}?${params.join('&')}`;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
