import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './support/server';

const bin = (name: string) => join(ROOT, 'node_modules', '.bin', name);
const run = (cmd: string, args: string[], cwd = ROOT) => execFileSync(bin(cmd), args, { cwd, stdio: 'pipe', encoding: 'utf8' });

/**
 * Integrators generate their own clients from openapi.json with tools nobody here wrote. Two of them run
 * here, and a program using each output must compile under `tsc --strict`: the typed values it reads (a
 * string-enum verify code, a nullable quota, integer amounts, prices told apart by `model`) are what an
 * integrator would write against.
 */
describe('third-party generators', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-generators-'));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function compile(files: string[]): void {
    try {
      run('tsc', ['--strict', '--noEmit', '--skipLibCheck', '--target', 'ES2022', '--module', 'commonjs', '--lib', 'ES2022,DOM', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules', '@types'), ...files], dir);
    } catch (err) {
      throw new Error(`tsc --strict failed:\n${(err as { stdout?: string }).stdout ?? err}`);
    }
  }

  it('the shipped client (openapi-typescript + openapi-fetch) and the suite that walks the README through it compile under --strict, without casts', () => {
    try {
      run('tsc', ['-p', join(ROOT, 'clients', 'typescript')]);
    } catch (err) {
      throw new Error(`tsc -p clients/typescript failed:\n${(err as { stdout?: string }).stdout ?? err}`);
    }
  });

  it('openapi-typescript: the schema types compile and say what the API answers', () => {
    run('openapi-typescript', [join(ROOT, 'openapi.json'), '-o', join(dir, 'ot-schema.ts')]);
    writeFileSync(
      join(dir, 'ot-use.ts'),
      `import type { components, paths } from './ot-schema';
type S = components['schemas'];
export function describe(v: S['VerifyKeyResponseDto']): string {
  const valid: boolean = v.code === 'VALID';
  const left: number | null = v.quota === null ? null : v.quota.remaining;
  return \`\${valid} \${left}\`;
}
export function price(p: S['PlanDto']['prices'][number]): string {
  switch (p.model) {
    case 'per_unit': return p.unitPrice;
    case 'package': return p.packagePrice + '/' + p.packageSize;
    case 'graduated': case 'volume': return String(p.tiers.length);
  }
}
export const limitParam: paths['/v1/admin/consumers']['get']['parameters']['query'] = { limit: 20, cursor: undefined };
export function plan(b: S['BillingPeriodDto']): string | null { return b.plan === null ? null : b.plan.name; }
export type Csv = paths['/v1/admin/billing/export']['get']['responses'][200]['content']['text/csv'];
export const csv: Csv = 'consumerId,externalId\\r\\n';
export type Rows = paths['/v1/admin/billing/export']['get']['responses'][200]['content']['application/json'];
export const total = (rows: Rows): number => rows.reduce((sum, r) => sum + r.amountMinor, 0);
`,
    );
    compile(['ot-use.ts']);
  });

  it('swagger-typescript-api: the generated fetch client compiles and says what the API answers', () => {
    run('swagger-typescript-api', ['generate', '--path', join(ROOT, 'openapi.json'), '--output', dir, '--name', 'sta-api.ts', '--enum-style', 'union', '--silent']);
    writeFileSync(
      join(dir, 'sta-use.ts'),
      `import { Api, type VerifyKeyResponseDto, type PlanDto, type BillingPeriodDto } from './sta-api';
export const api = new Api({ baseUrl: 'http://localhost:3000' });
export function describe(v: VerifyKeyResponseDto): string {
  const valid: boolean = v.code === 'VALID';
  const left: number | null = v.quota === null ? null : v.quota.remaining;
  return \`\${valid} \${left}\`;
}
export function price(p: PlanDto['prices'][number]): string {
  switch (p.model) {
    case 'per_unit': return p.unitPrice;
    case 'package': return p.packagePrice + '/' + p.packageSize;
    default: return String(p.tiers.length);
  }
}
export function plan(b: BillingPeriodDto): string | null { return b.plan === null ? null : b.plan.name; }
`,
    );
    compile(['sta-use.ts']);
  });
});
