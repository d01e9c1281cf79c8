import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { HeaderObject, ReferenceObject, ResponseObject } from '@nestjs/swagger';
import { AuditChainBreakDto } from './audit/dto/audit-verification.dto';
import { BEARER_SCHEME, GATEWAY_SCHEME, SECURITY_SCHEME } from './auth/decorators';
import { PlanSnapshotDto } from './billing/dto/billing-period.dto';
import { ErrorCode } from './common/error-code';
import { downloadUrlPlugin, protectDocsPage, sessionAuthorizationPlugin } from './docs-page';
import { packageVersion } from './common/package-version';
import { errorExample, ErrorResponseDto } from './common/error-response.dto';
import { PRICE_MODELS_DOC } from './plans/dto/price.dto';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
/** The scheme for the extra header named by API_KEY_HEADER, when one is configured. */
const CUSTOM_HEADER_SCHEME = 'api-key-header';

/** Along an operator's journey: set up plans, onboard consumers, issue and verify keys, meter, bill, watch. */
const TAGS: [string, string][] = [
  ['Plans', 'Prices, quotas and shared rate limits. A consumer is billed and limited by its plan.'],
  ['Consumers', "Your integrators' applications: they hold keys, are metered and billed; suspend one to refuse all its keys."],
  ['Keys', 'Issue, change, rotate and revoke consumer keys and admin keys. The plaintext is shown once.'],
  ['Verification', 'For upstream services and gateways: is this key good, and may it do this? Metered like a direct call.'],
  ['Usage', 'Report metered events and read usage over time.'],
  ['Billing', 'Billing periods, invoices and exports (CSV, JSON, NDJSON).'],
  ['Self-service', 'What a consumer key can do for its own consumer: who am I, its keys, its billing.'],
  ['Webhooks', 'Signed event deliveries to your endpoints: subscribe, rotate secrets, read the delivery log, retry.'],
  ['Operations', 'An overview of the installation.'],
  ['Audit', 'Every change, hash-chained; verify the chain.'],
  ['Ping', 'Connectivity and key checks.'],
  ['Health', 'Liveness, readiness and Prometheus metrics: no key needed.'],
];

/**
 * Response headers, declared once. Which responses carry which is decided by the request path (see
 * `documentHeaders`), the same for every route, so it is written down here rather than on each route.
 */
const HEADERS: Record<string, HeaderObject> = {
  'X-Request-Id': {
    required: true,
    description: 'The id of this request (yours, if you sent a valid X-Request-Id); also in error bodies and the logs.',
    schema: { type: 'string', example: 'req_8f3c0d2b9a1e4c7f' },
  },
  RateLimit: {
    description: 'Per limit, what is left and the seconds until its window resets (draft-ietf-httpapi-ratelimit-headers).',
    schema: { type: 'string', example: '"default";r=999;t=42' },
  },
  'RateLimit-Policy': {
    description: 'The limits that apply: name, quota and window in seconds (draft-ietf-httpapi-ratelimit-headers).',
    schema: { type: 'string', example: '"default";q=1000;w=60' },
  },
  'X-RateLimit-Limit': { description: 'Requests allowed per window, of the most restrictive limit.', schema: { type: 'integer', example: 1000 } },
  'X-RateLimit-Remaining': { description: 'Requests left in the window, of the most restrictive limit.', schema: { type: 'integer', example: 999 } },
  'X-RateLimit-Reset': { description: 'Seconds until that window resets.', schema: { type: 'integer', example: 42 } },
  'Retry-After': { required: true, description: 'Seconds to wait before retrying.', schema: { type: 'integer', example: 42 } },
  'Content-Disposition': {
    required: true,
    description: 'An attachment with a file name.',
    schema: { type: 'string', example: 'attachment; filename="billing-2026-11.csv"' },
  },
};
const RATE_LIMIT_HEADERS = ['RateLimit', 'RateLimit-Policy', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'];

const ref = (name: string): ReferenceObject => ({ $ref: `#/components/headers/${name}` });

/**
 * Which headers a response carries. Every response has X-Request-Id. A route behind a key has the rate-limit
 * headers once its key is known (not on a 401, when it is not). Retry-After comes with every 429 and every
 * error 503. The export is an attachment.
 */
function documentHeaders(op: { responses?: Record<string, ResponseObject>; operationId?: string }, authenticated: boolean): void {
  for (const [status, response] of Object.entries(op.responses ?? {})) {
    const headers: Record<string, HeaderObject | ReferenceObject> = { 'X-Request-Id': ref('X-Request-Id') };
    if (authenticated && status !== '401') for (const h of RATE_LIMIT_HEADERS) headers[h] = ref(h);
    const isError = JSON.stringify(response.content?.['application/json']?.schema ?? {}).includes('ErrorResponseDto');
    if (status === '429' || (status === '503' && isError)) headers['Retry-After'] = ref('Retry-After');
    if (op.operationId === 'exportBilling' && status === '200') headers['Content-Disposition'] = ref('Content-Disposition');
    response.headers = { ...headers, ...(response.headers ?? {}) };
  }
}

/** The error response of one code, for responses that every route of a kind has; routes declare theirs with ApiErrorResponse. */
function errorResponse(status: number, description: string): ResponseObject {
  const code = description.split(':')[0] as ErrorCode;
  return {
    description,
    content: {
      'application/json': {
        schema: { $ref: '#/components/schemas/ErrorResponseDto' },
        examples: { [code]: { summary: code, value: errorExample(code) } },
      },
    },
  };
}

export function buildOpenApiDocument(app: INestApplication, apiKeyHeader = process.env.API_KEY_HEADER): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('Tollgate')
    .setDescription(
      [
        'Self-hosted API key platform: issue and verify API keys, scope and rate-limit them, meter usage and bill it per period.',
        '',
        `Authenticate with \`X-API-Key: <key>\` or \`Authorization: Bearer <key>\`${apiKeyHeader ? ` or \`${apiKeyHeader}: <key>\`` : ''}. Each operation lists the key kinds it accepts`,
        '(`x-key-kinds`) and the scopes it needs (`x-required-scopes`). Every error has the same shape (`ErrorResponseDto`)',
        'with a stable `error` code. Times are ISO-8601 UTC with milliseconds; money is integer minor units; prices are decimal strings.',
        '',
        'A typed TypeScript client generated from this document ships in `clients/typescript/`.',
      ].join('\n'),
    )
    // 3.0.3: the release that settles what `nullable` means (it adds null to the values `type` allows).
    .setOpenAPIVersion('3.0.3')
    .setVersion(packageVersion())
    .setLicense('UNLICENSED', 'https://choosealicense.com/no-permission/')
    .addServer('/', 'This Tollgate instance: the host that serves this document')
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key.' }, SECURITY_SCHEME)
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'The same API key, as `Authorization: Bearer <key>`.' }, BEARER_SCHEME)
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-Tollgate-Gateway-Key', description: "Forward auth only: the gateway's own admin key (`keys:verify`)." }, GATEWAY_SCHEME);
  if (apiKeyHeader) {
    builder.addApiKey({ type: 'apiKey', in: 'header', name: apiKeyHeader, description: 'The same API key, in the header this instance is configured with (API_KEY_HEADER).' }, CUSTOM_HEADER_SCHEME);
  }
  for (const [name, description] of TAGS) builder.addTag(name, description);
  const document = SwaggerModule.createDocument(app, builder.build(), {
    extraModels: [ErrorResponseDto, PlanSnapshotDto, AuditChainBreakDto, ...PRICE_MODELS_DOC],
    operationIdFactory: (controller, method) => `${controller.replace(/Controller$/, '')}_${method}`,
  });
  document.components = { ...document.components, headers: HEADERS };
  for (const path of Object.values(document.paths)) {
    for (const method of METHODS) {
      const op = path[method] as (Record<string, unknown> & { description?: string; operationId?: string; security?: Record<string, string[]>[]; responses?: Record<string, ResponseObject> }) | undefined;
      if (!op) continue;
      // Any route can fail on a bug; say what that looks like.
      if (op.responses) op.responses['500'] ??= errorResponse(500, 'INTERNAL_ERROR: a bug; the message holds nothing internal');
      // Any body is read (and refused when too large or not JSON) before a handler runs.
      if (op.requestBody && op.responses) {
        op.responses['400'] ??= errorResponse(400, 'VALIDATION_FAILED: the body is not valid JSON or fails validation');
        op.responses['413'] ??= errorResponse(413, 'PAYLOAD_TOO_LARGE: the body exceeds BODY_LIMIT_BYTES (a declared Content-Length is refused before the body is read)');
        op.responses['415'] ??= errorResponse(415, 'UNSUPPORTED_MEDIA_TYPE: the body is not `application/json`');
      }
      const scopes = op['x-required-scopes'] as string[] | undefined;
      const kinds = op['x-key-kinds'] as string[] | undefined;
      documentHeaders(op, scopes !== undefined);
      // @Public() writes `security: []` on controllers; Nest drops an empty list written on a method.
      if (!scopes) {
        op.security ??= [];
        continue;
      }
      if (apiKeyHeader && op.security?.some((s) => SECURITY_SCHEME in s)) op.security.push({ [CUSTOM_HEADER_SCHEME]: [] });
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
    // A pasted key lasts for the tab (sessionStorage, like the console's), never in localStorage; the
    // online validator is not called (the page talks to this host only).
    swaggerOptions: { plugins: [downloadUrlPlugin, sessionAuthorizationPlugin], validatorUrl: null },
  });
  protectDocsPage(app.getHttpAdapter().getInstance(), '/docs');
}
