import { validateEnv } from './env.validation';

describe('validateEnv', () => {
  it('starts with no configuration at all', () => {
    const env = validateEnv({});
    expect(env).toMatchObject({ PORT: 3000, DB_TYPE: 'sqlite', KEY_PREFIX: 'tg', DEFAULT_RATE_LIMIT: 1000, TRUST_PROXY: false });
  });

  it('converts numbers and booleans', () => {
    expect(validateEnv({ PORT: '8080', DOCS_ENABLED: '0' })).toMatchObject({ PORT: 8080, DOCS_ENABLED: false });
  });

  it('treats an empty or blank value as unset', () => {
    const env = validateEnv({ PORT: '', ADMIN_API_KEY: '', DATABASE_URL: ' ', TRUST_PROXY: '', DOCS_ENABLED: '', LOG_LEVEL: '' });
    expect(env).toMatchObject({ PORT: 3000, TRUST_PROXY: false, DOCS_ENABLED: true, LOG_LEVEL: 'info' });
    expect(env.ADMIN_API_KEY).toBeUndefined();
    expect(env.DATABASE_URL).toBeUndefined();
  });

  it.each([
    ['false', false],
    ['0', false],
    ['1', 1],
    ['2', 2],
    ['10.0.0.1', ['10.0.0.1']],
    ['10.0.0.0/8, 192.168.1.10,::1 ,fd00::/8', ['10.0.0.0/8', '192.168.1.10', '::1', 'fd00::/8']],
  ])('TRUST_PROXY=%s is %j', (value, expected) => {
    expect(validateEnv({ TRUST_PROXY: value }).TRUST_PROXY).toEqual(expected);
  });

  it.each(['true', 'TRUE', 'yes'])('refuses TRUST_PROXY=%s and says why', (value) => {
    expect(() => validateEnv({ TRUST_PROXY: value })).toThrow(/TRUST_PROXY.*every X-Forwarded-For hop.*allowlists/s);
  });

  it.each(['10.0.0.300', '10.0.0.0/40', 'lb.internal', '10.0.0.1,,10.0.0.2', '99'])('refuses TRUST_PROXY=%s', (value) => {
    expect(() => validateEnv({ TRUST_PROXY: value })).toThrow(/TRUST_PROXY/);
  });

  it('never prints the password of a URL', () => {
    let message = '';
    try {
      validateEnv({ DB_TYPE: 'mysql', DATABASE_URL: 'mysql:/root:hunter2@host/db', KEY_HASH_SECRET: 'x'.repeat(32) });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/DATABASE_URL/);
    expect(message).toMatch(/root:\*\*\*@host/);
    expect(message).not.toMatch(/hunter2/);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ DB_TYPE: 'postgres' }, 'DB_TYPE'],
    [{ KEY_PREFIX: 'Bad Prefix' }, 'KEY_PREFIX'],
    [{ TRUST_PROXY: 'maybe' }, 'TRUST_PROXY'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL'],
    [{ REDIS_URL: 'redis+cluster://h:7000/0' }, 'REDIS_URL'],
    [{ DATABASE_REPLICA_URLS: 'mysql://root@r1:3306/db' }, 'DATABASE_REPLICA_URLS'],
    [{ DB_TYPE: 'mysql', DATABASE_URL: 'mysql://root@h:3306/db', KEY_HASH_SECRET: 'x'.repeat(32), DATABASE_REPLICA_URLS: 'r1:3306' }, 'DATABASE_REPLICA_URLS'],
    [{ DB_TYPE: 'mysql' }, 'DATABASE_URL'],
    [{ DB_TYPE: 'mysql', DATABASE_URL: 'mysql://root@h:3306/db' }, 'KEY_HASH_SECRET'],
    [{ KEY_HASH_SECRET: 'short' }, 'KEY_HASH_SECRET'],
  ])('%j is refused naming %s', (raw, name) => {
    expect(() => validateEnv(raw)).toThrow(new RegExp(`\\b${name}\\b`));
  });

  it('accepts read replicas on MySQL', () => {
    const env = validateEnv({
      DB_TYPE: 'mysql',
      DATABASE_URL: 'mysql://root@h:3306/db',
      KEY_HASH_SECRET: 'x'.repeat(32),
      DATABASE_REPLICA_URLS: 'mysql://ro:pw@r1:3306/db, mysql://ro:pw@r2:3306/db',
    });
    expect(env.DATABASE_REPLICA_URLS).toBe('mysql://ro:pw@r1:3306/db, mysql://ro:pw@r2:3306/db');
    expect(env.DATABASE_REPLICA_MAX_LAG_SECONDS).toBe(5);
  });

  it('accepts a Redis Cluster URL', () => {
    expect(validateEnv({ REDIS_URL: 'redis+cluster://10.0.0.1:7000,10.0.0.2:7000' }).REDIS_URL).toBe('redis+cluster://10.0.0.1:7000,10.0.0.2:7000');
  });

  it('never echoes a secret value', () => {
    expect(() => validateEnv({ KEY_HASH_SECRET: 'short' })).toThrow(/\(hidden\)/);
  });
});
