#!/usr/bin/env node
/**
 * Lints openapi.json with Redocly (`recommended`, redocly.yaml) and Spectral (`spectral:oas`, .spectral.yaml).
 * Fails on any finding, warnings included: Redocly's own exit code counts errors only.
 * Accepted findings live in .redocly.lint-ignore.yaml, each with its reason.
 */
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');

const root = join(__dirname, '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const doc = process.argv[2] ?? 'openapi.json';
let failed = false;

const redocly = spawnSync(bin('redocly'), ['lint', doc, '--format=json'], { cwd: root, encoding: 'utf8' });
try {
  const report = JSON.parse(redocly.stdout);
  const { errors, warnings } = report.totals;
  for (const p of report.problems) {
    const where = p.location?.[0]?.pointer ?? '';
    console.log(`redocly  ${p.severity}  ${p.ruleId}  ${where}  ${p.message}`);
  }
  console.log(`redocly (recommended): ${errors} errors, ${warnings} warnings, ${report.totals.ignored} ignored with a reason`);
  if (errors + warnings > 0) failed = true;
} catch {
  console.log(redocly.stdout, redocly.stderr);
  failed = true;
}

const spectral = spawnSync(bin('spectral'), ['lint', doc, '--format=json', '--quiet', '--ruleset', join(root, '.spectral.yaml')], { cwd: root, encoding: 'utf8' });
try {
  const results = JSON.parse(spectral.stdout || '[]');
  const names = ['error', 'warning', 'info', 'hint'];
  for (const r of results) console.log(`spectral ${names[r.severity]}  ${r.code}  ${r.path.join('.')}  ${r.message}`);
  const count = (s) => results.filter((r) => r.severity === s).length;
  console.log(`spectral (spectral:oas): ${count(0)} errors, ${count(1)} warnings, ${count(2) + count(3)} infos/hints`);
  if (results.length > 0) failed = true;
} catch {
  console.log(spectral.stdout, spectral.stderr);
  failed = true;
}

process.exit(failed ? 1 : 0);
