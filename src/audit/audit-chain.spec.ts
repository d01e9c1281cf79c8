import { AuditFields, ChainVerifier, seal, StoredAuditRow } from './audit-chain';
import { GENESIS_HASH, redact } from './canonical';

/** Builds rows the way AuditService.record stores them (JSON columns as text, `at` as SQLite text). */
function chain(n: number): StoredAuditRow[] {
  const rows: StoredAuditRow[] = [];
  let prevHash = GENESIS_HASH;
  for (let i = 1; i <= n; i++) {
    const at = new Date(Date.UTC(2026, 10, 22, 10, 0, i, 123));
    const fields: AuditFields = {
      id: `aud_${String(i).padStart(24, '0')}`,
      actorKeyId: i === 1 ? null : 'key_01JD5X3V8Q2mZt9aK3LpQw7Rv',
      action: 'key.update',
      targetType: 'key',
      targetId: 'key_01JD5X3V8Q2mZt9aK3LpQw7Rx',
      before: { name: `n${i - 1}`, scopes: ['a:b'] },
      after: { name: `n${i}`, scopes: ['a:b'] },
      ip: '127.0.0.1',
      requestId: `req_${i}`,
      at: at.toISOString(),
      prevHash,
    };
    const { canonical, hash } = seal(fields);
    rows.push({
      ...fields,
      seq: i,
      before: JSON.stringify(fields.before),
      after: JSON.stringify(fields.after),
      at: at.toISOString().replace('T', ' ').replace('Z', ''),
      canonical,
      hash,
    });
    prevHash = hash;
  }
  return rows;
}

function run(rows: StoredAuditRow[], head?: { seq: number; hash: string }) {
  const v = new ChainVerifier();
  for (const row of rows) {
    const problem = v.check(row);
    if (problem) return { problem, checked: v.checked };
  }
  const last = rows[rows.length - 1];
  return { problem: v.checkHead(head ?? { seq: rows.length, hash: last?.hash ?? GENESIS_HASH }), checked: v.checked };
}

describe('ChainVerifier', () => {
  it('accepts an intact chain, an empty one, and MySQL Date values for at', () => {
    expect(run(chain(5)).problem).toBeNull();
    expect(run([]).problem).toBeNull();
    const rows = chain(2).map((r) => ({ ...r, at: new Date(`${String(r.at).replace(' ', 'T')}Z`) }));
    expect(run(rows).problem).toBeNull();
  });

  it.each([
    ['after', (r: StoredAuditRow) => ({ ...r, after: JSON.stringify({ name: 'forged', scopes: ['a:b'] }) }), /stored after/],
    ['before', (r: StoredAuditRow) => ({ ...r, before: null }), /stored before/],
    ['actorKeyId', (r: StoredAuditRow) => ({ ...r, actorKeyId: 'key_other' }), /stored actorKeyId/],
    ['at', (r: StoredAuditRow) => ({ ...r, at: '2026-11-22 10:00:03.124' }), /stored at/],
    ['after as broken JSON', (r: StoredAuditRow) => ({ ...r, after: '{"name":' }), /stored after/],
    ['canonical', (r: StoredAuditRow) => ({ ...r, canonical: r.canonical.replace('"n3"', '"nX"') }), /hash does not match/],
    ['hash', (r: StoredAuditRow) => ({ ...r, hash: 'f'.repeat(64) }), /hash does not match/],
  ])('names the entry whose %s was altered', (_, alter, reason) => {
    const rows = chain(5);
    rows[2] = alter(rows[2]);
    const { problem, checked } = run(rows);
    expect(problem).toEqual({ id: rows[2].id, seq: 3, reason: expect.stringMatching(reason) });
    expect(checked).toBe(2);
  });

  it('accepts reordered JSON keys in a stored column (the content is compared, not the spelling)', () => {
    const rows = chain(3);
    rows[1] = { ...rows[1], after: JSON.stringify({ scopes: ['a:b'], name: 'n2' }) };
    expect(run(rows).problem).toBeNull();
  });

  it('names the next entry when one is re-hashed consistently or deleted', () => {
    const rehashed = chain(5);
    const fields = JSON.parse(rehashed[1].canonical) as AuditFields;
    const forged = seal({ ...fields, after: { name: 'forged' } });
    rehashed[1] = { ...rehashed[1], after: JSON.stringify({ name: 'forged' }), ...forged };
    expect(run(rehashed).problem).toMatchObject({ id: rehashed[2].id, seq: 3, reason: expect.stringMatching(/prevHash/) });

    const deleted = chain(5);
    deleted.splice(2, 1);
    expect(run(deleted).problem).toMatchObject({ id: deleted[2].id, seq: 4 });

    const first = chain(3).slice(1);
    expect(run(first).problem).toMatchObject({ seq: 2, reason: expect.stringMatching(/start of the chain/) });
  });

  it('detects a cut-off tail through the head row', () => {
    const rows = chain(5);
    const head = { seq: 5, hash: rows[4].hash };
    const { problem } = run(rows.slice(0, 4), head);
    expect(problem).toMatchObject({ id: rows[3].id, seq: 4, reason: expect.stringMatching(/head/) });
  });
});

describe('redact', () => {
  it('drops secret fields and masks anything shaped like a key', () => {
    const key = 'tg_live_3xK9pQ2mZt9aK3LpQw7RvB8nC1dE5fG7hJ0kL2';
    expect(redact({ id: 'key_1', hash: 'abc', key, name: `leaked ${key}`, metadata: { nested: [key], [key]: 1 } })).toEqual({
      id: 'key_1',
      name: 'leaked [redacted]',
      metadata: { nested: ['[redacted]'], '[redacted]': 1 },
    });
    expect(redact(null)).toBeNull();
  });
});
