import { randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { LogController } from 'fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { installAuthentication } from './admission/authentication.hook';
import { AppModule } from './app.module';
import { OriginRegistry } from './auth/origin-registry.service';
import { AppException } from './common/app.exception';
import { ErrorCode } from './common/error-code';
import { createPino, PinoNestLogger } from './common/logger';
import { installJsonParser } from './common/json-body';
import { renderError } from './common/all-exceptions.filter';
import { createValidationPipe } from './common/validation.pipe';
import { validateEnv } from './config/env.validation';
import { appSettings, keysSettings } from './config/settings';
import { MetricsService } from './metrics/metrics.service';
import { installLeanAsyncResourceBind } from './observability/async-resource-bind';
import { installRequestHooks } from './observability/request-hooks';
import { setupSwagger } from './swagger';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export interface CreateAppOptions {
  /** Swagger UI needs @fastify/static; the OpenAPI document alone does not. */
  swaggerUi?: boolean;
  logLevel?: string;
}

/** Builds the application exactly as it runs, so that main, the CLI and the OpenAPI export agree. */
export async function createApp(options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  installLeanAsyncResourceBind();
  const env = validateEnv(process.env);
  const settings = appSettings(env);
  const keyHeader = keysSettings(env).header;
  // Request ids: a random prefix per process and a counter, unique across instances without a
  // random draw per request.
  const instance = randomBytes(6).toString('hex');
  let requests = 0;
  const logger = createPino(options.logLevel ?? settings.logLevel, keyHeader);
  const adapter = new FastifyAdapter({
    loggerInstance: logger,
    // One line per request is written by installRequestHooks, with the key id and without the key.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: settings.bodyLimitBytes,
    serverFactory: (handler: (req: IncomingMessage, res: ServerResponse) => void) => httpServer(handler, settings.bodyLimitBytes),
    // false, a hop count or proxy addresses: never "every hop", which would let clients choose their address.
    trustProxy: settings.trustProxy,
    requestIdHeader: false,
    // A path that cannot be decoded (`/dashboard/%`) names nothing: answered in the error shape, not Fastify's.
    frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) => {
      reply.header('x-request-id', request.id);
      renderError(error, request, reply);
    },
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : `req_${instance}${(++requests).toString(36)}`;
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, adapter, {
    logger: new PinoNestLogger(logger),
    bufferLogs: false,
    // Only JSON bodies: Fastify's own JSON parser stays, and any other media type is answered 415
    // (Nest would add a form parser, and Fastify accepts text/plain by default).
    bodyParser: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  fastify.removeContentTypeParser('text/plain');
  installJsonParser(fastify);
  // Declared up front so every request object keeps one shape: a property added later by a guard would
  // give requests a new hidden class and slow every access to them.
  fastify.decorateRequest('auth', undefined);
  fastify.decorateRequest('keyVerification', undefined);
  // First: the request context, the request log line and the HTTP metrics.
  installRequestHooks(fastify, app.get(MetricsService));
  const origins = app.get(OriginRegistry);
  const allowHeaders = ['x-api-key', 'authorization', 'content-type', 'x-request-id', keyHeader?.toLowerCase()]
    .filter(Boolean)
    .join(', ');

  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('x-request-id', request.id);
    // A declared length over the limit is refused before a byte of the body is read (and, with
    // Expect: 100-continue, before the client sends it). The connection closes after the answer, so that
    // an unsent or unread body cannot be taken for the next request.
    if (Number(request.headers['content-length']) > settings.bodyLimitBytes) {
      reply.header('connection', 'close');
      throw new AppException(ErrorCode.PAYLOAD_TOO_LARGE, `The request body is larger than the limit of ${settings.bodyLimitBytes} bytes`);
    }
    const origin = request.headers.origin;
    if (!origin) return;
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method']) {
      // Preflights carry no key: answer for any origin some active publishable key allows.
      if (!origins.has(origin)) throw new AppException(ErrorCode.ORIGIN_NOT_ALLOWED, 'This origin is not allowed by any key');
      reply
        .header('access-control-allow-origin', origin)
        .header('vary', 'Origin')
        .header('access-control-allow-methods', 'GET, POST, PATCH, DELETE')
        .header('access-control-allow-headers', allowHeaders)
        .header('access-control-max-age', '600')
        .status(204)
        .send();
      return reply;
    }
    if (origins.has(origin)) {
      reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
      reply.header('access-control-expose-headers', 'x-request-id, ratelimit, ratelimit-policy, retry-after');
    }
  });
  // Then, per route that needs a key: authentication, before the body is read.
  installAuthentication(app);
  // On shutdown, requests in flight finish but their keep-alive connections end with them: otherwise
  // server.close() waits for clients to hang up (up to the keep-alive timeout), and what runs after it
  // (the last usage flush) is cut off by the orchestrator's kill.
  let closing = false;
  fastify.addHook('preClose', async () => {
    closing = true;
  });
  fastify.addHook('onSend', async (_request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });

  app.setGlobalPrefix('v1', { exclude: ['health/live', 'health/ready', 'metrics'] });
  app.useGlobalPipes(createValidationPipe());
  app.enableShutdownHooks();
  if (settings.docsEnabled) setupSwagger(app, { ui: options.swaggerUi ?? true });
  return app;
}

const CURRENT_REQUEST = Symbol('currentRequest');
/** How long a connection closed with a request body still arriving keeps reading (and discarding) it. */
const LINGER_MS = 5000;

type LingeringSocket = Socket & { [CURRENT_REQUEST]?: IncomingMessage };

/**
 * Node's HTTP server for Fastify, with two changes for bodies that are refused:
 * - `Expect: 100-continue` is answered with 100 only when the declared length is within the limit;
 *   otherwise the request goes straight to the 413.
 * - When a response closes the connection while the client is still sending, the server ends its side
 *   and keeps reading for a while before closing (a "lingering close"). Closing at once makes the kernel
 *   answer the unread bytes with a reset, which can destroy the response before the client reads it.
 */
function httpServer(handler: (req: IncomingMessage, res: ServerResponse) => void, bodyLimit: number): Server {
  const track = (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket as LingeringSocket;
    if (!(CURRENT_REQUEST in socket)) lingerOnClose(socket);
    socket[CURRENT_REQUEST] = req;
    handler(req, res);
  };
  const server = createServer(track);
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (!(Number(req.headers['content-length']) > bodyLimit)) res.writeContinue();
    track(req, res);
  });
  return server;
}

function lingerOnClose(socket: LingeringSocket): void {
  const destroySoon = socket.destroySoon.bind(socket);
  socket.destroySoon = () => {
    const req = socket[CURRENT_REQUEST];
    if (!req || req.complete || socket.destroyed) return destroySoon();
    socket.end();
    req.resume();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    req.once('end', destroySoon);
  };
  socket[CURRENT_REQUEST] = undefined;
}
