import type { DataSource } from 'typeorm';
import type { Transactions } from '../database/transactions';
import type { ApiKey } from '../keys/api-key.entity';
import { cacheKeyOf, KeyCache } from './key-cache';
import { generateKey } from './key-format';
import { KeyHasher } from './key-hasher';
import { KeyVerifier, VerifyOutcome } from './key-verifier.service';
import type { LegacyKeys } from './legacy-keys.service';

type Row = ApiKey & { consumer: unknown; plan: unknown };

const hasher = KeyHasher.parse('spec-secret-0123456789');
const key = generateKey('tg', 'live').key;
const hash = hasher.hash(key);

/** A database whose key reads the test answers by hand, so that it can order them against invalidations. */
class ManualDatabase {
  readonly reads: { resolve: (rows: Row[]) => void }[] = [];

  get dataSource(): DataSource {
    const read = () => new Promise<Row[]>((resolve) => this.reads.push({ resolve }));
    const builder: Record<string, unknown> = {};
    for (const step of ['addSelect', 'leftJoinAndMapOne', 'where']) builder[step] = () => builder;
    builder.getMany = read;
    return { getRepository: () => ({ createQueryBuilder: () => builder }) } as unknown as DataSource;
  }

  answer(i: number, row: Row | null): void {
    this.reads[i].resolve(row ? [row] : []);
  }

  answerRows(i: number, rows: Row[]): void {
    this.reads[i].resolve(rows);
  }
}

const row = (over: Partial<ApiKey> = {}): Row =>
  ({
    id: 'key_1',
    hash,
    consumerId: 'cons_1',
    kind: 'secret',
    name: 'k',
    environment: 'live',
    scopes: [],
    expiresAt: null,
    revokedAt: null,
    allowedIps: [],
    allowedOrigins: [],
    rateLimits: [],
    consumer: { id: 'cons_1', status: 'active', planId: null, billingAnchorDay: 1, createdAt: new Date(0) },
    plan: null,
    ...over,
  }) as unknown as Row;

const flush = () => new Promise((r) => setImmediate(r));
/** Refreshes claimed close together are read in one batch, a moment later. */
const batchStarts = () => new Promise((r) => setTimeout(r, 80));

describe('KeyVerifier: reads against invalidations', () => {
  let now: number;
  let db: ManualDatabase;
  let cache: KeyCache;
  let verifier: KeyVerifier;
  const from = { ip: '127.0.0.1' };
  const verify = (): VerifyOutcome | Promise<VerifyOutcome> => verifier.verify(key, from, now);

  beforeEach(() => {
    now = 1_000_000;
    db = new ManualDatabase();
    cache = new KeyCache({ ttlMs: 1000, staleMs: 60_000, max: 100, negativeTtlMs: 1000, negativeMax: 100 }, () => now);
    verifier = new KeyVerifier(db.dataSource, cache, hasher, {} as Transactions, { adopt: () => Promise.resolve(false) } as unknown as LegacyKeys);
  });

  it('asks the database once for a key never seen, however many requests wait for it', async () => {
    const pending = [verify(), verify(), verify()];
    expect(db.reads).toHaveLength(1);
    db.answer(0, row());
    for (const p of pending) expect(await p).toMatchObject({ ok: true });
    expect(verify()).toMatchObject({ ok: true });
    expect(db.reads).toHaveLength(1);
  });

  it('serves an old record at once and refreshes it in the background', async () => {
    const first = verify();
    db.answer(0, row());
    await first;
    now += 1500;
    expect(verify()).toMatchObject({ ok: true });
    // The read starts after the request's own stack, not on it.
    expect(db.reads).toHaveLength(1);
    await batchStarts();
    expect(db.reads).toHaveLength(2);
    // Meanwhile the old record keeps answering, and no second refresh starts.
    expect(verify()).toMatchObject({ ok: true });
    expect(db.reads).toHaveLength(2);
    db.answer(1, row({ revokedAt: new Date(now - 10) }));
    await flush();
    expect(verify()).toMatchObject({ ok: false, code: 'KEY_REVOKED' });
  });

  it('a refresh in flight when the key is revoked does not put the old record back', async () => {
    const first = verify();
    db.answer(0, row());
    await first;
    now += 1500;
    expect(verify()).toMatchObject({ ok: true }); // starts the refresh
    await batchStarts();
    cache.invalidateKey('key_1'); // the revocation lands while the refresh reads
    db.answer(1, row()); // ...and the refresh answers with what it read before it
    await flush();
    // The record is gone: the next request reads the database again and sees the revocation.
    const next = verify();
    expect(next).toBeInstanceOf(Promise);
    expect(db.reads).toHaveLength(3);
    db.answer(2, row({ revokedAt: new Date(now - 10) }));
    expect(await next).toMatchObject({ ok: false, code: 'KEY_REVOKED' });
  });

  it('a first read in flight when the consumer is suspended is read again before it answers', async () => {
    const pending = verify();
    cache.invalidateConsumer('cons_1');
    db.answer(0, row());
    await flush();
    expect(db.reads).toHaveLength(2);
    db.answer(1, row({ consumer: { id: 'cons_1', status: 'suspended', planId: null, billingAnchorDay: 1, createdAt: new Date(0) } } as never));
    expect(await pending).toMatchObject({ ok: false, code: 'CONSUMER_SUSPENDED' });
    expect(verify()).toMatchObject({ ok: false, code: 'CONSUMER_SUSPENDED' });
  });

  it('answers a key seen before without its HMAC, and refuses made-up keys without a read', async () => {
    const first = verify();
    db.answer(0, row());
    await first;
    const hmac = jest.spyOn(hasher, 'hash');
    try {
      expect(verify()).toMatchObject({ ok: true });
      expect(hmac).not.toHaveBeenCalled();
      // A wrong checksum, and something far longer than any key: refused at once, nothing hashed or read.
      const tampered = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
      expect(verifier.verify(tampered, from, now)).toEqual({ ok: false, code: 'INVALID_API_KEY' });
      expect(verifier.verify(key.repeat(10), from, now)).toEqual({ ok: false, code: 'INVALID_API_KEY' });
      expect(hmac).not.toHaveBeenCalled();
      expect(db.reads).toHaveLength(1);
    } finally {
      hmac.mockRestore();
    }
  });

  it('refreshes a record by the hash it is stored under', async () => {
    const first = verify();
    db.answer(0, row());
    await first;
    now += 1500;
    verify();
    await batchStarts();
    expect(db.reads).toHaveLength(2);
    expect(cache.lookup(cacheKeyOf(key))?.hash).toBe(hash);
  });

  it('keeps the same record when a refresh reads it back unchanged, and builds a new one when it changed', async () => {
    const first = verify();
    db.answer(0, row());
    const record = ((await first) as { key: unknown }).key;
    now += 1500;
    verify();
    await batchStarts();
    db.answer(1, row({ lastUsedAt: new Date(now) })); // written by the usage flush: not a change of the record
    await flush();
    expect((verify() as { key: unknown }).key).toBe(record);
    expect(cache.lookup(cacheKeyOf(key))?.refreshAt).toBe(now + 1000);
    now += 1500;
    verify();
    await batchStarts();
    db.answer(2, row({ scopes: ['usage:read'] }));
    await flush();
    const changed = verify() as { key: { scopes: string[] } };
    expect(changed.key).not.toBe(record);
    expect(changed.key.scopes).toEqual(['usage:read']);
  });

  it('refreshes records that fall due together in one read, each by its hash; a key the read no longer finds is dropped', async () => {
    const other = generateKey('tg', 'live').key;
    const gone = generateKey('tg', 'live').key;
    const otherRow = row({ id: 'key_2', hash: hasher.hash(other) });
    const goneRow = row({ id: 'key_3', hash: hasher.hash(gone) });
    const firsts = [verify(), verifier.verify(other, from, now), verifier.verify(gone, from, now)];
    db.answer(0, row());
    db.answer(1, otherRow);
    db.answer(2, goneRow);
    await Promise.all(firsts);
    now += 1500;
    for (const k of [key, other, gone]) expect(verifier.verify(k, from, now)).toMatchObject({ ok: true });
    await batchStarts();
    expect(db.reads).toHaveLength(4);
    db.answerRows(3, [otherRow, row({ scopes: ['usage:read'] })]);
    await flush();
    expect(verify()).toMatchObject({ ok: true, key: { scopes: ['usage:read'] } });
    expect(verifier.verify(other, from, now)).toMatchObject({ ok: true, key: { id: 'key_2' } });
    // Deleted meanwhile: not served from memory any more.
    expect(verifier.verify(gone, from, now)).toEqual({ ok: false, code: 'INVALID_API_KEY' });
    expect(db.reads).toHaveLength(4);
  });

  it('drops refreshes still waiting for their batch on shutdown, without reading', async () => {
    const first = verify();
    db.answer(0, row());
    await first;
    now += 1500;
    expect(verify()).toMatchObject({ ok: true });
    verifier.onModuleDestroy();
    await batchStarts();
    expect(db.reads).toHaveLength(1);
  });
});
