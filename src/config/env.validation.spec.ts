import { validateEnv } from './env.validation';

describe('validateEnv', () => {
  it('starts with no configuration at all', () => {
    const env = validateEnv({});
    expect(env).toMatchObject({ PORT: 3000, DB_TYPE: 'sqlite', KEY_PREFIX: 'tg', DEFAULT_RATE_LIMIT: 1000, TRUST_PROXY: false });
  });

  it('converts numbers and booleans', () => {
    expect(validateEnv({ PORT: '8080', TRUST_PROXY: 'true', DOCS_ENABLED: '0' })).toMatchObject({ PORT: 8080, TRUST_PROXY: true, DOCS_ENABLED: false });
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ DB_TYPE: 'postgres' }, 'DB_TYPE'],
    [{ KEY_PREFIX: 'Bad Prefix' }, 'KEY_PREFIX'],
    [{ TRUST_PROXY: 'maybe' }, 'TRUST_PROXY'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL'],
    [{ DB_TYPE: 'mysql' }, 'DATABASE_URL'],
    [{ DB_TYPE: 'mysql', DATABASE_URL: 'mysql://root@h:3306/db' }, 'KEY_HASH_SECRET'],
    [{ KEY_HASH_SECRET: 'short' }, 'KEY_HASH_SECRET'],
  ])('%j is refused naming %s', (raw, name) => {
    expect(() => validateEnv(raw)).toThrow(new RegExp(`\\b${name}\\b`));
  });

  it('never echoes a secret value', () => {
    expect(() => validateEnv({ KEY_HASH_SECRET: 'short' })).toThrow(/\(hidden\)/);
  });
});
