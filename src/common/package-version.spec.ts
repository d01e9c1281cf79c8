import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageVersion } from './package-version';

describe('packageVersion', () => {
  it('reads the nearest package.json above the given folder, as from src/common or dist/src/common', () => {
    const root = mkdtempSync(join(tmpdir(), 'pkgver-'));
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'x', version: '3.2.1' }));
    const deep = join(root, 'dist', 'src', 'common');
    mkdirSync(deep, { recursive: true });
    expect(packageVersion(deep)).toBe('3.2.1');
  });

  it("is this project's version when called from its own folder", () => {
    expect(packageVersion()).toBe((require('../../package.json') as { version: string }).version);
  });
});
