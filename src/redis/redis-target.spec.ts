import { hashTagOf, parseRedisTarget, redisUrlProblem } from './redis-target';

describe('parseRedisTarget', () => {
  it('passes a single-server URL through as it is', () => {
    expect(parseRedisTarget('redis://:pw@10.0.0.1:6379/2')).toEqual({ kind: 'single', url: 'redis://:pw@10.0.0.1:6379/2' });
    expect(parseRedisTarget('rediss://cache.internal:6380')).toEqual({ kind: 'single', url: 'rediss://cache.internal:6380' });
  });

  it('reads the seed nodes, credentials and TLS of a cluster URL', () => {
    expect(parseRedisTarget('redis+cluster://10.0.0.1:7000,10.0.0.2:7001')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
      ],
      username: undefined,
      password: undefined,
      tls: false,
    });
    expect(parseRedisTarget('rediss+cluster://app:p%40ss@redis-a:7000, [::1]:7001/')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'redis-a', port: 7000 },
        { host: '::1', port: 7001 },
      ],
      username: 'app',
      password: 'p@ss',
      tls: true,
    });
    expect(parseRedisTarget('redis+cluster://:secret@h:7000')).toMatchObject({ username: undefined, password: 'secret' });
  });

  it.each([
    ['localhost:6379', /must look like redis:\/\/host:6379, or redis\+cluster:\/\//],
    ['http://h:6379', /must look like/],
    ['redis+cluster://h:7000/0', /no database number/],
    ['redis+cluster://h', /"h" is not host:port/],
    ['redis+cluster://h:7000,,h2:7001', /"" is not host:port/],
    ['redis+cluster://h:99999', /"h:99999" is not host:port/],
  ])('refuses %s', (url, message) => {
    expect(redisUrlProblem(url)).toMatch(message);
  });

  it('never names the password of a refused URL', () => {
    expect(redisUrlProblem('redis+cluster://:hunter2@h')).not.toMatch(/hunter2/);
  });
});

describe('hashTagOf', () => {
  it.each([
    ['tollgate:rl:{cons_1}c:cons_1:default:60', 'cons_1'],
    ['tollgate:rl:{cons_1}k:key_1:burst:1', 'cons_1'],
    ['tollgate:rl:authfail:10.0.0.1', 'tollgate:rl:authfail:10.0.0.1'],
    // As Redis reads it: an empty tag does not count, and only the first { opens one.
    ['a{}b{c}', 'a{}b{c}'],
    ['a{{b}c}', '{b'],
    ['a{b', 'a{b'],
  ])('%s → %s', (key, tag) => {
    expect(hashTagOf(key)).toBe(tag);
  });
});
