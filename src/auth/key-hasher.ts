import { createHmac, createSecretKey, KeyObject, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface HashSecret {
  version: number;
  secret: string;
}

/**
 * Keys are high-entropy, so HMAC-SHA256 with a server secret is the right hash: a slow password hash
 * would cost 10^4-10^5 times more per request and protect nothing more. The secret is versioned
 * (`KEY_HASH_SECRET="2:new,1:old"`): new keys use the first; keys hashed with an older one still verify.
 */
export class KeyHasher {
  readonly current: HashSecret;
  /** Imported once: an HMAC over a KeyObject skips re-importing the secret on every request. */
  private readonly keyObjects = new Map<number, KeyObject>();

  constructor(readonly secrets: HashSecret[]) {
    if (secrets.length === 0) throw new Error('KeyHasher needs at least one secret');
    this.current = secrets[0];
    for (const s of secrets) this.keyObjects.set(s.version, createSecretKey(Buffer.from(s.secret, 'utf8')));
  }

  static parse(value: string): KeyHasher {
    const secrets = value.split(',').map((part, i) => {
      const m = /^(\d+):(.+)$/.exec(part.trim());
      return m ? { version: Number(m[1]), secret: m[2] } : { version: i === 0 ? 1 : i + 1, secret: part.trim() };
    });
    return new KeyHasher(secrets);
  }

  hash(key: string, secret: HashSecret = this.current): string {
    return createHmac('sha256', this.keyObjects.get(secret.version)!).update(key).digest('hex');
  }

  /** One hash per secret version, current first; lookups try them in order. */
  candidates(key: string): { version: number; hash: string }[] {
    return this.secrets.map((s) => ({ version: s.version, hash: this.hash(key, s) }));
  }
}

/**
 * On the embedded default the first start needs no setup: a missing secret is generated once and
 * kept beside the database file, readable by its owner only.
 */
export function loadOrCreateSecret(configured: string | undefined, sqlitePath: string): string {
  if (configured) return configured;
  // An in-memory database forgets its keys anyway; so may its secret.
  if (sqlitePath === ':memory:') return randomBytes(32).toString('base64url');
  const file = join(dirname(sqlitePath), 'key-hash-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dirname(file), { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
  return secret;
}
