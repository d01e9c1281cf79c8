import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, TestServer } from './support/server';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
/** The only operations anyone may call without a key. */
const PUBLIC = ['GET /health/live', 'GET /health/ready', 'GET /metrics', 'GET /v1/ping'];
/** Forward auth: authenticated by the gateway's own key (its own scheme), answered with an empty 200. */
const GATEWAY = 'GET /v1/keys/authorize';
const SCOPE = /^(\*|[a-z][a-z0-9_.-]{0,39}:(\*|[a-z][a-z0-9_.-]{0,39}))$/;
const ERROR_REF = '#/components/schemas/ErrorResponseDto';

type Doc = Record<string, any>;

function* operationsOf(doc: Doc): Generator<{ name: string; path: string; method: string; op: any; item: any }> {
  for (const [path, item] of Object.entries<any>(doc.paths ?? {})) {
    for (const method of METHODS) if (item[method]) yield { name: `${method.toUpperCase()} ${path}`, path, method, op: item[method], item };
  }
}

/** Every `$ref` in the document, with where it was found. */
function refsOf(value: unknown, at = '#', out: [string, string][] = []): [string, string][] {
  if (Array.isArray(value)) value.forEach((v, i) => refsOf(v, `${at}/${i}`, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push([at, v]);
      else refsOf(v, `${at}/${k}`, out);
    }
  }
  return out;
}

function resolve(doc: Doc, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  return ref
    .slice(2)
    .split('/')
    .reduce<any>((node, part) => (node === undefined ? undefined : node[part.replace(/~1/g, '/').replace(/~0/g, '~')]), doc);
}

/** The structural rules of OpenAPI 3.0 that a generator can get wrong; returns one line per problem. */
function structuralProblems(doc: Doc): string[] {
  const problems: string[] = [];
  if (typeof doc.openapi !== 'string' || !/^3\.\d+\.\d+$/.test(doc.openapi)) problems.push(`openapi: "${doc.openapi}" is not 3.x.y`);
  if (typeof doc.info?.title !== 'string' || typeof doc.info?.version !== 'string') problems.push('info: title and version are required');
  if (!doc.paths || typeof doc.paths !== 'object') problems.push('paths: required');
  for (const [at, ref] of refsOf(doc)) if (resolve(doc, ref) === undefined) problems.push(`${at}: $ref ${ref} does not resolve`);
  const schemes = doc.components?.securitySchemes ?? {};
  for (const [name, scheme] of Object.entries<any>(schemes)) {
    if (!['apiKey', 'http', 'oauth2', 'openIdConnect'].includes(scheme.type)) problems.push(`securitySchemes.${name}: bad type`);
    if (scheme.type === 'apiKey' && (!scheme.name || !['query', 'header', 'cookie'].includes(scheme.in))) problems.push(`securitySchemes.${name}: apiKey needs name and in`);
  }
  const ids = new Map<string, string>();
  for (const { name, path, op, item } of operationsOf(doc)) {
    if (!path.startsWith('/')) problems.push(`${name}: path must start with /`);
    if (op.operationId) {
      if (ids.has(op.operationId)) problems.push(`${name}: operationId ${op.operationId} also used by ${ids.get(op.operationId)}`);
      ids.set(op.operationId, name);
    }
    const params: any[] = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p) => (p.$ref ? resolve(doc, p.$ref) : p));
    for (const p of params) {
      if (!p?.name || !['query', 'header', 'path', 'cookie'].includes(p.in)) problems.push(`${name}: parameter needs name and a valid in`);
      else if (!p.schema && !p.content) problems.push(`${name}: parameter ${p.name} needs a schema`);
      if (p?.in === 'path' && p.required !== true) problems.push(`${name}: path parameter ${p.name} must be required`);
    }
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
    const declared = params.filter((p) => p?.in === 'path').map((p) => p.name).sort();
    if (templated.join() !== declared.join()) problems.push(`${name}: path parameters {${templated}} but declared [${declared}]`);
    if (op.requestBody && !Object.values<any>(op.requestBody.content ?? {}).every((c) => c.schema)) problems.push(`${name}: requestBody content needs a schema`);
    if (!op.responses || Object.keys(op.responses).length === 0) problems.push(`${name}: responses required`);
    for (const [code, res] of Object.entries<any>(op.responses ?? {})) {
      if (!/^([1-5]\d\d|[1-5]XX|default)$/.test(code)) problems.push(`${name}: response code ${code}`);
      const r = res.$ref ? resolve(doc, res.$ref) : res;
      if (typeof (r as any)?.description !== 'string') problems.push(`${name} ${code}: description required`);
    }
    for (const req of op.security ?? []) for (const s of Object.keys(req)) if (!schemes[s]) problems.push(`${name}: unknown security scheme ${s}`);
  }
  return problems;
}

/** What this project promises of every operation. */
function conventionProblems(doc: Doc): string[] {
  const problems: string[] = [];
  for (const { name, op } of operationsOf(doc)) {
    if (!op.operationId) problems.push(`${name}: no operationId`);
    if (!op.summary) problems.push(`${name}: no summary`);
    const responses = Object.entries<any>(op.responses ?? {});
    const ok = responses.filter(([code]) => code.startsWith('2'));
    if (ok.length === 0) problems.push(`${name}: no 2xx response`);
    for (const [code, res] of ok) {
      if (code === '204' || name === GATEWAY) continue;
      const content: Record<string, any> = res.content ?? {};
      // JSON for most; text for /metrics; exports may offer CSV or NDJSON beside JSON.
      if (name === 'GET /metrics' ? !content['text/plain']?.schema : !Object.values(content).some((c) => c.schema)) {
        problems.push(`${name} ${code}: no response schema`);
      }
    }
    const errors = responses.filter(([code]) => /^[45]/.test(code));
    if (errors.length === 0) problems.push(`${name}: no error responses`);
    for (const [code, res] of errors) {
      const schema = res.content?.['application/json']?.schema;
      if (!schema) problems.push(`${name} ${code}: error response without a schema`);
      else if (name !== 'GET /health/ready' && schema.$ref !== ERROR_REF) problems.push(`${name} ${code}: error response is not ErrorResponseDto`);
    }
    const scopes = op['x-required-scopes'];
    if (PUBLIC.includes(name)) {
      if (scopes !== undefined || !Array.isArray(op.security) || op.security.length > 0) problems.push(`${name}: a public route must declare security: []`);
      continue;
    }
    if (!Array.isArray(scopes)) problems.push(`${name}: neither public nor x-required-scopes`);
    else if (!scopes.every((s: unknown) => typeof s === 'string' && SCOPE.test(s))) problems.push(`${name}: malformed x-required-scopes`);
    if (name === GATEWAY) {
      if (!(op.security ?? []).some((s: Record<string, unknown>) => 'gateway-key' in s)) problems.push(`${name}: no gateway-key security requirement`);
    } else {
      if (!(op.security ?? []).some((s: Record<string, unknown>) => 'api-key' in s)) problems.push(`${name}: no api-key security requirement`);
      if (!(op.security ?? []).some((s: Record<string, unknown>) => 'bearer' in s)) problems.push(`${name}: no bearer security requirement`);
    }
    if (!Array.isArray(op['x-key-kinds']) || op['x-key-kinds'].length === 0) problems.push(`${name}: no x-key-kinds`);
    for (const code of ['401', '403']) if (!op.responses?.[code]) problems.push(`${name}: no ${code} response`);
    if (!/Required scopes/.test(op.description ?? '')) problems.push(`${name}: the description does not state the required scopes`);
  }
  return problems;
}

describe('OpenAPI document', () => {
  let server: TestServer;
  let doc: Doc;

  beforeAll(async () => {
    // Every operation is called once without a key; those failures must not trip the per-IP limit.
    server = await TestServer.start({ env: { AUTH_FAILURE_LIMIT: '100000' } });
    const r = await server.offContract('the document itself is not an operation of the document', 'GET', '/docs-json');
    expect(r.status).toBe(200);
    doc = r.body;
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('is structurally valid OpenAPI 3', () => {
    expect(structuralProblems(doc)).toEqual([]);
    expect([...operationsOf(doc)].length).toBeGreaterThan(25);
  });

  it('the checks catch what they claim to', () => {
    const broken = JSON.parse(JSON.stringify(doc));
    const first = broken.paths['/v1/admin/consumers/{id}'].get;
    first.operationId = broken.paths['/v1/admin/consumers'].get.operationId;
    first.responses['200'].content['application/json'].schema = { $ref: '#/components/schemas/Nope' };
    delete broken.paths['/v1/admin/consumers'].post['x-required-scopes'];
    delete broken.paths['/v1/admin/consumers'].get.summary;
    expect(structuralProblems(broken)).toEqual([
      expect.stringContaining('$ref #/components/schemas/Nope does not resolve'),
      expect.stringContaining('operationId listConsumers also used by'),
    ]);
    expect(conventionProblems(broken)).toEqual([
      'GET /v1/admin/consumers: no summary',
      'POST /v1/admin/consumers: neither public nor x-required-scopes',
    ]);
  });

  it('gives every operation an id, a summary, a typed 2xx response and error responses; every non-public one declares its key and scopes', () => {
    expect(conventionProblems(doc)).toEqual([]);
  });

  it('matches the server: non-public operations answer 401 without a key, public ones do not ask for one', async () => {
    for (const { name, path, method } of operationsOf(doc)) {
      const r = await server.request(method.toUpperCase(), path.replace(/\{\w+\}/g, 'x_1'), { body: ['get', 'delete'].includes(method) ? undefined : {} });
      if (PUBLIC.includes(name)) expect({ name, status: r.status }).toEqual({ name, status: 200 });
      else if (name === GATEWAY) expect({ name, status: r.status, error: r.body?.error }).toEqual({ name, status: 500, error: 'GATEWAY_KEY_INVALID' });
      else expect({ name, status: r.status, error: r.body?.error }).toEqual({ name, status: 401, error: 'MISSING_API_KEY' });
    }
  });

  it('serves Swagger UI at /docs', async () => {
    const r = await server.offContract('Swagger UI is a page, not an API operation', 'GET', '/docs');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/text\/html/);
    expect(r.text).toMatch(/swagger-ui/i);
    expect(r.text).toContain('<title>Tollgate API</title>');
  });

  it('declares HTTP bearer beside X-API-Key, and the header configured with API_KEY_HEADER', async () => {
    expect(doc.components.securitySchemes).toMatchObject({
      'api-key': { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      bearer: { type: 'http', scheme: 'bearer' },
    });
    const custom = await TestServer.start({ env: { API_KEY_HEADER: 'IM-API-KEY' } });
    try {
      const served = (await custom.offContract('the document itself', 'GET', '/docs-json')).body;
      expect(served.components.securitySchemes['api-key-header']).toMatchObject({ type: 'apiKey', in: 'header', name: 'IM-API-KEY' });
      expect(served.paths['/v1/me'].get.security).toEqual([{ 'api-key': [] }, { bearer: [] }, { 'api-key-header': [] }]);
      expect(served.paths['/v1/ping'].get.security).toEqual([]);
    } finally {
      await custom.stop();
    }
  });

  it('names the running service in servers, and every response documents X-Request-Id', () => {
    expect(doc.servers).toEqual([{ url: '/', description: expect.any(String) }]);
    for (const { name, op } of operationsOf(doc)) {
      for (const [code, res] of Object.entries<any>(op.responses)) expect({ name, code, header: res.headers?.['X-Request-Id']?.$ref }).toEqual({ name, code, header: '#/components/headers/X-Request-Id' });
    }
  });

  it('types what generators need: a string-enum verify code, nullable references, integers, date-times, prices by model', () => {
    const schemas = doc.components.schemas;
    expect(schemas.VerifyKeyResponseDto.properties.code).toMatchObject({ type: 'string', enum: expect.arrayContaining(['VALID', 'KEY_REVOKED', 'INSUFFICIENT_PERMISSIONS']) });
    for (const [name, prop] of [['VerifyKeyResponseDto', 'quota'], ['BillingPeriodDto', 'plan'], ['AuditVerificationDto', 'firstInvalid']]) {
      const s = schemas[name].properties[prop];
      expect({ name, prop, nullable: s.nullable, allOf: s.allOf, nullBranch: s.oneOf?.some((b: any) => b.nullable && b.enum?.length === 1 && b.enum[0] === null) }).toEqual({ name, prop, nullable: undefined, allOf: undefined, nullBranch: true });
    }
    const text = JSON.stringify(doc);
    expect(text).not.toContain('"type":"number"');
    for (const [name, schema] of Object.entries<any>(schemas)) {
      for (const [prop, s] of Object.entries<any>(schema.properties ?? {})) {
        if (/At$|^period(Start|End)$/.test(prop)) expect({ name, prop, format: s.format }).toEqual({ name, prop, format: 'date-time' });
      }
    }
    expect(schemas.PlanDto.properties.prices.items.discriminator).toMatchObject({ propertyName: 'model' });
    expect(schemas.PlanDto.properties.prices.items.oneOf).toHaveLength(4);
    expect(doc.paths['/v1/admin/billing/export'].get.parameters.find((p: any) => p.name === 'period').schema.pattern).toBeDefined();
  });

  it('shows one example per error code on each error status, and examples that are valid requests', async () => {
    for (const { name, op } of operationsOf(doc)) {
      for (const [code, res] of Object.entries<any>(op.responses)) {
        if (!/^[45]/.test(code) || name === 'GET /health/ready') continue;
        const examples = Object.values<any>(res.content['application/json'].examples ?? {});
        expect({ name, code, examples: examples.length > 0 && examples.every((e) => e.value.statusCode === Number(code)) }).toEqual({ name, code, examples: true });
      }
    }
    const consumer = doc.paths['/v1/admin/consumers'].post.requestBody.content['application/json'].examples;
    for (const { value } of Object.values<any>(consumer)) {
      const r = await server.post('/v1/admin/consumers', { ...value, externalId: `${value.externalId}-${Date.now()}` }, server.adminKey);
      expect(r.status).toBe(201);
    }
    const events = doc.paths['/v1/usage/events'].post.requestBody.content['application/json'].examples;
    for (const { value } of Object.values<any>(events)) for (const e of value.events) expect(e.timestamp).toBeUndefined();
    expect(doc.paths['/v1/admin/consumers'].get.parameters.filter((p: any) => p.example ?? p.schema.example).map((p: any) => p.name)).toEqual(['limit']);
  });

  it('offers only secret and publishable on the consumer-key routes, and the server agrees', async () => {
    expect(doc.components.schemas.CreateConsumerKeyDto.properties.kind.enum).toEqual(['secret', 'publishable']);
    expect(doc.components.schemas.CreateAdminKeyDto.properties.kind.enum).toEqual(['admin']);
    const c = await server.post('/v1/admin/consumers', { name: 'kinds' }, server.adminKey);
    const r = await server.post(`/v1/admin/consumers/${c.body.id}/keys`, { kind: 'admin', name: 'x', scopes: ['usage:read'] }, server.adminKey);
    expect(r.status).toBe(400);
    expect(r.body.details).toEqual([{ field: 'kind', message: 'a consumer key is secret or publishable' }]);
  });

  it('orders tags along an operator\'s work, each described, and Swagger UI keeps the authorization for the tab only', async () => {
    expect(doc.tags.map((t: any) => t.name)).toEqual(['Plans', 'Consumers', 'Keys', 'Verification', 'Usage', 'Billing', 'Self-service', 'Webhooks', 'Operations', 'Audit', 'Ping', 'Health']);
    for (const tag of doc.tags) expect(tag.description).toEqual(expect.any(String));
    const init = await server.offContract('a Swagger UI asset', 'GET', '/docs/swagger-ui-init.js');
    expect(init.text).not.toMatch(/"persistAuthorization":\s*true/);
    expect(init.text).toContain('sessionStorage');
  });

  it('lints clean: Redocly recommended and Spectral spectral:oas, no error and no warning', () => {
    try {
      execFileSync(process.execPath, [join(ROOT, 'scripts', 'lint-openapi.js')], { cwd: ROOT, stdio: 'pipe', encoding: 'utf8' });
    } catch (err) {
      throw new Error(`npm run lint:openapi found problems:\n${(err as { stdout?: string }).stdout}`);
    }
  });

  it('the typed client in clients/typescript is generated from the committed openapi.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-client-'));
    try {
      const out = join(dir, 'schema.d.ts');
      execFileSync(join(ROOT, 'node_modules', '.bin', 'openapi-typescript'), [join(ROOT, 'openapi.json'), '-o', out], { cwd: ROOT, stdio: 'pipe' });
      // If this fails after a change to the document: run `npm run client:generate` and commit the schema.
      expect(readFileSync(join(ROOT, 'clients', 'typescript', 'src', 'schema.d.ts'), 'utf8')).toBe(readFileSync(out, 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the committed openapi.json is what the app generates, and what it serves', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-openapi-'));
    try {
      const out = join(dir, 'openapi.json');
      execFileSync(process.execPath, [join(ROOT, 'dist', 'src', 'openapi.js'), '--out', out], { cwd: dir, stdio: 'pipe', env: { PATH: process.env.PATH ?? '' } });
      const generated = JSON.parse(readFileSync(out, 'utf8'));
      expect(generated).toEqual(doc);
      const committed = JSON.parse(readFileSync(join(ROOT, 'openapi.json'), 'utf8'));
      // If this fails after a change to routes or DTOs: run `npm run openapi` and commit openapi.json.
      expect(committed).toEqual(generated);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
