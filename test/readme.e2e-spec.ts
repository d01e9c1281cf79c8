import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, TestServer } from './support/server';

/**
 * The README is a test. Every block fenced exactly as ```bash runs, in the README's order, in one bash
 * session, against a freshly started server (other fences, e.g. ```sh, are shown and not run). A line
 *
 *     # → 201 {"id":"cons_…","status":"active",…}
 *
 * states what the last `curl` above it answered: the status, and optionally the fields shown. In the JSON,
 * `…` elides: `"cons_…"` is any string starting with `cons_`, `{…}` any object, `[…]` any array, and `,…`
 * more fields or elements. Objects match on the fields shown; arrays on their first elements. The only
 * change made to the text is the address: `http://localhost:3000` becomes the test server's.
 */

export interface Step {
  block: number;
  script: string;
  expect?: { status: number; body?: unknown; line: string };
}

const EXPECT_LINE = /^\s*# → (\d{3})(?:\s+(.*))?$/;
const PREFIX = '\u0000prefix:';

export function readmeSteps(markdown: string): Step[] {
  const steps: Step[] = [];
  const blocks = [...markdown.matchAll(/^```bash\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
  blocks.forEach((text, block) => {
    let lines: string[] = [];
    for (const line of text.split('\n')) {
      const m = EXPECT_LINE.exec(line);
      if (!m) {
        lines.push(line);
        continue;
      }
      steps.push({ block, script: lines.join('\n'), expect: { status: Number(m[1]), body: m[2] ? parseShown(m[2]) : undefined, line: line.trim() } });
      lines = [];
    }
    if (lines.some((l) => l.trim() && !l.trim().startsWith('#'))) steps.push({ block, script: lines.join('\n') });
  });
  return steps;
}

/** The JSON of an expectation line, with its elisions turned into what `matches` understands. */
export function parseShown(text: string): unknown {
  const json = text
    .replace(/"([^"\\]*)…"/g, (_m, prefix: string) => JSON.stringify(PREFIX + prefix))
    .replace(/\{…\}/g, '{}')
    .replace(/\[…\]/g, '[]')
    .replace(/,\s*…/g, '')
    .replace(/…\s*,/g, '');
  return JSON.parse(json);
}

/** Where `actual` differs from what the README shows, or null. */
export function mismatch(actual: unknown, shown: unknown, path = 'body'): string | null {
  if (typeof shown === 'string' && shown.startsWith(PREFIX)) {
    const prefix = shown.slice(PREFIX.length);
    return typeof actual === 'string' && actual.startsWith(prefix) ? null : `${path}: ${JSON.stringify(actual)} does not start with ${JSON.stringify(prefix)}`;
  }
  if (Array.isArray(shown)) {
    if (!Array.isArray(actual)) return `${path}: ${JSON.stringify(actual)} is not an array`;
    if (actual.length < shown.length) return `${path}: ${actual.length} elements, the README shows ${shown.length}`;
    for (let i = 0; i < shown.length; i++) {
      const m = mismatch(actual[i], shown[i], `${path}[${i}]`);
      if (m) return m;
    }
    return null;
  }
  if (shown && typeof shown === 'object') {
    if (!actual || typeof actual !== 'object' || Array.isArray(actual)) return `${path}: ${JSON.stringify(actual)} is not an object`;
    for (const [k, v] of Object.entries(shown)) {
      const m = mismatch((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
      if (m) return m;
    }
    return null;
  }
  return actual === shown ? null : `${path}: ${JSON.stringify(actual)}, the README shows ${JSON.stringify(shown)}`;
}

const steps = readmeSteps(readFileSync(join(ROOT, 'README.md'), 'utf8'));

describe('README', () => {
  let server: TestServer;
  let out: string;
  let transcript = '';
  const results: { rc: number; status?: number; body: string; output: string }[] = [];

  beforeAll(async () => {
    server = await TestServer.start();
    out = mkdtempSync(join(tmpdir(), 'tollgate-readme-'));
    const hdr = join(out, 'headers');
    const body = join(out, 'body');
    // Each curl leaves its response head and body where the checks below read them; its output is unchanged.
    const prelude = [
      `__HDR=${JSON.stringify(hdr)}; __BODY=${JSON.stringify(body)}`,
      'curl() { command curl -D "$__HDR" "$@" | tee "$__BODY"; return "${PIPESTATUS[0]}"; }',
    ];
    const script = [
      ...prelude,
      ...steps.flatMap((step, i) => [
        ': > "$__HDR"; : > "$__BODY"',
        '{',
        step.script.replaceAll('http://localhost:3000', server.url),
        `} > ${JSON.stringify(join(out, `${i}.out`))} 2>&1`,
        `echo $? > ${JSON.stringify(join(out, `${i}.rc`))}`,
        `cp "$__HDR" ${JSON.stringify(join(out, `${i}.hdr`))}; cp "$__BODY" ${JSON.stringify(join(out, `${i}.body`))}`,
      ]),
    ].join('\n');
    writeFileSync(join(out, 'readme.sh'), script);
    const run = spawnSync('bash', [join(out, 'readme.sh')], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...server.db.env },
      encoding: 'utf8',
      timeout: 120_000,
    });
    transcript = `${run.stdout}${run.stderr}`;
    steps.forEach((_step, i) => {
      const read = (ext: string) => {
        try {
          return readFileSync(join(out, `${i}.${ext}`), 'utf8');
        } catch {
          return '';
        }
      };
      const statuses = [...read('hdr').matchAll(/^HTTP\/[\d.]+ (\d{3})/gm)].map((m) => Number(m[1])).filter((s) => s >= 200);
      results.push({ rc: Number(read('rc').trim() || NaN), status: statuses.at(-1), body: read('body'), output: read('out') });
    });
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('has a walkthrough with checked responses', () => {
    expect(steps.filter((s) => s.expect).length).toBeGreaterThanOrEqual(15);
  });

  it.each(steps.map((step, i) => [i, step.expect?.line ?? `(block ${step.block}, no response shown)`, step] as const))(
    'step %i: %s',
    (i, _title, step) => {
      const r = results[i];
      const context = `\n--- step ---\n${step.script}\n--- output ---\n${r.output}\n${transcript}`;
      expect({ rc: r.rc, context }).toEqual({ rc: 0, context });
      if (!step.expect) return;
      expect({ status: r.status, context }).toEqual({ status: step.expect.status, context });
      if (step.expect.body === undefined) return;
      let actual: unknown;
      try {
        actual = JSON.parse(r.body);
      } catch {
        actual = r.body;
      }
      expect({ mismatch: mismatch(actual, step.expect.body), context }).toEqual({ mismatch: null, context });
    },
  );
});
