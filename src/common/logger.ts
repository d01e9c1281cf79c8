import type { LoggerService } from '@nestjs/common';
import pino, { Logger } from 'pino';
import { requestBindings } from '../observability/request-context';

/** Header names whose values never reach a log line. */
export function redactedHeaders(extraHeader?: string): string[] {
  const names = ['x-api-key', 'authorization', 'cookie'];
  if (extraHeader) names.push(extraHeader.toLowerCase());
  // A failed query's bound parameters may hold a key hash; the query text is enough to debug with.
  return [...names.flatMap((h) => [`req.headers["${h}"]`, `headers["${h}"]`]), 'err.parameters', 'err.driverError.parameters'];
}

export function createPino(level: string, extraHeader?: string): Logger {
  return pino({
    level,
    base: { service: 'tollgate' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactedHeaders(extraHeader), censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
  });
}

/** Nest's logger interface over the same pino instance Fastify logs requests with: one JSON stream. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly pino: Logger) {}

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
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
    // Inside a request, the line carries its id like Fastify's own request lines do.
    const base = { context, ...requestBindings() };
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
