import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import addFormats from 'ajv-formats';
import OpenAPIBackend, { type Operation } from 'openapi-backend';

/**
 * Every response a suite receives through TestServer is checked against the committed OpenAPI document
 * (which test/openapi.e2e-spec.ts holds equal to the served one): the status must be documented for the
 * operation, the body must match its schema with no undocumented field, the content type must be one the
 * operation declares, and the API's own headers must be documented (and present when required).
 */

const DOC_PATH = join(__dirname, '..', '..', 'openapi.json');

/** Headers any HTTP response may carry; the API's own headers must be documented. */
const GENERIC_HEADERS = new Set([
  'content-type',
  'content-length',
  'date',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'vary',
  'cache-control',
  'content-encoding',
]);

export interface Exchange {
  method: string;
  path: string;
  status: number;
  headers: Headers;
  text: string;
  body: unknown;
}

/** Object schemas get `additionalProperties: false` unless they say otherwise: an undocumented field is drift. */
function closeObjects(schema: unknown): void {
  if (!schema || typeof schema !== 'object') return;
  const s = schema as Record<string, any>;
  if (s.properties && s.additionalProperties === undefined) s.additionalProperties = false;
  for (const child of Object.values<unknown>(s.properties ?? {})) closeObjects(child);
  for (const key of ['allOf', 'oneOf', 'anyOf']) for (const child of s[key] ?? []) closeObjects(child);
  closeObjects(s.items);
  if (typeof s.additionalProperties === 'object') closeObjects(s.additionalProperties);
}

interface Contract {
  api: OpenAPIBackend;
  match(method: string, path: string): Operation | undefined;
}

let api: Promise<Contract> | undefined;
let document: object | undefined;

/**
 * Checks this suite's responses against `definition` instead of the committed document: the one a server
 * serves with modules of its own mounted (TOLLGATE_MODULES), which adds their operations.
 */
export function useContractDocument(definition: object): void {
  document = structuredClone(definition);
  api = undefined;
}

function backend(): Promise<Contract> {
  api ??= (async () => {
    const definition = document ? (structuredClone(document) as any) : JSON.parse(readFileSync(DOC_PATH, 'utf8'));
    for (const schema of Object.values(definition.components?.schemas ?? {})) closeObjects(schema);
    const b = new OpenAPIBackend({
      definition,
      strict: true,
      validate: true,
      quick: true,
      customizeAjv: (ajv) => {
        addFormats(ajv);
        return ajv;
      },
    });
    await b.init();
    // openapi-backend's router rebuilds its path patterns on every match; these are built once. Literal
    // segments win over parameters (/audit-log/verify over /audit-log/{id}), as in the server's router.
    const routes = b.router
      .getOperations()
      .map((op) => ({ op, method: op.method.toUpperCase(), params: (op.path.match(/\{/g) ?? []).length, re: new RegExp(`^${op.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`) }))
      .sort((a, b) => a.params - b.params);
    return { api: b, match: (method: string, path: string) => routes.find((r) => r.method === method && r.re.test(path))?.op };
  })();
  return api;
}

function problem(x: Exchange, op: Operation | undefined, what: string): Error {
  const name = op ? `${op.operationId} (${op.method.toUpperCase()} ${op.path})` : `${x.method} ${x.path}`;
  return new Error(
    `Response drifts from openapi.json — ${name} answered ${x.status}: ${what}\n` +
      `  body: ${x.text.length > 600 ? `${x.text.slice(0, 600)}…` : x.text}\n` +
      `  Document the response at its source (DTO, @Api* decorator, src/swagger.ts), run \`npm run openapi\`, or fix the server.` +
      ` A request that is meant to be off-contract (raw bytes, a non-API path) says so with { offContract: 'why' }.`,
  );
}

function formatErrors(errors: { instancePath?: string; message?: string; params?: unknown }[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`).join('; ');
}

/** Throws an Error naming the operation, the status and what drifted. */
export async function checkAgainstContract(x: Exchange): Promise<void> {
  const { api, match } = await backend();
  const op = match(x.method.toUpperCase(), x.path.split('?')[0]);
  if (!op) throw problem(x, undefined, 'no operation in the document matches this method and path');
  const responses = (op.responses ?? {}) as Record<string, { content?: Record<string, unknown>; headers?: Record<string, { required?: boolean }> }>;
  const documented = responses[String(x.status)] ?? responses[`${Math.floor(x.status / 100)}XX`] ?? responses.default;
  if (!documented) throw problem(x, op, `status ${x.status} is not documented (documented: ${Object.keys(responses).join(', ')})`);

  const declared = Object.keys(documented.content ?? {});
  const contentType = (x.headers.get('content-type') ?? '').split(';')[0].trim();
  if (x.text.length > 0) {
    if (!declared.includes(contentType)) throw problem(x, op, `content type "${contentType}" is not documented (documented: ${declared.join(', ') || 'none'})`);
    if (contentType === 'application/json') {
      const result = api.validator.validateResponse(x.body, op, x.status);
      if (result.errors?.length) throw problem(x, op, `body does not match the schema: ${formatErrors(result.errors as never)}`);
    }
  } else if (declared.length > 0 && x.status !== 204 && x.method !== 'HEAD') {
    throw problem(x, op, 'the body is empty but the document declares content');
  }

  const names = new Map(Object.entries(documented.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  x.headers.forEach((_value, name) => {
    if (GENERIC_HEADERS.has(name) || name.startsWith('access-control-')) return;
    if (!names.has(name)) throw problem(x, op, `header "${name}" is not documented for this status`);
  });
  for (const [name, header] of names) {
    if (header.required && !x.headers.has(name)) throw problem(x, op, `required header "${name}" is missing`);
  }
  const headers: Record<string, string> = {};
  x.headers.forEach((value, name) => (headers[name] = value));
  const result = api.validator.validateResponseHeaders(headers, op, { statusCode: x.status, setMatchType: 'any' as never });
  if (result.errors?.length) throw problem(x, op, `headers do not match their schemas: ${formatErrors(result.errors as never)}`);
}
