import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyHasher, loadOrCreateSecret } from './key-hasher';

describe('KeyHasher', () => {
  it('hashes with HMAC-SHA256 under the current secret', () => {
    const h = KeyHasher.parse('secret-one-0123456789');
    expect(h.hash('tg_live_x')).toMatch(/^[0-9a-f]{64}$/);
    expect(h.hash('tg_live_x')).toBe(h.hash('tg_live_x'));
    expect(h.hash('tg_live_x')).not.toBe(KeyHasher.parse('secret-two-0123456789').hash('tg_live_x'));
  });

  it('parses versioned secrets, current first, and offers a candidate per version', () => {
    const h = KeyHasher.parse('2:new-secret-0123456789,1:old-secret-0123456789');
    expect(h.current.version).toBe(2);
    const candidates = h.candidates('tg_live_x');
    expect(candidates.map((c) => c.version)).toEqual([2, 1]);
    expect(candidates[1].hash).toBe(KeyHasher.parse('old-secret-0123456789').hash('tg_live_x'));
  });

  it('generates a secret once on the embedded default and keeps it private', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-secret-'));
    const path = join(dir, 'tollgate.sqlite');
    const first = loadOrCreateSecret(undefined, path);
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(loadOrCreateSecret(undefined, path)).toBe(first);
    expect(readFileSync(join(dir, 'key-hash-secret'), 'utf8').trim()).toBe(first);
    expect(statSync(join(dir, 'key-hash-secret')).mode & 0o077).toBe(0);
    expect(loadOrCreateSecret('configured-secret-123', path)).toBe('configured-secret-123');
  });
});
