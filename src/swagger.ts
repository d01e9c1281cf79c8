import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { SECURITY_SCHEME } from './auth/decorators';
import { ErrorResponseDto } from './common/error-response.dto';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
const BODY_ERRORS = [
  ['413', 'PAYLOAD_TOO_LARGE: the body is over BODY_LIMIT_BYTES (a declared Content-Length is refused before the body is read)'],
  ['415', 'UNSUPPORTED_MEDIA_TYPE: the body is not `application/json`'],
] as const;

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Tollgate')
    .setDescription(
      [
        'Self-hosted API key platform: issue and verify API keys, scope and rate-limit them, meter usage and bill it per period.',
        '',
        'Authenticate with `X-API-Key: <key>` or `Authorization: Bearer <key>`. Each operation lists the key kinds it accepts',
        '(`x-key-kinds`) and the scopes it needs (`x-required-scopes`). Every error has the same shape (`ErrorResponseDto`)',
        'with a stable `error` code. Times are ISO-8601 UTC with milliseconds; money is integer minor units; prices are decimal strings.',
      ].join('\n'),
    )
    .setVersion('1.0.0')
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key; `Authorization: Bearer <key>` works too.' }, SECURITY_SCHEME)
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    extraModels: [ErrorResponseDto],
    operationIdFactory: (controller, method) => `${controller.replace(/Controller$/, '')}_${method}`,
  });
  for (const path of Object.values(document.paths)) {
    for (const method of METHODS) {
      const op = path[method] as (Record<string, unknown> & { description?: string; responses?: Record<string, unknown> }) | undefined;
      if (!op) continue;
      // Any route can fail on a bug; say what that looks like.
      if (op.responses && !op.responses['500']) {
        op.responses['500'] = {
          description: 'INTERNAL_ERROR: a bug; the message holds nothing internal',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponseDto' } } },
        };
      }
      // Any route that takes a body refuses one that is too large or not JSON, before reading it.
      if (op.responses && op.requestBody) {
        for (const [status, description] of BODY_ERRORS) {
          op.responses[status] ??= { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponseDto' } } } };
        }
      }
      const scopes = op['x-required-scopes'] as string[] | undefined;
      const kinds = op['x-key-kinds'] as string[] | undefined;
      if (!scopes) continue;
      const needs = scopes.length ? scopes.map((s) => `\`${s}\``).join(', ') : 'none beyond a valid key';
      const who = kinds ? ` Key kinds: ${kinds.map((k) => `\`${k}\``).join(', ')}.` : '';
      op.description = [op.description, `**Required scopes:** ${needs}.${who}`].filter(Boolean).join('\n\n');
    }
  }
  return document;
}

export function setupSwagger(app: INestApplication, { ui }: { ui: boolean }): void {
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, document, {
    swaggerUiEnabled: ui,
    jsonDocumentUrl: 'docs-json',
    raw: ['json'],
    customSiteTitle: 'Tollgate API',
  });
}
