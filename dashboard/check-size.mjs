// Prints the console's JavaScript size, gzipped, and fails the build past the budget (250 KB).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const BUDGET = 250 * 1024;
const dir = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'dist', 'dashboard', 'assets');
let js = 0;
let css = 0;
for (const name of readdirSync(dir)) {
  const gz = gzipSync(readFileSync(join(dir, name)), { level: 9 }).length;
  if (name.endsWith('.js')) js += gz;
  else if (name.endsWith('.css')) css += gz;
}
const kb = (n) => (n / 1024).toFixed(1);
console.log(`dashboard: JS ${kb(js)} KB gzipped (budget ${kb(BUDGET)} KB), CSS ${kb(css)} KB gzipped`);
if (js > BUDGET) {
  console.error('dashboard: the JavaScript bundle is over its budget');
  process.exit(1);
}
